import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { checkListingEntries, compareListingPaths, diffListings, ListingError, narSizeOfListing, parseListingUpload, type ListingEntry } from '../src/listings.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const file = (entryPath: string, contents: string): ListingEntry => ({ path: entryPath, type: 'regular', size: Buffer.byteLength(contents), sha256: sha(contents) });
const dir = (entryPath: string): ListingEntry => ({ path: entryPath, type: 'directory' });

test('NAR order puts a directory before what it holds and siblings in byte order', () => {
  const sorted = ['', 'a', 'a/z', 'a-b', 'B', 'b'].sort(compareListingPaths);
  assert.deepEqual(sorted, ['', 'B', 'a', 'a/z', 'a-b', 'b']);
  // UTF-8 bytes: U+E000 is EE 80 80, U+10000 is F0 90 80 80 (in UTF-16 the other way round).
  assert.deepEqual(['\u{10000}', '\uE000', 'é/x', 'é'].sort(compareListingPaths), ['é', 'é/x', '\uE000', '\u{10000}']);
});

test('a listing out of NAR order, repeated or outside a listed directory is refused', () => {
  assert.throws(() => checkListingEntries([dir(''), file('b', 'x'), file('a', 'y')]), /out of NAR order/);
  assert.throws(() => checkListingEntries([dir(''), file('a', 'x'), file('a', 'x')]), /out of NAR order or repeated/);
  assert.throws(() => checkListingEntries([dir(''), file('a/b', 'x')]), /not inside a listed directory/);
  assert.throws(() => checkListingEntries([file('a', 'x')]), /output itself/);
  assert.throws(() => checkListingEntries([]), /at least the output/);
});

test('paths with "..", NUL, empty components or a leading slash are refused', () => {
  for (const bad of ['../etc/passwd', 'a/../b', '/etc/passwd', 'a\0b', 'a//b', './a', 'a/']) {
    assert.throws(() => checkListingEntries([dir(''), dir('a'), file(bad, 'x')]), ListingError, bad);
  }
});

test('entries are checked field by field, and the entry bound holds', () => {
  assert.throws(() => checkListingEntries([dir(''), { path: 'a', type: 'regular', size: 1, sha256: 'ABC' }]), /sha256/);
  assert.throws(() => checkListingEntries([dir(''), { path: 'a', type: 'regular', size: -1, sha256: sha('') }]), /size/);
  assert.throws(() => checkListingEntries([dir(''), { path: 'a', type: 'symlink', target: '' }]), /target/);
  assert.throws(() => checkListingEntries([dir(''), { path: 'a', type: 'fifo' }]), /type/);
  assert.throws(() => checkListingEntries([dir(''), dir('a'), dir('b')], 2), /at most 2 entries/);
  assert.throws(() => parseListingUpload({ narHash: 'x', narSize: 0, entries: [dir('')] }), /narSize/);
  const sizes = { narHash: 'sha256:x', narSize: 8, entries: [{ path: '', type: 'directory', extra: 1 }] };
  assert.deepEqual(parseListingUpload(sizes).entries, [dir('')], 'unknown fields are dropped');
});

test('narSizeOfListing gives the length of what nix-store --dump writes for the tree', () => {
  const root = path.join(mkdtempSync(path.join(tmpdir(), 'lilac-listing-')), 'out');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  mkdirSync(path.join(root, 'share/doc/empty'), { recursive: true });
  writeFileSync(path.join(root, 'bin/tool'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(root, 'bin/tool'), 0o755);
  writeFileSync(path.join(root, 'share/doc/README'), 'seven b');
  writeFileSync(path.join(root, 'share/doc/empty-file'), '');
  writeFileSync(path.join(root, 'share/é-ünïcode'), 'x'.repeat(4097));
  writeFileSync(path.join(root, 'share/\u{1F600}-emoji'), 'four-byte name');
  symlinkSync('../bin/tool', path.join(root, 'share/link'));
  const entries: ListingEntry[] = [
    dir(''),
    dir('bin'),
    { ...file('bin/tool', readFileSync(path.join(root, 'bin/tool'), 'utf8')), type: 'executable' },
    dir('share'),
    dir('share/doc'),
    file('share/doc/README', 'seven b'),
    dir('share/doc/empty'),
    file('share/doc/empty-file', ''),
    { path: 'share/link', type: 'symlink', target: '../bin/tool' },
    file('share/é-ünïcode', 'x'.repeat(4097)),
    file('share/\u{1F600}-emoji', 'four-byte name'),
  ];
  assert.deepEqual(checkListingEntries(entries), entries, 'the listing is in NAR order');
  const nar = execFileSync('nix-store', ['--dump', root], { maxBuffer: 1 << 26 });
  assert.equal(narSizeOfListing(entries), nar.length);

  const single = path.join(path.dirname(root), 'single');
  writeFileSync(single, 'one file as the whole output');
  assert.equal(narSizeOfListing([file('', 'one file as the whole output')]), execFileSync('nix-store', ['--dump', single]).length);
});

test('diffListings names exactly the files that differ, and how', () => {
  const a: ListingEntry[] = [dir(''), file('gone', 'x'), dir('lib'), file('lib/a.so', 'same'), file('lib/b.so', 'old'), file('mode', 'm'), { path: 'sym', type: 'symlink', target: 'x' }, file('was-file', 'f')];
  const b: ListingEntry[] = [
    dir(''),
    dir('lib'),
    file('lib/a.so', 'same'),
    file('lib/b.so', 'new'),
    { ...file('mode', 'm'), type: 'executable' },
    file('new', 'n'),
    { path: 'sym', type: 'symlink', target: 'y' },
    dir('was-file'),
  ];
  assert.deepEqual(
    diffListings(a, b).map(({ path: changed, change }) => [changed, change]),
    [
      ['gone', 'removed'],
      ['lib/b.so', 'content'],
      ['mode', 'mode'],
      ['new', 'added'],
      ['sym', 'target'],
      ['was-file', 'type'],
    ],
  );
  const content = diffListings(a, b).find((difference) => difference.path === 'lib/b.so');
  assert.deepEqual(content, { path: 'lib/b.so', change: 'content', a: { type: 'regular', size: 3, sha256: sha('old') }, b: { type: 'regular', size: 3, sha256: sha('new') } });
  assert.deepEqual(diffListings(a, a), []);
});
