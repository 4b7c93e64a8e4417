import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupCommit } from '../src/attestations/groupCommit.ts';

/** A write that holds until released, recording the groups it was given. */
function heldWrites() {
  const groups: number[][] = [];
  const releases: (() => void)[] = [];
  const write = (group: readonly number[]) => {
    groups.push([...group]);
    return new Promise<number[]>((resolve, reject) => {
      releases.push(() => (group.includes(-1) ? reject(new Error('refused')) : resolve(group.map((value) => value * 10))));
    });
  };
  return { groups, releases, write };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('work arriving while a group is written goes together in the next group, each caller gets its own result', async () => {
  const { groups, releases, write } = heldWrites();
  const commits = new GroupCommit<number, number>(write, () => 1, 100, 1);
  const first = commits.submit(1);
  const waiting = [2, 3, 4].map((value) => commits.submit(value));
  await turn();
  assert.deepEqual(groups, [[1]]);
  releases.shift()?.();
  assert.equal(await first, 10);
  await turn();
  assert.deepEqual(groups, [[1], [2, 3, 4]]);
  releases.shift()?.();
  assert.deepEqual(await Promise.all(waiting), [20, 30, 40]);
});

test('a group stays within its size unless one caller alone is larger, and a failed write fails only its own group', async () => {
  const { groups, releases, write } = heldWrites();
  const commits = new GroupCommit<number, number>(write, (value) => Math.abs(value), 5, 1);
  const first = commits.submit(1);
  const large = commits.submit(9);
  const refused = commits.submit(-1);
  const after = commits.submit(2);
  await turn();
  releases.shift()?.();
  await first;
  await turn();
  assert.deepEqual(groups.at(-1), [9]);
  releases.shift()?.();
  assert.equal(await large, 90);
  await turn();
  assert.deepEqual(groups.at(-1), [-1, 2]);
  releases.shift()?.();
  await assert.rejects(refused, /refused/);
  await assert.rejects(after, /refused/);
});

test('with two groups in flight, a second group is written before the first is done', async () => {
  const { groups, releases, write } = heldWrites();
  const commits = new GroupCommit<number, number>(write, () => 1, 100, 2);
  const answers = [commits.submit(1), commits.submit(2)];
  await turn();
  assert.deepEqual(groups, [[1], [2]]);
  for (const release of releases) release();
  assert.deepEqual(await Promise.all(answers), [10, 20]);
});

test('a further group starts while one is written only once enough work waits; smaller work joins the next group', async () => {
  const { groups, releases, write } = heldWrites();
  const commits = new GroupCommit<number, number>(write, (value) => value, 100, 2, 5);
  const answers = [commits.submit(1), commits.submit(2), commits.submit(1)];
  await turn();
  assert.deepEqual(groups, [[1]], 'three waiting are less than five');
  answers.push(commits.submit(2));
  await turn();
  assert.deepEqual(groups, [[1], [2, 1, 2]], 'five waiting go as a second group in flight');
  for (const release of releases) release();
  assert.deepEqual(await Promise.all(answers), [10, 20, 10, 20]);
});
