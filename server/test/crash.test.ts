import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { formatKey, generateKeyPair, type AttestationView, type OutputDetail } from '@lilac/common';
import { createLogger } from '../src/log.ts';
import { startEmbeddedStore } from '../src/store/embeddedStore.ts';
import { batchItem, drvHash, drvPath, lilaItem, narHash, storePath } from './support/attestationFixtures.ts';
import { runAdmin, startServerProcess, waitForHealthy, type ServerProcess } from './support/processes.ts';
import type { TestBuilder } from './support/testServer.ts';

const DERIVATIONS = 24;
const OUTPUTS_PER_DERIVATION = 10;
const CLIENTS = 8;
const CRASHES = 3;
/** Answers a round waits for before the kill, so that it lands while other requests are in flight. */
const ANSWERS_BEFORE_KILL = 12;

interface Submission {
  readonly id: number;
  readonly builder: TestBuilder;
  readonly path: string;
  readonly body: unknown;
}

/**
 * The server is killed with SIGKILL three times in the middle of a concurrent signed ingest
 * (lila's route and the batch route). Whatever was answered 2xx must be stored, visible and
 * counted after each restart; whatever was stored but not answered must be counted by
 * start-up; and sending every statement again must leave each one stored, visible through
 * lila's routes, and counted in its verdict.
 */
