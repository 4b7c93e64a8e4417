import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { formatKey, generateKeyPair } from '@lilac/common';
import { loadHookConfig, readHookConfig } from '../src/config.ts';
import { DEFAULT_ENV_FILE, parseEnvFile } from '../src/envFile.ts';
import { buildBundle, LILAC_BIN } from './support/builderSetup.ts';
import { tempDir } from './support/nix.ts';
import { run } from './support/run.ts';

before(() => buildBundle());

function envFile(text: string): string {
  const file = path.join(tempDir('env-file'), 'hook.env');
  writeFileSync(file, text);
  return file;
}

test('an env file is KEY=value lines as sh would source them: comments, export and quotes, nothing expanded', () => {
  const text = [
    '# lilac',
    '',
    'export LILAC_SERVER=https://lilac.example.org # the server',
    'LILAC_TOKEN_FILE="/etc/lilac/my token"',
    "LILAC_SPOOL_DIR='/var/spool/$HOME'",
    '  LILAC_TIMEOUT_MS = 2000  ',
    'HASH_COLLECTION_TOKEN=a#b',
    'not an assignment',
    'LILAC_SERVER2="unterminated',
  ].join('\n');
  assert.deepEqual(parseEnvFile(text, 'hook.env'), {
    values: {
      LILAC_SERVER: 'https://lilac.example.org',
      LILAC_TOKEN_FILE: '/etc/lilac/my token',
      LILAC_SPOOL_DIR: '/var/spool/$HOME',
      LILAC_TIMEOUT_MS: '2000',
      HASH_COLLECTION_TOKEN: 'a#b',
    },
    problems: ['hook.env line 8 is not KEY=value: not an assignment', 'hook.env line 9 is not KEY=value: LILAC_SERVER2="unterminated'],
  });
});

test('every command reads the env file; the environment wins over it and flags over both', () => {
  const { secretKey } = generateKeyPair('file-1');
  const keyFile = path.join(tempDir('key'), 'secret');
  writeFileSync(keyFile, formatKey(secretKey));
  const file = envFile(`LILAC_SERVER=http://from-file.example\nLILAC_TOKEN=file-token\nLILAC_SECRET_KEY_FILE=${keyFile}\nLILAC_TIMEOUT_MS=1234\n`);
  const fromFile = loadHookConfig({ LILAC_ENV_FILE: file });
  assert.deepEqual([fromFile.server, fromFile.token, fromFile.secretKey?.name, fromFile.timeoutMs, fromFile.envFile], [
    'http://from-file.example',
    'file-token',
    'file-1',
    1234,
    file,
  ]);
  const overridden = loadHookConfig({ LILAC_ENV_FILE: '/nonexistent/hook.env', LILAC_TOKEN: 'env-token' }, { 'env-file': file, server: 'http://flag.example' });
  assert.deepEqual([overridden.server, overridden.token], ['http://flag.example', 'env-token']);
  assert.equal(loadHookConfig({ LILAC_ENV_FILE: '', LILAC_SERVER: 'http://env.example' }).envFile, null);
});

test('a command a person runs refuses bad settings and a named env file that is missing; a hook leaves them out and goes on', () => {
  assert.throws(() => loadHookConfig({ LILAC_ENV_FILE: '/nonexistent/hook.env' }), /no env file at \/nonexistent\/hook\.env/);
  const file = envFile('LILAC_SERVER=not a url\nLILAC_TIMEOUT_MS=-5\nLILAC_TOKEN_FILE=/nonexistent/token\n');
  assert.throws(() => loadHookConfig({ LILAC_ENV_FILE: file }), /server is not a URL: not a url; cannot read the token file \/nonexistent\/token.*; timeout must be/);
  const { config, problems } = readHookConfig({ LILAC_ENV_FILE: file });
  assert.deepEqual([config.server, config.token, config.timeoutMs], [null, null, 5000]);
  assert.equal(problems.length, 3);
});

test('lilac flush with no server configured says so and exits non-zero', async () => {
  const file = envFile('LILAC_TOKEN=some-token\n');
  const flush = await run(LILAC_BIN, ['flush'], { ...process.env, LILAC_ENV_FILE: file, LILAC_SERVER: '', HASH_COLLECTION_SERVER: '' });
  assert.equal(flush.status, 2);
  assert.equal(flush.stderr, `lilac flush: no server configured: set LILAC_SERVER in ${file}, or pass --server\n`);
});

test('lilac rebuild and import-cache with nothing configured name the env file they read', async () => {
  const file = envFile('LILAC_TIMEOUT_MS=1000\n');
  const env = { ...process.env, LILAC_ENV_FILE: file, LILAC_SERVER: '', HASH_COLLECTION_SERVER: '' };
  const rebuild = await run(LILAC_BIN, ['rebuild'], env);
  assert.equal(rebuild.status, 2);
  assert.equal(rebuild.stderr, `lilac rebuild: no server configured: set LILAC_SERVER in ${file}, or pass --server\n`);
  const importCache = await run(LILAC_BIN, ['import-cache', '--cache', 'http://127.0.0.1:9', '--report', 'any'], env);
  assert.equal(importCache.status, 2);
  assert.equal(importCache.stderr, `lilac import-cache: a server and a token are needed: LILAC_SERVER and LILAC_TOKEN_FILE in ${file}, or --server and --token-file\n`);
});

test('a hook whose environment says it all does not ask for the default env file', { skip: existsSync(DEFAULT_ENV_FILE) && `${DEFAULT_ENV_FILE} exists here` }, async () => {
  const keyFile = path.join(tempDir('key'), 'secret');
  writeFileSync(keyFile, formatKey(generateKeyPair('env-1').secretKey));
  const env: NodeJS.ProcessEnv = { ...process.env, LILAC_SERVER: 'http://127.0.0.1:9', LILAC_TOKEN: 't', LILAC_SECRET_KEY_FILE: keyFile, DRV_PATH: '' };
  delete env.LILAC_ENV_FILE;
  const hook = await run(LILAC_BIN, ['post-build-hook'], env);
  assert.equal(hook.status, 0);
  assert.equal(hook.stderr, 'lilac: DRV_PATH is not set, so there is nothing to attest (Nix sets it when it runs the post-build-hook)\n');
});
