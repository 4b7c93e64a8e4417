import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { AppContext } from '../context.ts';
import { attachMonitorNamespace } from './monitorNamespace.ts';
import { attachRebuildersNamespace } from './rebuildersNamespace.ts';

/**
 * The Socket.IO server shared by every namespace: `/monitor` (read-only live
 * events) and `/rebuilders` (the work pool protocol) register themselves here.
 */
export function attachSocketServer(httpServer: HttpServer, context: AppContext): Server {
  const io = new Server(httpServer, {
    serveClient: false,
    // Per message, from anyone who connects: `/monitor` is open, so this is no place for HTTP's body limit.
    maxHttpBufferSize: context.config.socketMessageLimitBytes,
  });
  // Anything not registered answers with an error instead of hanging.
  io.of('/').use((_socket, next) => next(new Error('use the /monitor or /rebuilders namespace')));
  attachMonitorNamespace(io, context);
  attachRebuildersNamespace(io, context);
  return io;
}
