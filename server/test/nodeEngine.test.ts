import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';
import { repoRoot } from './support/processes.ts';

interface LockedPackage {
  engines?: { node?: string } | string[];
}

// `npm install` warns EBADENGINE for every dependency whose `engines.node` the declared engine's
// lowest version does not satisfy: 35 of them once, when dependencies wanted Node ≥ 22.
test('every locked dependency accepts the lowest Node version the repository declares', () => {
  const declared = (JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { engines: { node: string } }).engines.node;
  const lowest = semver.minVersion(declared);
  assert.ok(lowest, `engines.node is not a range: ${declared}`);
  const lock = JSON.parse(readFileSync(`${repoRoot}/package-lock.json`, 'utf8')) as { packages: Record<string, LockedPackage> };
  const refusing = Object.entries(lock.packages).flatMap(([name, locked]) => {
    const wanted = Array.isArray(locked.engines) ? undefined : locked.engines?.node;
    return wanted !== undefined && !semver.satisfies(lowest, wanted) ? [`${name} wants node ${wanted}`] : [];
  });
  assert.deepEqual(refusing, [], `package.json declares node ${declared}`);
});
