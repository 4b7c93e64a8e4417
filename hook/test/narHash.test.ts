import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { checkListingEntries, encodeNixBase32, formatNarHash, narSizeOfListing } from '@lilac/common';
import { narDigestAndListingOfPath, narDigestOfPath } from '../src/nar/narHash.ts';
import { queryPathInfo } from '../src/store/pathInfo.ts';
import { nix, nixEnv, nonce, tempDir } from './support/nix.ts';

/** What Nix's own tools say: `nix-store --dump | sha256sum` (and its length) and `nix hash path`. */
function nixDigest(target: string): { narHash: string; narSize: number; nixHashPath: string } {
  const dump = execFileSync('nix-store', ['--dump', target], { env: nixEnv(), maxBuffer: 1 << 30 });
  const hex = execFileSync('sha256sum', { input: dump, encoding: 'utf8' }).split(' ')[0]!;
  const nixHashPath = nix(['nix', 'hash', 'path', '--type', 'sha256', '--base32', target]).trim();
  return { narHash: formatNarHash(new Uint8Array(Buffer.from(hex, 'hex'))), narSize: dump.length, nixHashPath: `sha256:${nixHashPath}` };
}

function craftedTree(): string {
  const root = path.join(tempDir('nar'), 'tree');
  mkdirSync(path.join(root, 'empty-dir'), { recursive: true });
  mkdirSync(path.join(root, 'nested', 'deeper'), { recursive: true });
  // Byte order puts B, Z before a, ä; a locale-aware sort would interleave them.
  for (const name of ['B', 'a', 'ä', 'Z', '_under', '10', '9']) writeFileSync(path.join(root, name), `${name}\n`);
  writeFileSync(path.join(root, 'empty-file'), '');
  writeFileSync(path.join(root, 'eight-bytes'), '12345678');
  writeFileSync(path.join(root, 'nine-bytes'), '123456789');
  writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(root, 'run.sh'), 0o755);
  writeFileSync(path.join(root, 'group-exec-only'), 'x');
  chmodSync(path.join(root, 'group-exec-only'), 0o654);
  writeFileSync(path.join(root, 'nested', 'deeper', 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 5, 7));
  symlinkSync('../a', path.join(root, 'nested', 'link-up'));
  symlinkSync('/does/not/exist', path.join(root, 'dangling'));
  symlinkSync('nested', path.join(root, 'dir-link'));
  return root;
}

test('the NAR hash of a crafted tree equals nix-store --dump | sha256sum and nix hash path', () => {
  const root = craftedTree();
  const ours = narDigestOfPath(root);
  const theirs = nixDigest(root);
  assert.equal(ours.narHash, theirs.narHash);
  assert.equal(ours.narSize, theirs.narSize);
  assert.equal(ours.narHash, theirs.nixHashPath);
});

test('a single file, an executable, an empty file and a symlink hash as Nix hashes them at the root', () => {
  const dir = tempDir('nar-root');
  writeFileSync(path.join(dir, 'plain'), 'plain\n');
  writeFileSync(path.join(dir, 'exe'), 'exe');
  chmodSync(path.join(dir, 'exe'), 0o700);
  writeFileSync(path.join(dir, 'empty'), '');
  symlinkSync('plain', path.join(dir, 'link'));
  mkdirSync(path.join(dir, 'empty-dir'));
  for (const name of ['plain', 'exe', 'empty', 'link', 'empty-dir']) {
    const target = path.join(dir, name);
    const ours = narDigestOfPath(target);
    const theirs = nixDigest(target);
    assert.deepEqual([name, ours.narHash, ours.narSize], [name, theirs.narHash, theirs.narSize]);
  }
});

test('the NAR hash of a real store path equals what the store registered', async () => {
  const root = craftedTree();
  writeFileSync(path.join(root, 'nonce'), nonce());
  const storePath = nix(['nix-store', '--add', root]).trim();
  const [registered] = await queryPathInfo([storePath]);
  const ours = narDigestOfPath(storePath);
  assert.equal(ours.narHash, registered!.narHash);
  assert.equal(ours.narSize, registered!.narSize);
  assert.match(ours.narHash, new RegExp(`^sha256:[${'0123456789abcdfghijklmnpqrsvwxyz'}]{52}$`));
  assert.equal(ours.narHash.length, 'sha256:'.length + encodeNixBase32(new Uint8Array(32)).length);
});

