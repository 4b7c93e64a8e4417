import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '../src/log.ts';
import { connectWithRetry } from '../src/store/connectWithRetry.ts';
import { startOrJoinEmbeddedStore, type EmbeddedStore } from '../src/store/embeddedStore.ts';
import { prepareOnConnect } from '../src/store/migrations/prepareOnConnect.ts';

const log = createLogger('silent');
let embedded: EmbeddedStore | undefined;
after(async () => {
  await embedded?.stop();
});

async function storeUri(): Promise<string> {
  if (process.env.MONGODB_URI) return process.env.MONGODB_URI;
  embedded = await startOrJoinEmbeddedStore({ dataDir: mkdtempSync(path.join(tmpdir(), 'lilac-prepare-')) });
  return embedded.uri;
}

test('the store says migrating until its indexes are built, and a close waits for them instead of cutting them off', async () => {
  const connected = connectWithRetry(await storeUri(), `lilac_prepare_${randomBytes(4).toString('hex')}`, log);
  let releaseIndexes = () => {};
  const indexesHeld = new Promise<void>((resolve) => (releaseIndexes = resolve));
  let indexed = false;
  const { store, prepared } = prepareOnConnect(connected, log, async () => {
    await indexesHeld;
    // A command on the store after the wait: a close that did not wait makes it fail as the server's did (MongoClientClosedError).
    await connected.connection.db!.collection('prepared').createIndex({ at: 1 });
    indexed = true;
  });
  await connected.ready;
  assert.equal(store.state(), 'migrating');

  const closed = store.close();
  setTimeout(releaseIndexes, 200);
  await closed;
  await prepared;
  assert.equal(indexed, true);
});
