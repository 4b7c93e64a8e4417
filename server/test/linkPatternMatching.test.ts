import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { compileLinkPattern, invalidLinkReason, invalidPatternReason } from '../src/linkPatterns/linkPatterns.ts';

const execFileAsync = promisify(execFile);
const linkPatternsModule = fileURLToPath(new URL('../src/linkPatterns/linkPatterns.ts', import.meta.url));

test('plain package-name patterns are accepted and match from the start of the name, as Python re.match', () => {
  for (const pattern of ['samba.*', 'python3\\.\\d+-.*', '(gtk|qt)-', 'foo[0-9]+bar', 'a{2,3}', '(?:lib)?xml2', 'perl5\\.[0-9]+-[a-z]+(-[0-9.]+)?']) {
    assert.equal(invalidPatternReason(pattern), null, pattern);
  }
  const samba = compileLinkPattern('samba');
  assert.equal(samba.test('samba-4.19.5'), true);
  assert.equal(samba.test('python3.11-samba'), false);
  assert.equal(compileLinkPattern('gtk|qt').test('qt-6.7'), true);
});

test('patterns a backtracking engine chokes on are matched in linear time', async () => {
  // Adjacent quantifiers slipped through the old heuristic: this one backtracks ~10^13 times on 200 `a`s.
  const pattern = 'a*a*a*a*a*a*a*a*b';
  assert.equal(invalidPatternReason(pattern), null);
  // In a child process, so that a backtracking engine fails the test by its time limit instead of hanging this one.
  const script = `
    const { compileLinkPattern } = await import(${JSON.stringify(linkPatternsModule)});
    const regex = compileLinkPattern(${JSON.stringify(pattern)});
    console.log(JSON.stringify([regex.test('a'.repeat(200)), regex.test('a'.repeat(200) + 'b')]));`;
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 120_000 });
  assert.deepEqual(JSON.parse(stdout), [false, true]);
});

test('patterns RE2 cannot compile are refused with its reason', () => {
  assert.match(invalidPatternReason('(unclosed') ?? '', /missing closing \)/);
  assert.match(invalidPatternReason('(a)\\1') ?? '', /invalid escape sequence/);
  assert.match(invalidPatternReason('(?=a)b') ?? '', /unsupported Perl syntax/);
  assert.match(invalidPatternReason('a{1001}') ?? '', /invalid repeat count/);
  assert.match(invalidPatternReason('a'.repeat(201)) ?? '', /longer than 200/);
  assert.match(invalidPatternReason('') ?? '', /empty/);
});

test('links must be http(s) URLs', () => {
  assert.equal(invalidLinkReason('https://github.com/NixOS/nixpkgs/issues/303436'), null);
  assert.match(invalidLinkReason('javascript:alert(1)') ?? '', /http\(s\)/);
  assert.match(invalidLinkReason('not a url') ?? '', /not a URL/);
});
