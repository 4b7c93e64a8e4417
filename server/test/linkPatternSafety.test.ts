import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invalidLinkReason, unsafePatternReason } from '../src/linkPatterns/safePattern.ts';

test('plain package-name patterns are accepted', () => {
  for (const pattern of ['samba.*', 'python3\\.\\d+-.*', '(gtk|qt)-', 'foo[0-9]+bar', 'a{2,3}', '(?:lib)?xml2', 'perl5\\.[0-9]+-[a-z]+(-[0-9.]+)?']) {
    assert.equal(unsafePatternReason(pattern), null, pattern);
  }
});

test('patterns that can backtrack catastrophically are refused', () => {
  for (const pattern of ['(a+)+$', '(a*)*', '(.*a){1,}', '(a|a)*', '(a|aa)+b', '((ab)*)+', '(x+x+)+y']) {
    assert.match(unsafePatternReason(pattern) ?? '', /backtrack/, pattern);
  }
});

test('invalid, oversized, backreferencing or lookaround patterns are refused', () => {
  assert.match(unsafePatternReason('(unclosed') ?? '', /not a valid regular expression/);
  assert.match(unsafePatternReason('a'.repeat(201)) ?? '', /longer than 200/);
  assert.match(unsafePatternReason('(a)\\1') ?? '', /backreferences/);
  assert.match(unsafePatternReason('(?=a)b') ?? '', /lookarounds/);
  assert.match(unsafePatternReason('') ?? '', /empty/);
});

test('links must be http(s) URLs', () => {
  assert.equal(invalidLinkReason('https://github.com/NixOS/nixpkgs/issues/303436'), null);
  assert.match(invalidLinkReason('javascript:alert(1)') ?? '', /http\(s\)/);
  assert.match(invalidLinkReason('not a url') ?? '', /not a URL/);
});
