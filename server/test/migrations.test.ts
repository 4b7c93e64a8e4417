import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { after, test } from 'node:test';
import mongoose, { mongo } from 'mongoose';
import { pino, type Logger } from 'pino';
import { formatKey, generateKeyPair, narinfoFingerprint, parseStorePath, signFingerprint, type AttestationView, type JobView, type NamedKey, type OutputDetail, type PoolView, type ReportSummary } from '@lilac/common';
import { attestationId } from '../src/attestations/attestationModel.ts';
import { generateToken, hashToken } from '../src/builders/tokens.ts';
import { decodeListing } from '../src/listings/listingCodec.ts';
import { readCompressedListing } from '../src/listings/listingStore.ts';
import { ORPHANED_AFTER_MS, OrphanedChunkSweep } from '../src/listings/orphanedChunkSweep.ts';
import { jobIdFor } from '../src/pool/jobModel.ts';
import { parseCycloneDx } from '../src/reports/cyclonedx.ts';
import { startOrJoinEmbeddedStore, type EmbeddedStore } from '../src/store/embeddedStore.ts';
import { MIGRATION_LOG_COLLECTION, SCHEMA_COLLECTION } from '../src/store/migrations/migrateStore.ts';
import { MIGRATIONS } from '../src/store/migrations/migrations.ts';
import { drvHash, drvPath, narHash, storePath } from './support/attestationFixtures.ts';
import { connectRebuilder } from './support/rebuilderClient.ts';
import { startTestServer, type TestServer } from './support/testServer.ts';

/**
 * Stores written by earlier lilacs, laid down document by document through
 * the raw driver in the shapes the old models wrote (before 49e95e4: ObjectId
 * `_id`s; at 0954717: natural keys, no derivation claims, no owners), then
 * opened by a real server and read through its HTTP API.
 */
const stores: EmbeddedStore[] = [];
after(async () => {
  for (const store of stores) await store.stop();
});

interface OldStore {
  readonly db: mongo.Db;
  readonly dbName: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

async function oldStore(): Promise<OldStore> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lilac-migrations-'));
  let uri = process.env.MONGODB_URI;
  if (uri === undefined) {
    const embedded = await startOrJoinEmbeddedStore({ dataDir });
    stores.push(embedded);
    uri = embedded.uri;
  }
  const dbName = `lilac_migrations_${randomBytes(4).toString('hex')}`;
  const connection = await mongoose.createConnection(uri, { dbName, autoIndex: false }).asPromise();
  return { db: connection.db!, dbName, dataDir, close: () => connection.close() };
}

function startOn(store: OldStore): Promise<TestServer> {
  return startTestServer({ dbName: store.dbName, dataDir: store.dataDir });
}

interface OldBuilder {
  readonly name: string;
  readonly token: string;
  readonly secretKey: NamedKey;
  readonly publicKey: string;
}

function oldBuilder(name: string): OldBuilder {
  const { secretKey, publicKey } = generateKeyPair(`${name}-1`);
  return { name, token: generateToken(), secretKey, publicKey: formatKey(publicKey) };
}

const at = new Date('2026-11-20T10:00:00Z');
const later = new Date('2026-11-20T11:00:00Z');

/** The unique indexes the old models declared: a migration must get past them. */
async function oldIndexes(db: mongo.Db): Promise<void> {
  await db.collection('builders').createIndex({ name: 1 }, { unique: true });
  await db.collection('builder_tokens').createIndex({ hash: 1 }, { unique: true });
  await db.collection('attestations').createIndex({ outPath: 1, builder: 1, narHash: 1 }, { unique: true });
  await db.collection('output_summaries').createIndex({ outPath: 1 }, { unique: true });
  await db.collection('derivations').createIndex({ drvPath: 1 }, { unique: true });
  await db.collection('divergences').createIndex({ outPath: 1 }, { unique: true });
  await db.collection('pool_jobs').createIndex({ outPath: 1 }, { unique: true });
  await db.collection('pool_attempts').createIndex({ job: 1, builder: 1 }, { unique: true });
}

type Id = (key: string) => mongo.ObjectId | string;
/** Before 49e95e4 every document got a fresh ObjectId; after it, its natural key. */
const objectIds: Id = () => new mongo.ObjectId();
const naturalKeys: Id = (key) => key;

async function writeBuilder(db: mongo.Db, id: Id, builder: OldBuilder): Promise<void> {
  const keyName = builder.publicKey.split(':')[0];
  await db.collection('builders').insertOne({ _id: id(builder.name) as mongo.ObjectId, name: builder.name, keys: [{ name: keyName, key: builder.publicKey }], lastSeenAt: null, createdAt: at, updatedAt: at, __v: 0 });
  await db.collection('builder_tokens').insertOne({ _id: id(hashToken(builder.token)) as mongo.ObjectId, hash: hashToken(builder.token), builder: builder.name, createdAt: at, updatedAt: at, __v: 0 });
}

interface Statement {
  readonly builder: OldBuilder;
  readonly outPath: string;
  readonly drvPath: string;
  readonly narHash: string;
  readonly valid: boolean;
  readonly createdAt: Date;
}

