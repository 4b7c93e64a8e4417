import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { mongo } from 'mongoose';
import type { Logger } from '../../log.ts';
import type { Migration } from './migration.ts';
import { MIGRATIONS } from './migrations.ts';
import { trySchemaLock, type HeldSchemaLock } from './schemaLock.ts';

/** The version document and the migration locks. */
export const SCHEMA_COLLECTION = 'store_schema';
/** One record per migration run: which process ran which migration, when; a migration run twice shows twice. */
export const MIGRATION_LOG_COLLECTION = 'store_migrations';
const VERSION_ID = 'version';

/** The store was written by a newer lilac: this one would misread it, and must not write to it. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
  constructor(readonly stored: number, readonly known: number) {
    super(
      `the store's schema version is ${stored}, and this lilac knows versions up to ${known}: ` +
        'a newer lilac has migrated it. Run that version (or newer), or point this one at another store.',
    );
  }
}

export interface MigrateOptions {
  readonly log: Logger;
  readonly migrations?: readonly Migration[];
  /** How long a silent migrating process is waited for before its lock is taken over. */
  readonly lockTtlMs?: number;
  readonly pollMs?: number;
  readonly now?: () => Date;
}

export interface MigrateResult {
  readonly from: number;
  readonly to: number;
  /** Versions this process applied; empty when the store was current or another process migrated it. */
  readonly applied: number[];
}

/** 0 for a store no lilac with migrations has written to yet (new, or written before versions were kept). */
export async function storedSchemaVersion(db: mongo.Db): Promise<number> {
  const document = await db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).findOne({ _id: VERSION_ID });
  return document?.version ?? 0;
}

function latestOf(migrations: readonly Migration[]): number {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${migration.name} has version ${migration.version}, expected ${index + 1}`);
  });
  return migrations.length;
}

/**
 * Brings the store to the schema this code knows, before anything else
 * reads or writes it. Several processes may start at once: one migrates,
 * the others wait until the version is current. A store of a newer schema
 * is refused (`SchemaTooNewError`).
 */
export async function migrateStore(db: mongo.Db, options: MigrateOptions): Promise<MigrateResult> {
  const { log } = options;
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = latestOf(migrations);
  const timing = { ttlMs: options.lockTtlMs ?? 60_000, now: options.now ?? (() => new Date()) };
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const from = await storedSchemaVersion(db);
  let waiting = false;
  for (;;) {
    const version = await storedSchemaVersion(db);
    if (version > latest) throw new SchemaTooNewError(version, latest);
    if (version === latest) return { from, to: latest, applied: [] };
    const lock = await trySchemaLock(db.collection(SCHEMA_COLLECTION), holder, timing);
    if (lock) {
      const applied = await migrateHolding(db, lock, migrations, holder, timing.now, log);
      if (applied) return { from, to: latest, applied };
    } else if (!waiting) {
      waiting = true;
      log.info({ from: version, to: latest }, 'another process is migrating the store; waiting for it');
    }
    await sleep(options.pollMs ?? 250);
  }
}

/** A store with no documents but the schema's own records (its collections may exist, made empty by the models): its migrations have nothing to change. */
async function isNewStore(db: mongo.Db, version: number): Promise<boolean> {
  if (version !== 0) return false;
  const collections = await db.listCollections({}, { nameOnly: true }).toArray();
  const written = collections.filter(({ name }) => name !== SCHEMA_COLLECTION && name !== MIGRATION_LOG_COLLECTION);
  for (const { name } of written) if (await db.collection(name).findOne({}, { projection: { _id: 1 } })) return false;
  return true;
}

/**
 * Applies what the version still lacks; null when the lock was lost midway (the caller waits for whoever took it).
 * A new store says so in one line: a line per migration there would tell an operator of changes that changed nothing.
 */
async function migrateHolding(
  db: mongo.Db,
  lock: HeldSchemaLock,
  migrations: readonly Migration[],
  holder: string,
  now: () => Date,
  log: Logger,
): Promise<number[] | null> {
  const applied: number[] = [];
  try {
    // Read again under the lock: another process may have finished in between.
    const version = await storedSchemaVersion(db);
    if (version > migrations.length) throw new SchemaTooNewError(version, migrations.length);
    const newStore = await isNewStore(db, version);
    const step = newStore ? log.debug.bind(log) : log.info.bind(log);
    for (const migration of migrations.slice(version)) {
      if (!(await lock.stillHeld())) return null;
      step({ version: migration.version, migration: migration.name }, 'migrating the store');
      const startedAt = now();
      await migration.up(db, log);
      const finishedAt = now();
      await db.collection(MIGRATION_LOG_COLLECTION).insertOne({ version: migration.version, name: migration.name, holder, startedAt, finishedAt });
      await db
        .collection<{ _id: string; version: number; updatedAt: Date }>(SCHEMA_COLLECTION)
        .updateOne({ _id: VERSION_ID }, { $set: { version: migration.version, updatedAt: finishedAt } }, { upsert: true });
      step({ version: migration.version, ms: finishedAt.getTime() - startedAt.getTime() }, 'store migrated');
      applied.push(migration.version);
    }
    if (newStore && applied.length > 0) log.info({ version: migrations.length }, 'new store: schema set up at the current version');
    return applied;
  } finally {
    await lock.release();
  }
}
