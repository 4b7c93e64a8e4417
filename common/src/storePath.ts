import { isNixBase32 } from './nixBase32.ts';

export const STORE_DIR = '/nix/store';
export const DIGEST_LENGTH = 32;
const NAME_PATTERN = /^[A-Za-z0-9+\-._?=]{1,211}$/;

export interface StorePath {
  /** `/nix/store/<digest>-<name>` */
  readonly path: string;
  /** `<digest>-<name>`: what narinfo `References` and lila's URLs carry. */
  readonly baseName: string;
  readonly digest: string;
  readonly name: string;
  readonly isDerivation: boolean;
}

export class InvalidStorePathError extends Error {
  override name = 'InvalidStorePathError';
}

export function parseStoreBaseName(baseName: string): StorePath {
  const digest = baseName.slice(0, DIGEST_LENGTH);
  const name = baseName.slice(DIGEST_LENGTH + 1);
  if (baseName.length < DIGEST_LENGTH + 2 || baseName[DIGEST_LENGTH] !== '-') {
    throw new InvalidStorePathError(`not a store path base name (<32-char digest>-<name>): ${JSON.stringify(baseName)}`);
  }
  if (!isNixBase32(digest)) {
    throw new InvalidStorePathError(`store path digest is not nix base32: ${JSON.stringify(digest)}`);
  }
  if (!NAME_PATTERN.test(name) || name.startsWith('.')) {
    throw new InvalidStorePathError(`invalid store path name: ${JSON.stringify(name)}`);
  }
  return {
    path: `${STORE_DIR}/${baseName}`,
    baseName,
    digest,
    name,
    isDerivation: name.endsWith('.drv'),
  };
}

export function parseStorePath(path: string): StorePath {
  const prefix = `${STORE_DIR}/`;
  if (!path.startsWith(prefix)) {
    throw new InvalidStorePathError(`store path must start with ${prefix}: ${JSON.stringify(path)}`);
  }
  return parseStoreBaseName(path.slice(prefix.length));
}

export function parseDerivationPath(path: string): StorePath {
  const parsed = parseStorePath(path);
  if (!parsed.isDerivation) throw new InvalidStorePathError(`not a derivation path: ${JSON.stringify(path)}`);
  return parsed;
}

export function isStorePath(path: string): boolean {
  try {
    parseStorePath(path);
    return true;
  } catch {
    return false;
  }
}

export function isDigest(text: string): boolean {
  return text.length === DIGEST_LENGTH && isNixBase32(text);
}

/** lila's "drv hash" URL parameter: the derivation path without `/nix/store/` and `.drv`. */
export function drvHashOf(drvPath: string): string {
  return parseDerivationPath(drvPath).baseName.slice(0, -'.drv'.length);
}

/** A derivation as someone named it: its path, or only its digest, which the store must resolve. */
export type DerivationReference = { readonly drvPath: string; readonly digest: string } | { readonly drvPath: null; readonly digest: string };

/**
 * A derivation however people paste it: lila's `<digest>-<name>`, the base name
 * `<digest>-<name>.drv`, the full `/nix/store/<digest>-<name>.drv`, or the bare
 * digest (then `drvPath` is null: only the store knows which derivation, if one).
 * Surrounding whitespace from a copied line is ignored.
 */
export function parseDerivationReference(text: string): DerivationReference {
  const trimmed = text.trim();
  if (isDigest(trimmed)) return { drvPath: null, digest: trimmed };
  const parsed = trimmed.startsWith('/')
    ? parseDerivationPath(trimmed)
    : parseStoreBaseName(trimmed.endsWith('.drv') ? trimmed : `${trimmed}.drv`);
  return { drvPath: parsed.path, digest: parsed.digest };
}
