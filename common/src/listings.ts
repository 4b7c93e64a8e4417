/**
 * File listings of a store path: what a builder saw inside the output it
 * attests, one entry per file in NAR order, bound to the NAR hash it was
 * computed with. Two listings of one output with different hashes say which
 * files differ. Builders compute them, the server checks and diffs them.
 */

import { normaliseNarHash } from './narHash.ts';
import { parseStorePath } from './storePath.ts';

export const LISTING_ENTRY_TYPES = ['directory', 'regular', 'executable', 'symlink'] as const;
export type ListingEntryType = (typeof LISTING_ENTRY_TYPES)[number];

export interface ListingEntry {
  /** Inside the output, `/`-separated, no leading `/`; `''` is the output itself. */
  readonly path: string;
  readonly type: ListingEntryType;
  /** Regular and executable files: their length in bytes. */
  readonly size?: number;
  /** Regular and executable files: SHA-256 of their contents, lowercase hex. */
  readonly sha256?: string;
  /** Symlinks: where they point, as stored. */
  readonly target?: string;
}

/** What a builder uploads: the listing of its copy of an output, and the NAR hash and size that copy has. */
export interface ListingUpload {
  readonly narHash: string;
  readonly narSize: number;
  readonly entries: readonly ListingEntry[];
}

export const DEFAULT_MAX_LISTING_ENTRIES = 1_000_000;
const MAX_PATH_BYTES = 4096;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export class ListingError extends Error {
  override name = 'ListingError';
}

/** UTF-8 length without encoding: a listing of a million entries measures tens of millions of strings. */
function byteLength(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    // Each half of a surrogate pair is two of the pair's four bytes; a lone one is encoded as U+FFFD, three.
    else if (unit >= 0xd800 && unit <= 0xdfff) bytes += isPaired(text, index) ? 2 : 3;
    else bytes += 3;
  }
  return bytes;
}

function isPaired(text: string, index: number): boolean {
  const unit = text.charCodeAt(index);
  if (unit <= 0xdbff) {
    const next = text.charCodeAt(index + 1);
    return next >= 0xdc00 && next <= 0xdfff;
  }
  const previous = text.charCodeAt(index - 1);
  return previous >= 0xd800 && previous <= 0xdbff;
}

const SLASH = 0x2f;

function isFile(type: ListingEntryType): boolean {
  return type === 'regular' || type === 'executable';
}

function segmentsOf(entryPath: string): string[] {
  return entryPath === '' ? [] : entryPath.split('/');
}

/**
 * NAR order: a directory before what it holds, siblings by the bytes of their
 * names (as Nix sorts them). Compared in place, without splitting or encoding:
 * `/` ends a name, so it sorts before any character; code point order is
 * UTF-8 byte order (UTF-16 unit order is not, past U+D7FF).
 */
export function compareListingPaths(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const left = a.charCodeAt(index);
    const right = b.charCodeAt(index);
    if (left === right) continue;
    if (left === SLASH) return -1;
    if (right === SLASH) return 1;
    return (a.codePointAt(index) as number) - (b.codePointAt(index) as number);
  }
  return a.length - b.length;
}

function checkPath(entryPath: unknown, index: number): string {
  if (typeof entryPath !== 'string') throw new ListingError(`entries[${index}].path must be a string`);
  if (byteLength(entryPath) > MAX_PATH_BYTES) throw new ListingError(`entries[${index}].path is longer than ${MAX_PATH_BYTES} bytes`);
  if (entryPath.includes('\0')) throw new ListingError(`entries[${index}].path contains NUL`);
  if (entryPath.startsWith('/')) throw new ListingError(`entries[${index}].path must be relative to the output, not ${JSON.stringify(entryPath)}`);
  for (const segment of segmentsOf(entryPath)) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new ListingError(`entries[${index}].path ${JSON.stringify(entryPath)} has an empty, "." or ".." component`);
    }
  }
  return entryPath;
}

function checkEntry(value: unknown, index: number): ListingEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ListingError(`entries[${index}] must be an object`);
  const raw = value as Record<string, unknown>;
  const entryPath = checkPath(raw.path, index);
  const type = raw.type;
  if (!LISTING_ENTRY_TYPES.includes(type as ListingEntryType)) {
    throw new ListingError(`entries[${index}].type must be one of ${LISTING_ENTRY_TYPES.join(', ')}`);
  }
  const entryType = type as ListingEntryType;
  if (isFile(entryType)) {
    if (!Number.isSafeInteger(raw.size) || (raw.size as number) < 0) throw new ListingError(`entries[${index}].size must be a non-negative integer`);
    if (typeof raw.sha256 !== 'string' || !SHA256_HEX.test(raw.sha256)) throw new ListingError(`entries[${index}].sha256 must be 64 lowercase hex digits`);
    return { path: entryPath, type: entryType, size: raw.size as number, sha256: raw.sha256 };
  }
  if (entryType === 'symlink') {
    if (typeof raw.target !== 'string' || raw.target === '' || raw.target.includes('\0') || byteLength(raw.target) > MAX_PATH_BYTES) {
      throw new ListingError(`entries[${index}].target must be a non-empty string without NUL, at most ${MAX_PATH_BYTES} bytes`);
    }
    return { path: entryPath, type: entryType, target: raw.target };
  }
  return { path: entryPath, type: entryType };
}

