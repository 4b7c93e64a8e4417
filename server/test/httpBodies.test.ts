import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { drvHash, drvPath, lilaItem, narHash, storePath } from './support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

/**
 * Request bodies are read only by the routes that take one, once the builder
 * is known, and within bounds on inflated size, number of values and depth.
 */
let server: TestServer;
let alice: TestBuilder;
before(async () => {
  server = await startTestServer({ bodyMaxValues: 1000 });
  alice = await server.createBuilder('alice');
});
after(() => server.close());

const NOT_GZIP = Buffer.from('this is not gzip at all');

function post(path: string, body: Buffer | string, headers: Record<string, string>, token?: string) {
  return server.request(path, { method: 'POST', body, headers, ...(token !== undefined && { token }) });
}

async function detailOf(response: Response): Promise<string> {
  return ((await response.json()) as { detail: string }).detail;
}

test('nobody unauthenticated gets a body read: unknown routes answer 404, submission routes 401', async () => {
  const gzipped = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
  // A gzip body that does not inflate shows whether it was read: reading it fails.
  const unknown = await post('/no/such/route', NOT_GZIP, gzipped);
  assert.deepEqual([unknown.status, await detailOf(unknown)], [404, 'no route for POST /no/such/route']);
  const anonymous = await post(`/attestation/${drvHash(drvPath('anon'))}`, NOT_GZIP, gzipped);
  assert.deepEqual([anonymous.status, await detailOf(anonymous)], [401, 'missing bearer token']);
  const wrongToken = await post('/api/v1/attestations', NOT_GZIP, gzipped, 'not-a-token-of-anyone');
  assert.deepEqual([wrongToken.status, await detailOf(wrongToken)], [401, 'invalid token']);
  const monitorOnly = await post('/api/v1/stats', NOT_GZIP, gzipped);
  assert.equal(monitorOnly.status, 404);
});

test('a gzip body that does not inflate is a 400 with a detail', async () => {
  const response = await post(`/attestation/${drvHash(drvPath('gz'))}`, NOT_GZIP, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, alice.token);
  assert.equal(response.status, 400);
  assert.match(await detailOf(response), /^request body does not decompress: /);
});

test('a gzip body is bounded by the values it holds, before it is parsed', async () => {
  // 65 KB of gzip inflated to 64 MiB of `[{},{},…]` once held the server 33 s.
  const bomb = gzipSync(`[${Array.from({ length: 50_000 }, () => '{}').join(',')}]`);
  const response = await post(`/attestation/${drvHash(drvPath('bomb'))}`, bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, alice.token);
  assert.deepEqual([response.status, await detailOf(response)], [413, 'request body holds more than 1000 JSON values']);
});

test('a body is bounded in depth', async () => {
  const deep = `${'['.repeat(65)}${']'.repeat(65)}`;
  const response = await post('/api/v1/attestations', deep, { 'content-type': 'application/json' }, alice.token);
  assert.deepEqual([response.status, await detailOf(response)], [413, 'request body nests deeper than 64 levels']);
});

test('the byte limit applies to the inflated body', async () => {
  const small = await startTestServer({ bodyLimitBytes: 2048 });
  try {
    const builder = await small.createBuilder('zip');
    const body = gzipSync(JSON.stringify([lilaItem(builder, { outPath: storePath('zip'), narHash: narHash('zip') }, { output_name: `zip${'p'.repeat(200)}` })].concat(Array(1000).fill({}))));
    assert.ok(body.length < 2048, 'the compressed body alone fits');
    const response = await small.request(`/attestation/${drvHash(drvPath('zip'))}`, {
      method: 'POST',
      token: builder.token,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body,
    });
    assert.deepEqual([response.status, await detailOf(response)], [413, 'request body exceeds the limit of 2048 bytes']);
  } finally {
    await small.close();
  }
});