async function writeAttestation(db: mongo.Db, id: Id, statement: Statement): Promise<void> {
  const signed = signFingerprint(statement.builder.secretKey, narinfoFingerprint({ outPath: statement.outPath, narHash: statement.narHash, narSize: 1024, references: [] }));
  await db.collection('attestations').insertOne({
    _id: id(attestationId(statement.outPath, statement.builder.name, statement.narHash)) as mongo.ObjectId,
    outPath: statement.outPath,
    drvPath: statement.drvPath,
    output: 'out',
    builder: statement.builder.name,
    narHash: statement.narHash,
    narSize: 1024,
    references: [],
    signature: statement.valid ? signed : `${statement.builder.name}-1:${Buffer.alloc(64).toString('base64')}`,
    signatureStatus: statement.valid ? 'valid' : 'invalid',
    signatureReason: statement.valid ? null : 'signature does not match',
    signatureKey: statement.valid ? `${statement.builder.name}-1` : null,
    source: 'post-build-hook',
    createdAt: statement.createdAt,
    updatedAt: statement.createdAt,
    __v: 0,
  });
}

/** The summary as old ingest left it: the first statement named the derivation. */
async function writeSummary(db: mongo.Db, id: Id, statements: readonly Statement[], verdict: string): Promise<void> {
  const [first] = statements;
  assert.ok(first);
  const hashes = [...new Set(statements.map((statement) => statement.narHash))].map((hash) => ({
    narHash: hash,
    verifiedBuilders: statements.filter((statement) => statement.narHash === hash && statement.valid).map((statement) => statement.builder.name),
    unverifiedBuilders: statements.filter((statement) => statement.narHash === hash && !statement.valid).map((statement) => statement.builder.name),
  }));
  await db.collection('output_summaries').insertOne({
    _id: id(first.outPath) as mongo.ObjectId,
    outPath: first.outPath,
    drvPath: first.drvPath,
    output: 'out',
    hashes,
    verdict,
    verifiedBuilderCount: new Set(statements.filter((statement) => statement.valid).map((statement) => statement.builder.name)).size,
    attestedBy: [...new Set(statements.map((statement) => statement.builder.name))],
    revision: statements.length,
    createdAt: first.createdAt,
    updatedAt: later,
    __v: 0,
  });
  if (hashes.length > 1) {
    await db.collection('divergences').insertOne({ _id: id(first.outPath) as mongo.ObjectId, outPath: first.outPath, drvPath: first.drvPath, hashes, firstSeen: later, lastChanged: later, __v: 0 });
  }
  for (const drv of new Set(statements.map((statement) => statement.drvPath))) {
    await db.collection('derivations').updateOne({ drvPath: drv }, { $setOnInsert: { _id: id(drv), drvPath: drv, createdAt: at, updatedAt: at, __v: 0 } }, { upsert: true });
  }
}

async function json<T>(response: Response): Promise<T> {
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as T;
}

function baseName(outPath: string): string {
  return parseStorePath(outPath).baseName;
}

async function migrationRuns(db: mongo.Db): Promise<number[]> {
  return (await db.collection<{ version: number }>(MIGRATION_LOG_COLLECTION).find().sort({ version: 1 }).toArray()).map((run) => run.version);
}

const allVersions = MIGRATIONS.map((migration) => migration.version);

/** A store as lilac wrote it before 49e95e4: two builders, a reproduced output, a nondeterministic one, a pool job one builder failed. */
async function writeStoreBefore49e95e4(db: mongo.Db) {
  const alice = oldBuilder('alice');
  const bob = oldBuilder('bob');
  await oldIndexes(db);
  for (const builder of [alice, bob]) await writeBuilder(db, objectIds, builder);
  const reproduced = { outPath: storePath('hello-2.12'), drvPath: drvPath('hello-2.12'), narHash: narHash('hello') };
  const reproducedStatements = [alice, bob].map((builder, index) => ({ ...reproduced, builder, valid: true, createdAt: new Date(at.getTime() + index) }));
  const diverging = { outPath: storePath('clock-1.0'), drvPath: drvPath('clock-1.0') };
  const divergingStatements = [alice, bob].map((builder, index) => ({ ...diverging, narHash: narHash(`clock-${builder.name}`), builder, valid: true, createdAt: new Date(at.getTime() + index) }));
  for (const statement of [...reproducedStatements, ...divergingStatements]) await writeAttestation(db, objectIds, statement);
  await writeSummary(db, objectIds, reproducedStatements, 'reproduced');
  await writeSummary(db, objectIds, divergingStatements, 'nondeterministic');

  const queued = { outPath: storePath('zlib-1.3'), drvPath: drvPath('zlib-1.3') };
  const job = new mongo.ObjectId();
  await db.collection('pool_jobs').insertOne({
    _id: job, drvPath: queued.drvPath, output: 'out', outPath: queued.outPath, state: 'queued', verifiedBuilders: 0, seq: 1,
    attestedBy: [], triedBy: ['bob'], claimedBy: null, socketId: null, leaseExpiresAt: null, notBefore: at, attempts: 1, lastError: 'build failed', since: at,
  });
  await db.collection('pool_attempts').insertOne({ _id: new mongo.ObjectId(), job: job.toHexString(), builder: 'bob', outcome: 'failed', error: 'build failed', at });
  return { alice, bob, reproduced, diverging, queued };
}

