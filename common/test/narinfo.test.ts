import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNarinfoValue, parseNarinfo, renderNarinfo } from '../src/index.ts';

const text = `StorePath: /nix/store/c35shi5ngx898rna4g5nazmj89hhw6bh-vec.txt
URL: nar/1w1fff338fvdw53sqgamddn1b2xgds473pv6y13gizdbqjv4i5p3.nar.xz
Compression: xz
NarHash: sha256:05y5qdrzh521iwxm5vhyk7l60a014i0q6908ms8asgqgni64xrjg
NarSize: 136
References: 0a35shi5ngx898rna4g5nazmj89hhw6b-zlib c35shi5ngx898rna4g5nazmj89hhw6bh-vec.txt
Deriver: 1a35shi5ngx898rna4g5nazmj89hhw6b-vec.drv
Sig: cache.nixos.org-1:h/EmlGOhRJ91rCKMaYEE/WVmcS0/jw7PWXDB2NF3fo9hrsVm06Xlws/lNzSmu5brHmUsIBOi1AF+kgwBf12KAA==
Sig: test-1:h/EmlGOhRJ91rCKMaYEE/WVmcS0/jw7PWXDB2NF3fo9hrsVm06Xlws/lNzSmu5brHmUsIBOi1AF+kgwBf12KAA==
`;

test('parses and renders narinfo without losing a field', () => {
  const parsed = parseNarinfo(text);
  assert.equal(parsed.narSize, 136);
  assert.deepEqual(parsed.references, ['0a35shi5ngx898rna4g5nazmj89hhw6b-zlib', 'c35shi5ngx898rna4g5nazmj89hhw6bh-vec.txt']);
  assert.equal(parsed.sigs.length, 2);
  assert.equal(renderNarinfo(parsed), text);
});

test('an empty References line means no references', () => {
  const parsed = parseNarinfo('StorePath: /nix/store/c35shi5ngx898rna4g5nazmj89hhw6bh-vec.txt\nNarHash: sha256:05y5qdrzh521iwxm5vhyk7l60a014i0q6908ms8asgqgni64xrjg\nReferences: \n');
  assert.deepEqual(parsed.references, []);
});

test('refuses narinfo without a store path', () => {
  assert.throws(() => parseNarinfo('NarHash: sha256:x\n'), /lacks StorePath/);
});

test('never renders a value with a line break or another control character', () => {
  const parsed = parseNarinfo(text);
  for (const injected of [
    { sigs: ['test-1:abc\nStorePath: /nix/store/00000000000000000000000000000000-evil'] },
    { sigs: ['test-1:abc\r'] },
    { deriver: '1a35shi5ngx898rna4g5nazmj89hhw6b-vec.drv\nSig: forged' },
    { url: 'nar/x.nar\u0000' },
    { references: ['0a35shi5ngx898rna4g5nazmj89hhw6b-zlib\nNarSize: 1'] },
  ]) {
    assert.throws(() => renderNarinfo({ ...parsed, ...injected }), { name: 'InvalidNarinfoError' }, JSON.stringify(injected));
  }
  assert.equal(isNarinfoValue('test-1:h/EmlGOhRJ91rCKMaYEE/WVmcS0/jw7PWXDB2NF3fo9hrsVm06Xlws/lNzSmu5brHmUsIBOi1AF+kgwBf12KAA=='), true);
  assert.equal(isNarinfoValue('a\u007fb'), false);
});
