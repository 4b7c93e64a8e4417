import type { MonitorEvents } from '@lilac/common';
import type { Namespace, Server } from 'socket.io';
import type { AppContext } from '../context.ts';

/** Every event the monitor relays; typed as a record so a new bus event cannot be forgotten here. */
const RELAYED: Record<keyof MonitorEvents, true> = {
  attestation: true,
  divergence: true,
  verdict: true,
  'report:progress': true,
  'builder:online': true,
  'builder:offline': true,
  'job:claimed': true,
  'job:done': true,
  'job:failed': true,
  'pool:stats': true,
};

/**
 * `/monitor`: open to anyone and read-only — the server relays the event bus
 * and ignores whatever a client sends. A client that reconnects refetches what
 * it shows over HTTP, so no replay buffer is kept here.
 */
export function attachMonitorNamespace(io: Server, context: AppContext): Namespace<Record<string, never>, MonitorEventsMap> {
  const monitor = io.of('/monitor') as Namespace<Record<string, never>, MonitorEventsMap>;
  // The bus lives exactly as long as this server, so the subscriptions need no teardown.
  for (const name of Object.keys(RELAYED) as (keyof MonitorEvents)[]) {
    context.events.subscribe(name, (payload) => {
      (monitor.emit as (event: string, payload: unknown) => boolean)(name, payload);
    });
  }
  return monitor;
}

/** Socket.IO's shape for server-to-client events: one listener signature per event. */
export type MonitorEventsMap = { [K in keyof MonitorEvents]: (payload: MonitorEvents[K]) => void };