test('no acknowledged attestation is lost or left uncounted across three kill -9 during ingest', async (t) => {
  const ownStoreDir = process.env.MONGODB_URI ? null : mkdtempSync(path.join(tmpdir(), 'lilac-crash-store-'));
  const ownStore = ownStoreDir ? await startEmbeddedStore({ dataDir: ownStoreDir, log: createLogger('warn') }) : null;
  t.after(async () => {
    await ownStore?.stop();
    if (ownStoreDir) rmSync(ownStoreDir, { recursive: true, force: true });
  });
  // The store outlives the killed server, as a MongoDB or a separately run FerretDB does.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MONGODB_URI: process.env.MONGODB_URI ?? ownStore!.uri,
    LILAC_DB_NAME: `lilac_crash_${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'info',
  };

  const builders: TestBuilder[] = [];
  for (const name of ['alice', 'bob']) {
    const { secretKey, publicKey } = generateKeyPair(`${name}-1`);
    const token = `lilac_${randomBytes(16).toString('hex')}`;
    const created = await runAdmin(['create-builder', name, '--token-file', '-', '--key', formatKey(publicKey)], env, { input: token });
    assert.equal(created.code, 0, created.stderr);
    builders.push({ name, token, secretKey, publicKey: formatKey(publicKey) });
  }
  const [alice, bob] = builders as [TestBuilder, TestBuilder];

  // alice sends a derivation's outputs in one batch, bob one output per request over lila's route.
  const derivations = Array.from({ length: DERIVATIONS }, (_, index) => {
    const drv = drvPath(`crash-${index}`);
    const outputs = Array.from({ length: OUTPUTS_PER_DERIVATION }, (_, output) => storePath(`crash-${index}-${output}`));
    return { drv, outputs };
  });
  const submissions: Submission[] = [];
  for (const { drv, outputs } of derivations) {
    const built = outputs.map((outPath) => ({ outPath, narHash: narHash(outPath) }));
    submissions.push({ id: submissions.length, builder: alice, path: '/api/v1/attestations', body: { attestations: built.map((item) => batchItem(alice, drv, item)) } });
    for (const item of built) submissions.push({ id: submissions.length, builder: bob, path: `/attestation/${drvHash(drv)}`, body: [lilaItem(bob, item)] });
  }
  // Interleaved, so that each round has both routes in flight.
  submissions.sort((a, b) => (a.id * 7919) % 263 - (b.id * 7919) % 263);

  const send = async (server: ServerProcess, submission: Submission): Promise<boolean> => {
    const response = await fetch(`${server.url}${submission.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${submission.builder.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(submission.body),
    });
    await response.arrayBuffer();
    return response.ok;
  };

  const acknowledged = new Set<number>();
  for (let round = 0; round < CRASHES; round++) {
    const server = await startServerProcess(env);
    await waitForHealthy(server.url);
    await assertStoredIsCounted(server.url, derivations, acknowledged, submissions);
    const pending = submissions.filter((submission) => !acknowledged.has(submission.id));
    let answeredThisRound = 0;
    let killed = false;
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    const client = async () => {
      while (!killed && pending.length > 0) {
        const submission = pending.shift()!;
        const ok = await send(server, submission).catch(() => false);
        if (!ok || killed) continue;
        acknowledged.add(submission.id);
        if (++answeredThisRound >= ANSWERS_BEFORE_KILL && !killed) {
          killed = true;
          server.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    // A round that drained the queue still ends in a crash.
    if (!killed) server.child.kill('SIGKILL');
    await exited;
    assert.ok(acknowledged.size < submissions.length, `round ${round} drained the queue before its kill: raise the workload`);
  }

  const server = await startServerProcess(env);
  t.after(() => server.stop());
  await waitForHealthy(server.url);
  await assertStoredIsCounted(server.url, derivations, acknowledged, submissions);

  for (const submission of submissions) assert.ok(await send(server, submission), `resubmission ${submission.id} refused`);
  for (const { drv, outputs } of derivations) {
    for (const outPath of outputs) {
      const views = (await (await fetch(`${server.url}/attestations/by-output/${outPath.slice(11)}`)).json()) as AttestationView[];
      assert.deepEqual(views.map((view) => [view.builder, view.signature.status]).sort(), [['alice', 'valid'], ['bob', 'valid']], outPath);
      const detail = (await (await fetch(`${server.url}/api/v1/outputs/${outPath.slice(11)}`)).json()) as OutputDetail;
      assert.equal(detail.verdict, 'reproduced', outPath);
    }
    const counts = (await (await fetch(`${server.url}/derivations/${drvHash(drv)}`)).json()) as Record<string, Record<string, number>>;
    assert.deepEqual(Object.values(counts).map((hashes) => Object.values(hashes)), outputs.map(() => [2]));
  }
});

/**
 * Every acknowledged statement is visible through lila's by-output route, which reads through
 * the output's summary: visible there means counted. Every stored one (the derivation's full
 * listing reads attestations themselves) becomes visible too, once start-up has settled what a
 * crash cut off.
 */
async function assertStoredIsCounted(
  url: string,
  derivations: readonly { drv: string; outputs: string[] }[],
  acknowledged: ReadonlySet<number>,
  submissions: readonly Submission[],
): Promise<void> {
  const expected = new Set<string>();
  for (const submission of submissions) {
    if (!acknowledged.has(submission.id)) continue;
    const items = Array.isArray(submission.body) ? (submission.body as { output_digest: string; output_name: string }[]) : null;
    const outPaths = items
      ? items.map((item) => `/nix/store/${item.output_digest}-${item.output_name}`)
      : (submission.body as { attestations: { outPath: string }[] }).attestations.map((item) => item.outPath);
    for (const outPath of outPaths) expected.add(`${outPath} ${submission.builder.name}`);
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const missing: string[] = [];
    for (const { drv, outputs } of derivations) {
      const response = await fetch(`${url}/derivations/${drvHash(drv)}?full=true`);
      const stored = response.status === 200 ? ((await response.json()) as AttestationView[]) : [];
      const wanted = new Set([...stored.map((view) => `${view.output_path} ${view.builder}`), ...outputs.flatMap((outPath) => ['alice', 'bob'].map((name) => `${outPath} ${name}`)).filter((key) => expected.has(key))]);
      for (const outPath of outputs) {
        const visible = new Set(((await (await fetch(`${url}/attestations/by-output/${outPath.slice(11)}`)).json()) as AttestationView[]).map((view) => `${outPath} ${view.builder}`));
        for (const key of wanted) if (key.startsWith(`${outPath} `) && !visible.has(key)) missing.push(key);
      }
    }
    if (missing.length === 0) return;
    if (Date.now() > deadline) assert.fail(`stored or acknowledged but not counted: ${missing.slice(0, 10).join(', ')} (${missing.length} in all)`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
