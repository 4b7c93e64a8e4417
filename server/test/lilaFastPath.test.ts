import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { withLilaFastPath } from '../src/http/lilaFastPath.ts';
import { drvHash, drvPath, lilaItem, narHash, storePath } from './support/attestationFixtures.ts';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from './support/testServer.ts';

/**
 * lila's hooks post to `/attestation/<digest>-<name>`, which a handler of its
 * own answers without Express (`lilaFastPath.ts`); any other spelling of the
 * same derivation goes through Express. Both must answer alike.
 */
let server: TestServer;
let alice: TestBuilder;
before(async () => ({ server, alice } = await startServerWithAliceAndBob({ bodyMaxValues: 1000 })));
after(() => server.close());

/** The plain path lila's hook posts to, and the same derivation spelt so that only Express takes it. */
function spellings(name: string): { drv: string; plain: string; routed: string[] } {
  const drv = drvPath(name);
  const digestAndName = drvHash(drv);
  const escapedFirst = `%${digestAndName.charCodeAt(0).toString(16)}${digestAndName.slice(1)}`;
  return {
    drv,
    plain: `/attestation/${digestAndName}`,
    routed: [`/attestation/${escapedFirst}`, `/attestation/${drv.slice(1)}`, `/attestation//${drv.slice(1)}`],
  };
}

interface Answer {
  readonly status: number;
  /** Every header but the date. */
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

async function answerTo(path: string, init: RequestInit & { token?: string }): Promise<Answer> {
  const response = await server.request(path, { method: 'POST', ...init });
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== 'date'));
  return { status: response.status, headers, body: await response.json() };
}

const json = { 'content-type': 'application/json' };

test('every refusal is the same whichever way the derivation is spelt', async () => {
  const refusals: [string, RequestInit & { token?: string }, number][] = [
    ['no token', { headers: json, body: '[]' }, 401],
    ['a wrong token', { headers: json, body: '[]', token: 'not-a-token-of-anyone' }, 401],
    ['JSON that does not parse', { headers: json, body: '[{', token: alice.token }, 400],
    ['gzip that does not inflate', { headers: { ...json, 'content-encoding': 'gzip' }, body: 'not gzip', token: alice.token }, 400],
    ['an encoding lilac does not read', { headers: { ...json, 'content-encoding': 'compress' }, body: '[]', token: alice.token }, 415],
    ['a charset lilac does not read', { headers: { 'content-type': 'application/json; charset=latin1' }, body: '[]', token: alice.token }, 415],
    ['too many values', { headers: { ...json, 'content-encoding': 'gzip' }, body: gzipSync(`[${'0,'.repeat(2000)}0]`), token: alice.token }, 413],
    ['too deep', { headers: json, body: `${'['.repeat(65)}${']'.repeat(65)}`, token: alice.token }, 413],
    ['not lila\'s body', { headers: { 'content-type': 'text/plain' }, body: '[]', token: alice.token }, 400],
    ['an item without its hash', { headers: json, body: JSON.stringify([{ output_digest: 'x', output_name: 'y' }]), token: alice.token }, 400],
  ];
  const { plain, routed } = spellings('refused');
  for (const [label, init, status] of refusals) {
    const expected = await answerTo(plain, init);
    assert.equal(expected.status, status, `${label}: ${JSON.stringify(expected.body)}`);
    assert.equal(expected.headers['content-type'], 'application/json; charset=utf-8', label);
    assert.equal(typeof (expected.body as { detail?: unknown }).detail, 'string', label);
    for (const path of routed) assert.deepEqual(await answerTo(path, init), expected, `${label} at ${path}`);
  }
  assert.equal(await server.context.models.Attestation.countDocuments(), 0, 'nothing refused was written');
});

test('a bare digest is refused alike, and a submission or an empty list is answered alike', async () => {
  const digest = drvHash(drvPath('bare')).slice(0, 32);
  const bare = await answerTo(`/attestation/${digest}`, { headers: json, body: '[]', token: alice.token });
  assert.equal(bare.status, 400);
  assert.deepEqual(await answerTo(`/attestation/%${digest.charCodeAt(0).toString(16)}${digest.slice(1)}`, { headers: json, body: '[]', token: alice.token }), bare);

  const { drv, plain, routed } = spellings('stored');
  const answers = [];
  for (const [index, path] of [plain, ...routed].entries()) {
    const outPath = storePath(`stored-${index}`);
    const answer = await answerTo(path, { headers: json, body: JSON.stringify([lilaItem(alice, { outPath, narHash: narHash(`stored-${index}`) })]), token: alice.token });
    assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
    const [result] = answer.body as { outPath: string }[];
    assert.equal(result?.outPath, outPath, path);
    const stored = await server.context.models.Attestation.findOne({ outPath }).lean();
    assert.equal(stored?.drvPath, drv, path);
    // Output paths differ, and so the length of the answer.
    answers.push({ status: answer.status, headers: { ...answer.headers, 'content-length': null }, body: (answer.body as object[]).map((each) => ({ ...each, outPath: null })) });
  }
  for (const answer of answers.slice(1)) assert.deepEqual(answer, answers[0]);

  const empty = await answerTo(plain, { headers: json, body: '[]', token: alice.token });
  assert.deepEqual([empty.status, empty.body], [200, []]);
  for (const path of routed) assert.deepEqual(await answerTo(path, { headers: json, body: '[]', token: alice.token }), empty, `an empty list at ${path}`);
});

test('only the plain path skips Express: a query string still takes it; escapes, other cases, other methods and other routes do not', async () => {
  const reachedExpress: string[] = [];
  const listener = withLilaFastPath(server.context, (req, res) => {
    reachedExpress.push(`${req.method} ${req.url}`);
    res.writeHead(418).end();
  });
  const probe = createServer(listener);
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = probe.address() as AddressInfo;
    const { plain, routed } = spellings('probe');
    const send = (method: string, path: string) => fetch(`http://127.0.0.1:${port}${path}`, { method, ...(method === 'POST' && { body: '[]' }) });
    for (const path of [plain, `${plain}?from=hook`]) assert.equal((await send('POST', path)).status, 401, path);
    const elsewhere = [...routed.map((path) => ['POST', path]), ['POST', plain.replace('/attestation/', '/Attestation/')], ['POST', `${plain}/`], ['GET', plain], ['POST', '/api/v1/attestations']];
    for (const [method, path] of elsewhere) assert.equal((await send(method as string, path as string)).status, 418, `${method} ${path}`);
    assert.deepEqual(reachedExpress, elsewhere.map(([method, path]) => `${method} ${path}`));
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
});

test('metrics count the plain path under the route Express names', async () => {
  const counted = async () => {
    const metrics = await (await server.request('/metrics')).text();
    return Number(/lilac_http_requests_total\{method="POST",route="\/attestation\/\*drv",status="401"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  };
  const before = await counted();
  await answerTo(spellings('counted').plain, { headers: json, body: '[]' });
  assert.equal(await counted(), before + 1);
});