/**
 * Checks a listing as a whole: the output itself first, every other entry
 * inside a directory listed before it, strictly in NAR order (so each path
 * once). Throws ListingError saying what is wrong.
 */
export function checkListingEntries(values: unknown, maxEntries = DEFAULT_MAX_LISTING_ENTRIES): ListingEntry[] {
  if (!Array.isArray(values)) throw new ListingError('entries must be an array');
  if (values.length === 0) throw new ListingError('entries must hold at least the output itself');
  if (values.length > maxEntries) throw new ListingError(`a listing holds at most ${maxEntries} entries, this one ${values.length}`);
  const entries = values.map(checkEntry);
  if (entries[0]?.path !== '') throw new ListingError('entries[0] must be the output itself (path "")');
  const directories = new Set<string>();
  entries.forEach((entry, index) => {
    if (index > 0) {
      const previous = entries[index - 1] as ListingEntry;
      if (compareListingPaths(previous.path, entry.path) >= 0) {
        throw new ListingError(`entries[${index}] ${JSON.stringify(entry.path)} is out of NAR order or repeated`);
      }
      const parent = entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : '';
      if (!directories.has(parent)) throw new ListingError(`entries[${index}] ${JSON.stringify(entry.path)} is not inside a listed directory`);
    }
    if (entry.type === 'directory') directories.add(entry.path);
  });
  return entries;
}

/** Parses an upload's body; throws ListingError on anything a builder's listing cannot be. */
export function parseListingUpload(value: unknown, maxEntries = DEFAULT_MAX_LISTING_ENTRIES): ListingUpload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ListingError('a listing must be a JSON object');
  const raw = value as Record<string, unknown>;
  if (typeof raw.narHash !== 'string') throw new ListingError('narHash must be a string');
  if (!Number.isSafeInteger(raw.narSize) || (raw.narSize as number) <= 0) throw new ListingError('narSize must be a positive integer');
  return { narHash: raw.narHash, narSize: raw.narSize as number, entries: checkListingEntries(raw.entries, maxEntries) };
}

/** Bytes a NAR string takes: its u64 length, the bytes, and padding to 8. */
function narStringSize(byteLength: number): number {
  return 8 + byteLength + ((8 - (byteLength % 8)) % 8);
}

const NAR_TOKEN = (token: string): number => narStringSize(byteLength(token));
const HEADER = NAR_TOKEN('nix-archive-1');
/** `entry ( name <name> node … )` without the name. */
const ENTRY = NAR_TOKEN('entry') + NAR_TOKEN('(') + NAR_TOKEN('name') + NAR_TOKEN('node') + NAR_TOKEN(')');
/** `( type … )` */
const NODE = NAR_TOKEN('(') + NAR_TOKEN('type') + NAR_TOKEN(')');
const DIRECTORY = NAR_TOKEN('directory');
const SYMLINK = NAR_TOKEN('symlink') + NAR_TOKEN('target');
const REGULAR = NAR_TOKEN('regular') + NAR_TOKEN('contents');
/** An executable is a regular file with a flag: `executable ""` before its contents. */
const EXECUTABLE_FLAG = NAR_TOKEN('executable') + NAR_TOKEN('');

/**
 * The length of the NAR serialisation the listing describes. A listing that
 * does not give the attested `narSize` is not a listing of that copy.
 */
export function narSizeOfListing(entries: readonly ListingEntry[]): number {
  let size = HEADER;
  for (const entry of entries) {
    if (entry.path !== '') size += ENTRY + NAR_TOKEN(entry.path.slice(entry.path.lastIndexOf('/') + 1));
    size += NODE;
    switch (entry.type) {
      case 'directory':
        size += DIRECTORY;
        break;
      case 'symlink':
        size += SYMLINK + NAR_TOKEN(entry.target ?? '');
        break;
      case 'regular':
      case 'executable':
        size += REGULAR + narStringSize(entry.size ?? 0);
        if (entry.type === 'executable') size += EXECUTABLE_FLAG;
        break;
    }
  }
  return size;
}

