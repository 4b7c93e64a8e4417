import type { MonitorPresenceEvents, PresencePage } from '@lilac/common/people';
import type { MonitorWireEvents } from '@lilac/common/wire';
import { io, type Socket } from 'socket.io-client';
import { ref } from 'vue';

type ServerEvents = MonitorWireEvents & MonitorPresenceEvents;
type Handler<K extends keyof ServerEvents> = (payload: ServerEvents[K]) => void;

const connected = ref(false);
/** False until the first connection attempt settles, so the banner does not flash on load. */
const attempted = ref(false);
const reconnectHandlers = new Set<() => void>();
let socket: Socket | null = null;
let everConnected = false;
/** Pages this tab shows, said again after every reconnect: the server forgets a connection's pages when it drops. */
const shownPages = new Map<PresencePage, number>();

function sharedSocket(): Socket {
  if (socket) return socket;
  socket = io('/monitor', { transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 2000 });
  socket.on('connect', () => {
    for (const page of shownPages.keys()) socket?.emit('presence:join', page);
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
    on<K extends keyof ServerEvents>(name: K, handler: Handler<K>): void {
      shared.on(name as string, handler as (payload: unknown) => void);
    },
    off<K extends keyof ServerEvents>(name: K, handler: Handler<K>): void {
      shared.off(name as string, handler as (payload: unknown) => void);
    },
    /** Says this tab shows `page`, so others see who is looking; counted, for two components on one page. */
    join(page: PresencePage): void {
      shownPages.set(page, (shownPages.get(page) ?? 0) + 1);
      if (shownPages.get(page) === 1) shared.emit('presence:join', page);
    },
    leave(page: PresencePage): void {
      const count = (shownPages.get(page) ?? 0) - 1;
      if (count > 0) return void shownPages.set(page, count);
      shownPages.delete(page);
      shared.emit('presence:leave', page);
    },
    /** After signing in or out: a new handshake carries the new cookie. */
    reconnect(): void {
      shared.disconnect().connect();
    },
    onReconnect(handler: () => void): void {
      reconnectHandlers.add(handler);
    },
    offReconnect(handler: () => void): void {
      reconnectHandlers.delete(handler);
    },
  };
}
