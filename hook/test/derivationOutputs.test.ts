import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { derivationRequirements } from '@lilac/common';
import { outputsOfDerivation } from '../src/store/pathInfo.ts';
import { nix, nonce, tempDir } from './support/nix.ts';

test('the outputs read from a .drv file are the ones the store knows (Nix 2.8 leaves OUT_PATHS empty)', async () => {
  const file = path.join(tempDir('drv'), 'multi.nix');
  writeFileSync(
    file,
    `builtins.derivation { system = builtins.currentSystem; builder = "/bin/sh"; outputs = [ "out" "dev" "doc" ]; args = [ "-c" "echo \\"${nonce()}\\" > $out" ]; name = "lilac-multi"; }\n`,
  );
  const drvPath = nix(['nix-instantiate', file]).trim();
  const fromStore = nix(['nix-store', '--query', '--outputs', drvPath]).trim().split('\n');
  assert.equal(fromStore.length, 3);
  assert.deepEqual((await outputsOfDerivation(drvPath)).sort(), fromStore.sort());
});

test('the system and required features read from a .drv are the ones Nix wrote, structured attributes too', async () => {
  const dir = tempDir('drv');
  const needs = (name: string, extra: string) => {
    const file = path.join(dir, `${name}.nix`);
    writeFileSync(file, `builtins.derivation { system = "riscv64-linux"; builder = "/bin/sh"; args = [ "-c" "echo \\"${nonce()}\\" > $out" ]; name = "${name}"; ${extra} }\n`);
    return readFileSync(nix(['nix-instantiate', file]).trim(), 'utf8');
  };
  assert.deepEqual(derivationRequirements(needs('lilac-plain', '')), { system: 'riscv64-linux', requiredSystemFeatures: [] });
  assert.deepEqual(derivationRequirements(needs('lilac-kvm', 'requiredSystemFeatures = [ "kvm" "big-parallel" ];')), {
    system: 'riscv64-linux',
    requiredSystemFeatures: ['kvm', 'big-parallel'],
  });
  assert.deepEqual(derivationRequirements(needs('lilac-structured', '__structuredAttrs = true; requiredSystemFeatures = [ "nixos-test" ];')), {
    system: 'riscv64-linux',
    requiredSystemFeatures: ['nixos-test'],
  });
});
