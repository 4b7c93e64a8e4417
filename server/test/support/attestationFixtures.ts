import { createHash, randomBytes } from 'node:crypto';
import { formatNarHash, narinfoFingerprint, NIX_BASE32_ALPHABET, parseStorePath, signFingerprint, type AttestationSubmission, type BatchAttestation } from '@lilac/common';
import type { TestBuilder } from './testServer.ts';

export function randomDigest(): string {
  return [...randomBytes(32)].map((byte) => NIX_BASE32_ALPHABET[byte % 32]).join('');
}

export function storePath(name: string): string {
  return `/nix/store/${randomDigest()}-${name}`;
}

export function drvPath(name: string): string {
  return storePath(`${name}.drv`);
}

/** A distinct, well-formed NAR hash per seed. */
export function narHash(seed: string): string {
  return formatNarHash(createHash('sha256').update(seed).digest());
}

export interface Built {
  readonly outPath: string;
  readonly narHash: string;
  readonly narSize?: number;
  readonly references?: string[];
}

/** What lilac's hook sends to lila's route: signed over the exact fingerprint. */
export function lilaItem(builder: TestBuilder, built: Built, overrides: Partial<AttestationSubmission> = {}): AttestationSubmission {
  const narSize = built.narSize ?? 1024;
  const references = built.references ?? [];
  const path = parseStorePath(built.outPath);
  return {
    output_digest: path.digest,
    output_name: path.name,
    output_hash: built.narHash,
    output_sig: signFingerprint(builder.secretKey, narinfoFingerprint({ outPath: built.outPath, narHash: built.narHash, narSize, references })),
    nar_size: narSize,
    references,
    ...overrides,
  };
}

export function batchItem(builder: TestBuilder, drv: string, built: Built, overrides: Partial<BatchAttestation> = {}): BatchAttestation {
  const narSize = built.narSize ?? 1024;
  const references = built.references ?? [];
  return {
    drvPath: drv,
    output: 'out',
    outPath: built.outPath,
    narHash: built.narHash,
    narSize,
    references,
    signature: signFingerprint(builder.secretKey, narinfoFingerprint({ outPath: built.outPath, narHash: built.narHash, narSize, references })),
    ...overrides,
  };
}

/** lila's URL parameter for a derivation path. */
export function drvHash(drv: string): string {
  return drv.slice('/nix/store/'.length, -'.drv'.length);
}
