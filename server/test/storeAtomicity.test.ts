import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mongoose from 'mongoose';

/**
 * lilac relies on MongoDB's single-document atomicity: leases, report locks
 * and history records are each changed by several writers at once. FerretDB
 * 1.24 reads, changes in Go and writes back without a transaction, losing
 * one of two concurrent changes, until the edits in
 * server/embedded-store/ferretdb-patches.json; this holds both stores to it.
 */
const WRITERS = 8;
let connections: mongoose.Connection[];
before(async () => {
  const uri = process.env.MONGODB_URI;
  assert.ok(uri, 'the test command provides MONGODB_URI');
  const dbName = `lilac-atomicity-${process.pid}`;
  // Separate connections, so the store sees the writes truly at once and not queued on one socket.
  connections = await Promise.all(Array.from({ length: WRITERS }, () => mongoose.createConnection(uri, { dbName, maxPoolSize: 4 }).asPromise()));
});
after(async () => {
  await connections[0]!.dropDatabase();
  await Promise.all(connections.map((connection) => connection.close()));
});

type Doc = { _id: string } & Record<string, unknown>;

function collection<T extends { _id: string } = Doc>(index: number, name: string) {
  return connections[index % WRITERS]!.collection<T>(name);
}

test('concurrent $set of different fields of one document all remain', async () => {
  for (let round = 0; round < 20; round++) {
    const _id = `doc-${round}`;
    await collection(0, 'fields').insertOne({ _id });
    await Promise.all(Array.from({ length: WRITERS }, (_, writer) => collection(writer, 'fields').updateOne({ _id }, { $set: { [`field${writer}`]: writer } })));
    const stored = await collection(0, 'fields').findOne({ _id });
    for (let writer = 0; writer < WRITERS; writer++) assert.equal(stored?.[`field${writer}`], writer, `round ${round}: writer ${writer}'s field in ${JSON.stringify(stored)}`);
  }
});

test('concurrent $inc of one counter counts every increment', async () => {
  const _id = 'counter';
  await collection(0, 'counters').insertOne({ _id, n: 0 });
  const perWriter = 25;
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let i = 0; i < perWriter; i++) await collection<{ _id: string; n: number }>(writer, 'counters').updateOne({ _id }, { $inc: { n: 1 } });
    }),
  );
  assert.equal((await collection<{ _id: string; n: number }>(0, 'counters').findOne({ _id }))?.n, WRITERS * perWriter);
});

test('a conditional findOneAndUpdate is won by exactly one of many concurrent claimants', async () => {
  for (let round = 0; round < 20; round++) {
    const _id = `job-${round}`;
    await collection(0, 'claims').insertOne({ _id, holder: null });
    const won = await Promise.all(
      Array.from({ length: WRITERS }, (_, writer) =>
        collection<{ _id: string; holder: string | null }>(writer, 'claims').findOneAndUpdate({ _id, holder: null }, { $set: { holder: `writer-${writer}` } }, { returnDocument: 'after' }),
      ),
    );
    const winners = won.filter((answer) => answer !== null);
    assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(winners)}`);
    assert.equal((await collection<{ _id: string; holder: string | null }>(0, 'claims').findOne({ _id }))?.holder, winners[0]!.holder);
  }
});

test('a conditional delete never removes a document whose condition another writer changed first', async () => {
  for (let round = 0; round < 20; round++) {
    const _id = `lock-${round}`;
    await collection(0, 'locks').insertOne({ _id, token: 'old' });
    const [deleted, replaced] = await Promise.all([
      collection(1, 'locks').deleteOne({ _id, token: 'old' }),
      collection(2, 'locks').updateOne({ _id, token: 'old' }, { $set: { token: 'new' } }),
    ]);
    const stored = await collection<{ _id: string; token: string }>(0, 'locks').findOne({ _id });
    // Either order is fine; what MongoDB never does is both, or neither.
    if (deleted.deletedCount === 1) assert.equal(replaced.modifiedCount, 0, `round ${round}: deleted after it was changed`);
    else assert.equal(stored?.token, 'new', `round ${round}`);
    assert.equal(stored === null, deleted.deletedCount === 1, `round ${round}: ${JSON.stringify({ deleted, replaced, stored })}`);
  }
});
