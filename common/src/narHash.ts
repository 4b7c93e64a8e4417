import { decodeNixBase32, encodeNixBase32, nixBase32Length } from './nixBase32.ts';

const SHA256_BYTES = 32;

export class InvalidNarHashError extends Error {
  override name = 'InvalidNarHashError';
}

/**
 * Parses a SHA-256 NAR hash in any form Nix prints one: `sha256:<nix-base32>`
 * (narinfo, fingerprints), `sha256-<base64>` (SRI, what newer
 * `nix path-info --json` prints), or `sha256:<hex>`.
 */
export function narHashBytes(text: string): Uint8Array {
  if (text.startsWith('sha256-')) {
    const base64 = text.slice('sha256-'.length);
    if (!/^[A-Za-z0-9+/]{43}=$/.test(base64)) throw new InvalidNarHashError(`invalid SRI sha256 hash: ${JSON.stringify(text)}`);
    return new Uint8Array(Buffer.from(base64, 'base64'));
  }
  if (text.startsWith('sha256:')) {
    const digest = text.slice('sha256:'.length);
    if (digest.length === nixBase32Length(SHA256_BYTES)) {
      try {
        return decodeNixBase32(digest, SHA256_BYTES);
      } catch (error) {
        throw new InvalidNarHashError(`invalid nix base32 sha256 hash: ${(error as Error).message}`);
      }
    }
    if (/^[0-9a-f]{64}$/.test(digest)) return new Uint8Array(Buffer.from(digest, 'hex'));
  }
  throw new InvalidNarHashError(`NAR hash must be sha256:<nix-base32>, sha256:<hex> or sha256-<base64>: ${JSON.stringify(text)}`);
}

/** The form narinfo files and fingerprints use: `sha256:<nix-base32>`. */
export function normaliseNarHash(text: string): string {
  return formatNarHash(narHashBytes(text));
}

export function formatNarHash(digest: Uint8Array): string {
  return `sha256:${encodeNixBase32(digest)}`;
}

export function narHashToSri(text: string): string {
  return `sha256-${Buffer.from(narHashBytes(text)).toString('base64')}`;
}
