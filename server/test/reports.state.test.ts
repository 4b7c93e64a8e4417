import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VERDICTS, type ReportDetail, type Verdict } from '@lilac/common';
import { AttestationIngest } from '../src/attestations/ingestService.ts';
import { SignatureThreads } from '../src/attestations/signatureThreads.ts';
import { batchSubmissions } from '../src/attestations/submissions.ts';
import { EventBus } from '../src/events/eventBus.ts';
import { createLogger } from '../src/log.ts';
import { removeReport } from '../src/reports/reportAdmin.ts';
import { ReportService } from '../src/reports/reportService.ts';
import { storeBuiltState } from '../src/reports/reportStates.ts';
import { batchItem, narHash } from './support/attestationFixtures.ts';
import { generateSbom, type GeneratedPath, type GeneratedSbom } from './support/sbomFixtures.ts';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from './support/testServer.ts';
import { waitUntil } from './support/waitUntil.ts';

/**
 * The compact report state (`report_states`) as several server processes on
 * one store see it. A "process" here is a ReportService with its own event
 * bus and nothing in memory shared with the others, on the test server's
 * store; the intervals are short so the test need not wait a minute.
 */
const FAST = { storeEveryMs: 50, refreshEveryMs: 200, reconcileEveryMs: 60_000, reconcileAfterLoadMs: 0 };
const log = createLogger('silent');

let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
const services: ReportService[] = [];
/** The other processes' ingest checks signatures on threads of its own, as a process of its own would. */
const signatureChecks = new SignatureThreads(1);
before(async () => ({ server, alice, bob } = await startServerWithAliceAndBob()));
after(async () => {
  for (const service of services) await service.close();
  await signatureChecks.close();
  await server.close();
});

/** A process's report service on the shared store; `started` runs its timers as `npm start` does. */
function otherProcess(events = new EventBus(), started = true): ReportService {
  const service = new ReportService(server.context.models, events, log, FAST);
  if (started) service.start();
  services.push(service);
  return service;
}

/** The ingest of another process, publishing on `events`. */
function ingestOn(events: EventBus): AttestationIngest {
  return new AttestationIngest(server.context.models, server.context.builders, events, signatureChecks, log);
}

async function upload(name: string, generated: GeneratedSbom): Promise<void> {
  const response = await server.request(`/reports/${name}`, { method: 'PUT', token: alice.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(generated.sbom) });
  assert.ok(response.status === 201 || response.status === 200, await response.text());
}

async function attest(ingest: AttestationIngest, builder: TestBuilder, path: GeneratedPath, hash: string): Promise<void> {
  const inputs = batchSubmissions({ attestations: [batchItem(builder, path.drvPath, { outPath: path.outPath, narHash: narHash(hash) })] });
  await ingest.submit(await server.context.builders.get(builder.name), inputs);
}

/** Each verdict's count among `paths`, as the output summaries say. */
async function summaryCounts(paths: readonly GeneratedPath[]): Promise<Record<Verdict, number>> {
  const counts = Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])) as Record<Verdict, number>;
  const summaries = await server.context.models.OutputSummary.find({ outPath: { $in: paths.map((path) => path.outPath) } }).lean();
  counts['no-builds'] = paths.length - summaries.length;
  for (const summary of summaries) counts[summary.verdict as Verdict] += 1;
  return counts;
}

/** The report's stored state, once its upload has built it (in the background). */
async function storedState(name: string): Promise<{ version: string; verdicts: string }> {
  let state: { version: string; verdicts: string } | null = null;
  await waitUntil(`report ${name} has a stored state`, async () => {
    const version = (await server.context.models.Report.findOne({ name }).lean())?.version ?? '';
    const stored = await server.context.models.ReportState.findById(version).lean();
    state = stored ? { version, verdicts: stored.verdicts } : null;
    return state !== null;
  });
  assert.ok(state);
  return state;
}

async function countsOf(service: ReportService, name: string): Promise<Record<Verdict, number>> {
  return (await service.detail(name)).counts;
}

