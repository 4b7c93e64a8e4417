import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { storeSyncOf } from '../server/src/config.ts';
import { createLogger } from '../server/src/log.ts';
import { startEmbeddedStore } from '../server/src/store/embeddedStore.ts';

/** Which store the tests run against; `embedded`: lilac's own default, which tests of start-up and restarts start for themselves. */
export type TestStoreKind = 'mongodb' | 'embedded';

/**
 * Runs `body` with MONGODB_URI pointing at a store: the one the caller gave,
 * or an embedded FerretDB on a throw-away data directory, started once for
 * every test or bench file and stopped afterwards.
 */
export async function withTestStore<T>(body: (uri: string, kind: TestStoreKind) => Promise<T>): Promise<T> {
  if (process.env.MONGODB_URI) {
    console.log(`store: MongoDB at MONGODB_URI`);
    return body(process.env.MONGODB_URI, 'mongodb');
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lilac-store-'));
  const store = await startEmbeddedStore({ dataDir, sync: storeSyncOf(process.env), log: createLogger('warn') });
  console.log(`store: embedded FerretDB at ${store.uri} on ${dataDir}`);
  try {
    return await body(store.uri, 'embedded');
  } finally {
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