test('a store written before 49e95e4, with ObjectId keys, reads right once migrated', async () => {
  const store = await oldStore();
  const old = await writeStoreBefore49e95e4(store.db);
  const server = await startOn(store);
  try {
    // Builders authenticate with the tokens they were given then.
    const whoami = await json<{ name: string }>(await server.request('/api/v1/whoami', { token: old.alice.token }));
    assert.equal(whoami.name, 'alice');

    const attested = await json<AttestationView[]>(await server.request(`/attestations/by-output/${baseName(old.reproduced.outPath)}`));
    assert.deepEqual(attested.map((attestation) => attestation.builder).sort(), ['alice', 'bob']);
    assert.ok(attested.every((attestation) => attestation.signature.status === 'valid'));
    const reproduced = await json<OutputDetail>(await server.request(`/api/v1/outputs/${baseName(old.reproduced.outPath)}`));
    assert.equal(reproduced.verdict, 'reproduced');
    assert.equal(reproduced.drvPath, old.reproduced.drvPath);
    const diverging = await json<OutputDetail>(await server.request(`/api/v1/outputs/${baseName(old.diverging.outPath)}`));
    assert.equal(diverging.verdict, 'nondeterministic');
    const divergences = await json<{ outPath: string }[]>(await server.request('/api/v1/divergences'));
    assert.deepEqual(divergences.map((divergence) => divergence.outPath), [old.diverging.outPath]);

    const derivations = await json<{ drv_hash: string }[]>(await server.request('/derivations/'));
    assert.ok(derivations.some((derivation) => derivation.drv_hash === drvHash(old.reproduced.drvPath)));
    const counts = await json<Record<string, Record<string, number>>>(await server.request(`/derivations/${drvHash(old.reproduced.drvPath)}`));
    assert.deepEqual(counts, { [old.reproduced.outPath]: { [old.reproduced.narHash]: 2 } });

    // Sent again, a statement is the one already stored, not a second one.
    const keyName = `${old.alice.name}-1`;
    const resubmitted = await server.request(`/attestation/${drvHash(old.reproduced.drvPath)}`, {
      method: 'POST',
      token: old.alice.token,
      json: [{
        output_digest: parseStorePath(old.reproduced.outPath).digest,
        output_name: parseStorePath(old.reproduced.outPath).name,
        output_hash: old.reproduced.narHash,
        output_sig: signFingerprint(old.alice.secretKey, narinfoFingerprint({ outPath: old.reproduced.outPath, narHash: old.reproduced.narHash, narSize: 1024, references: [] })),
        nar_size: 1024,
        references: [],
      }],
    });
    assert.equal(resubmitted.status, 200, await resubmitted.clone().text());
    const again = await json<AttestationView[]>(await server.request(`/attestations/by-output/${baseName(old.reproduced.outPath)}`));
    assert.equal(again.length, 2);
    assert.equal(again.find((attestation) => attestation.builder === 'alice')?.signature.key, keyName);

    // The pool's job, its attempt and its failure count moved to the job's natural id together.
    const jobId = jobIdFor(old.queued.outPath);
    const job = await store.db.collection('pool_jobs').findOne({ outPath: old.queued.outPath });
    assert.ok(job?._id instanceof mongo.ObjectId && job._id.equals(jobId));
    assert.equal(await store.db.collection('pool_jobs').countDocuments(), 1);
    const attempt = await store.db.collection<{ _id: string; job: string }>('pool_attempts').findOne({ builder: 'bob' });
    assert.deepEqual({ id: attempt?._id, job: attempt?.job }, { id: `${jobId.toHexString()}:bob`, job: jobId.toHexString() });

    // The unique indexes dropped to re-key came back, but for those repeating `_id` (migration 4).
    const indexes = await store.db.collection('pool_attempts').indexes();
    assert.ok(indexes.some((index) => index.unique && index.key.job === 1 && index.key.builder === 1), JSON.stringify(indexes));
    assert.deepEqual((await store.db.collection('attestations').indexes()).map((index) => index.name), ['_id_', 'updatedAt_1']);
    assert.deepEqual(await migrationRuns(store.db), allVersions);
  } finally {
    await server.closeKeepingDatabase();
  }

  // A second start finds the version current and runs nothing.
  const second = await startOn(store);
  try {
    assert.equal((await second.request('/api/v1/whoami', { token: old.bob.token })).status, 200);
    assert.deepEqual(await migrationRuns(store.db), allVersions);
  } finally {
    await second.close();
    await store.close();
  }
});

const gzipAsync = promisify(gzip);