test('a server that starts on an existing store answers from the stored state, agreeing with the summaries', async () => {
  const generated = generateSbom(40);
  await upload('restart', generated);
  const ingest = ingestOn(server.context.events);
  const [, first, second, third] = generated.paths as GeneratedPath[];
  await attest(ingest, alice, first as GeneratedPath, 'same');
  await attest(ingest, bob, first as GeneratedPath, 'same');
  await attest(ingest, alice, second as GeneratedPath, 'a');
  await attest(ingest, bob, second as GeneratedPath, 'b');
  await attest(ingest, alice, third as GeneratedPath, 'one');
  const expected = await summaryCounts(generated.paths);
  assert.deepEqual(expected, { 'no-builds': 37, 'one-build': 1, reproduced: 1, 'partially-reproduced': 0, nondeterministic: 1 });
  // The running server stores its own changes within a second; a new process then reads them in one document.
  const version = (await server.context.models.Report.findOne({ name: 'restart' }).lean())?.version;
  await waitUntil('the running server stored its verdict changes', async () => {
    const state = await server.context.models.ReportState.findById(version).lean();
    return state?.verdicts.replace(/0/g, '').length === 3;
  });
  const restarted = otherProcess(new EventBus(), false);
  const detail: ReportDetail = await restarted.detail('restart');
  assert.deepEqual(detail.counts, expected);
  assert.equal(detail.tree.nodes.find((node) => node.outPath === second?.outPath)?.verdict, 'nondeterministic');
});

test('verdicts one process decides reach another within its refresh, both ways', async () => {
  const generated = generateSbom(30);
  await upload('shared', generated);
  const eventsOfFirst = new EventBus();
  const eventsOfSecond = new EventBus();
  const first = otherProcess(eventsOfFirst);
  const second = otherProcess(eventsOfSecond);
  assert.equal((await countsOf(second, 'shared'))['no-builds'], 30);
  const [, one, two] = generated.paths as GeneratedPath[];
  await attest(ingestOn(eventsOfFirst), alice, one as GeneratedPath, 'x');
  assert.equal((await countsOf(first, 'shared'))['one-build'], 1, 'the deciding process shows it at once');
  await waitUntil('the second process sees the first one’s verdict', async () => (await countsOf(second, 'shared'))['one-build'] === 1);
  await attest(ingestOn(eventsOfSecond), bob, one as GeneratedPath, 'x');
  await attest(ingestOn(eventsOfSecond), bob, two as GeneratedPath, 'y');
  await waitUntil('the first process sees the second one’s verdicts', async () => {
    const counts = await countsOf(first, 'shared');
    return counts.reproduced === 1 && counts['one-build'] === 1;
  });
  assert.deepEqual(await countsOf(first, 'shared'), await summaryCounts(generated.paths));
});

test('two processes storing changes to one report at the same time lose none of them', async () => {
  const generated = generateSbom(60);
  await upload('concurrent', generated);
  const eventsOfFirst = new EventBus();
  const eventsOfSecond = new EventBus();
  otherProcess(eventsOfFirst);
  otherProcess(eventsOfSecond);
  const [first, second] = [ingestOn(eventsOfFirst), ingestOn(eventsOfSecond)];
  const paths = generated.paths.slice(1) as GeneratedPath[];
  await Promise.all(paths.map((path, index) => attest(index % 2 === 0 ? first : second, index % 2 === 0 ? alice : bob, path, path.outPath)));
  const version = (await server.context.models.Report.findOne({ name: 'concurrent' }).lean())?.version;
  await waitUntil('the stored state holds every path either process decided', async () => {
    const state = await server.context.models.ReportState.findById(version).lean();
    return state?.verdicts.replace(/0/g, '').length === paths.length;
  });
  const fresh = otherProcess(new EventBus(), false);
  assert.deepEqual(await countsOf(fresh, 'concurrent'), await summaryCounts(generated.paths));
});

test('a summary written by a process that died before storing the report state is repaired when a process loads the report', async () => {
  // Processes earlier tests started load every new report and reconcile it at once: one would repair the state before this test looks.
  for (const service of services.splice(0)) await service.close();
  const generated = generateSbom(20);
  await upload('crashed', generated);
  // The upload builds the state in the background: built after the summary below, it would already hold it.
  await storedState('crashed');
  const lost = generated.paths[4] as GeneratedPath;
  // What a crash leaves: the summary written, no verdict event, nothing stored in the report's state.
  await server.context.models.OutputSummary.create({
    outPath: lost.outPath,
    drvPath: lost.drvPath,
    output: 'out',
    verdict: 'reproduced',
    hashes: [{ narHash: narHash('lost'), verifiedBuilders: ['alice', 'bob'], unverifiedBuilders: [] }],
    verifiedBuilderCount: 2,
    attestedBy: ['alice', 'bob'],
    revision: 1,
  });
  assert.equal((await storedState('crashed')).verdicts, '0'.repeat(20), 'the stored state predates the summary');
  const restarted = otherProcess(new EventBus(), false);
  await waitUntil('loading the report compared it with the summaries and stored the difference', async () => (await countsOf(restarted, 'crashed')).reproduced === 1);
  const later = otherProcess(new EventBus(), false);
  assert.deepEqual(await countsOf(later, 'crashed'), await summaryCounts(generated.paths), 'the repair was stored, not only held in memory');
});

