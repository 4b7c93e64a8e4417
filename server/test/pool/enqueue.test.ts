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


test('the OpenAPI document describes the pool routes', async () => {
  const openapi = (await (await server().request('/api/v1/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
  assert.ok(openapi.paths['/api/v1/jobs']?.post, 'POST /api/v1/jobs');
  assert.ok(openapi.paths['/api/v1/reports/{name}/enqueue']?.post, 'POST /api/v1/reports/{name}/enqueue');
  assert.ok(openapi.paths['/api/v1/pool']?.get, 'GET /api/v1/pool');
  for (const schema of ['JobRequest', 'EnqueueResult', 'PoolView', 'PoolJobView', 'PoolStats']) assert.ok(openapi.components.schemas[schema], schema);
});
