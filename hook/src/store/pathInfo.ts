import { readFileSync } from 'node:fs';
import { derivationOutputs, normaliseNarHash, parseDerivationPath, parseStorePath, type PathInfo } from '@lilac/common';
import { runNix } from './nixCommand.ts';

export interface StorePathInfo extends PathInfo {
  /** `<key name>:<base64>` signatures the store holds for the path. */
  readonly signatures: readonly string[];
  readonly deriver: string | null;
}

interface RawPathInfo {
  path?: unknown;
  narHash?: unknown;
  narSize?: unknown;
  references?: unknown;
  signatures?: unknown;
  deriver?: unknown;
  valid?: unknown;
}

function toPathInfo(outPath: string, raw: RawPathInfo): StorePathInfo {
  if (raw.valid === false || typeof raw.narHash !== 'string' || typeof raw.narSize !== 'number') {
    throw new Error(`${outPath} is not a valid path in the Nix store`);
  }
  const references = Array.isArray(raw.references) ? raw.references.map(String) : [];
  return {
    outPath: parseStorePath(outPath).path,
    narHash: normaliseNarHash(raw.narHash),
    narSize: raw.narSize,
    // Newer Nix prints references as base names; fingerprints need full paths.
    references: references.map((reference) => (reference.startsWith('/') ? reference : `/nix/store/${reference}`)),
    signatures: Array.isArray(raw.signatures) ? raw.signatures.map(String) : [],
    deriver: typeof raw.deriver === 'string' && raw.deriver !== '' ? raw.deriver : null,
  };
}

/**
 * Reads `nix path-info --json`, whose shape changed across Nix releases: up to
 * 2.18 an array of objects carrying `path`; later an object keyed by path
 * (null for an invalid path). NAR hashes come as SRI or `sha256:` base32.
 */
export function parsePathInfoJson(text: string): StorePathInfo[] {
  const parsed: unknown = JSON.parse(text);
  if (Array.isArray(parsed)) {
    return parsed.map((raw: RawPathInfo) => {
      if (typeof raw.path !== 'string') throw new Error('nix path-info entry without a path');
      return toPathInfo(raw.path, raw);
    });
  }
  if (parsed !== null && typeof parsed === 'object') {
    return Object.entries(parsed as Record<string, RawPathInfo | null>).map(([outPath, raw]) => {
      if (raw === null) throw new Error(`${outPath} is not a valid path in the Nix store`);
      return toPathInfo(outPath, raw);
    });
  }
  throw new Error('nix path-info --json printed neither an array nor an object');
}

/** Path info of registered store paths, in the order asked. */
export async function queryPathInfo(outPaths: readonly string[]): Promise<StorePathInfo[]> {
  if (outPaths.length === 0) return [];
  const infos = parsePathInfoJson(await runNix('nix', ['path-info', '--json', '--sigs', ...outPaths]));
  const byPath = new Map(infos.map((info) => [info.outPath, info]));
  return outPaths.map((outPath) => {
    const info = byPath.get(outPath);
    if (!info) throw new Error(`nix path-info said nothing about ${outPath}`);
    return info;
  });
}

/**
 * A derivation's output paths; Nix 2.8 leaves `OUT_PATHS` empty, so the hook
 * reads them from the `.drv` file (Nix waits for the hook: a `nix-store` run
 * costs more than the read), and asks the store only when the file cannot
 * tell (content-addressed outputs, a store elsewhere).
 */
export async function outputsOfDerivation(drvPath: string): Promise<string[]> {
  parseDerivationPath(drvPath);
  try {
    const paths = derivationOutputs(readFileSync(drvPath, 'utf8')).map((output) => output.path);
    if (paths.every((outPath): outPath is string => outPath !== null)) return paths;
  } catch {
    // unreadable or unexpected: the store knows
  }
  const stdout = await runNix('nix-store', ['--query', '--outputs', drvPath]);
  return stdout.split('\n').filter((line) => line !== '').map((line) => parseStorePath(line).path);
}
