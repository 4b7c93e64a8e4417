import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeJob } from '../support/rebuilderClient.ts';
import { enqueue, server, usePoolServer } from './poolKit.ts';

usePoolServer();

test('enqueueing needs a token and well-formed outputs, and writes nothing otherwise', async () => {
  const before = await server().context.models.Job.countDocuments();
  assert.equal((await server().request('/api/v1/jobs', { method: 'POST', json: [fakeJob()] })).status, 401);
  const notList = await enqueue({ drvPath: 'x' });
  assert.equal(notList.status, 400);
  const good = fakeJob('good');
  const misnamed = { ...fakeJob('misnamed'), output: 'dev' };
  const bad = await enqueue([good, misnamed]);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { detail: string }).detail, /^item 1: output dev of .* must be named "misnamed-dev"/);
  assert.equal((await enqueue([{ ...good, drvPath: '/nix/store/short-x.drv' }])).status, 400);
  assert.equal(await server().context.models.Job.countDocuments(), before);
  assert.deepEqual(await (await enqueue([good, good])).json(), { added: 1, requeued: 0, unchanged: 0, satisfied: 0 });
  assert.deepEqual(await (await enqueue([good])).json(), { added: 0, requeued: 0, unchanged: 1, satisfied: 0 });
});

