import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mongoose from 'mongoose';
import { insertNew } from '../src/store/insertNew.ts';

/**
 * Ingest inserts up to 1,000 documents per command and learns which were there
 * already from the duplicate-key refusals. The embedded store writes such a
 * command in one transaction, and a refused one again in sub-batches
 * (server/embedded-store/ferretdb-patches.json); both stores must refuse
 * exactly the duplicates and store everything else.
 */
let connection: mongoose.Connection;
before(async () => {
  const uri = process.env.MONGODB_URI;
  assert.ok(uri, 'the test command provides MONGODB_URI');
  connection = await mongoose.createConnection(uri, { dbName: `lilac-inserts-${process.pid}` }).asPromise();
});
after(async () => {
  await connection.dropDatabase();
  await connection.close();
});

const documents = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => ({ _id: `${prefix}-${index}`, index }));

test('an unordered insert of 1,000 refuses exactly the duplicates among them and stores the rest', async () => {
  const collection = connection.collection('unordered');
  const taken = [0, 150, 151, 999];
  await collection.insertMany(taken.map((index) => ({ _id: `doc-${index}`, index: -1 })) as never[]);
  const batch = documents('doc', 1_000);
  assert.deepEqual([...(await insertNew(collection, batch))].sort((a, b) => a - b), taken);
  assert.equal(await collection.countDocuments(), 1_000);
  assert.equal(await collection.countDocuments({ index: -1 }), taken.length, 'the documents already there are left as they were');
});

test('an insert of 1,000 with a duplicate inside it stores the first and refuses the second', async () => {
  const collection = connection.collection('repeated');
  const batch = [...documents('doc', 600), { _id: 'doc-300', index: -1 }, ...documents('more', 399)];
  assert.deepEqual([...(await insertNew(collection, batch))], [600]);
  assert.equal(await collection.countDocuments(), 999);
  assert.equal((await collection.findOne({ _id: 'doc-300' as never }))?.index, 300);
});

test('an ordered insert stops at its first duplicate, as on MongoDB', async () => {
  const collection = connection.collection('ordered');
  await collection.insertOne({ _id: 'doc-250' as never, index: -1 });
  await assert.rejects(collection.insertMany(documents('doc', 1_000) as never[], { ordered: true }), (error: { code?: number }) => error.code === 11000);
  assert.equal(await collection.countDocuments(), 251, 'the 250 before the duplicate and the duplicate itself');
});
