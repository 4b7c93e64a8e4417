import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drvHashOf, parseDerivationReference, parseStoreBaseName, parseStorePath } from '../src/index.ts';

const digest = 'c35shi5ngx898rna4g5nazmj89hhw6bh';

test('parses digest and name of an output path', () => {
  const parsed = parseStorePath(`/nix/store/${digest}-hello-2.12.1`);
  assert.equal(parsed.digest, digest);
  assert.equal(parsed.name, 'hello-2.12.1');
  assert.equal(parsed.baseName, `${digest}-hello-2.12.1`);
  assert.equal(parsed.isDerivation, false);
});

test('recognises derivation paths and converts to and from lila drv hashes', () => {
  const drvPath = `/nix/store/${digest}-hello-2.12.1.drv`;
  assert.equal(parseStorePath(drvPath).isDerivation, true);
  assert.equal(drvHashOf(drvPath), `${digest}-hello-2.12.1`);
  assert.equal(parseDerivationReference(`${digest}-hello-2.12.1`).drvPath, drvPath);
});

test('accepts every character Nix allows in names', () => {
  assert.equal(parseStoreBaseName(`${digest}-a+b-c._?=d`).name, 'a+b-c._?=d');
  assert.equal(parseStoreBaseName(`${digest}-${'x'.repeat(211)}`).name.length, 211);
});

test('refuses what is not a store path', () => {
  const bad = [
    `/nix/stor/${digest}-x`,
    `/nix/store/${digest}`,
    `/nix/store/${digest}-`,
    `/nix/store/${digest.slice(1)}-x`,
    `/nix/store/${'e'.repeat(32)}-x`, // e is not in the alphabet
    `/nix/store/${digest}-.hidden`,
    `/nix/store/${digest}-a/b`,
    `/nix/store/${digest}-<script>`,
    `/nix/store/${digest}-${'x'.repeat(212)}`,
    `/nix/store/${digest}_x`,
  ];
  for (const path of bad) assert.throws(() => parseStorePath(path), { name: 'InvalidStorePathError' }, path);
});

test('drv hash conversion refuses non-derivations', () => {
  assert.throws(() => drvHashOf(`/nix/store/${digest}-hello`), /not a derivation/);
});

test('a derivation is recognised however people paste it', () => {
  const drvPath = `/nix/store/${digest}-hello-2.12.1.drv`;
  for (const pasted of [`${digest}-hello-2.12.1`, `${digest}-hello-2.12.1.drv`, drvPath, ` ${drvPath}\n`]) {
    assert.deepEqual(parseDerivationReference(pasted), { drvPath, digest }, pasted);
  }
  assert.deepEqual(parseDerivationReference(digest), { drvPath: null, digest });
});

test('a pasted derivation that is not one is refused with the reason', () => {
  const cases: [string, RegExp][] = [
    [`/nix/store/${digest}-hello-2.12.1`, /not a derivation path/],
    [`/tmp/${digest}-hello.drv`, /must start with \/nix\/store\//],
    [digest.slice(1), /not a store path base name/],
    [`${'e'.repeat(32)}-hello`, /not nix base32/],
    [`${digest}-<script>`, /invalid store path name/],
    ['', /not a store path base name/],
  ];
  for (const [pasted, reason] of cases) assert.throws(() => parseDerivationReference(pasted), { name: 'InvalidStorePathError', message: reason }, pasted);
});