export const FILE_CHANGES = ['added', 'removed', 'content', 'type', 'mode', 'target'] as const;
/** `added`/`removed`: only in the second/first copy; `mode`: executable on one side only; `type`: file, directory or symlink differ. */
export type FileChange = (typeof FILE_CHANGES)[number];

export type ListingSide = Omit<ListingEntry, 'path'>;

export interface FileDifference {
  readonly path: string;
  readonly change: FileChange;
  readonly a?: ListingSide;
  readonly b?: ListingSide;
}

function sideOf({ path: _path, ...side }: ListingEntry): ListingSide {
  return side;
}

function changeBetween(a: ListingEntry, b: ListingEntry): FileChange | null {
  if (a.type === b.type) {
    if (isFile(a.type)) return a.sha256 === b.sha256 && a.size === b.size ? null : 'content';
    if (a.type === 'symlink') return a.target === b.target ? null : 'target';
    return null;
  }
  return isFile(a.type) && isFile(b.type) ? (a.sha256 === b.sha256 && a.size === b.size ? 'mode' : 'content') : 'type';
}

/**
 * The files that differ between two listings, in NAR order, and only those.
 * What lies beneath a path added or removed as a whole is reported too, so
 * the count says how much differs; a file whose mode and contents both
 * changed is reported as `content`.
 */
export function diffListings(a: readonly ListingEntry[], b: readonly ListingEntry[]): FileDifference[] {
  const differences: FileDifference[] = [];
  let left = 0;
  let right = 0;
  while (left < a.length || right < b.length) {
    const fromA = a[left];
    const fromB = b[right];
    const order = fromA === undefined ? 1 : fromB === undefined ? -1 : compareListingPaths(fromA.path, fromB.path);
    if (order < 0 && fromA) {
      differences.push({ path: fromA.path, change: 'removed', a: sideOf(fromA) });
      left++;
    } else if (order > 0 && fromB) {
      differences.push({ path: fromB.path, change: 'added', b: sideOf(fromB) });
      right++;
    } else if (fromA && fromB) {
      const change = changeBetween(fromA, fromB);
      if (change) differences.push({ path: fromA.path, change, a: sideOf(fromA), b: sideOf(fromB) });
      left++;
      right++;
    }
  }
  return differences;
}

export const DIFFOSCOPE_FORMATS = ['text', 'html'] as const;
export type DiffoscopeFormat = (typeof DIFFOSCOPE_FORMATS)[number];
/** diffoscope's output is cut at this many bytes by the builder that runs it (and refused above it by the server). */
export const DEFAULT_DIFFOSCOPE_MAX_BYTES = 10 * 1024 * 1024;

/** What a builder holding two copies of an output uploads after running diffoscope between them. */
export interface DiffoscopeUpload {
  /** NAR hash of the copy given to diffoscope first. */
  readonly a: string;
  /** NAR hash of the copy given second. */
  readonly b: string;
  readonly format: DiffoscopeFormat;
  readonly content: string;
  /** Cut at the size bound. */
  readonly truncated: boolean;
  /** Stopped at the time bound: `content` is what it printed until then. */
  readonly timedOut: boolean;
  /** `diffoscope --version`, e.g. `diffoscope 272`. */
  readonly diffoscopeVersion?: string;
}

/** Parses a diffoscope upload's body; throws ListingError on anything it cannot be. The size bound is the server's to apply. */
export function parseDiffoscopeUpload(value: unknown): DiffoscopeUpload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ListingError('a diffoscope upload must be a JSON object');
  const raw = value as Record<string, unknown>;
  if (typeof raw.a !== 'string' || typeof raw.b !== 'string') throw new ListingError('a and b must be the NAR hashes of the two copies');
  if (!DIFFOSCOPE_FORMATS.includes(raw.format as DiffoscopeFormat)) throw new ListingError(`format must be one of ${DIFFOSCOPE_FORMATS.join(', ')}`);
  if (typeof raw.content !== 'string') throw new ListingError('content must be a string');
  if (typeof raw.truncated !== 'boolean' || typeof raw.timedOut !== 'boolean') throw new ListingError('truncated and timedOut must be booleans');
  if (raw.diffoscopeVersion !== undefined && (typeof raw.diffoscopeVersion !== 'string' || raw.diffoscopeVersion.length > 200)) {
    throw new ListingError('diffoscopeVersion must be a string of at most 200 characters');
  }
  return {
    a: raw.a,
    b: raw.b,
    format: raw.format as DiffoscopeFormat,
    content: raw.content,
    truncated: raw.truncated,
    timedOut: raw.timedOut,
    ...(raw.diffoscopeVersion !== undefined && { diffoscopeVersion: raw.diffoscopeVersion as string }),
  };
}

/**
 * Likely kinds of cause of a divergence, after reproducible-builds.org's
 * vocabulary. Guessed from the differing files and diffoscope's text, never
 * proven: `uncertain` when nothing points anywhere.
 */
