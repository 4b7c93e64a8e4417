import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
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
