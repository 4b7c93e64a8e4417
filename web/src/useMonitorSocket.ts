import type { MonitorWireEvents } from '@lilac/common/wire';
import { io, type Socket } from 'socket.io-client';
import { ref } from 'vue';

type Handler<K extends keyof MonitorWireEvents> = (payload: MonitorWireEvents[K]) => void;

const connected = ref(false);
/** False until the first connection attempt settles, so the banner does not flash on load. */
const attempted = ref(false);
const reconnectHandlers = new Set<() => void>();
let socket: Socket | null = null;
let everConnected = false;

function sharedSocket(): Socket {
  if (socket) return socket;
  socket = io('/monitor', { transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 2000 });
  socket.on('connect', () => {
    connected.value = true;
    attempted.value = true;
    // Events missed while away are not replayed: every store refetches what it shows.
    if (everConnected) for (const handler of reconnectHandlers) handler();
    everConnected = true;
  });
  socket.on('disconnect', () => {
    connected.value = false;
  });
  socket.on('connect_error', () => {
    connected.value = false;
    attempted.value = true;
  });
  return socket;
}

/**
 * The one `/monitor` connection of the page, shared by every store: typed
 * event subscriptions, the connection state for the banner, and a hook to
 * catch up after a reconnect.
 */
export function useMonitorSocket() {
  const shared = sharedSocket();
  return {
    connected,
    attempted,
    on<K extends keyof MonitorWireEvents>(name: K, handler: Handler<K>): void {
      shared.on(name as string, handler as (payload: unknown) => void);
    },
    onReconnect(handler: () => void): void {
      reconnectHandlers.add(handler);
    },
  };
}
