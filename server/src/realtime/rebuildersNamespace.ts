import { InvalidRoutingError, parseCapabilities, type CancelNotice, type ClaimAck, type HeartbeatAck, type JobOutcomeAck, type PoolOutlook, type RebuilderErrorAck, type WorkerCapabilities } from '@lilac/common';
import type { Namespace, Server, Socket } from 'socket.io';
import type { Builder } from '../builders/builderService.ts';
import type { AppContext } from '../context.ts';
import { PoolError } from '../pool/poolError.ts';
import { withBusyRetries } from '../store/busyRetries.ts';

type Ack<T> = (answer: T | RebuilderErrorAck) => void;

interface SocketData {
  builder: Builder;
  /** What the worker announced it can build; null: nothing announced, offered any job. */
  capabilities: WorkerCapabilities | null;
  /** Checked again with every message: a token revoked while the socket is open stops working at once. */
  token: string;
}

/** The token the connection came with was revoked, or its builder removed. */
class RevokedToken extends Error {
  override name = 'RevokedToken';
}

/** Socket.IO passes the acknowledgement last; a client that sent none gets nothing back. */
function ackOf<T>(args: unknown[]): Ack<T> {
  const last = args.at(-1);
  return typeof last === 'function' ? (last as Ack<T>) : () => undefined;
}

/**
 * `/rebuilders`: the work pool protocol (docs/design.md, "Live channel"). The handshake carries
 * `auth: { token, systems?, features? }` (what the worker can build; none: any job); every message checks the token again (two reads by key),
 * so a revoked token is disconnected at its next message and a removed key
 * signs nothing more; every message is validated and acknowledged, errors as `{ error }`.
 * The server sends `cancel` `{ id }` to the connection holding a job a maintainer cancelled.
 */
export function attachRebuildersNamespace(io: Server, context: AppContext): Namespace {
  const rebuilders = io.of('/rebuilders');
  const { pool, log } = context;

  rebuilders.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown; systems?: unknown; features?: unknown } | undefined;
    const token = auth?.token;
    if (typeof token !== 'string' || token === '') {
      next(new Error('missing token: connect with auth: { token }'));
      return;
    }
    let capabilities: WorkerCapabilities | null;
    try {
      capabilities = parseCapabilities(auth?.systems, auth?.features);
    } catch (error) {
      if (!(error instanceof InvalidRoutingError)) throw error;
      next(new Error(error.message));
      return;
    }
    context.builders.authenticate(token).then(
      (builder) => {
        if (!builder) return next(new Error('invalid token'));
        (socket.data as SocketData) = { builder, token, capabilities };
        next();
      },
      (error: unknown) => {
        log.warn({ err: error }, 'rebuilder authentication failed');
        next(new Error('authentication unavailable, retry later'));
      },
    );
  });

  // Only a connection to this process hears it; one elsewhere finds its lease gone at its next heartbeat, and its late report refused.
  context.events.subscribe('job:cancelled', ({ job, by, holder }) => {
    if (holder) rebuilders.sockets.get(holder.socketId)?.emit('cancel', { id: job.id, by } satisfies CancelNotice);
  });

  rebuilders.on('connection', (socket: Socket) => {
    const { builder: connected, token, capabilities } = socket.data as SocketData;
    const builderName = connected.name;
    /** Messages being answered; the connection's claims are returned only once they are. */
    const answering = new Set<Promise<void>>();
    pool.workerConnected(socket.id, builderName, capabilities);
    context.presence.connected(builderName, socket.id);
    void context.builders.touch(builderName).catch(() => undefined);

    /** The builder as the store has it now (its keys included), or `RevokedToken`. */
    const currentBuilder = async (): Promise<Builder> => {
      const builder = await context.builders.authenticate(token);
      if (!builder) throw new RevokedToken(`the token of builder ${builderName} was revoked; this connection is closed`);
      return builder;
    };

    /** Runs a handler and acknowledges its answer; refusals become `{ error }`, the rest is logged. */
    const handle = <T>(event: string, work: (payload: unknown, builder: Builder) => Promise<T>) => {
      socket.on(event, (...args: unknown[]) => {
        const ack = ackOf<T>(args);
        const payload = typeof args[0] === 'function' ? undefined : args[0];
        const answered = withBusyRetries(async () => work(payload, await currentBuilder())).then(ack, (error: unknown) => {
          if (error instanceof PoolError) return ack({ error: error.message });
          if (error instanceof RevokedToken) {
            ack({ error: error.message });
            socket.disconnect(true);
            return;
          }
          log.error({ err: error, event, builder: builderName }, 'rebuilder message failed');
          ack({ error: 'internal error' });
        });
        answering.add(answered);
        void answered.finally(() => answering.delete(answered));
      });
    };

    handle<ClaimAck>('claim', (_payload, builder) => pool.claim(builder.name, socket.id));
    handle<HeartbeatAck>('heartbeat', () => pool.heartbeat(socket.id));
    handle<PoolOutlook>('outlook', (_payload, builder) => pool.outlook(builder.name, socket.id));
    handle<{ released: number }>('release', async () => ({ released: await pool.release(socket.id) }));
    handle<JobOutcomeAck>('complete', (payload, builder) => pool.complete(builder, socket.id, payload));
    handle<JobOutcomeAck>('fail', (payload, builder) => pool.fail(builder.name, socket.id, payload));

    socket.on('disconnect', () => {
      context.presence.disconnected(builderName, socket.id);
      pool
        .workerDisconnected(socket.id, Promise.allSettled([...answering]))
        .catch((error: unknown) => log.warn({ err: error }, 'returning jobs of a gone worker failed'));
    });
  });
  return rebuilders;
}