test('a missing or unreadable state is rebuilt from the summaries (a store written before states existed)', async () => {
  const generated = generateSbom(25);
  await upload('rebuilt', generated);
  const ingest = ingestOn(server.context.events);
  await attest(ingest, alice, generated.paths[1] as GeneratedPath, 'p');
  await attest(ingest, bob, generated.paths[1] as GeneratedPath, 'p');
  const expected = await summaryCounts(generated.paths);
  const version = (await storedState('rebuilt')).version;
  await server.context.models.ReportState.deleteOne({ _id: version });
  assert.deepEqual(await countsOf(otherProcess(new EventBus(), false), 'rebuilt'), expected);
  assert.ok(await server.context.models.ReportState.findById(version).lean(), 'the rebuilt state is stored');
  await server.context.models.ReportState.updateOne({ _id: version }, { $set: { verdicts: '0', legend: ['no-builds'] } });
  assert.deepEqual(await countsOf(otherProcess(new EventBus(), false), 'rebuilt'), expected);
  assert.equal((await server.context.models.ReportState.findById(version).lean())?.verdicts.length, 25);
});

test('replacing or removing a report deletes its state', async () => {
  const generated = generateSbom(5);
  await upload('replaced', generated);
  const first = (await storedState('replaced')).version;
  await upload('replaced', generateSbom(6));
  const second = await storedState('replaced');
  assert.equal(await server.context.models.ReportState.countDocuments({ _id: first }), 0);
  assert.equal(second.verdicts.length, 6);
  assert.equal((await server.context.reports.detail('replaced')).total, 6);
  await removeReport(server.context.models, 'replaced');
  assert.equal(await server.context.models.ReportState.countDocuments({ _id: second.version }), 0);
});

test('a state built for a version that was replaced meanwhile is not stored', async () => {
  await upload('outpaced', generateSbom(3));
  const first = (await storedState('outpaced')).version;
  await upload('outpaced', generateSbom(4));
  // What a build that read the summaries before the replacement does once they are read.
  await storeBuiltState(server.context.models, 'outpaced', first, new Uint8Array(3));
  assert.equal(await server.context.models.ReportState.countDocuments({ _id: first }), 0);
});

test('the monitor JSON carries an entity tag that changes with a verdict', async () => {
  const generated = generateSbom(4);
  await upload('tagged', generated);
  const first = await server.request('/api/v1/reports/tagged');
  const etag = first.headers.get('etag');
  assert.ok(etag);
  assert.equal(((await first.json()) as ReportDetail).total, 4);
  // fetch adds `Cache-Control: no-cache` to a conditional request unless told otherwise, as a browser revalidating does not.
  const revalidating = { 'if-none-match': etag, 'cache-control': 'max-age=0' };
  assert.equal((await server.request('/api/v1/reports/tagged', { headers: revalidating })).status, 304);
  await attest(ingestOn(server.context.events), alice, generated.paths[2] as GeneratedPath, 't');
  const changed = await server.request('/api/v1/reports/tagged', { headers: revalidating });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.headers.get('etag'), etag);
  assert.equal(((await changed.json()) as ReportDetail).counts['one-build'], 1);
});

test('blobs stored before they were keyed by _id still read', async () => {
  const generated = generateSbom(7);
  await upload('legacy-blobs', generated);
  const version = (await storedState('legacy-blobs')).version;
  const { ReportBlob } = server.context.models;
  const chunks = await ReportBlob.find({ version }).lean();
  assert.equal(chunks.length, 2);
  await ReportBlob.deleteMany({ version });
  // As the previous version wrote them: an ObjectId the driver assigns.
  await ReportBlob.collection.insertMany(chunks.map(({ _id, ...fields }) => fields));
  assert.equal(await ReportBlob.countDocuments({ version, _id: { $type: 'objectId' } }), 2);
  assert.equal((await countsOf(otherProcess(new EventBus(), false), 'legacy-blobs'))['no-builds'], 7);
  const sbom = await server.request('/reports/legacy-blobs', { headers: { accept: 'application/vnd.cyclonedx+json' } });
  assert.deepEqual(await sbom.json(), generated.sbom);
});
