import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runAdmin } from './support/processes.ts';

function storeEnvironment(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'lilac-admin-')),
    LILAC_DB_NAME: `lilac_admin_${randomBytes(4).toString('hex')}`,
  };
}

test('revoke-token reads the token from standard input or a file, never from the command line', async () => {
  const env = storeEnvironment();
  const created = await runAdmin(['create-builder', 'alice'], env);
  assert.equal(created.code, 0, created.stderr);
  const token = /token: (\S+)/.exec(created.stdout)?.[1];
  assert.ok(token);

  const onCommandLine = await runAdmin(['revoke-token', token], env);
  assert.equal(onCommandLine.code, 2);
  assert.match(onCommandLine.stderr, /not from the command line/);
  const fromStdin = await runAdmin(['revoke-token'], env, { input: `${token}\n` });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.match(fromStdin.stdout, /token revoked/);

  const tokenFile = path.join(env.DATA_DIR!, 'token');
  writeFileSync(tokenFile, `${token}\n`);
  const again = await runAdmin(['revoke-token', '--token-file', tokenFile], env);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no such token/);
  const empty = await runAdmin(['revoke-token'], env, { input: '' });
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no token in standard input/);
});

test('create-builder takes a chosen token from a file or standard input', async () => {
  const env = storeEnvironment();
  const chosen = 'lilac_chosen-token-of-bob-0123456789';
  const created = await runAdmin(['create-builder', 'bob', '--token-file', '-'], env, { input: chosen });
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, new RegExp(`token: ${chosen}`));
  const revoked = await runAdmin(['revoke-token'], env, { input: chosen });
  assert.equal(revoked.code, 0, revoked.stderr);
});

test('without DATA_DIR the admin CLI says which store it opened, and that it is a new empty one', async () => {
  const cwd = realpathSync(mkdtempSync(path.join(tmpdir(), 'lilac-admin-cwd-')));
  const env: NodeJS.ProcessEnv = { ...process.env, LILAC_DB_NAME: 'lilac' };
  delete env.DATA_DIR;
  delete env.MONGODB_URI;
  const first = await runAdmin(['list'], env, { cwd });
  assert.equal(first.code, 0, first.stderr);
  const dataDir = path.join(cwd, 'data');
  assert.match(first.stderr, new RegExp(`store: embedded FerretDB on ${dataDir} \\(no server runs on it\\), database lilac`));
  assert.match(first.stderr, /this is a new, empty one\. DATA_DIR is unset: set it to the data directory of the server you mean\./);

  const created = await runAdmin(['create-builder', 'carol'], env, { cwd });
  assert.equal(created.code, 0, created.stderr);
  const second = await runAdmin(['list'], env, { cwd });
  assert.match(second.stdout, /^carol /m);
  assert.doesNotMatch(second.stderr, /new, empty/);
});

test('with MONGODB_URI the admin CLI names that store without its credentials', { skip: !process.env.MONGODB_URI && 'needs MONGODB_URI' }, async () => {
  const result = await runAdmin(['list'], { ...process.env, LILAC_DB_NAME: `lilac_admin_${randomBytes(4).toString('hex')}` });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /^store: MongoDB at mongodb(\+srv)?:\/\/[^@\s]+, database lilac_admin_/m);
});

test('create-member prints a token once; list-members, set-role and revoke-member manage people', async () => {
  const env = storeEnvironment();
  const created = await runAdmin(['create-member', 'mia', '--role', 'maintainer'], env);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^token: lilac_\S+$/m);
  const badRole = await runAdmin(['create-member', 'ola', '--role', 'owner'], env);
  assert.equal(badRole.code, 1);
  assert.match(badRole.stderr, /role must be one of viewer, maintainer, admin/);
  assert.equal((await runAdmin(['set-role', 'mia', 'admin'], env)).code, 0);
  assert.match((await runAdmin(['list-members'], env)).stdout, /^mia {2}admin$/m);
  assert.equal((await runAdmin(['revoke-member', 'mia'], env)).code, 0);
  assert.match((await runAdmin(['list-members'], env)).stdout, /^mia {2}admin {2}\(revoked\)$/m);
});
