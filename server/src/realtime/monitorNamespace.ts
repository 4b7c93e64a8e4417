import type { AttestationView, MonitorAttestation, MonitorEvents, MonitorWireEvents } from '@lilac/common';
import type { Namespace, Server } from 'socket.io';
import type { AppContext } from '../context.ts';

/** An attestation for every viewer: the reference list (up to 10,000 paths) stays behind, its length goes. */
export function monitorAttestation(view: AttestationView): MonitorAttestation {
  const { references, ...rest } = view;
  return { ...rest, reference_count: references?.length ?? null };
}

const same = <T>(payload: T): T => payload;

/**
 * Every event the monitor relays and what goes on the wire for it; typed as a
 * record so a new bus event cannot be forgotten here.
 */
const RELAYED: { [K in keyof MonitorEvents]: (payload: MonitorEvents[K]) => MonitorWireEvents[K] } = {
  attestation: monitorAttestation,
  divergence: same,
  verdict: same,
  'report:progress': same,
  'builder:online': same,
  'builder:offline': same,
  'job:claimed': same,
  'job:done': same,
  'job:failed': same,
  'pool:stats': same,
  triage: same,
  comment: same,
  'comment:deleted': same,
};

/**
 * `/monitor`: open to anyone and read-only — the server relays the event bus,
 * and a client that sends anything is disconnected. A client that reconnects
 * refetches what it shows over HTTP, so no replay buffer is kept here.
 */
export function attachMonitorNamespace(io: Server, context: AppContext): Namespace<Record<string, never>, MonitorEventsMap> {
  const monitor = io.of('/monitor') as Namespace<Record<string, never>, MonitorEventsMap>;
  monitor.on('connection', (socket) => {
    socket.use((_packet, next) => {
      socket.disconnect(true);
      next(new Error('/monitor only listens'));
    });
  });
  // The bus lives exactly as long as this server, so the subscriptions need no teardown.
  for (const name of Object.keys(RELAYED) as (keyof MonitorEvents)[]) {
    const toWire = RELAYED[name] as (payload: unknown) => unknown;
    context.events.subscribe(name, (payload) => {
      (monitor.emit as (event: string, payload: unknown) => boolean)(name, toWire(payload));
    });
  }
  return monitor;
}

/** Socket.IO's shape for server-to-client events: one listener signature per event. */
export type MonitorEventsMap = { [K in keyof MonitorWireEvents]: (payload: MonitorWireEvents[K]) => void };
