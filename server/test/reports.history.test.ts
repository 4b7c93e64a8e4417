import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ReportDetail, ReportHistory } from '@lilac/common';
import { removeReport } from '../src/reports/reportAdmin.ts';
import { drvHash, lilaItem, narHash } from './support/attestationFixtures.ts';
import { generateSbom, type GeneratedPath } from './support/sbomFixtures.ts';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from './support/testServer.ts';

let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
before(async () => ({ server, alice, bob } = await startServerWithAliceAndBob()));
after(() => server.close());

function put(name: string, sbom: unknown) {
  return server.request(`/reports/${name}`, { method: 'PUT', token: alice.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(sbom) });
}

async function attest(builder: TestBuilder, path: GeneratedPath, hash: string): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(path.drvPath)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, { outPath: path.outPath, narHash: narHash(hash) })] });
  assert.equal(response.status, 200);
}

async function history(name: string, query = ''): Promise<ReportHistory> {
  const response = await server.request(`/api/v1/reports/${name}/history${query}`);
  assert.equal(response.status, 200);
  return (await response.json()) as ReportHistory;
}

/** An upload's history is written once its verdicts are read, after the answer: the history once it has `versions` versions, all settled. */
async function settledHistory(name: string, versions: number, query = ''): Promise<ReportHistory> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const answer = await history(name, query);
    if (answer.versions.length === versions && answer.versions.every((version) => version.total > 0 && (version.countsAtUpload !== null || version.replacedAt !== null))) return answer;
    assert.ok(Date.now() < deadline, `history of ${name} never settled: ${JSON.stringify(answer.versions)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Sbom {
  metadata: { component: { properties: { name: string; value: string }[] } };
  components: { properties: { name: string; value: string }[] }[];
}

const versionOf = async (name: string) => (await server.context.models.Report.findOne({ name }).lean())!.version;

test('each upload is a version in the history, with its counts; the replaced version keeps its figures, not its blobs', async () => {
  const first = generateSbom(4, 2);
  assert.equal((await put('iso', first.sbom)).status, 201);
  const firstVersion = await versionOf('iso');
  await settledHistory('iso', 1);
  const [, reproduced, oneBuild] = first.paths as [GeneratedPath, GeneratedPath, GeneratedPath];
  await attest(alice, reproduced, 'same');
  await attest(bob, reproduced, 'same');
  await attest(alice, oneBuild, 'once');

  // The second upload keeps two paths of the first and adds four.
  const second = generateSbom(6, 2);
  const components = (second.sbom as unknown as Sbom).components;
  for (const [index, path] of [reproduced, oneBuild].entries()) {
    components[index]!.properties = components[index]!.properties.map((property) => (property.name === 'nix:out_path' ? { ...property, value: path.outPath } : property));
  }
  assert.equal((await put('iso', second.sbom)).status, 200);
  const secondVersion = await versionOf('iso');

  const { points, versions } = await settledHistory('iso', 2);
  assert.deepEqual(
    versions.map((version) => [version.version, version.total, version.replacedAt === null]),
    [
      [secondVersion, 6, true],
      [firstVersion, 4, false],
    ],
  );
  assert.deepEqual(versions[1]!.countsAtUpload, { 'no-builds': 4, 'one-build': 0, reproduced: 0, 'partially-reproduced': 0, nondeterministic: 0 });
  assert.deepEqual(versions[1]!.latestCounts, { 'no-builds': 2, 'one-build': 1, reproduced: 1, 'partially-reproduced': 0, nondeterministic: 0 }, 'its figures when replaced');
  assert.deepEqual(versions[0]!.countsAtUpload, { 'no-builds': 4, 'one-build': 1, reproduced: 1, 'partially-reproduced': 0, nondeterministic: 0 });
  const uploads = points.filter((point) => point.kind === 'upload');
  assert.deepEqual(uploads.map((point) => [point.version, point.total, point.counts.reproduced]), [
    [firstVersion, 4, 0],
    [secondVersion, 6, 1],
  ]);
  assert.ok(points.some((point) => point.kind === 'snapshot' && point.version === secondVersion), "today's point is the current version's");

  assert.equal(await server.context.models.ReportBlob.countDocuments({ version: firstVersion }), 0);
  assert.equal(await server.context.models.ReportState.countDocuments({ _id: firstVersion }), 0);
  assert.ok((await server.context.models.ReportBlob.countDocuments({ version: secondVersion })) > 0);
});

test("a day's point follows the counts as attestations arrive, one point per day", async () => {
  const sbom = generateSbom(3, 2);
  assert.equal((await put('daily', sbom.sbom)).status, 201);
  const [root] = sbom.paths as [GeneratedPath];
  const todays = async () => (await settledHistory('daily', 1, '?days=30')).points.filter((point) => point.kind === 'snapshot');
  assert.deepEqual((await todays()).map((point) => point.counts.reproduced), [0], 'the upload gives the day its point');
  await attest(alice, root, 'x');
  await attest(bob, root, 'x');
  await server.context.reports.recordHistory();
  assert.deepEqual((await todays()).map((point) => point.counts.reproduced), [1], "the day's point now, not a second one");

  const tomorrow = new Date(Date.now() + 24 * 60 * 60 * 1000);
  await server.context.reports.recordHistory(() => tomorrow);
  await server.context.reports.recordHistory(() => tomorrow);
  const days = await server.context.models.ReportDay.find({ report: 'daily' }).lean();
  assert.deepEqual(days.map((day) => day.at.toISOString()).sort(), [(await todays())[0]!.at, tomorrow.toISOString()].sort(), 'today and tomorrow, each once');
});

test('concurrent uploads each leave a version, and only the one in force is current', async () => {
  assert.equal((await put('race', generateSbom(3, 2).sbom)).status, 201);
  const answers = await Promise.all([0, 1, 2].map(() => put('race', generateSbom(3, 2).sbom)));
  assert.deepEqual(answers.map((answer) => answer.status), [200, 200, 200]);
  const { versions } = await settledHistory('race', 4);
  assert.deepEqual(versions.filter((version) => version.replacedAt === null).map((version) => version.version), [await versionOf('race')]);
  assert.ok(versions.every((version) => version.total === 3));
});

test('the attribute path an SBOM gives its root is shown with the report', async () => {
  const sbom = generateSbom(2, 1);
  (sbom.sbom as unknown as Sbom).metadata.component.properties.push({ name: 'nix:attr_path', value: 'nixos.iso_gnome' });
  assert.equal((await put('with-attr', sbom.sbom)).status, 201);
  const detail = (await (await server.request('/api/v1/reports/with-attr')).json()) as ReportDetail;
  assert.equal(detail.attrPath, 'nixos.iso_gnome');
  assert.equal((await settledHistory('with-attr', 1)).versions[0]!.attrPath, 'nixos.iso_gnome');
});

test('history of an unknown report is 404; a bad window is 400', async () => {
  assert.equal((await server.request('/api/v1/reports/nothing-here/history')).status, 404);
  for (const days of ['0', '3651', 'many', '1.5']) assert.equal((await server.request(`/api/v1/reports/iso/history?days=${days}`)).status, 400, days);
});

test("removing a report removes its history", async () => {
  assert.equal((await put('short-lived', generateSbom(2, 1).sbom)).status, 201);
  await settledHistory('short-lived', 1);
  await removeReport(server.context.models, 'short-lived');
  assert.equal(await server.context.models.ReportVersion.countDocuments({ report: 'short-lived' }), 0);
  assert.equal(await server.context.models.ReportDay.countDocuments({ report: 'short-lived' }), 0);
});
