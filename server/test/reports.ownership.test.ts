import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LinkPatternView, ReportSummary } from '@lilac/common';
import { runAdmin } from './support/processes.ts';
import { generateSbom } from './support/sbomFixtures.ts';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from './support/testServer.ts';

let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
before(async () => ({ server, alice, bob } = await startServerWithAliceAndBob()));
after(() => server.close());

function put(name: string, body: string, builder: TestBuilder) {
  return server.request(`/reports/${name}`, { method: 'PUT', token: builder.token, headers: { 'content-type': 'application/json' }, body });
}

function postLinkPattern(pattern: string, link: string, builder: TestBuilder) {
  return server.request(`/link_patterns?pattern=${encodeURIComponent(pattern)}&link=${encodeURIComponent(link)}`, { method: 'POST', token: builder.token });
}

/** The admin CLI on the test server's store, as an operator runs it next to the server. */
function admin(...args: string[]) {
  return runAdmin(args, { ...process.env, DATA_DIR: server.context.config.dataDir, LILAC_DB_NAME: server.context.config.dbName, LOG_LEVEL: 'warn' });
}

async function detailOf(response: Response): Promise<string> {
  return ((await response.json()) as { detail: string }).detail;
}

async function sbomOf(name: string): Promise<string> {
  return (await server.request(`/reports/${name}`, { headers: { accept: 'application/vnd.cyclonedx+json' } })).text();
}

async function orphanedBlobs(): Promise<number> {
  const versions = (await server.context.models.Report.find({}, { version: 1 }).lean()).map((report) => report.version);
  return server.context.models.ReportBlob.countDocuments({ version: { $nin: versions } });
}

const first = JSON.stringify(generateSbom(4).sbom);
const second = JSON.stringify(generateSbom(5).sbom);

test("a report belongs to the builder that made it: another builder's upload is refused with 403, the owner's goes through", async () => {
  assert.equal((await put('owned', first, alice)).status, 201);
  const refused = await put('owned', second, bob);
  assert.equal(refused.status, 403);
  assert.match(await detailOf(refused), /report "owned" belongs to alice/);
  assert.equal(await sbomOf('owned'), first);
  assert.equal((await put('owned', second, alice)).status, 200);
  assert.equal(await sbomOf('owned'), second);
  const summary = (await (await server.request('/reports/owned', { headers: { accept: 'application/json' } })).json()) as ReportSummary;
  assert.equal(summary.owner, 'alice');
  assert.equal(await orphanedBlobs(), 0);
});

test("a link pattern belongs to the builder that made it: another builder's change is refused with 403", async () => {
  assert.equal((await postLinkPattern('samba.*', 'https://example.org/samba', alice)).status, 200);
  const refused = await postLinkPattern('samba.*', 'https://example.org/elsewhere', bob);
  assert.equal(refused.status, 403);
  assert.match(await detailOf(refused), /link pattern "samba\.\*" belongs to alice/);
  assert.equal((await postLinkPattern('samba.*', 'https://example.org/samba-2', alice)).status, 200);
  const listed = (await (await server.request('/link_patterns')).json()) as LinkPatternView[];
  assert.deepEqual(listed, [{ pattern: 'samba.*', link: 'https://example.org/samba-2', owner: 'alice' }]);
});

test('concurrent first uploads of one report all succeed in order and leave no orphaned blob', async () => {
  const bodies = Array.from({ length: 6 }, (_, index) => JSON.stringify(generateSbom(3 + index).sbom));
  const responses = await Promise.all(bodies.map((body) => put('raced', body, alice)));
  const statuses = responses.map((response) => response.status);
  assert.deepEqual(statuses.filter((status) => status === 201), [201], `statuses ${statuses}`);
  assert.equal(statuses.filter((status) => status === 200).length, bodies.length - 1, `statuses ${statuses}`);
  assert.ok(bodies.includes(await sbomOf('raced')));
  assert.equal(await orphanedBlobs(), 0);
});

test("concurrent first uploads by two builders: one owns the report, the other gets 403, and no blob is orphaned", async () => {
  const [fromAlice, fromBob] = await Promise.all([put('contested', first, alice), put('contested', second, bob)]);
  const statuses = [fromAlice.status, fromBob.status].sort();
  assert.deepEqual(statuses, [201, 403]);
  const winner = fromAlice.status === 201 ? first : second;
  assert.equal(await sbomOf('contested'), winner);
  assert.equal(await orphanedBlobs(), 0);
});

test('records made before owners existed are changed by no builder until an operator gives them one', async () => {
  await server.context.models.Report.collection.updateOne({ name: 'owned' }, { $unset: { owner: '' } });
  await server.context.models.LinkPattern.collection.updateOne({ pattern: 'samba.*' }, { $unset: { owner: '' } });
  const report = await put('owned', first, alice);
  assert.equal(report.status, 403);
  assert.match(await detailOf(report), /has no owner.*npm run admin -- give-report owned BUILDER/);
  const pattern = await postLinkPattern('samba.*', 'https://example.org/x', alice);
  assert.equal(pattern.status, 403);
  assert.match(await detailOf(pattern), /has no owner.*npm run admin -- give-link-pattern 'samba\.\*' BUILDER/);
  assert.equal(await orphanedBlobs(), 0);

  const gaveReport = await admin('give-report', 'owned', 'bob');
  assert.equal(gaveReport.code, 0, gaveReport.stderr);
  assert.equal((await put('owned', first, bob)).status, 200);
  assert.equal((await put('owned', second, alice)).status, 403);
  const gavePattern = await admin('give-link-pattern', 'samba.*', 'bob');
  assert.equal(gavePattern.code, 0, gavePattern.stderr);
  assert.equal((await postLinkPattern('samba.*', 'https://example.org/bob', bob)).status, 200);
  const unknown = await admin('give-report', 'owned', 'nobody');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no builder named "nobody"/);
});

test('the admin CLI removes a report with its blobs, and a link pattern', async () => {
  const removed = await admin('remove-report', 'owned');
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await server.request('/reports/owned')).status, 404);
  assert.equal(await server.context.models.ReportBlob.countDocuments({ report: 'owned' }), 0);
  const removedPattern = await admin('remove-link-pattern', 'samba.*');
  assert.equal(removedPattern.code, 0, removedPattern.stderr);
  assert.deepEqual(await (await server.request('/link_patterns')).json(), []);
  const missing = await admin('remove-report', 'owned');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no report named "owned"/);
});
