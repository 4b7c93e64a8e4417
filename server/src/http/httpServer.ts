import { createServer, type Server } from 'node:http';
import type { AppContext } from '../context.ts';
import { createApp } from './app.ts';
import { withLilaFastPath } from './lilaFastPath.ts';

/**
 * The HTTP server with its bounds: a client has `headersTimeoutMs` to send its
 * headers and `requestTimeoutMs` for the whole request (Node's defaults held a
 * trickled body five minutes), and connections beyond `maxConnections` are
 * closed as they arrive.
 */
export function createHttpServer(context: AppContext): Server {
  const { requestTimeoutMs, headersTimeoutMs, maxConnections } = context.config;
  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: headersTimeoutMs,
      // Node checks the two timeouts only this often (30 s by default), so a short timeout needs a shorter check.
      connectionsCheckingInterval: Math.max(25, Math.min(30_000, Math.floor(headersTimeoutMs / 4))),
      // Node's 5 s default closes idle connections that HTTP clients (undici, reverse proxies) still reuse, and their next request fails with ECONNRESET.
      keepAliveTimeout: 65_000,
    },
    withLilaFastPath(context, createApp(context)),
  );
  server.maxConnections = maxConnections;
  return server;
}
