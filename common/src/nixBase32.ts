/**
 * Nix's base32: its own alphabet (no e, o, u, t) and, unlike RFC 4648, the
 * bits are read from the end of the byte string, so a digest is printed
 * "backwards". Byte-exactness matters: these strings are parts of store paths
 * and of the fingerprints builders sign.
 */
export const NIX_BASE32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz';

const charValue = new Map<string, number>(
  [...NIX_BASE32_ALPHABET].map((char, value) => [char, value]),
);

export function nixBase32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

export function encodeNixBase32(bytes: Uint8Array): string {
  const length = nixBase32Length(bytes.length);
  let out = '';
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    const low = (bytes[i] ?? 0) >> j;
    const high = i + 1 < bytes.length ? (bytes[i + 1] ?? 0) << (8 - j) : 0;
    out += NIX_BASE32_ALPHABET[(low | high) & 0x1f];
  }
  return out;
}

export function decodeNixBase32(text: string, byteLength: number): Uint8Array {
  if (text.length !== nixBase32Length(byteLength)) {
    throw new Error(`nix base32 for ${byteLength} bytes has ${nixBase32Length(byteLength)} characters, got ${text.length}`);
  }
  const bytes = new Uint8Array(byteLength);
  for (let n = 0; n < text.length; n++) {
    const char = text[text.length - 1 - n] as string;
    const value = charValue.get(char);
    if (value === undefined) throw new Error(`invalid nix base32 character ${JSON.stringify(char)}`);
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    bytes[i] = (bytes[i] ?? 0) | ((value << j) & 0xff);
    const carry = value >> (8 - j);
    if (i + 1 < byteLength) {
      bytes[i + 1] = (bytes[i + 1] ?? 0) | carry;
    } else if (carry !== 0) {
      throw new Error('nix base32 string has bits beyond the hash length');
    }
  }
  return bytes;
}

export function isNixBase32(text: string): boolean {
  for (const char of text) if (!charValue.has(char)) return false;
  return true;
}