test('a store written at 0954717 gets its summaries\' derivations decided by verified builders and its report graphs parsed again', async () => {
  const store = await oldStore();
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map(oldBuilder) as [OldBuilder, OldBuilder, OldBuilder];
  for (const builder of [alice, bob, carol]) await writeBuilder(store.db, naturalKeys, builder);
  // carol named another derivation first, with a signature that does not verify; lilac then showed hers.
  const output = { outPath: storePath('tzdata-2024a'), narHash: narHash('tzdata') };
  const named = drvPath('tzdata-2024a');
  const claimedFirst = drvPath('tzdata-2024a');
  const statements = [
    { ...output, builder: carol, drvPath: claimedFirst, valid: false, createdAt: at },
    { ...output, builder: alice, drvPath: named, valid: true, createdAt: new Date(at.getTime() + 1) },
    { ...output, builder: bob, drvPath: named, valid: true, createdAt: new Date(at.getTime() + 2) },
  ];
  for (const statement of statements) await writeAttestation(store.db, naturalKeys, statement);
  await writeSummary(store.db, naturalKeys, statements, 'reproduced');

  // A report whose root is also listed among the components, with its Nix properties only there.
  const dependency = storePath('glibc-2.39');
  const sbom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { 'bom-ref': 'root', type: 'application', name: 'tzdata' } },
    components: [
      { 'bom-ref': 'root', type: 'application', name: 'tzdata', properties: [{ name: 'nix:out_path', value: output.outPath }, { name: 'nix:drv_path', value: named }] },
      { 'bom-ref': 'glibc', type: 'library', name: 'glibc', properties: [{ name: 'nix:out_path', value: dependency }] },
    ],
    dependencies: [{ ref: 'root', dependsOn: ['glibc'] }],
  };
  const parsed = parseCycloneDx(sbom);
  const oldGraph = { ...parsed, nodes: parsed.nodes.map((node, index) => (index === parsed.root ? { ...node, outPath: null, drvPath: null, output: null } : node)) };
  const raw = Buffer.from(JSON.stringify(sbom));
  const version = `tzdata:${randomBytes(8).toString('hex')}`;
  await store.db.collection('reports').insertOne({ name: 'tzdata', version, total: 1, components: 2, sbomBytes: raw.length, createdAt: at, updatedAt: at, __v: 0 });
  await store.db.collection('report_blobs').insertMany([
    { report: 'tzdata', version, kind: 'sbom', seq: 0, data: new mongo.Binary(await gzipAsync(raw)), __v: 0 },
    { report: 'tzdata', version, kind: 'graph', seq: 0, data: new mongo.Binary(await gzipAsync(Buffer.from(JSON.stringify(oldGraph)))), __v: 0 },
  ]);

  const server = await startOn(store);
  try {
    const detail = await json<OutputDetail>(await server.request(`/api/v1/outputs/${baseName(output.outPath)}`));
    assert.equal(detail.drvPath, named);
    assert.equal(detail.verdict, 'reproduced');
    assert.equal(detail.attestations.find((attestation) => attestation.builder === 'carol')?.drv_path, claimedFirst, 'each attestation keeps the derivation its builder named');
    // One more builder naming carol's derivation no longer outweighs two verified ones.
    const dave = await server.createBuilder('dave');
    const submitted = await server.request('/api/v1/attestations', {
      method: 'POST',
      token: dave.token,
      json: { attestations: [{ drvPath: claimedFirst, output: 'out', outPath: output.outPath, narHash: output.narHash, narSize: 1024, references: [], signature: signFingerprint(dave.secretKey, narinfoFingerprint({ outPath: output.outPath, narHash: output.narHash, narSize: 1024, references: [] })) }] },
    });
    assert.equal(submitted.status, 200, await submitted.clone().text());
    assert.equal((await json<OutputDetail>(await server.request(`/api/v1/outputs/${baseName(output.outPath)}`))).drvPath, named);

    const [report] = await json<ReportSummary[]>(await server.request('/api/v1/reports'));
    assert.equal(report?.name, 'tzdata');
    assert.equal(report?.total, 2, 'the root counts once its Nix properties are read');
    assert.equal(report?.owner, null, 'a report made before owners stays without one');
    const tree = await (await server.request('/reports/tzdata', { headers: { accept: 'text/plain' } })).text();
    assert.match(tree, new RegExp(baseName(output.outPath)));
    assert.equal(await store.db.collection('report_blobs').countDocuments({ version }), 0, 'the replaced blobs are gone');
  } finally {
    await server.close();
    await store.close();
  }
});

