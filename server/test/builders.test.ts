import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatKey, generateKeyPair } from '@lilac/common';
import { BuilderService } from '../src/builders/builderService.ts';
import { startTestServer, type TestServer } from './support/testServer.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

test('a builder authenticates with its bearer token', async () => {
  const alice = await server.createBuilder('alice');
  // 32 random bytes behind a prefix: never mistaken for a command-line option.
  assert.match(alice.token, /^lilac_[A-Za-z0-9_-]{43}$/);
  const response = await server.request('/api/v1/whoami', { token: alice.token });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { name: 'alice', keys: [alice.publicKey] });
});

test('a wrong or missing token gets 401 with a detail', async () => {
  const wrong = await server.request('/api/v1/whoami', { token: 'not-a-token-of-anyone' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(await wrong.json(), { detail: 'invalid token' });
  const missing = await server.request('/api/v1/whoami');
  assert.equal(missing.status, 401);
  assert.deepEqual(await missing.json(), { detail: 'missing bearer token' });
});

test('tokens are stored only as hashes', async () => {
  const bob = await server.createBuilder('bob');
  const stored = await server.context.models.BuilderToken.find({ builder: 'bob' }).lean();
  assert.equal(stored.length, 1);
  assert.notEqual(stored[0]?.hash, bob.token);
  assert.equal(JSON.stringify(stored).includes(bob.token), false);
});

test('a revoked token stops working, other tokens of the builder go on', async () => {
  const carol = await server.createBuilder('carol');
  const second = await server.context.builders.issueToken('carol');
  assert.equal(await server.context.builders.revokeToken(carol.token), true);
  assert.equal((await server.request('/api/v1/whoami', { token: carol.token })).status, 401);
  assert.equal((await server.request('/api/v1/whoami', { token: second })).status, 200);
  assert.equal(await server.context.builders.revokeToken(carol.token), false);
});

test('a token revoked by another process (the admin CLI) stops working once the remembered check runs out', async () => {
  const gina = await server.createBuilder('gina');
  let now = Date.parse('2026-01-01T00:00:00Z');
  const otherProcess = new BuilderService(server.context.models, () => now);
  assert.equal((await otherProcess.authenticate(gina.token))?.name, 'gina');
  assert.equal(await server.context.builders.revokeToken(gina.token), true);
  now += 1_000;
  assert.equal((await otherProcess.authenticate(gina.token))?.name, 'gina', 'remembered for 2 s, without a store read');
  now += 1_000;
  assert.equal(await otherProcess.authenticate(gina.token), null);
});

test('keys are validated as 32-byte ed25519 public keys', async () => {
  await server.createBuilder('dave');
  await assert.rejects(server.context.builders.addKey('dave', 'dave-2:AAAA'), /32 bytes/);
  await assert.rejects(server.context.builders.addKey('dave', 'no-name-here'), /<key name>:<base64>/);
  const { publicKey } = generateKeyPair('dave-2');
  const updated = await server.context.builders.addKey('dave', formatKey(publicKey));
  assert.deepEqual(updated.keys.map((key) => key.name), ['dave-1', 'dave-2']);
  const removed = await server.context.builders.removeKey('dave', 'dave-1');
  assert.deepEqual(removed.keys.map((key) => key.name), ['dave-2']);
});

test('one public key cannot belong to two builders', async () => {
  const erin = await server.createBuilder('erin');
  await assert.rejects(server.context.builders.create('frank', { publicKeys: [erin.publicKey] }), { kind: 'conflict' });
  await server.context.builders.create('frank');
  await assert.rejects(server.context.builders.addKey('frank', erin.publicKey), { kind: 'conflict' });
});

test('one raw key cannot belong to two builders under another key name or without base64 padding', async () => {
  const heidi = await server.createBuilder('heidi');
  const bytes = heidi.publicKey.slice(heidi.publicKey.indexOf(':') + 1);
  assert.match(bytes, /=$/);
  const renamed = `ivan-1:${bytes}`;
  const unpadded = `heidi-1:${bytes.replace(/=+$/, '')}`;
  await assert.rejects(server.context.builders.create('ivan', { publicKeys: [renamed] }), { kind: 'conflict', message: /registered to builder heidi/ });
  await assert.rejects(server.context.builders.create('ivan', { publicKeys: [unpadded] }), { kind: 'conflict' });
  await server.context.builders.create('ivan');
  await assert.rejects(server.context.builders.addKey('ivan', renamed), { kind: 'conflict' });
  await assert.rejects(server.context.builders.addKey('ivan', unpadded), { kind: 'conflict' });
  assert.deepEqual((await server.context.builders.get('ivan')).keys, []);
});

test('builder names are unique and plain', async () => {
  await server.createBuilder('grace');
  await assert.rejects(server.context.builders.create('grace'), { kind: 'conflict' });
  await assert.rejects(server.context.builders.create('../etc'), { kind: 'invalid' });
  await assert.rejects(server.context.builders.create('<b>'), { kind: 'invalid' });
});
