import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClaimAck } from '@lilac/common';
import { connectRebuilder, fakeJob, testPoolConfig } from '../support/rebuilderClient.ts';
import { startTestServer, type TestServer } from '../support/testServer.ts';

const MAX_CLAIMS = 3;
let server: TestServer;
before(async () => {
  server = await startTestServer({ pool: testPoolConfig({ leaseMs: 60_000, maxClaimsPerBuilder: MAX_CLAIMS }) });
});
after(() => server.close());

test('a builder holds at most LILAC_POOL_MAX_CLAIMS_PER_BUILDER claims, over all its connections, and others still get work', async () => {
  const enqueuer = await server.createBuilder('limit-enqueuer');
  const jobs = Array.from({ length: MAX_CLAIMS + 3 }, (_, index) => fakeJob(`limited-${index}`));
  const enqueued = await server.request('/api/v1/jobs', { method: 'POST', token: enqueuer.token, json: jobs });
  assert.equal(enqueued.status, 200);
  const greedy = await server.createBuilder('greedy');
  const [first, second] = [await connectRebuilder(server.url, greedy.token), await connectRebuilder(server.url, greedy.token)];
  // Claims racing on two connections: the limit holds however they interleave.
  const answers = (await Promise.all(
    Array.from({ length: MAX_CLAIMS + 2 }, (_, index) => (index % 2 === 0 ? first : second).emitWithAck('claim')),
  )) as ClaimAck[];
  const won = answers.filter((answer) => answer !== null && !('error' in answer));
  const refused = answers.filter((answer) => answer !== null && 'error' in answer);
  assert.ok(won.length <= MAX_CLAIMS, `${won.length} claims held`);
  assert.equal(won.length + refused.length, answers.length);
  for (const answer of refused) assert.match((answer as { error: string }).error, /already holds 3 claims.*LILAC_POOL_MAX_CLAIMS_PER_BUILDER/);
  for (let held = won.length; held < MAX_CLAIMS; held++) {
    const answer = (await first.emitWithAck('claim')) as ClaimAck;
    assert.ok(answer !== null && !('error' in answer), JSON.stringify(answer));
  }
  assert.match(((await second.emitWithAck('claim')) as { error: string }).error, /LILAC_POOL_MAX_CLAIMS_PER_BUILDER/);
  assert.equal(await server.context.models.Lease.countDocuments({ builder: 'greedy' }), MAX_CLAIMS);

  const modest = await connectRebuilder(server.url, (await server.createBuilder('modest')).token);
  const fair = (await modest.emitWithAck('claim')) as ClaimAck;
  assert.ok(fair !== null && !('error' in fair), JSON.stringify(fair));
  for (const socket of [first, second, modest]) socket.disconnect();
});
