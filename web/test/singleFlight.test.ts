import assert from 'node:assert/strict';
import { test } from 'node:test';
import { singleFlight } from '../src/api.ts';

/** A fetch the test finishes by hand, counting how many were started. */
function manualFetch() {
  const finishers: (() => void)[] = [];
  const fetch = () => new Promise<void>((resolve) => finishers.push(resolve));
  return { fetch, started: () => finishers.length, finish: (index: number) => finishers[index]?.() };
}

test('calls while a fetch runs start one more fetch after it, not one each', async () => {
  const manual = manualFetch();
  const load = singleFlight(manual.fetch);
  const first = load();
  const queued = [load(), load(), load()];
  assert.equal(manual.started(), 1, 'one request in flight however many callers');
  manual.finish(0);
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(manual.started(), 2, 'the callers during the first share one more');
  manual.finish(1);
  await Promise.all(queued);
  const later = load();
  assert.equal(manual.started(), 3, 'a call once all is done starts at once');
  manual.finish(2);
  await later;
});

test('a failed fetch still lets the next call through', async () => {
  let calls = 0;
  const load = singleFlight(async () => {
    calls += 1;
    if (calls === 1) throw new Error('store unavailable');
  });
  await assert.rejects(load(), /store unavailable/);
  await load();
  assert.equal(calls, 2);
});

test('a call during a fetch that fails runs after it, and later calls are not stuck behind it', async () => {
  let calls = 0;
  let failFirst: (error: Error) => void = () => undefined;
  const load = singleFlight(() => {
    calls += 1;
    return calls === 1 ? new Promise<void>((_, reject) => (failFirst = reject)) : Promise.resolve();
  });
  const first = load();
  const during = load();
  failFirst(new Error('store unavailable'));
  await assert.rejects(first, /store unavailable/);
  await during;
  assert.equal(calls, 2);
  await load();
  assert.equal(calls, 3);
});

test('a call just as a run ends, with another queued, still leaves one fetch in flight', async () => {
  const manual = manualFetch();
  const load = singleFlight(manual.fetch);
  const first = load();
  const queued = load();
  manual.finish(0);
  await first;
  // Here the first run is over and the queued one not yet started: this call starts it.
  const between = load();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(manual.started(), 2, 'the queued callers join the run started between, not a third');
  manual.finish(1);
  await Promise.all([queued, between]);
});