test('a store written at version 3 loses the ingest indexes that repeat _id, and a resubmission is still the same statement', async () => {
  const store = await oldStore();
  const alice = oldBuilder('alice');
  await writeBuilder(store.db, naturalKeys, alice);
  await oldIndexes(store.db);
  await store.db.collection('attestations').createIndex({ builder: 1, outPath: 1 });
  await store.db.collection('attestations').createIndex({ drvPath: 1 });
  await store.db.collection('output_summaries').createIndex({ verdict: 1 });
  const statement = { builder: alice, outPath: storePath('sed-4.9'), drvPath: drvPath('sed-4.9'), narHash: narHash('sed'), valid: true, createdAt: at };
  await writeAttestation(store.db, naturalKeys, statement);
  await writeSummary(store.db, naturalKeys, [statement], 'one-build');
  await store.db.collection<{ _id: string; [field: string]: unknown }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 3 });


  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 3));
    const indexNames = (collection: string) => store.db.collection(collection).indexes().then((indexes) => indexes.map((index) => index.name).sort());
    assert.deepEqual(await indexNames('attestations'), ['_id_', 'updatedAt_1']);
    assert.ok(!(await indexNames('output_summaries')).includes('outPath_1'));
    assert.ok((await indexNames('output_summaries')).includes('verdict_1'), 'an index a query uses stays');

    const signature = signFingerprint(alice.secretKey, narinfoFingerprint({ outPath: statement.outPath, narHash: statement.narHash, narSize: 1024, references: [] }));
    const { digest, name } = parseStorePath(statement.outPath);
    const resubmitted = await server.request(`/attestation/${drvHash(statement.drvPath)}`, {
      method: 'POST',
      token: alice.token,
      json: [{ output_digest: digest, output_name: name, output_hash: statement.narHash, output_sig: signature, nar_size: 1024, references: [] }],
    });
    assert.equal(resubmitted.status, 200, await resubmitted.clone().text());
    assert.equal(await store.db.collection('attestations').countDocuments({ outPath: statement.outPath }), 1);
    const detail = await json<OutputDetail>(await server.request(`/api/v1/outputs/${baseName(statement.outPath)}`));
    assert.equal(detail.verdict, 'one-build');
    assert.equal(detail.attestations.length, 1);
  } finally {
    await server.close();
    await store.close();
  }
});

test('a pool written at 7f92c7a, whose jobs recorded their holder, keeps its claims in their leases', async () => {
  const store = await oldStore();
  await store.db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 3 });
  await store.db.collection('pool_jobs').createIndex({ socketId: 1 });
  await store.db.collection('pool_jobs').createIndex({ state: 1, leaseExpiresAt: 1 });
  const leaseEnd = new Date(Date.now() + 3_600_000);
  const oldJob = (name: string, seq: number, holder: { builder: string; socketId: string } | null) => {
    const outPath = storePath(name);
    return {
      _id: jobIdFor(outPath), drvPath: drvPath(name), output: 'out', outPath, state: holder ? 'claimed' : 'queued', verifiedBuilders: 0, seq,
      attestedBy: [], triedBy: [], claimedBy: holder?.builder ?? null, socketId: holder?.socketId ?? null, leaseExpiresAt: holder ? leaseEnd : null,
      notBefore: at, attempts: 0, lastError: null, lastOutcome: null, since: at,
    };
  };
  const held = oldJob('held-1.0', 1, { builder: 'alice', socketId: 'socket-of-alice' });
  // Its holder's server died between giving up the lease and marking the job: the sweeper would have returned it.
  const leaseGone = oldJob('lease-gone-1.0', 2, { builder: 'bob', socketId: 'socket-of-bob' });
  const queued = oldJob('queued-1.0', 3, null);
  await store.db.collection('pool_jobs').insertMany([held, leaseGone, queued]);
  await store.db.collection<{ _id: string; [field: string]: unknown }>('pool_leases').insertOne({ _id: held._id.toHexString(), socketId: 'socket-of-alice', builder: 'alice', expiresAt: leaseEnd, claimedAt: at });

  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 3));
    const stored = await store.db.collection('pool_jobs').find().sort({ seq: 1 }).toArray();
    assert.deepEqual(stored.map((job) => job.state), ['queued', 'queued', 'queued']);
    assert.ok(stored.every((job) => !('claimedBy' in job) && !('socketId' in job) && !('leaseExpiresAt' in job)), JSON.stringify(stored));
    const indexed = (await store.db.collection('pool_jobs').indexes()).map((index) => Object.keys(index.key).join());
    assert.ok(!indexed.includes('socketId') && !indexed.includes('state,leaseExpiresAt'), JSON.stringify(indexed));

    const view = await json<PoolView>(await server.request('/api/v1/pool'));
    assert.deepEqual(view.stats, { queued: 2, claimed: 1, done: 0, failed: 0, cancelled: 0 });
    const shown = view.jobs.find((job) => job.outPath === held.outPath);
    assert.deepEqual([shown?.state, shown?.builder, shown?.leaseExpiresAt], ['claimed', 'alice', leaseEnd.toISOString()]);

    // alice's lease still holds her job; the other two are anyone's.
    const carol = await server.createBuilder('carol');
    const worker = await connectRebuilder(server.url, carol.token);
    const claims = [];
    for (let index = 0; index < 3; index++) claims.push(((await worker.emitWithAck('claim')) as JobView | null)?.outPath ?? null);
    assert.deepEqual(claims, [leaseGone.outPath, queued.outPath, null]);
    worker.disconnect();
  } finally {
    await server.close();
    await store.close();
  }
});

