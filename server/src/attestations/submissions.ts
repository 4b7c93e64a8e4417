import {
  normaliseNarHash,
  parseDerivationPath,
  parseStoreBaseName,
  parseStorePath,
  type AttestationSource,
} from '@lilac/common';

/** An attestation as ingest takes it, whichever route it came through; every field already validated. */
export interface AttestationInput {
  readonly outPath: string;
  readonly drvPath: string | null;
  readonly output: string | null;
  /** `sha256:<nix-base32>`. */
  readonly narHash: string;
  readonly narSize: number | null;
  readonly references: string[] | null;
  /** `''` when the builder sent none: stored as unsigned. */
  readonly signature: string;
  readonly source: AttestationSource;
  /** When the builder says the build finished. */
  readonly builtAt: Date | null;
}

/** A submission that cannot be taken as sent; nothing of it is stored. Its message says which item and why. */
export class SubmissionError extends Error {
  override name = 'SubmissionError';
}

const SOURCES: readonly AttestationSource[] = ['post-build-hook', 'diff-hook', 'rebuild', 'cache-import', 'api'];
const OUTPUT_NAME = /^[A-Za-z0-9+\-._?=]{1,211}$/;
export const MAX_BATCH = 10_000;
/** Far above what one store path refers to (a NixOS system-path: a few hundred), far below what stalls a monitor client. */
export const MAX_REFERENCES = 10_000;
/** A build's clock may run a little ahead of ours; a day ahead is not a clock, it is a mistake. */
const MAX_FUTURE_MS = 24 * 60 * 60 * 1000;

type Fields = Record<string, unknown>;

function fail(where: string, message: string): never {
  throw new SubmissionError(`${where}: ${message}`);
}

function string(item: Fields, key: string, where: string): string {
  const value = item[key];
  if (typeof value !== 'string' || value === '') fail(where, `${key} must be a non-empty string`);
  return value;
}

function guarded<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    return fail(where, (error as Error).message);
  }
}

function narSize(item: Fields, key: string, where: string): number | null {
  const value = item[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(where, `${key} must be a non-negative integer`);
  return value;
}

function references(item: Fields, key: string, where: string): string[] | null {
  const value = item[key];
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((reference) => typeof reference !== 'string')) fail(where, `${key} must be an array of store paths`);
  if (value.length > MAX_REFERENCES) fail(where, `${key} lists ${value.length} paths, at most ${MAX_REFERENCES} are taken`);
  return guarded(where, () => [...new Set((value as string[]).map((reference) => parseStorePath(reference).path))].sort());
}

/**
 * Absent, null or `""`: unsigned (lila's diff hook cannot sign). Anything else is kept as sent, but
 * only on one line: it is served back inside narinfo, where a line break would forge fields.
 */
function signature(item: Fields, key: string, where: string): string {
  const value = item[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') fail(where, `${key} must be a string`);
  if (value.length > 1024) fail(where, `${key} is ${value.length} characters long, a Nix signature is about 100`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) fail(where, `${key} must not contain control characters or line breaks`);
  return value.trim();
}

function builtAt(item: Fields, key: string, where: string, now: number): Date | null {
  const value = item[key];
  if (value === undefined || value === null) return null;
  const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) fail(where, `${key} must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z`);
  if (date.getTime() > now + MAX_FUTURE_MS) fail(where, `${key} is more than a day in the future`);
  return date;
}

function source(item: Fields, where: string): AttestationSource {
  const value = item.source;
  if (value === undefined || value === null) return 'api';
  if (!SOURCES.includes(value as AttestationSource)) fail(where, `source must be one of ${SOURCES.join(', ')}`);
  return value as AttestationSource;
}

function items(body: unknown, what: string): Fields[] {
  if (!Array.isArray(body)) throw new SubmissionError(`${what} must be a JSON array of attestations`);
  if (body.length === 0) throw new SubmissionError(`${what} holds no attestation`);
  if (body.length > MAX_BATCH) throw new SubmissionError(`${what} holds ${body.length} attestations, at most ${MAX_BATCH} are taken at once`);
  return body.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new SubmissionError(`attestation ${index}: must be a JSON object`);
    return item as Fields;
  });
}

/** lila's `POST /attestation/{drv_hash}` body: `[{output_digest, output_name, output_hash, output_sig, nar_size?, references?, source?, built_at?}]`. */
export function lilaSubmissions(drvPath: string, body: unknown, now = Date.now()): AttestationInput[] {
  // lila answers an empty list 200 (and records the derivation, which lilac has nothing to show for): a script that posts one must not start failing.
  if (Array.isArray(body) && body.length === 0) return [];
  return items(body, 'request body').map((item, index) => {
    const where = `attestation ${index}`;
    const digest = string(item, 'output_digest', where);
    const name = string(item, 'output_name', where);
    const outPath = guarded(where, () => parseStoreBaseName(`${digest}-${name}`).path);
    return {
      outPath,
      drvPath,
      output: null,
      narHash: guarded(where, () => normaliseNarHash(string(item, 'output_hash', where))),
      narSize: narSize(item, 'nar_size', where),
      references: references(item, 'references', where),
      signature: signature(item, 'output_sig', where),
      source: source(item, where),
      builtAt: builtAt(item, 'built_at', where, now),
    };
  });
}

/** `POST /api/v1/attestations` body: `{ attestations: BatchAttestation[] }`. */
export function batchSubmissions(body: unknown, now = Date.now()): AttestationInput[] {
  const list = (body as { attestations?: unknown } | null)?.attestations;
  return items(list, 'attestations').map((item, index) => {
    const where = `attestation ${index}`;
    const output = item.output;
    if (output !== undefined && (typeof output !== 'string' || !OUTPUT_NAME.test(output))) fail(where, 'output must be an output name such as "out"');
    return {
      outPath: guarded(where, () => parseStorePath(string(item, 'outPath', where)).path),
      drvPath: guarded(where, () => parseDerivationPath(string(item, 'drvPath', where)).path),
      output: output ?? null,
      narHash: guarded(where, () => normaliseNarHash(string(item, 'narHash', where))),
      narSize: narSize(item, 'narSize', where),
      references: references(item, 'references', where),
      signature: signature(item, 'signature', where),
      source: source(item, where),
      builtAt: builtAt(item, 'builtAt', where, now),
    };
  });
}