test('the listing of a crafted tree comes with the same NAR hash, in NAR order, and gives the NAR size', () => {
  const root = craftedTree();
  const theirs = nixDigest(root);
  const walked = narDigestAndListingOfPath(root);
  assert.equal(walked.narHash, theirs.narHash);
  assert.equal(walked.narSize, theirs.narSize);
  assert.equal(walked.problem, null);
  const entries = checkListingEntries(walked.entries);
  assert.equal(narSizeOfListing(entries), theirs.narSize);
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(path.join(root, file))).digest('hex');
  assert.deepEqual(byPath.get(''), { path: '', type: 'directory' });
  assert.deepEqual(byPath.get('run.sh'), { path: 'run.sh', type: 'executable', size: 18, sha256: sha256('run.sh') });
  assert.deepEqual(byPath.get('group-exec-only'), { path: 'group-exec-only', type: 'regular', size: 1, sha256: sha256('group-exec-only') });
  assert.deepEqual(byPath.get('empty-file'), { path: 'empty-file', type: 'regular', size: 0, sha256: createHash('sha256').digest('hex') });
  assert.deepEqual(byPath.get('nested/deeper/big.bin'), { path: 'nested/deeper/big.bin', type: 'regular', size: 3 * 1024 * 1024 + 5, sha256: sha256('nested/deeper/big.bin') });
  assert.deepEqual(byPath.get('nested/link-up'), { path: 'nested/link-up', type: 'symlink', target: '../a' });
  assert.deepEqual(byPath.get('empty-dir'), { path: 'empty-dir', type: 'directory' });
  // Bytes, not the locale: upper case and digits before lower case, ä last.
  const top = entries.filter((entry) => entry.path !== '' && !entry.path.includes('/')).map((entry) => entry.path);
  assert.deepEqual(top, ['10', '9', 'B', 'Z', '_under', 'a', 'dangling', 'dir-link', 'eight-bytes', 'empty-dir', 'empty-file', 'group-exec-only', 'nested', 'nine-bytes', 'run.sh', 'ä']);
});

test('a single file, an executable and a symlink at the root list as the output itself', () => {
  const dir = tempDir('listing-root');
  writeFileSync(path.join(dir, 'exe'), 'exe');
  chmodSync(path.join(dir, 'exe'), 0o700);
  symlinkSync('exe', path.join(dir, 'link'));
  const exe = narDigestAndListingOfPath(path.join(dir, 'exe'));
  assert.deepEqual(exe.entries, [{ path: '', type: 'executable', size: 3, sha256: createHash('sha256').update('exe').digest('hex') }]);
  assert.equal(narSizeOfListing(exe.entries!), nixDigest(path.join(dir, 'exe')).narSize);
  const link = narDigestAndListingOfPath(path.join(dir, 'link'));
  assert.deepEqual(link.entries, [{ path: '', type: 'symlink', target: 'exe' }]);
  assert.equal(link.narHash, nixDigest(path.join(dir, 'link')).narHash);
});

test('a tree with a name that is not UTF-8 has no listing, and its NAR hash is still exact', () => {
  const root = path.join(tempDir('listing-latin1'), 'tree');
  mkdirSync(root);
  writeFileSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x63, 0x61, 0x66, 0xe9])]), 'latin-1 name\n');
  writeFileSync(path.join(root, 'plain'), 'plain\n');
  const walked = narDigestAndListingOfPath(root);
  assert.equal(walked.entries, null);
  assert.match(walked.problem ?? '', /is not UTF-8/);
  assert.equal(walked.narHash, nixDigest(root).narHash);
});

test('the listing of a real store path is bound to the hash the store registered', async () => {
  const root = craftedTree();
  writeFileSync(path.join(root, 'nonce'), nonce());
  const storePath = nix(['nix-store', '--add', root]).trim();
  const [registered] = await queryPathInfo([storePath]);
  const walked = narDigestAndListingOfPath(storePath);
  assert.equal(walked.narHash, registered!.narHash);
  assert.equal(narSizeOfListing(checkListingEntries(walked.entries)), registered!.narSize);
});

test('a walk that fails half-way (a FIFO in the tree) throws, and the listing walk stops its hashing thread', () => {
  const root = path.join(tempDir('listing-fifo'), 'tree');
  mkdirSync(root);
  writeFileSync(path.join(root, 'a-file'), 'before the fifo\n');
  execFileSync('mkfifo', [path.join(root, 'b-fifo')]);
  assert.throws(() => narDigestAndListingOfPath(root), /not a regular file, directory or symlink/);
  assert.throws(() => narDigestOfPath(root), /not a regular file, directory or symlink/);
});
