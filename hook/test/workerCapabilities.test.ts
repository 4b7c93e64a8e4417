import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/config.ts';
import { narrowCapabilities, nixCapabilities } from '../src/rebuild/workerCapabilities.ts';
import { nix } from './support/nix.ts';

test('a worker announces the system, extra platforms and features of its Nix, narrowed by the flags', async () => {
  const fromNix = await nixCapabilities();
  const system = nix(['nix-instantiate', '--eval', '--expr', 'builtins.currentSystem']).trim().replaceAll('"', '');
  assert.ok(fromNix.systems.includes(system), JSON.stringify(fromNix));
  assert.deepEqual(narrowCapabilities(fromNix, undefined, undefined), fromNix);
  const feature = fromNix.features[0];
  assert.deepEqual(narrowCapabilities(fromNix, [system], feature ?? ''), { systems: [system], features: feature ? [feature] : [] });
  assert.deepEqual(narrowCapabilities(fromNix, [], ''), { systems: fromNix.systems, features: [] });
  assert.throws(() => narrowCapabilities(fromNix, ['riscv64-linux'], undefined), (error: unknown) => error instanceof ConfigError && /riscv64-linux/.test(error.message));
  assert.throws(() => narrowCapabilities(fromNix, undefined, 'no-such-feature'), ConfigError);
  assert.throws(() => narrowCapabilities(fromNix, ['not a system'], undefined), ConfigError);
});
