import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A recognisable prefix lets secret scanners find leaked tokens, and keeps a
 * token from starting with `-`, which command lines would read as an option.
 */
const TOKEN_PREFIX = 'lilac_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of two token hashes, so response timing says nothing about how close a guess was. */
export function tokenHashesMatch(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(actual, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