test('a pool written at version 5, whose jobs said nothing of systems, routes them as system null to any worker', async () => {
  const store = await oldStore();
  await store.db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 5 });
  const outPath = storePath('old-job-1.0');
  await store.db.collection('pool_jobs').insertOne({
    _id: jobIdFor(outPath), drvPath: drvPath('old-job-1.0'), output: 'out', outPath, state: 'queued', verifiedBuilders: 0, seq: 1,
    attestedBy: [], triedBy: [], notBefore: at, attempts: 0, lastError: null, lastOutcome: null, since: at,
  });

  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 5));
    const stored = await store.db.collection('pool_jobs').findOne({ outPath });
    assert.deepEqual([stored?.system, stored?.requiredSystemFeatures], [null, []]);
    const view = await json<PoolView>(await server.request('/api/v1/pool'));
    const shown = view.jobs.find((job) => job.outPath === outPath);
    assert.deepEqual([shown?.system, shown?.requiredSystemFeatures], [null, []]);

    // A worker that announced a system still gets a job that names none.
    const dora = await server.createBuilder('dora');
    const worker = await connectRebuilder(server.url, dora.token, { systems: ['aarch64-linux'], features: ['kvm'] });
    const claimedJob = (await worker.emitWithAck('claim')) as JobView | null;
    assert.deepEqual([claimedJob?.outPath, claimedJob?.system], [outPath, null]);
    worker.disconnect();
  } finally {
    await server.close();
    await store.close();
  }
});

test('a pool written at version 6, whose attempts said only done or failed, shows each attempt\'s outcome, log and unknown start', async () => {
  const store = await oldStore();
  await store.db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 6 });
  const [alice, bob, carol] = [oldBuilder('alice'), oldBuilder('bob'), oldBuilder('carol')];
  for (const builder of [alice, bob, carol]) await writeBuilder(store.db, naturalKeys, builder);
  const name = 'attempted-1.0';
  const outPath = storePath(name);
  const statements = [alice, bob].map((builder) => ({ builder, outPath, drvPath: drvPath(name), narHash: narHash(`${name}-${builder.name}`), valid: true, createdAt: at }));
  for (const statement of statements) await writeAttestation(store.db, naturalKeys, statement);
  await writeSummary(store.db, naturalKeys, statements, 'nondeterministic');
  const jobId = jobIdFor(outPath);
  await store.db.collection('pool_jobs').insertOne({
    _id: jobId, drvPath: drvPath(name), output: 'out', outPath, state: 'queued', verifiedBuilders: 2, seq: 1, system: null, requiredSystemFeatures: [],
    attestedBy: ['alice', 'bob'], triedBy: ['bob', 'carol'], notBefore: at, attempts: 1, lastError: 'builder failed: boom', lastOutcome: { kind: 'failed', log: 'builder failed: boom' }, since: later,
  });
  const job = jobId.toHexString();
  await store.db.collection<{ _id: string; [field: string]: unknown }>('pool_attempts').insertMany([
    { _id: `${job}:bob`, job, builder: 'bob', outcome: 'done', error: null, at },
    { _id: `${job}:carol`, job, builder: 'carol', outcome: 'failed', error: 'builder failed: boom', at: later },
  ]);

  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 6));
    const [aliceHash, bobHash] = statements.map((statement) => statement.narHash);
    const expected = [
      { builder: 'bob', outcome: { kind: 'differs', narHash: bobHash, others: [aliceHash] }, startedAt: null, finishedAt: at.toISOString(), durationMs: null },
      { builder: 'carol', outcome: { kind: 'failed', log: 'builder failed: boom' }, startedAt: null, finishedAt: later.toISOString(), durationMs: null },
    ];
    const detail = await json<OutputDetail>(await server.request(`/api/v1/outputs/${baseName(outPath)}`));
    assert.deepEqual(detail.rebuilds, expected);
    const view = await json<PoolView>(await server.request('/api/v1/pool'));
    assert.deepEqual(view.jobs.find((shown) => shown.outPath === outPath)?.history, expected);
    const stored = await store.db.collection('pool_attempts').find({ job }).toArray();
    assert.ok(stored.every((attempt) => !('error' in attempt)), JSON.stringify(stored));
  } finally {
    await server.close();
    await store.close();
  }
});

test('listing chunks written at version 6 get a time: a listed one still reads, an orphan among them is swept one bound later', async () => {
  const store = await oldStore();
  await store.db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 6 });
  const outPath = storePath('old-listing-1.0');
  const hash = narHash('old-listing');
  const entries = [{ path: '', type: 'directory' }, { path: 'file', type: 'regular', size: 3, sha256: 'a'.repeat(64) }];
  const data = await promisify(gzip)(Buffer.from(JSON.stringify(entries)));
  await store.db.collection('output_listings').insertOne({ _id: `${outPath}#${hash}`, outPath, narHash: hash, narSize: 1, entryCount: 2, upload: 'listed', chunks: 1, builder: 'alice', storedAt: at } as never);
  await store.db.collection('listing_chunks').insertMany([
    { _id: 'listed:0', upload: 'listed', seq: 0, data },
    { _id: 'killed:0', upload: 'killed', seq: 0, data },
  ] as never);

  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 6));
    const chunks = await store.db.collection('listing_chunks').find().toArray();
    assert.ok(chunks.every((chunk) => chunk.writtenAt instanceof Date), JSON.stringify(chunks.map((chunk) => chunk.writtenAt)));
    const stored = await readCompressedListing(server.context.models, outPath, hash);
    assert.deepEqual(stored && decodeListing(stored), entries);
    assert.equal(await new OrphanedChunkSweep(server.context.models, server.context.log, () => Date.now() + ORPHANED_AFTER_MS + 1000).sweep(), 1);
    assert.deepEqual((await store.db.collection('listing_chunks').find().toArray()).map((chunk) => chunk._id), ['listed:0']);
  } finally {
    await server.close();
    await store.close();
  }
});

