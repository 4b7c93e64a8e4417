import type { Logger } from '../../log.ts';
import type { StoreConnection } from '../connectWithRetry.ts';
import { migrateStore } from './migrateStore.ts';

/**
 * Brings the store up to date as soon as it is connected: the schema
 * migrations, then `afterMigrations` (the indexes of today's schema, which
 * may not hold on yesterday's documents). Until both are done the returned
 * connection says `migrating` where it would say `connected`, so the HTTP
 * edge answers 503 rather than write documents a unique index does not
 * guard yet.
 */
export function prepareOnConnect(
  connected: StoreConnection,
  log: Logger,
  afterMigrations: () => Promise<void>,
): { store: StoreConnection; prepared: Promise<void> } {
  const prepared = connected.ready.then(async () => {
    const db = connected.connection.db;
    if (!db) throw new Error('the store connection has no database');
    await migrateStore(db, { log });
    await afterMigrations();
  });
  let done = false;
  prepared.then(
    () => (done = true),
    () => undefined,
  );
  const store: StoreConnection = {
    connection: connected.connection,
    ready: connected.ready,
    state() {
      const state = connected.state();
      return state === 'connected' && !done ? 'migrating' : state;
    },
    answers: () => connected.answers(),
    async close() {
      // A preparation cut off by the close would leave a migration or an index half-built: it finishes first.
      if (store.state() === 'migrating') await prepared.catch(() => undefined);
      await connected.close();
    },
  };
  return { store, prepared };
}
