import {
  isPresencePage,
  type AttestationView,
  type MonitorAttestation,
  type MonitorClientEvents,
  type MonitorEvents,
  type MonitorPresenceEvents,
  type MonitorWireEvents,
  type PresencePage,
  type VerdictChange,
} from '@lilac/common';
import type { Namespace, Server, Socket } from 'socket.io';
import type { AppContext } from '../context.ts';
import type { Member } from '../people/memberService.ts';
import { PagePresence } from '../people/pagePresence.ts';
import { sessionIdFrom } from '../people/sessionCookie.ts';
import { EventGathering } from './eventGathering.ts';

/** An attestation for every viewer: the reference list (up to 10,000 paths) stays behind, its length goes. */
export function monitorAttestation(view: AttestationView): MonitorAttestation {
  const { references, ...rest } = view;
  return { ...rest, reference_count: references?.length ?? null };
}

const same = <T>(payload: T): T => payload;

/** How long `/monitor` gathers attestations and verdict changes before it sends them (`EventGathering`). */
const MONITOR_GATHER_MS = 250;

type Gathered = 'attestation' | 'verdict';

/**
 * Every event the monitor relays one by one and what goes on the wire for it;
 * typed as a record so a new bus event cannot be forgotten here.
 */
const RELAYED: { [K in Exclude<keyof MonitorEvents, Gathered>]: (payload: MonitorEvents[K]) => MonitorWireEvents[K] } = {
  divergence: same,
  'report:progress': same,
  'builder:online': same,
  'builder:offline': same,
  'job:claimed': same,
  'job:done': same,
  'job:failed': same,
  'job:cancelled': same,
  'job:priority': same,
  'pool:stats': same,
  'output:diff': same,
  triage: same,
  comment: same,
  'comment:deleted': same,
};

/** The member behind a connection: a session cookie (browsers) or `auth: { token }` with a member token (scripts, the bench). */
async function memberOf(context: AppContext, socket: Socket): Promise<Member | null> {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  if (typeof token === 'string') return context.members.authenticateToken(token);
  const sessionId = sessionIdFrom(socket.handshake.headers.cookie);
  if (!sameOrigin(socket)) return null;
  return sessionId ? ((await context.members.session(sessionId))?.member ?? null) : null;
}

/**
 * A page of another site must not show up as the member whose cookie its
 * browser sent: SameSite=Strict already keeps the cookie off such handshakes,
 * and this holds even for browsers that would send it.
 */
function sameOrigin(socket: Socket): boolean {
  const origin = socket.handshake.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === socket.handshake.headers.host;
  } catch {
    return false;
  }
}

/** A builder may listen when reading is private, as it may read over HTTP. */
async function isBuilder(context: AppContext, socket: Socket): Promise<boolean> {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  return typeof token === 'string' && (await context.builders.authenticate(token)) !== null;
}

/**
 * `/monitor`: open to anyone (to members only with `LILAC_PUBLIC=false`). The
 * server relays the event bus; a client may only say which page it shows
 * (`presence:join` / `presence:leave`), and one that sends anything else is
 * disconnected. A client that reconnects refetches what it shows over HTTP,
 * so no replay buffer is kept here.
 */
export function attachMonitorNamespace(io: Server, context: AppContext): Namespace<MonitorClientEvents, MonitorEventsMap> {
  const monitor = io.of('/monitor') as Namespace<MonitorClientEvents, MonitorEventsMap>;
  const presence = new PagePresence();
  const announce = (page: PresencePage) => monitor.to(page).emit('presence', presence.view(page));

  monitor.use((socket, next) => {
    memberOf(context, socket)
      .then(async (member) => {
        socket.data.member = member?.name ?? null;
        if (!context.config.publicReads && member === null && !(await isBuilder(context, socket))) {
          next(new Error('this lilac is private (LILAC_PUBLIC=false): sign in as a member'));
          return;
        }
        next();
      })
      .catch((error: unknown) => next(error as Error));
  });
  monitor.on('connection', (socket) => {
    const member = (socket.data as { member: string | null }).member;
    socket.use(([event, page], next) => {
      if ((event === 'presence:join' || event === 'presence:leave') && isPresencePage(page)) return next();
      socket.disconnect(true);
      next(new Error('/monitor only listens, and takes presence:join and presence:leave with a page'));
    });
    socket.on('presence:join', (page) => {
      if (!presence.join(page, socket.id, member)) return;
      void socket.join(page);
      announce(page);
    });
    socket.on('presence:leave', (page) => {
      if (!presence.leave(page, socket.id)) return;
      void socket.leave(page);
      announce(page);
    });
    socket.on('disconnect', () => {
      for (const page of presence.disconnect(socket.id)) announce(page);
    });
  });
  // The bus lives exactly as long as this server, so the subscriptions need no teardown.
  for (const name of Object.keys(RELAYED) as Exclude<keyof MonitorEvents, Gathered>[]) {
    const toWire = RELAYED[name] as (payload: unknown) => unknown;
    context.events.subscribe(name, (payload) => {
      (monitor.emit as (event: string, payload: unknown) => boolean)(name, toWire(payload));
    });
  }
  const attestations = new EventGathering<MonitorAttestation>((list) => monitor.emit('attestations', list), MONITOR_GATHER_MS);
  context.events.subscribe('attestation', (view) => attestations.add(monitorAttestation(view)));
  const verdicts = new EventGathering<VerdictChange>((list) => monitor.emit('verdicts', list), MONITOR_GATHER_MS);
  context.events.subscribe('verdict', (change) => verdicts.add(change));
  return monitor;
}

/** Socket.IO's shape for server-to-client events: one listener signature per event. */
export type MonitorEventsMap = { [K in keyof (MonitorWireEvents & MonitorPresenceEvents)]: (payload: (MonitorWireEvents & MonitorPresenceEvents)[K]) => void };
