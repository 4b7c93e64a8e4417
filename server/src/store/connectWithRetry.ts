import mongoose, { type Connection } from 'mongoose';
import type { Logger } from '../log.ts';

/** `restarting`: the embedded store process died and is being restarted; `migrating`: connected, its schema being brought up to date. */
export type StoreState = 'connecting' | 'connected' | 'disconnected' | 'restarting' | 'migrating';

/** The embedded store's process, when lilac runs one: its death is known at once, long before the driver notices. */
export interface StoreProcess {
  state(): 'running' | 'restarting' | 'stopped';
}

export interface StoreConnection {
  readonly connection: Connection;
  /** Resolves once the first connection succeeded; retries with backoff until then. */
  readonly ready: Promise<void>;
  state(): StoreState;
  /** Whether the store answers a ping within a few seconds: what the driver believes can lag behind. */
  answers(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Mongoose keeps every query's stack, only to say where a query run twice was
 * first run: under tsx each stack is mapped through source maps, which cost
 * more CPU than the rest of a one-attestation request's store queries.
 */
mongoose.set('skipOriginalStackTraces', true);

const INITIAL_DELAY_MS = 250;
const MAX_DELAY_MS = 10_000;
const PING_TIMEOUT_MS = 2_000;

/**
 * Opens a dedicated mongoose connection (not the global one, so several
 * servers with their own databases can live in one process, as tests do).
 * Commands issued before the store answers wait in mongoose's buffer.
 */
export function connectWithRetry(uri: string, dbName: string, log: Logger, storeProcess?: StoreProcess): StoreConnection {
  const connection = mongoose.createConnection();
  let closing = false;
  let attempt = 0;
  let connectedOnce = false;

  const ready = (async () => {
    for (;;) {
      attempt += 1;
      try {
        // Indexes are built by `ensureIndexes`, after the schema migrations: an index of today's schema may not hold on yesterday's documents.
        await connection.openUri(uri, { dbName, serverSelectionTimeoutMS: 5_000, autoIndex: false });
        connectedOnce = true;
        log.info({ dbName, attempt }, 'store connected');
        return;
      } catch (error) {
        if (closing) throw error;
        const delay = Math.min(MAX_DELAY_MS, INITIAL_DELAY_MS * 2 ** (attempt - 1));
        log.warn({ err: (error as Error).message, attempt, retryInMs: delay }, 'store unreachable, retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (closing) throw new Error('closed while connecting');
      }
    }
  })();
  ready.catch(() => undefined);

  connection.on('disconnected', () => {
    if (!closing) log.warn('store disconnected');
  });
  connection.on('reconnected', () => log.info('store reconnected'));

  return {
    connection,
    ready,
    state() {
      if (storeProcess?.state() === 'restarting') return 'restarting';
      if (connection.readyState === mongoose.ConnectionStates.connected) return 'connected';
      if (connection.readyState === mongoose.ConnectionStates.connecting) return 'connecting';
      return !closing && !connectedOnce ? 'connecting' : 'disconnected';
    },
    async answers() {
      const db = connection.db;
      if (!db) return false;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS)));
      const pinged = db.admin().ping().then(() => true, () => false);
      try {
        return await Promise.race([pinged, timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closing = true;
      await connection.close();
    },
  };
}
