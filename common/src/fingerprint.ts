import { normaliseNarHash } from './narHash.ts';
import { parseStorePath } from './storePath.ts';

export interface PathInfo {
  /** Full store path of the output. */
  readonly outPath: string;
  /** Any accepted NAR hash form; normalised to `sha256:<nix-base32>` here. */
  readonly narHash: string;
  readonly narSize: number;
  /** Full store paths this output refers to (itself included when self-referencing). */
  readonly references: readonly string[];
}

/**
 * The exact bytes Nix signs for a narinfo (`ValidPathInfo::fingerprint`):
 * `1;<outPath>;sha256:<nix-base32>;<narSize>;<sorted full reference paths>`.
 * References sort as Nix's ordered set of store paths does, by byte order.
 */
export function narinfoFingerprint(info: PathInfo): string {
  parseStorePath(info.outPath);
  if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
    throw new Error(`NAR size must be a non-negative integer: ${info.narSize}`);
  }
  const references = info.references.map((reference) => parseStorePath(reference).path).sort();
  return `1;${info.outPath};${normaliseNarHash(info.narHash)};${info.narSize};${references.join(',')}`;
}
