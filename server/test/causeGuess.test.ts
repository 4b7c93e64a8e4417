import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileDifference } from '@lilac/common';
import { guessCauses } from '../src/listings/causeGuess.ts';

const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);
const content = (path: string, sizeA = 10, sizeB = sizeA): FileDifference => ({
  path,
  change: 'content',
  a: { type: 'regular', size: sizeA, sha256: H1 },
  b: { type: 'regular', size: sizeB, sha256: H2 },
});

test('a differing archive or bytecode file suggests embedded timestamps', () => {
  for (const path of ['share/java/app.jar', 'lib/python3.12/site-packages/x/__pycache__/m.cpython-312.pyc', 'share/man/man1/x.1.gz', 'dist/x.zip']) {
    assert.deepEqual(guessCauses([content(path, 10, 12)], null), ['timestamps'], path);
  }
});

test("dates and mtimes on diffoscope's changed lines suggest timestamps; unchanged lines do not count", () => {
  const text = ['--- a/out', '+++ b/out', '├── share/doc/built', '│ @@ -1 +1 @@', '│ -Built on 2024-03-01 12:00:01', '│ +Built on 2024-03-02 09:14:55'].join('\n');
  assert.deepEqual(guessCauses([content('share/doc/built', 30)], text), ['timestamps']);
  const context = ['├── share/doc/built', '│  Copyright 2024-03-01', '│ -a', '│ +b'].join('\n');
  assert.deepEqual(guessCauses([content('share/doc/built', 1, 2)], context), ['uncertain']);
});

test('build directories in changed lines or symlink targets suggest build paths', () => {
  const text = ['│ -/build/source/main.c', '│ +/tmp/nix-build-hello-2.12.drv-0/source/main.c'].join('\n');
  assert.deepEqual(guessCauses([content('lib/libhello.so', 100, 140)], text), ['build-path']);
  const symlink: FileDifference = { path: 'src', change: 'target', a: { type: 'symlink', target: '/build/src' }, b: { type: 'symlink', target: '/build/other' } };
  assert.deepEqual(guessCauses([symlink], null), ['build-path']);
});

test('the same lines in another order suggest file ordering', () => {
  const text = ['│ -alpha', '│ -beta', '│ -gamma', '│ +gamma', '│ +alpha', '│ +beta'].join('\n');
  assert.deepEqual(guessCauses([content('share/list.txt', 17)], text), ['file-ordering']);
  assert.deepEqual(guessCauses([content('x')], '│┄ Ordering differences only'), ['file-ordering']);
});

test('UUIDs or long hex strings, or same-size files with nothing else to go by, suggest randomness', () => {
  const text = ['│ -id = 3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b', '│ +id = 9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d'].join('\n');
  assert.deepEqual(guessCauses([content('etc/id', 41)], text), ['randomness']);
  assert.deepEqual(guessCauses([content('share/random.bin', 32)], null), ['randomness']);
});

test('timezones and locales suggest locale-timezone; make job prefixes suggest parallelism', () => {
  assert.ok(guessCauses([content('a', 1, 2)], '│ -generated at +0200\n│ +generated at -0500').includes('locale-timezone'));
  assert.ok(guessCauses([content('a', 1, 2)], '│ -make[2]: one\n│ +make[3]: two').includes('parallelism'));
});

test('nothing to go by is uncertain, and no difference at all is no guess', () => {
  assert.deepEqual(guessCauses([content('bin/tool', 100, 120)], null), ['uncertain']);
  assert.deepEqual(guessCauses([], null), []);
});
