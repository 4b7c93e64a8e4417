import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { encodeNixBase32, formatNarHash } from '@lilac/common';
import { narDigestOfPath } from '../src/nar/narHash.ts';
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
