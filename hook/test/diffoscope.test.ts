import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_DIFFOSCOPE_SETTINGS, withDiffoscopeFlags } from '../src/listings/diffoscopeSettings.ts';
import { findDiffoscope, runDiffoscope } from '../src/listings/diffoscope.ts';
import { tempDir } from './support/nix.ts';

const program = findDiffoscope();
const needsDiffoscope = program === null ? 'diffoscope is not installed (apt-get install diffoscope-minimal)' : false;

/**
 * Two copies of an output: the same fixed file, and a file that differs. Their
 * times differ too, as two copies unpacked from NARs at different moments do.
 */
function twoCopies(): { a: string; b: string } {
  const root = tempDir('diffoscope');
  const copies = { a: path.join(root, 'a'), b: path.join(root, 'b') };
  for (const [side, copy] of Object.entries(copies)) {
    mkdirSync(path.join(copy, 'share'), { recursive: true });
    writeFileSync(path.join(copy, 'share', 'fixed'), 'the same on both sides\n');
    writeFileSync(path.join(copy, 'random'), `${side === 'a' ? 'first' : 'second'} build\n`.repeat(200));
    const time = side === 'a' ? 1 : 1_700_000_000;
    for (const entry of ['share/fixed', 'share', 'random', '.']) utimesSync(path.join(copy, entry), time, time);
  }
  return copies;
}

test('diffoscope between two copies names the differing file and says its version', { skip: needsDiffoscope }, async () => {
  const { a, b } = twoCopies();
  const run = await runDiffoscope(program!, a, b, DEFAULT_DIFFOSCOPE_SETTINGS);
  assert.equal(run.timedOut, false);
  assert.match(run.version ?? '', /^diffoscope \d+/);
  assert.deepEqual(run.reports.map((report) => [report.format, report.truncated]), [['text', false]]);
  const text = run.reports[0]!.content;
  assert.match(text, /\/random\b/);
  assert.match(text, /-first build/);
  assert.doesNotMatch(text, /share\/fixed/);
  assert.doesNotMatch(text, /Modify:|stat \{\}/, 'times and other metadata a NAR does not keep are not differences');
});

test('diffoscope output is cut at the size bound and marked truncated; HTML comes when asked', { skip: needsDiffoscope }, async () => {
  const { a, b } = twoCopies();
  const run = await runDiffoscope(program!, a, b, { ...DEFAULT_DIFFOSCOPE_SETTINGS, maxBytes: 300, html: true });
  const [text, html] = run.reports;
  assert.equal(text?.format, 'text');
  assert.equal(text?.truncated, true);
  assert.ok(Buffer.byteLength(text!.content) <= 300);
  assert.equal(html?.format, 'html');
  assert.ok(Buffer.byteLength(html!.content) <= 300);
});

test('diffoscope stopped at the time bound is marked timed out, its process group killed', { skip: needsDiffoscope }, async () => {
  const { a, b } = twoCopies();
  // Diffoscope (Python) cannot even start in a millisecond.
  const run = await runDiffoscope(program!, a, b, { ...DEFAULT_DIFFOSCOPE_SETTINGS, timeoutMs: 1 });
  assert.equal(run.timedOut, true);
  assert.equal(run.reports[0]?.format, 'text');
  const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  assert.ok(!processes.includes(a), `nothing started for these copies is left running:\n${processes}`);
});

test('--diffoscope-timeout and --diffoscope-html override the settings; a timeout that is not seconds is refused', () => {
  assert.deepEqual(withDiffoscopeFlags(DEFAULT_DIFFOSCOPE_SETTINGS, { timeoutSeconds: '2.5', html: true }), { ...DEFAULT_DIFFOSCOPE_SETTINGS, timeoutMs: 2500, html: true });
  assert.deepEqual(withDiffoscopeFlags(DEFAULT_DIFFOSCOPE_SETTINGS, {}), DEFAULT_DIFFOSCOPE_SETTINGS);
  assert.throws(() => withDiffoscopeFlags(DEFAULT_DIFFOSCOPE_SETTINGS, { timeoutSeconds: 'soon' }), /number of seconds/);
});
