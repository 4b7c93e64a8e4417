import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DerivationFormatError, derivationInputs, derivationOutputs, outputNameOf } from '../src/index.ts';

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

test('reads the input derivations of a .drv and the outputs each is used for', () => {
  const lib = '/nix/store/vhymlpp7vmrqpr32jgigc51s140s2a4h-rq-dep.drv';
  const gcc = '/nix/store/874aqhxg83lmxn54nnhqfz9f8rrg89q9-gcc-13.drv';
  const text = `Derive([("out","${out}","","")],[("${lib}",["out"]),("${gcc}",["lib","out"])],["/nix/store/zz4dl64n6x9c89isnyglv93lb825krhn-builder.sh"],"x86_64-linux","/bin/sh",[],[])`;
  assert.deepEqual(derivationInputs(text), {
    outputs: [{ name: 'out', path: out }],
    inputDrvs: [
      { drvPath: lib, outputs: ['out'] },
      { drvPath: gcc, outputs: ['lib', 'out'] },
    ],
  });
  assert.deepEqual(derivationInputs(`Derive([("out","${out}","","")],[],[],"x86_64-linux","/bin/sh",[],[])`).inputDrvs, []);
  assert.throws(() => derivationInputs(`Derive([("out","${out}","","")],[("/tmp/x.drv",["out"])],[],"",""`), Error);
});

test('the output a path is, from its name and its derivation\'s', () => {
  const drv = '/nix/store/mphad2q8k5sqif4l4wsd5cf3qidfmmlb-hello-2.12.1.drv';
  assert.equal(outputNameOf(drv, '/nix/store/3vdyh44cbp7bdk1nz31b2z3ygvzj3hab-hello-2.12.1'), 'out');
  assert.equal(outputNameOf(drv, '/nix/store/3vdyh44cbp7bdk1nz31b2z3ygvzj3hab-hello-2.12.1-man'), 'man');
  assert.equal(outputNameOf(drv, '/nix/store/3vdyh44cbp7bdk1nz31b2z3ygvzj3hab-glibc-2.39'), null);
});
