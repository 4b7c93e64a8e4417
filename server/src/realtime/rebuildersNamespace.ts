import type { ClaimAck, FailPayload, HeartbeatAck, JobOutcomeAck, RebuilderErrorAck } from '@lilac/common';
import type { Namespace, Server, Socket } from 'socket.io';
import type { Builder } from '../builders/builderService.ts';
import { batchSubmissions, type AttestationInput } from '../attestations/submissions.ts';
import type { AppContext } from '../context.ts';
import { HttpError } from '../http/errors.ts';
import { PoolError } from '../pool/workPool.ts';

type Ack<T> = (answer: T | RebuilderErrorAck) => void;

/** The longest failure message kept: a build log's tail, not the whole log. */
const MAX_ERROR_LENGTH = 16 * 1024;

interface SocketData {
  builder: Builder;
}

/** The attestations of a `complete`, in the batch shape of `POST /api/v1/attestations`. */
function rebuildAttestations(list: unknown): AttestationInput[] {
  try {
    return batchSubmissions({ attestations: list });
  } catch (error) {
    if (error instanceof HttpError) throw new PoolError(error.detail);
    throw error;
  }
}

const BUSY_RETRIES = 8;

/**
 * FerretDB's SQLite backend answers concurrent writers with "database is
 * locked (SQLITE_BUSY)"; every pool message is safe to repeat, so it is
 * retried after a short random pause.
 */
async function withBusyRetries<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= BUSY_RETRIES || !/SQLITE_BUSY|database is locked/.test((error as Error).message ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Socket.IO passes the acknowledgement last; a client that sent none gets nothing back. */
function ackOf<T>(args: unknown[]): Ack<T> {
  const last = args.at(-1);
  return typeof last === 'function' ? (last as Ack<T>) : () => undefined;
}

/**
 * `/rebuilders`: the work pool protocol (see DESIGN.md). The handshake carries
 * `auth: { token }`; every message is validated and acknowledged, errors as `{ error }`.
 */
export function attachRebuildersNamespace(io: Server, context: AppContext): Namespace {
  const rebuilders = io.of('/rebuilders');
  const { pool, log } = context;

  rebuilders.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token === '') {
      next(new Error('missing token: connect with auth: { token }'));
      return;
    }
    context.builders.authenticate(token).then(
      (builder) => {
        if (!builder) return next(new Error('invalid token'));
        (socket.data as SocketData).builder = builder;
        next();
      },
      (error: unknown) => {
        log.warn({ err: error }, 'rebuilder authentication failed');
        next(new Error('authentication unavailable, retry later'));
      },
    );
  });

  rebuilders.on('connection', (socket: Socket) => {
    const { builder } = socket.data as SocketData;
    const builderName = builder.name;
    pool.workerConnected(socket.id, builderName);
    context.presence.connected(builderName, socket.id);
    void context.builders.touch(builderName).catch(() => undefined);

    /** Runs a handler and acknowledges its answer; refusals become `{ error }`, the rest is logged. */
    const handle = <T>(event: string, work: (payload: unknown) => Promise<T>) => {
      socket.on(event, (...args: unknown[]) => {
        const ack = ackOf<T>(args);
        const payload = typeof args[0] === 'function' ? undefined : args[0];
        withBusyRetries(() => work(payload)).then(ack, (error: unknown) => {
          if (error instanceof PoolError) return ack({ error: error.message });
          log.error({ err: error, event, builder: builderName }, 'rebuilder message failed');
          ack({ error: 'internal error' });
        });
      });
    };

    handle<ClaimAck>('claim', () => pool.claim(builderName, socket.id));
    handle<HeartbeatAck>('heartbeat', () => pool.heartbeat(socket.id));
    handle<{ released: number }>('release', async () => ({ released: await pool.release(socket.id) }));
    handle<JobOutcomeAck>('complete', async (payload) => {
      if (!isRecord(payload) || typeof payload.id !== 'string') throw new PoolError('complete needs { id, attestations }');
      const job = await pool.held(payload.id, socket.id);
      const inputs = rebuildAttestations(payload.attestations);
      if (inputs.some((input) => input.drvPath !== job.drvPath)) throw new PoolError(`attestations must be of outputs of ${job.drvPath}`);
      if (!inputs.some((input) => input.outPath === job.outPath)) throw new PoolError(`attestations must include ${job.outPath}`);
      await context.ingest.submit(builder, inputs);
      return { state: await pool.complete(job, builderName, socket.id) };
    });
    handle<JobOutcomeAck>('fail', async (payload) => {
      if (!isRecord(payload) || typeof payload.id !== 'string' || typeof payload.error !== 'string') {
        throw new PoolError('fail needs { id, error }');
      }
      const { id, error } = payload as unknown as FailPayload;
      return { state: await pool.fail(id, builderName, socket.id, error.slice(-MAX_ERROR_LENGTH)) };
    });

    socket.on('disconnect', () => {
      context.presence.disconnected(builderName, socket.id);
      pool.workerDisconnected(socket.id).catch((error: unknown) => log.warn({ err: error }, 'returning jobs of a gone worker failed'));
    });
  });
  return rebuilders;
}
