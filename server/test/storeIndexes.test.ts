import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mongoose from 'mongoose';

/**
 * lilac keys its hot documents by `_id` so that every store serves them from
 * an index. FerretDB 1.24 scanned whole tables even for `_id` until the edits
 * in server/embedded-store/ferretdb-patches.json; this holds them to it.
 */
let connection: mongoose.Connection;
before(async () => {
  const uri = process.env.MONGODB_URI;
  assert.ok(uri, 'the test command provides MONGODB_URI');
  connection = await mongoose.createConnection(uri, { dbName: `lilac-index-${process.pid}` }).asPromise();
});
after(async () => {
  await connection.dropDatabase();
  await connection.close();
});

function planText(explained: unknown): string {
  return JSON.stringify(explained);
}

test('_id equality and _id $in are served from the index, also when the filter has other fields', async () => {
  const collection = connection.collection<{ _id: string; revision: number }>('lookups');
  await collection.insertMany(Array.from({ length: 500 }, (_, index) => ({ _id: `key-${index}`, revision: index })));
  for (const filter of [{ _id: 'key-499' }, { _id: 'key-499', revision: 499 }, { _id: { $in: ['key-499', 'key-7'] }, revision: 499 }]) {
    const plan = planText(await collection.find(filter).explain());
    if (plan.includes('ferretdbVersion')) {
      assert.match(plan, /SEARCH \S+ USING INDEX/, `FerretDB plan for ${JSON.stringify(filter)}: ${plan}`);
    } else {
      assert.doesNotMatch(plan, /COLLSCAN/, `MongoDB plan for ${JSON.stringify(filter)}: ${plan}`);
    }
    assert.equal((await collection.findOne(filter))?.revision, 499);
  }
  assert.equal(await collection.findOne({ _id: 'key-499', revision: 1 }), null, 'the other fields still filter');
});
