import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mongoose from 'mongoose';

/**
 * Output summaries are written as one bulk of compare-and-set updates per
 * ingest round. The embedded store writes the updates of one command that
 * each name a document of their own together, up to 1,000 in one statement
 * and commit (server/embedded-store/ferretdb-patches.json).
 * This holds both stores to what MongoDB answers for such bulks.
 */
const WRITERS = 4;
let connections: mongoose.Connection[];
before(async () => {
  const uri = process.env.MONGODB_URI;
  assert.ok(uri, 'the test command provides MONGODB_URI');
  const dbName = `lilac-bulk-updates-${process.pid}`;
  connections = await Promise.all(Array.from({ length: WRITERS }, () => mongoose.createConnection(uri, { dbName, maxPoolSize: 4 }).asPromise()));
});
after(async () => {
  await connections[0]!.dropDatabase();
  await Promise.all(connections.map((connection) => connection.close()));
});

interface Versioned {
  _id: string;
  revision: number;
  value: string;
}

function collection(name: string, writer = 0) {
  return connections[writer % WRITERS]!.collection<Versioned>(name);
}

test('a bulk of compare-and-set updates writes exactly those whose revision still matches', async () => {
  const summaries = collection('compare-and-set');
  await summaries.insertMany(Array.from({ length: 10 }, (_, index) => ({ _id: `path-${index}`, revision: 1, value: 'before' })));
  const result = await summaries.bulkWrite(
    Array.from({ length: 10 }, (_, index) => ({
      // Odd paths are asked at a revision they no longer have.
      updateOne: { filter: { _id: `path-${index}`, revision: index % 2 === 0 ? 1 : 0 }, update: { $set: { value: `after-${index}` }, $inc: { revision: 1 } } },
    })),
    { ordered: false },
  );
  assert.equal(result.matchedCount, 5);
  assert.equal(result.modifiedCount, 5);
  const stored = await summaries.find().sort({ _id: 1 }).toArray();
  for (const document of stored) {
    const index = Number(document._id.slice('path-'.length));
    if (index % 2 === 0) assert.deepEqual(document, { _id: `path-${index}`, revision: 2, value: `after-${index}` });
    else assert.deepEqual(document, { _id: `path-${index}`, revision: 1, value: 'before' });
  }
});

test('updates of one bulk that name the same document each see the one before', async () => {
  const counters = collection('same-document');
  await counters.insertOne({ _id: 'counter', revision: 0, value: '' });
  const result = await counters.bulkWrite(
    ['a', 'b', 'c'].map((letter, index) => ({ updateOne: { filter: { _id: 'counter', revision: index }, update: { $set: { value: letter }, $inc: { revision: 1 } } } })),
    { ordered: true },
  );
  assert.equal(result.modifiedCount, 3);
  assert.deepEqual(await counters.findOne({ _id: 'counter' }), { _id: 'counter', revision: 3, value: 'c' });
});

test('bulks of many compare-and-set updates complete, and the store answers after them', { timeout: 60_000 }, async () => {
  // Each statement's read held a pooled SQLite connection until its command ended: 100 took the embedded store's whole pool and froze it.
  const summaries = collection('large-bulks');
  for (const size of [150, 2_500]) {
    const ids = Array.from({ length: size }, (_, index) => `${size}-${String(index).padStart(4, '0')}`);
    await summaries.insertMany(ids.map((_id) => ({ _id, revision: 1, value: 'before' })));
    const result = await summaries.bulkWrite(
      ids.map((_id) => ({ updateOne: { filter: { _id, revision: 1 }, update: { $set: { value: 'after' }, $inc: { revision: 1 } } } })),
      { ordered: false },
    );
    assert.equal(result.modifiedCount, size);
    assert.equal(await summaries.countDocuments({ _id: { $in: ids }, value: 'after', revision: 2 }), size);
  }
  // With an upsert among them, the statements are written one by one: each read must still be closed.
  const ids = Array.from({ length: 150 }, (_, index) => `one-by-one-${String(index).padStart(3, '0')}`);
  await summaries.insertMany(ids.map((_id) => ({ _id, revision: 1, value: 'before' })));
  const mixed = await summaries.bulkWrite(
    [
      ...ids.map((_id) => ({ updateOne: { filter: { _id, revision: 1 }, update: { $set: { value: 'after' }, $inc: { revision: 1 } } } })),
      { updateOne: { filter: { _id: 'one-by-one-new' }, update: { $set: { revision: 1, value: 'upserted' } }, upsert: true } },
    ],
    { ordered: false },
  );
  assert.equal(mixed.modifiedCount, ids.length);
  assert.equal(mixed.upsertedCount, 1);
  await collection('large-bulks-neighbour').insertOne({ _id: 'still-writable', revision: 0, value: '' });
});

test('a statement that fails keeps what the statements before it wrote, as MongoDB does in order', async () => {
  const documents = collection('failing-statement');
  await documents.insertMany(['a', 'b', 'c'].map((_id) => ({ _id, revision: 0, value: 'before' })));
  await assert.rejects(
    documents.bulkWrite(
      [
        { updateOne: { filter: { _id: 'a' }, update: { $set: { value: 'after' } } } },
        // $inc of a string field is refused by the store, and by the driver's types.
        { updateOne: { filter: { _id: 'b' }, update: { $inc: { value: 1 } } as never } },
        { updateOne: { filter: { _id: 'c' }, update: { $set: { value: 'after' } } } },
      ],
      { ordered: true },
    ),
  );
  assert.deepEqual(
    (await documents.find().sort({ _id: 1 }).toArray()).map((document) => document.value),
    ['after', 'before', 'before'],
  );
});

test('an update of many documents changes each of them once', async () => {
  const many = collection('many');
  await many.insertMany(Array.from({ length: 1_200 }, (_, index) => ({ _id: `doc-${String(index).padStart(4, '0')}`, revision: 0, value: index < 600 ? 'first' : 'second' })));
  const result = await many.updateMany({ value: 'first' }, { $inc: { revision: 1 }, $set: { value: 'done' } });
  assert.equal(result.modifiedCount, 600);
  assert.equal(await many.countDocuments({ value: 'done', revision: 1 }), 600);
  assert.equal(await many.countDocuments({ value: 'second', revision: 0 }), 600);
  const all = await many.updateMany({}, { $inc: { revision: 1 } });
  assert.equal(all.modifiedCount, 1_200);
  assert.equal(await many.countDocuments({ revision: 2 }), 600);
  assert.equal(await many.countDocuments({ revision: 1 }), 600);
});

test('concurrent bulks of compare-and-set updates count each write that matched exactly once', async () => {
  const contested = collection('contested');
  const paths = Array.from({ length: 6 }, (_, index) => `path-${index}`);
  await contested.insertMany(paths.map((_id) => ({ _id, revision: 0, value: '' })));
  const matched = await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      const bulk = collection('contested', writer);
      let count = 0;
      for (let round = 0; round < 15; round++) {
        const current = await bulk.find({ _id: { $in: paths } }).toArray();
        const result = await bulk.bulkWrite(
          current.map((document) => ({ updateOne: { filter: { _id: document._id, revision: document.revision }, update: { $set: { value: `writer-${writer}` }, $inc: { revision: 1 } } } })),
          { ordered: false },
        );
        count += result.matchedCount;
      }
      return count;
    }),
  );
  // A write both writers saw matching but only one kept would count twice and move the revision once.
  const revisions = (await contested.find().toArray()).reduce((sum, document) => sum + document.revision, 0);
  assert.equal(revisions, matched.reduce((sum, count) => sum + count, 0));
});