test('a pool written at version 6, whose jobs had no priority, gets priority 0 and the queue index that begins with it', async () => {
  const store = await oldStore();
  await store.db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 6 });
  const [first, second] = ['old-first-1.0', 'old-second-1.0'].map((name) => ({ name, outPath: storePath(name) }));
  const jobs = store.db.collection('pool_jobs');
  for (const [seq, job] of [first!, second!].entries()) {
    await jobs.insertOne({
      _id: jobIdFor(job.outPath), drvPath: drvPath(job.name), output: 'out', outPath: job.outPath, state: 'queued', verifiedBuilders: 0, seq,
      system: null, requiredSystemFeatures: [], attestedBy: [], triedBy: [], notBefore: at, attempts: 0, lastError: null, lastOutcome: null, since: at,
    });
  }
  await jobs.createIndex({ state: 1, verifiedBuilders: 1, seq: 1 });

  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 6));
    assert.deepEqual((await jobs.find({}, { sort: { seq: 1 } }).toArray()).map((job) => job.priority), [0, 0]);
    const keys = (await jobs.indexes()).map((index) => JSON.stringify(index.key));
    assert.ok(!keys.includes(JSON.stringify({ state: 1, verifiedBuilders: 1, seq: 1 })), keys.join(' '));
    assert.ok(keys.includes(JSON.stringify({ state: 1, priority: -1, verifiedBuilders: 1, seq: 1 })), keys.join(' '));

    // The old order stands until a maintainer changes it: then the second job goes first.
    const view = await json<PoolView>(await server.request('/api/v1/pool'));
    assert.deepEqual(view.jobs.map((job) => [job.outPath, job.priority]), [[first!.outPath, 0], [second!.outPath, 0]]);
    const maintainer = await server.createMember('mia', 'maintainer');
    const raised = await server.request(`/api/v1/jobs/${String(jobIdFor(second!.outPath))}`, { method: 'PATCH', token: maintainer, json: { priority: 1 } });
    assert.equal(raised.status, 200, await raised.clone().text());
    const dora = await server.createBuilder('dora');
    const worker = await connectRebuilder(server.url, dora.token);
    assert.equal(((await worker.emitWithAck('claim')) as JobView | null)?.outPath, second!.outPath);
    worker.disconnect();
  } finally {
    await server.close();
    await store.close();
  }
});

test('a store written at version 9, with a derivations collection, lists the same derivations once it is dropped', async () => {
  const store = await oldStore();
  await store.db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 9 });
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map(oldBuilder) as [OldBuilder, OldBuilder, OldBuilder];
  for (const builder of [alice, bob, carol]) await writeBuilder(store.db, naturalKeys, builder);
  // A fixed output two builders named one derivation for and carol, with a signature that does not verify, another.
  const fetched = { outPath: storePath('source.tar.gz'), narHash: narHash('source') };
  const [chosen, other] = [drvPath('source.tar.gz'), drvPath('source.tar.gz')];
  const statements = [
    { ...fetched, builder: alice, drvPath: chosen, valid: true, createdAt: at },
    { ...fetched, builder: bob, drvPath: chosen, valid: true, createdAt: new Date(at.getTime() + 1) },
    { ...fetched, builder: carol, drvPath: other, valid: false, createdAt: new Date(at.getTime() + 2) },
  ];
  for (const statement of statements) await writeAttestation(store.db, naturalKeys, statement);
  await writeSummary(store.db, naturalKeys, statements, 'reproduced');
  const claims = statements.map((statement) => ({ drvPath: statement.drvPath, output: 'out', builder: statement.builder.name, verified: statement.valid }));
  await store.db.collection<{ _id: string }>('output_summaries').updateOne({ _id: fetched.outPath }, { $set: { derivationClaims: claims } });
  assert.equal(await store.db.collection('derivations').countDocuments(), 2);

  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 9));
    assert.deepEqual(await store.db.listCollections({ name: 'derivations' }).toArray(), []);
    const listed = await json<{ id: string; drv_hash: string }[]>(await server.request('/derivations/'));
    assert.deepEqual(listed.map((derivation) => derivation.drv_hash).sort(), [chosen, other].map(drvHash).sort());
    const counts = await json<Record<string, Record<string, number>>>(await server.request(`/derivations/${drvHash(chosen)}`));
    assert.deepEqual(counts, { [fetched.outPath]: { [fetched.narHash]: 2 } });
  } finally {
    await server.close();
    await store.close();
  }
});

