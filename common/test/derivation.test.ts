import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DerivationFormatError, derivationOutputs } from '../src/index.ts';

const out = '/nix/store/rp8w6ys7dajl3aqgm71br34q12nw07iv-lilac-bench';
const dev = '/nix/store/c35shi5ngx898rna4g5nazmj89hhw6bh-lilac-bench-dev';

test('reads the outputs of a .drv in their order, whatever strings follow', () => {
  const text = `Derive([("dev","${dev}","",""),("out","${out}","","")],[],[],"x86_64-linux","/bin/sh",["-c","echo \\"a\\\\b\\" > $out"],[("name","lilac-bench")])`;
  assert.deepEqual(derivationOutputs(text), [
    { name: 'dev', path: dev },
    { name: 'out', path: out },
  ]);
});

test('a content-addressed output has no path yet', () => {
  assert.deepEqual(derivationOutputs('Derive([("out","","r:sha256","")],[],[],"x86_64-linux","/bin/sh",[],[])'), [{ name: 'out', path: null }]);
});

test('anything else is refused', () => {
  for (const text of ['', 'Derive([],[],[])', `Derive([("out","${out}","")],`, `Derive([("out","/tmp/x","","")],[])`, 'DrvWithVersion("xp-dyn-drv",[("out","","","")])']) {
    assert.throws(() => derivationOutputs(text), Error, text);
  }
  assert.throws(() => derivationOutputs('Derive([("out'), DerivationFormatError);
});
