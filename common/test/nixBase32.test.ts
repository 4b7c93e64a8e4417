import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeNixBase32, encodeNixBase32 } from '../src/index.ts';

// Vectors printed by `nix-hash --type <algo> --to-base32 <hex>` (Nix 2.8).
const vectors = [
  { hex: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', base32: '0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73' },
  { hex: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824', base32: '094qif9n4cq4fdg459qzbhg1c6wywawwaaivx0k0x8xhbyx4vwic' },
  { hex: 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d', base32: '9m1skbnr5i43n3yypvda5s65vhfwdx5a' },
];

test('encodes digests exactly as nix-hash --to-base32 does', () => {
  for (const { hex, base32 } of vectors) {
    assert.equal(encodeNixBase32(Buffer.from(hex, 'hex')), base32);
  }
});

test('decoding inverts encoding for every length a digest can have', () => {
  for (const length of [16, 20, 32, 64]) {
    const bytes = createHash('sha512').update(String(length)).digest().subarray(0, length);
    const text = encodeNixBase32(bytes);
    assert.deepEqual(Buffer.from(decodeNixBase32(text, length)), bytes);
  }
});

test('decoding refuses letters outside the alphabet and wrong lengths', () => {
  assert.throws(() => decodeNixBase32('e'.repeat(52), 32), /invalid nix base32 character/);
  assert.throws(() => decodeNixBase32('0'.repeat(51), 32), /52 characters/);
});

test('decoding refuses a string whose top bits overflow the hash', () => {
  // 52 characters carry 260 bits; a sha256 has 256, so the first character may only be 0-7.
  assert.throws(() => decodeNixBase32(`z${'0'.repeat(51)}`, 32), /bits beyond/);
});
