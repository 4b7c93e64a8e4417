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

test('a range of string _ids is served from the index and finds exactly what MongoDB finds', async () => {
  const collection = connection.collection<{ _id: string }>('ranges');
  const digest = '0123456789abcdfghijklmnpqrsvwxyz';
  const ids = [
    `/nix/store/${digest}`,
    `/nix/store/${digest}-hello-2.12`,
    `/nix/store/${digest}-hello-2.12-doc`,
    `/nix/store/${digest}-a "quoted" name`,
    `/nix/store/${digest}-<html>&amp;`,
    `/nix/store/${digest}-tab\there`,
    `/nix/store/${digest}-line\u2028separator`,
    `/nix/store/${digest}.`,
    `/nix/store/${digest}!`,
    `/nix/store/${digest}\u0001`,
    `/nix/store/${digest.slice(0, -1)}-other`,
    `/nix/store/1${digest.slice(1)}-other`,
    ...Array.from({ length: 300 }, (_, index) => `/nix/store/${String(index).padStart(32, '0')}-filler`),
  ];
  await collection.insertMany(ids.map((_id) => ({ _id })));
  const between = (low: Record<string, string>, high: Record<string, string>) =>
    ids.filter((id) => (low.$gte !== undefined ? id >= low.$gte : id > (low.$gt as string)) && (high.$lt !== undefined ? id < high.$lt : id <= (high.$lte as string))).sort();
  const cases: [Record<string, string>, Record<string, string>][] = [
    [{ $gte: `/nix/store/${digest}-` }, { $lt: `/nix/store/${digest}.` }],
    [{ $gte: `/nix/store/${digest}` }, { $lte: `/nix/store/${digest}.` }],
    [{ $gt: `/nix/store/${digest}-a` }, { $lt: `/nix/store/${digest}-i` }],
    // Bounds that differ at once, or at a character JSON escapes, still find everything between them.
    [{ $gte: '/nix/store/0' }, { $lt: '/nix/store/1' }],
    [{ $gte: `/nix/store/${digest}-<` }, { $lt: `/nix/store/${digest}-<z` }],
    [{ $gte: '' }, { $lt: '~' }],
  ];
  for (const [low, high] of cases) {
    const filter = { _id: { ...low, ...high } };
    const found = (await collection.find(filter).toArray()).map((document) => document._id).sort();
    assert.deepEqual(found, between(low, high), `found for ${JSON.stringify(filter)}`);
  }
  const plan = planText(await collection.find({ _id: { $gte: `/nix/store/${digest}-`, $lt: `/nix/store/${digest}.` } }).explain());
  if (plan.includes('ferretdbVersion')) assert.match(plan, /SEARCH \S+ USING INDEX/, `FerretDB plan: ${plan}`);
  else assert.doesNotMatch(plan, /COLLSCAN/, `MongoDB plan: ${plan}`);
});
