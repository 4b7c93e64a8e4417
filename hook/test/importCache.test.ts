import assert from 'node:assert/strict';
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AttestationView } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { buildBundle, LILAC_BIN } from './support/builderSetup.ts';
import { derivationFile, nix, nixKeyPair, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';

let server: TestServer;
let cacheDir: string;
let token: string;
let keyName: string;
const built: string[] = [];
let notInCache: string;

/** A loopback binary cache that answers 503 or drops the connection on first asks, and never serves `broken` digests. */
function serveCache(dir: string, broken: Set<string>): Promise<{ url: string; server: Server; requests: Map<string, number> }> {
  const requests = new Map<string, number>();
  const http = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    const count = (requests.get(name) ?? 0) + 1;
    requests.set(name, count);
    const digest = name.slice(0, 32);
    if (broken.has(digest)) return void res.writeHead(503).end('down for maintenance');
    if (count === 1) return void res.writeHead(503).end('try again');
    if (count === 2 && digest.charCodeAt(0) % 2 === 0) return void req.socket.destroy();
    const file = path.join(dir, name);
    if (name.includes('..') || !existsSync(file)) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': 'text/x-nix-narinfo' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, server: http, requests })));
}

before(async () => {
  buildBundle();
  server = await startTestServer();
  const dir = tempDir('cache');
  keyName = `lilac-cache-${nonce()}`;
  const key = nixKeyPair(dir, keyName);
  ({ token } = await server.context.builders.create('cache', { publicKeys: [key.publicKey] }));
  for (const index of [1, 2, 3, 4]) {
    built.push(nix(['nix-build', derivationFile(dir, `lilac-cached-${index}`, `echo cached ${index} ${nonce()} > $out`), '--no-out-link']).trim());
  }
  notInCache = built.pop()!;
  nix(['nix', 'store', 'sign', '--key-file', key.secretFile, ...built]);
  cacheDir = path.join(dir, 'binary-cache');
  nix(['nix', 'copy', '--to', `file://${cacheDir}`, ...built]);
});
after(() => server.close());

async function attestationsOf(outPath: string): Promise<AttestationView[]> {
  return (await (await server.request(`/attestations/by-output/${outPath.slice('/nix/store/'.length)}`)).json()) as AttestationView[];
}

test('import-cache attests a flaky binary cache\'s narinfos, reports what is missing or failing, and resumes', async () => {
  const brokenPath = built[2]!;
  const broken = new Set([brokenPath.slice('/nix/store/'.length, '/nix/store/'.length + 32)]);
  const cache = await serveCache(cacheDir, broken);
  const stateFile = path.join(tempDir('import-state'), 'done');
  const args = ['import-cache', '--cache', cache.url, '--server', server.url, '--token', token, '--key-name', keyName, '--retries', '3', '--retry-delay-ms', '10', '--concurrency', '2', '--state-file', stateFile];
  try {
    const first = await run(LILAC_BIN, [...args, ...built, notInCache], process.env);
    assert.equal(first.status, 1, first.stderr);
    assert.match(first.stdout, new RegExp(`^missing ${notInCache}$`, 'm'));
    assert.match(first.stdout, new RegExp(`^failed ${brokenPath}: cache: 503 from the cache \\(gave up after 4 tries\\)$`, 'm'));
    assert.match(first.stdout, /imported 2, already done 0, missing from the cache 1, failed 1/);
    assert.equal(cache.requests.get(`${broken.values().next().value}.narinfo`), 4);
    for (const outPath of built.slice(0, 2)) {
      const views = await attestationsOf(outPath);
      assert.deepEqual(views.map((view) => [view.builder, view.signature.status, view.source]), [['cache', 'valid', 'cache-import']]);
    }

    broken.clear();
    const second = await run(LILAC_BIN, [...args, ...built, notInCache], process.env);
    assert.equal(second.status, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /imported 1, already done 2, missing from the cache 1, failed 0/);
    assert.deepEqual((await attestationsOf(brokenPath)).map((view) => [view.builder, view.signature.status]), [['cache', 'valid']]);
    assert.equal(await server.context.models.Attestation.countDocuments({ builder: 'cache' }), 3);
  } finally {
    cache.server.close();
  }
});

test('import-cache --report with a server that does not answer names the server in one line, no stack trace', async () => {
  const closed = createServer();
  const port = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)));
  await new Promise((resolve) => closed.close(resolve));
  const settings = path.join(tempDir('closed'), 'hook.env');
  writeFileSync(settings, `LILAC_SERVER=http://127.0.0.1:${port}\nLILAC_TOKEN=${token}\n`);
  const result = await run(LILAC_BIN, ['import-cache', '--cache', `http://127.0.0.1:${port}`, '--report', 'any'], { ...process.env, LILAC_ENV_FILE: settings });
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stderr, `lilac import-cache: http://127.0.0.1:${port}: fetch failed: connect ECONNREFUSED 127.0.0.1:${port}\n`);
});