test('a store written at version 10, with a request cut off between storing and counting, counts it once its intents are a checkpoint', async () => {
  const store = await oldStore();
  await store.db.collection<{ _id: string; version: number }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: 10 });
  const alice = oldBuilder('alice');
  await writeBuilder(store.db, naturalKeys, alice);
  // Stored and counted long before the crash: its summary is there, its intent was closed.
  const counted = { builder: alice, outPath: storePath('counted-1.0'), drvPath: drvPath('counted-1.0'), narHash: narHash('counted'), valid: true, createdAt: at };
  await writeAttestation(store.db, naturalKeys, counted);
  await writeSummary(store.db, naturalKeys, [counted], 'one-build');
  // Cut off: stored under an intent still open, no summary.
  const cutOff = { builder: alice, outPath: storePath('cut-off-1.0'), drvPath: drvPath('cut-off-1.0'), narHash: narHash('cut-off'), valid: true, createdAt: later };
  await writeAttestation(store.db, naturalKeys, cutOff);
  await store.db.collection('ingest_intents').insertOne({ builder: alice.name, attestationIds: [attestationId(cutOff.outPath, alice.name, cutOff.narHash)], openedAt: later });

  const server = await startOn(store);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions.filter((version) => version > 10));
    assert.deepEqual(await store.db.listCollections({ name: 'ingest_intents' }).toArray(), []);
    const deadline = Date.now() + 30_000;
    let detail: OutputDetail | null = null;
    while (Date.now() < deadline && detail === null) {
      const response = await server.request(`/api/v1/outputs/${baseName(cutOff.outPath)}`);
      if (response.status === 200) detail = (await response.json()) as OutputDetail;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(detail?.hashes.map((group) => group.verifiedBuilders), [['alice']]);
    assert.equal((await json<OutputDetail>(await server.request(`/api/v1/outputs/${baseName(counted.outPath)}`))).verdict, 'one-build');
  } finally {
    await server.close();
    await store.close();
  }
});

test('two servers starting at once on an old store run each migration once', async () => {
  const store = await oldStore();
  const old = await writeStoreBefore49e95e4(store.db);
  const servers = await Promise.all([startOn(store), startOn(store)]);
  try {
    assert.deepEqual(await migrationRuns(store.db), allVersions);
    for (const server of servers) assert.equal((await server.request('/api/v1/whoami', { token: old.alice.token })).status, 200);
  } finally {
    for (const server of servers) await server.closeKeepingDatabase();
    await store.db.dropDatabase();
    await store.close();
  }
});

test('a lock left by a migrating process that died is taken over', async () => {
  const store = await oldStore();
  const old = await writeStoreBefore49e95e4(store.db);
  await store.db.collection<{ _id: string; [field: string]: unknown }>(SCHEMA_COLLECTION).insertOne({ _id: 'lock-1', kind: 'lock', epoch: 1, holder: 'dead:1', expiresAt: new Date(Date.now() - 1000) });
  const server = await startOn(store);
  try {
    assert.equal((await server.request('/api/v1/whoami', { token: old.alice.token })).status, 200);
    assert.deepEqual(await migrationRuns(store.db), allVersions);
  } finally {
    await server.close();
    await store.close();
  }
});

/** A logger that keeps what it is told at info level and above, for tests that read it. */
function infoLines(): { log: Logger; messages: () => string[] } {
  const lines: { msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  return { log, messages: () => lines.map((line) => line.msg) };
}

test('a new store says in one line at info level that its schema is set up, and a store with documents logs each migration', async () => {
  const fresh = infoLines();
  const server = await startTestServer({}, fresh.log);
  try {
    assert.deepEqual(await migrationRuns(server.context.store.connection.db!), allVersions, 'the migrations ran');
    const schemaLines = fresh.messages().filter((msg) => /migrat|schema/.test(msg));
    assert.deepEqual(schemaLines, ['new store: schema set up at the current version']);
  } finally {
    await server.close();
  }

  const store = await oldStore();
  await writeStoreBefore49e95e4(store.db);
  const old = infoLines();
  const migrated = await startTestServer({ dbName: store.dbName, dataDir: store.dataDir }, old.log);
  try {
    assert.equal(old.messages().filter((msg) => msg === 'migrating the store').length, MIGRATIONS.length);
  } finally {
    await migrated.close();
    await store.close();
  }
});

test('a store of a newer schema is refused, and left as it was', async () => {
  const store = await oldStore();
  await writeBuilder(store.db, objectIds, oldBuilder('alice'));
  const newer = MIGRATIONS.length + 1;
  await store.db.collection<{ _id: string; [field: string]: unknown }>(SCHEMA_COLLECTION).insertOne({ _id: 'version', version: newer });
  await assert.rejects(startOn(store), new RegExp(`schema version is ${newer}, and this lilac knows versions up to ${MIGRATIONS.length}`));
  const builder = await store.db.collection('builders').findOne({ name: 'alice' });
  assert.ok(builder?._id instanceof mongo.ObjectId, 'nothing was re-keyed');
  assert.deepEqual(await store.db.collection('builders').indexes().then((indexes) => indexes.map((index) => index.name)), ['_id_']);
  await store.db.dropDatabase();
  await store.close();
});
