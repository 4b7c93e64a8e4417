import type { Logger } from '../../log.ts';
import type { StoreConnection } from '../connectWithRetry.ts';
import { migrateStore, type MigrateResult } from './migrateStore.ts';

/**
 * Migrates the store as soon as it is connected. Until that is done, the
 * returned connection says `migrating` where it would say `connected`, so
 * the HTTP edge answers 503 rather than write documents of a schema the
 * store does not have yet.
 */
export function migrateOnConnect(connected: StoreConnection, log: Logger): { store: StoreConnection; migrated: Promise<MigrateResult> } {
  const migrated = connected.ready.then(() => {
    const db = connected.connection.db;
    if (!db) throw new Error('the store connection has no database');
    return migrateStore(db, { log });
  });
  let done = false;
  migrated.then(
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
    close: () => connected.close(),
  };
  return { store, migrated };
}