test("lila's hooks post JSON without a content type, or as a form, and gzip works", async () => {
  for (const [label, headers, encode] of [
    // fetch sends a string as text/plain, bytes without a content type.
    ['no content type', {}, (text: string) => Buffer.from(text)],
    ['curl -d', { 'content-type': 'application/x-www-form-urlencoded' }, (text: string) => Buffer.from(text)],
    ['gzip', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, (text: string) => gzipSync(text)],
  ] as const) {
    const outPath = storePath(`lila-${label.replace(/\W/g, '')}`);
    const body = JSON.stringify([lilaItem(alice, { outPath, narHash: narHash(label) })]);
    const response = await post(`/attestation/${drvHash(drvPath('lila'))}`, encode(body), headers, alice.token);
    assert.equal(response.status, 200, `${label}: ${await response.clone().text()}`);
    const [result] = (await response.json()) as { outPath: string; signature: { status: string } }[];
    assert.deepEqual([result?.outPath, result?.signature.status], [outPath, 'valid'], label);
  }
});

test('a body that says it is something else than JSON is not read as JSON', async () => {
  const response = await post(`/attestation/${drvHash(drvPath('text'))}`, '[]', { 'content-type': 'text/plain' }, alice.token);
  assert.equal(response.status, 400);
  assert.match(await detailOf(response), /JSON array/);
});

test('credential variants: the scheme in any case and spacing is accepted, anything else is 401', async () => {
  for (const header of [`Bearer ${alice.token}`, `bearer ${alice.token}`, `BEARER   ${alice.token}  `]) {
    const response = await server.request('/api/v1/whoami', { headers: { authorization: header } });
    assert.equal(response.status, 200, header);
  }
  for (const header of [alice.token, `Basic ${alice.token}`, `Bearer ${alice.token} extra`, `Bearer ${alice.token}x`, 'Bearer', `Bearer${alice.token}`]) {
    const response = await server.request('/api/v1/whoami', { headers: { authorization: header } });
    assert.equal(response.status, 401, header);
    assert.match(await detailOf(response), /^(missing bearer token|invalid token)$/);
  }
});

test('prototype pollution in a body has no effect, and `$` operators in place of values are refused', async () => {
  const drv = drvPath('polluted');
  for (const [index, pollution] of ['"__proto__": {"polluted": true}', '"constructor": {"prototype": {"polluted": true}}'].entries()) {
    const outPath = storePath(`polluted-${index}`);
    const good = JSON.stringify(lilaItem(alice, { outPath, narHash: narHash(`polluted-${index}`) })).slice(1, -1);
    const response = await post(`/attestation/${drvHash(drv)}`, `[{${pollution}, ${good}}]`, { 'content-type': 'application/json' }, alice.token);
    assert.equal(response.status, 200, pollution);
    const stored = await server.context.models.Attestation.findOne({ outPath }).lean();
    assert.deepEqual([stored?.outPath, JSON.stringify(stored).includes('polluted":true')], [outPath, false], pollution);
  }
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);

  const outPath = storePath('operators');
  const good = lilaItem(alice, { outPath, narHash: narHash('operators') });
  const bodies = [
    `{"__proto__": [${JSON.stringify(good)}]}`,
    JSON.stringify([{ ...good, output_name: { $ne: null } }]),
    JSON.stringify([{ ...good, output_hash: { $gt: '' } }]),
    JSON.stringify([{ ...good, references: [{ $gt: '' }] }]),
  ];
  for (const body of bodies) {
    const response = await post(`/attestation/${drvHash(drv)}`, body, { 'content-type': 'application/json' }, alice.token);
    assert.equal(response.status, 400, body);
  }
  const batch = await post('/api/v1/attestations', JSON.stringify({ attestations: [{ drvPath: drv, outPath: { $gt: '' }, narHash: narHash('x') }] }), { 'content-type': 'application/json' }, alice.token);
  assert.equal(batch.status, 400);
  assert.equal(await server.context.models.Attestation.countDocuments({ outPath }), 0);
});
