import { availableParallelism } from 'node:os';
import path from 'node:path';
import { DEFAULT_MAX_LISTING_ENTRIES } from '@lilac/common';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Unset: the embedded FerretDB on `dataDir` is started and used. */
  readonly mongodbUri: string | undefined;
  readonly dbName: string;
  readonly dataDir: string;
  /**
   * When the embedded store's commits reach the disk: `full` (the default) syncs every commit; `normal`
   * syncs at WAL checkpoints only, so a power loss or OS crash (not a crash of lilac or the store) may
   * lose the last commits, answers already given included.
   */
  readonly storeSync: StoreSync;
  /** Worker threads that check signatures: by default one core fewer than the machine has (the event loop's), at most four. */
  readonly signatureThreads: number;
  /** Largest accepted request body, in bytes; a 50,000-component SBOM is about 25 MB. */
  readonly bodyLimitBytes: number;
  /** Most JSON values (array items, object members, scalars) one request body may hold, counted before it is parsed. */
  readonly bodyMaxValues: number;
  /** Deepest nesting of arrays and objects one request body may have. */
  readonly bodyMaxDepth: number;
  /** Time a client has to send a whole request, body included. */
  readonly requestTimeoutMs: number;
  /** Time a client has to send a request's headers. */
  readonly headersTimeoutMs: number;
  /** Open connections (HTTP and Socket.IO alike) beyond which new ones are closed at once. */
  readonly maxConnections: number;
  /** Largest Socket.IO message any client may send; a rebuilder's `complete` must fit. */
  readonly socketMessageLimitBytes: number;
  /** Most entries one file listing may hold (`PUT /api/v1/outputs/{digest-name}/listing`). */
  readonly maxListingEntries: number;
  /** Largest listing upload once inflated: a million entries of about 190 bytes of JSON each. */
  readonly listingBodyLimitBytes: number;
  readonly logLevel: string;
  /** False (`LILAC_PUBLIC=false`): reading needs a signed-in member (or a builder's token); true: anyone may read. */
  readonly publicReads: boolean;
  /** Failed sign-ins one client address, or one member name, may make per window before it must wait. */
  readonly signInAttempts: number;
  readonly signInWindowMs: number;
  readonly pool: PoolConfig;
}

const STORE_SYNC_MODES = ['full', 'normal'] as const;
export type StoreSync = (typeof STORE_SYNC_MODES)[number];

/** The shared rebuild work pool (`server/src/pool/`). */
export interface PoolConfig {
  /** A job retires once this many independent builders with valid signatures attested its output. */
  readonly targetBuilders: number;
  /** How long a claim holds without a heartbeat. */
  readonly leaseMs: number;
  /** How often expired leases are returned to the pool. */
  readonly sweepIntervalMs: number;
  /** Failures (by different builders) before a job is marked failed. */
  readonly maxAttempts: number;
  /** Backoff after the first failure; doubles with each further one. */
  readonly retryBaseMs: number;
  /** At most one `pool:stats` event per this interval. */
  readonly statsIntervalMs: number;
  /** Claims one builder may hold at once, over all its connections: one worker cannot empty the pool for everyone else. */
  readonly maxClaimsPerBuilder: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(text)}`);
}

export function storeSyncOf(env: NodeJS.ProcessEnv): StoreSync {
  const text = env.LILAC_STORE_SYNC?.trim() || 'full';
  const mode = STORE_SYNC_MODES.find((known) => known === text);
  if (mode === undefined) throw new ConfigError(`LILAC_STORE_SYNC must be ${STORE_SYNC_MODES.join(' or ')}, got ${JSON.stringify(text)}`);
  return mode;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const mongodbUri = env.MONGODB_URI?.trim() || undefined;
  if (mongodbUri !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongodbUri)) {
    throw new ConfigError('MONGODB_URI must start with mongodb:// or mongodb+srv://');
  }
  const requestTimeoutMs = integer(env, 'LILAC_REQUEST_TIMEOUT_MS', 60_000, 100, 3600_000);
  const headersTimeoutMs = integer(env, 'LILAC_HEADERS_TIMEOUT_MS', 20_000, 100, 3600_000);
  // Node refuses a server whose headers may take longer than the whole request.
  if (headersTimeoutMs > requestTimeoutMs) throw new ConfigError('LILAC_HEADERS_TIMEOUT_MS must not exceed LILAC_REQUEST_TIMEOUT_MS');
  return {
    host: env.HOST?.trim() || '127.0.0.1',
    port: integer(env, 'PORT', 8000, 0, 65535),
    mongodbUri,
    dbName: env.LILAC_DB_NAME?.trim() || 'lilac',
    dataDir: path.resolve(env.DATA_DIR?.trim() || 'data'),
    storeSync: storeSyncOf(env),
    // One core is the event loop's (and the embedded store's); the rest check signatures, up to four by default.
    signatureThreads: integer(env, 'LILAC_SIGNATURE_THREADS', Math.max(1, Math.min(4, availableParallelism() - 1)), 1, 64),
    bodyLimitBytes: integer(env, 'LILAC_BODY_LIMIT_BYTES', 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    bodyMaxValues: integer(env, 'LILAC_BODY_MAX_VALUES', 2_000_000, 1, 1_000_000_000),
    bodyMaxDepth: integer(env, 'LILAC_BODY_MAX_DEPTH', 64, 1, 10_000),
    requestTimeoutMs,
    headersTimeoutMs,
    maxConnections: integer(env, 'LILAC_MAX_CONNECTIONS', 1000, 1, 1_000_000),
    socketMessageLimitBytes: integer(env, 'LILAC_SOCKET_MESSAGE_LIMIT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxListingEntries: integer(env, 'LILAC_MAX_LISTING_ENTRIES', DEFAULT_MAX_LISTING_ENTRIES, 1, 100_000_000),
    listingBodyLimitBytes: integer(env, 'LILAC_LISTING_BODY_LIMIT_BYTES', 256 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    publicReads: boolean(env, 'LILAC_PUBLIC', true),
    signInAttempts: integer(env, 'LILAC_SIGN_IN_ATTEMPTS', 10, 1, 10_000),
    signInWindowMs: integer(env, 'LILAC_SIGN_IN_WINDOW_MS', 15 * 60_000, 1000, 24 * 3600_000),
    pool: {
      targetBuilders: integer(env, 'LILAC_POOL_TARGET_BUILDERS', 2, 1, 100),
      leaseMs: integer(env, 'LILAC_POOL_LEASE_MS', 60_000, 50, 24 * 3600_000),
      sweepIntervalMs: integer(env, 'LILAC_POOL_SWEEP_INTERVAL_MS', 5_000, 10, 3600_000),
      maxAttempts: integer(env, 'LILAC_POOL_MAX_ATTEMPTS', 3, 1, 100),
      retryBaseMs: integer(env, 'LILAC_POOL_RETRY_BASE_MS', 60_000, 0, 24 * 3600_000),
      statsIntervalMs: integer(env, 'LILAC_POOL_STATS_INTERVAL_MS', 1_000, 10, 60_000),
      maxClaimsPerBuilder: integer(env, 'LILAC_POOL_MAX_CLAIMS_PER_BUILDER', 32, 1, 100_000),
    },
  };
}