export const CAUSE_KINDS = ['timestamps', 'build-path', 'file-ordering', 'randomness', 'locale-timezone', 'parallelism', 'uncertain'] as const;
export type CauseKind = (typeof CAUSE_KINDS)[number];

/** At most this many differences of one pair of hash groups go into a diff answer; `differenceCount` says how many there are. */
export const MAX_DIFF_DIFFERENCES = 10_000;

/** One stored diffoscope output between two copies, as the diff answer links it. */
export interface DiffoscopeLink {
  readonly format: DiffoscopeFormat;
  /** Served as text/plain, or as HTML under a sandboxing Content-Security-Policy. */
  readonly url: string;
  /** The order diffoscope was given the copies in (`a` first). */
  readonly a: string;
  readonly b: string;
  readonly builder: string;
  readonly truncated: boolean;
  readonly timedOut: boolean;
  readonly diffoscopeVersion: string | null;
  readonly storedAt: string;
}

/** One hash group of an output as the diff answer sees it. */
export interface DiffGroup {
  readonly narHash: string;
  /** Every builder that attested this hash, verified or not. */
  readonly builders: readonly string[];
  /** A listing of this hash is stored. */
  readonly listing: boolean;
}

/** What differs between two hash groups of one output. */
export interface HashPairDiff {
  readonly a: string;
  readonly b: string;
  /** Of `a` and `b`, the hashes no listing is stored for yet: `differences` waits for them. */
  readonly listingsMissing: readonly string[];
  /** The builders that attested those hashes, the ones a listing can come from. */
  readonly waitingFor: readonly string[];
  /** In NAR order, at most MAX_DIFF_DIFFERENCES; empty while a listing is missing. */
  readonly differences: readonly FileDifference[];
  readonly differenceCount: number;
  readonly truncated: boolean;
  readonly diffoscope: 'not-run' | readonly DiffoscopeLink[];
  /** A guess, from the differences and diffoscope's text; empty until there is something to guess from. */
  readonly causes: readonly CauseKind[];
}

/** `GET /api/v1/outputs/{digest-name}/diff`. */
export interface OutputDiff {
  readonly outPath: string;
  readonly groups: readonly DiffGroup[];
  /** Every pair of groups, in group order. */
  readonly pairs: readonly HashPairDiff[];
  /** Union of the pairs' cause guesses. */
  readonly causes: readonly CauseKind[];
}

/** `/monitor`'s `output:diff`: a listing or diffoscope output of `outPath` was stored, so its diff changed. */
export interface OutputDiffEvent {
  readonly outPath: string;
  readonly kind: 'listing' | 'diffoscope';
  readonly narHash: string | null;
  readonly causes: readonly CauseKind[];
}

/** `POST /api/v1/listings/wanted` takes at most this many (output, NAR hash) pairs at once. */
export const MAX_LISTING_QUESTIONS = 500;

/** A copy of an output a builder attested and may still hold: is its listing wanted? */
export interface ListingQuestion {
  readonly outPath: string;
  readonly narHash: string;
}

/**
 * The server's answer per pair: `wanted`, upload its listing; `stored`, one
 * is there already; `single-hash`, the output has one hash so far (ask again
 * later); `not-attested`, this builder did not attest that hash of that output.
 */
export const LISTING_WISHES = ['wanted', 'stored', 'single-hash', 'not-attested'] as const;
export type ListingWish = (typeof LISTING_WISHES)[number];

export interface ListingWishes {
  readonly outputs: readonly (ListingQuestion & { readonly wish: ListingWish })[];
}

/** Parses `{outputs: [{outPath, narHash}]}`: store paths checked, hashes normalised, repeats dropped; throws on anything else. */
export function parseListingQuestions(value: unknown): ListingQuestion[] {
  const outputs = (value as { outputs?: unknown } | null)?.outputs;
  if (typeof value !== 'object' || value === null || !Array.isArray(outputs)) throw new ListingError('the body must be {"outputs": [{"outPath", "narHash"}]}');
  if (outputs.length > MAX_LISTING_QUESTIONS) throw new ListingError(`ask about at most ${MAX_LISTING_QUESTIONS} outputs at once, not ${outputs.length}`);
  const seen = new Map<string, ListingQuestion>();
  outputs.forEach((item: unknown, index) => {
    const raw = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof raw.outPath !== 'string' || typeof raw.narHash !== 'string') throw new ListingError(`outputs[${index}] must be {"outPath", "narHash"} strings`);
    const question = { outPath: parseStorePath(raw.outPath).path, narHash: normaliseNarHash(raw.narHash) };
    seen.set(`${question.outPath}#${question.narHash}`, question);
  });
  return [...seen.values()];
}
