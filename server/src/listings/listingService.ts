import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import {
  CAUSE_KINDS,
  DIFFOSCOPE_FORMATS,
  ListingError,
  normaliseNarHash,
  parseDiffoscopeUpload,
  STORE_DIR,
  type CauseKind,
  type DiffGroup,
  type DiffoscopeFormat,
  type DiffoscopeLink,
  type FileDifference,
  type HashPairDiff,
  type OutputDiff,
} from '@lilac/common';
import { attestationId } from '../attestations/attestationModel.ts';
import type { EventBus } from '../events/eventBus.ts';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import type { Models } from '../store/models.ts';
import { guessCauses } from './causeGuess.ts';
import { diffoscopeId, listingId } from './listingModel.ts';
import { ListingTooLargeError, type EncodedListing } from './listingCodec.ts';
import { bytesOf, readCompressedListing, storedListingIds, storeListing } from './listingStore.ts';
import { ListingThread } from './listingThread.ts';
import { DomainError } from '../domainError.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export type DiffErrorKind = 'not-found' | 'not-attested' | 'size-mismatch' | 'too-large' | 'unknown-hash';

/** Why an upload or a read about an output's differences is refused; the HTTP edge maps `kind` to a status. */
export class DiffError extends DomainError<DiffErrorKind> {
  override name = 'DiffError';
}

export interface StoredDiffoscope {
  readonly content: Buffer;
  readonly format: DiffoscopeFormat;
}

/** Pairs of listings whose diff is kept: a listing never changes once stored, so neither does their diff. */
const CACHED_PAIRS = 256;

interface ListingsDiff {
  readonly differences: readonly FileDifference[];
  readonly count: number;
}

const FILE_EXTENSION: Record<DiffoscopeFormat, string> = { text: 'txt', html: 'html' };

/**
 * What differs between the copies of an output: file listings uploaded by
 * the builders that attested each NAR hash, diffoscope's output between
 * two copies, the diff of the listings and a guess at the cause. Each
 * stored upload is announced on the bus (`output:diff`).
 */
export class ListingService {
  /**
   * Diffs of listing pairs, least recently used first: two listings of a
   * million entries take seconds to read and diff, and a page refetches
   * the diff on every event about its output.
   */
  private readonly pairDiffs = new Map<string, ListingsDiff>();
  private readonly thread = new ListingThread();

  constructor(
    private readonly models: Models,
    private readonly events: EventBus,
    private readonly maxEntries: number,
    private readonly maxDiffoscopeBytes: number,
  ) {}

  /** Stops the listing thread: what it was doing is refused. */
  close(): Promise<void> {
    return this.thread.close();
  }

  /**
   * Checks a listing (the request's JSON body, parsed and compressed on the
   * listing thread) against the builder's attestation of that hash and
   * stores it; false when one was stored already.
   */
  async uploadListing(builder: string, outPath: string, body: Uint8Array): Promise<{ stored: boolean }> {
    let upload: EncodedListing;
    try {
      upload = await this.thread.encode(body, this.maxEntries);
    } catch (error) {
      if (error instanceof ListingTooLargeError) throw new DiffError('too-large', error.message);
      throw error;
    }
    const { narHash } = upload;
    const attestation = await this.models.Attestation.findOne({ _id: attestationId(outPath, builder, narHash) }, { narSize: 1 }).lean();
    if (!attestation) throw new DiffError('not-attested', `${builder} has not attested ${narHash} for ${outPath}`);
    if (upload.describedNarSize !== upload.narSize) throw new DiffError('size-mismatch', `the listing describes a NAR of ${upload.describedNarSize} bytes, not the narSize ${upload.narSize} it names`);
    if (attestation.narSize !== null && attestation.narSize !== undefined && attestation.narSize !== upload.narSize) {
      throw new DiffError('size-mismatch', `the listing is of a NAR of ${upload.narSize} bytes; ${builder} attested ${attestation.narSize}`);
    }
    const stored = await storeListing(this.models, { outPath, narHash, narSize: upload.narSize, entryCount: upload.entryCount, compressed: upload.compressed, builder });
    if (stored) await this.changed(outPath, 'listing', narHash);
    return { stored };
  }

  /** Stores diffoscope's output between two attested copies, from a builder that attested one of them; the latest upload wins. */
  async uploadDiffoscope(builder: string, outPath: string, body: unknown): Promise<void> {
    const upload = parseDiffoscopeUpload(body);
    const bytes = Buffer.byteLength(upload.content, 'utf8');
    if (bytes > this.maxDiffoscopeBytes) throw new DiffError('too-large', `diffoscope output is ${bytes} bytes, more than the ${this.maxDiffoscopeBytes} accepted`);
    const [a, b] = [normaliseNarHash(upload.a), normaliseNarHash(upload.b)];
    if (a === b) throw new ListingError('a and b must be two different NAR hashes');
    const summary = await this.models.OutputSummary.findOne({ outPath }, { hashes: 1 }).lean();
    const attested = new Set(summary?.hashes.map((group) => group.narHash) ?? []);
    for (const hash of [a, b]) if (!attested.has(hash)) throw new DiffError('unknown-hash', `${hash} is not an attested NAR hash of ${outPath}`);
    const own = await this.models.Attestation.countDocuments({ _id: { $in: [attestationId(outPath, builder, a), attestationId(outPath, builder, b)] } });
    if (own === 0) throw new DiffError('not-attested', `${builder} attested neither ${a} nor ${b} for ${outPath}`);
    const _id = diffoscopeId(outPath, a, b, upload.format);
    const fields = {
      outPath,
      a,
      b,
      format: upload.format,
      content: await gzipAsync(Buffer.from(upload.content, 'utf8')),
      truncated: upload.truncated,
      timedOut: upload.timedOut,
      diffoscopeVersion: upload.diffoscopeVersion ?? null,
      builder,
      storedAt: new Date(),
    };
    const collection = this.models.DiffoscopeResult.collection;
    try {
      await collection.updateOne({ _id } as never, { $set: fields }, { upsert: true });
    } catch (error) {
      // Two first uploads at once: the one that lost the insert overwrites the winner, as the later upload.
      if (!isDuplicateKeyError(error)) throw error;
      await collection.updateOne({ _id } as never, { $set: fields });
    }
    await this.changed(outPath, 'diffoscope', null);
  }

  async diffoscope(outPath: string, a: string, b: string, format: DiffoscopeFormat): Promise<StoredDiffoscope> {
    const _id = diffoscopeId(outPath, normaliseNarHash(a), normaliseNarHash(b), format);
    const stored = await this.models.DiffoscopeResult.findOne({ _id }, { content: 1 }).lean();
    if (!stored) throw new DiffError('not-found', `no diffoscope ${format} output between ${a} and ${b} of ${outPath}`);
    return { format, content: await gunzipAsync(bytesOf(stored.content)) };
  }

  /** For each pair of hash groups of the output, the files that differ and what is known of why. */
  async diff(outPath: string): Promise<OutputDiff> {
    const summary = await this.models.OutputSummary.findOne({ outPath }, { hashes: 1 }).lean();
    if (!summary) throw new DiffError('not-found', `nothing attested for ${outPath}`);
    const stored = await storedListingIds(this.models, summary.hashes.map(({ narHash }) => ({ outPath, narHash })));
    const groups: DiffGroup[] = summary.hashes.map((group) => ({
      narHash: group.narHash,
      builders: [...group.verifiedBuilders, ...group.unverifiedBuilders],
      listing: stored.has(listingId(outPath, group.narHash)),
    }));
    const diffoscopes = await this.diffoscopesOf(outPath, groups);
    const listings = new Map<string, Promise<Buffer | null>>();
    const listingOf = (narHash: string) => {
      if (!listings.has(narHash)) listings.set(narHash, readCompressedListing(this.models, outPath, narHash));
      return listings.get(narHash) as Promise<Buffer | null>;
    };
    const pairs: HashPairDiff[] = [];
    for (let left = 0; left < groups.length; left++) {
      for (let right = left + 1; right < groups.length; right++) {
        pairs.push(await this.pairDiff(outPath, groups[left] as DiffGroup, groups[right] as DiffGroup, listingOf, diffoscopes));
      }
    }
    const causes = new Set(pairs.flatMap((pair) => pair.causes));
    return { outPath, groups, pairs, causes: CAUSE_KINDS.filter((kind) => causes.has(kind)) };
  }

  /** The stored cause guesses of the given outputs (those with none are left out). */
  async causesOf(outPaths: readonly string[]): Promise<Record<string, CauseKind[]>> {
    const found = await this.models.DivergenceCause.find({ _id: { $in: [...outPaths] } }).lean();
    return Object.fromEntries(found.map((record) => [record._id, record.causes as CauseKind[]]));
  }

  private async pairDiff(
    outPath: string,
    a: DiffGroup,
    b: DiffGroup,
    listingOf: (narHash: string) => Promise<Buffer | null>,
    diffoscopes: Map<string, DiffoscopeOfPair>,
  ): Promise<HashPairDiff> {
    const missing = [a, b].filter((group) => !group.listing);
    const { differences, count } = missing.length === 0 ? await this.listingsDiff(outPath, a.narHash, b.narHash, listingOf) : { differences: [], count: 0 };
    const found = [diffoscopes.get(pairKey(a.narHash, b.narHash)), diffoscopes.get(pairKey(b.narHash, a.narHash))].filter((pair): pair is DiffoscopeOfPair => pair !== undefined);
    const links = found.flatMap((pair) => pair.links);
    const text = found.flatMap((pair) => (pair.text === null ? [] : [pair.text])).sort((x, y) => y.storedAt - x.storedAt)[0]?.content ?? null;
    const causes = missing.length > 0 && text === null ? [] : guessCauses(differences, text);
    return {
      a: a.narHash,
      b: b.narHash,
      listingsMissing: missing.map((group) => group.narHash),
      waitingFor: [...new Set(missing.flatMap((group) => group.builders))].sort(),
      differences,
      differenceCount: count,
      truncated: count > differences.length,
      diffoscope: links.length === 0 ? 'not-run' : links,
      causes,
    };
  }

  private async listingsDiff(outPath: string, a: string, b: string, listingOf: (narHash: string) => Promise<Buffer | null>): Promise<ListingsDiff> {
    const key = `${outPath} ${a} ${b}`;
    const cached = this.pairDiffs.get(key);
    if (cached) {
      this.pairDiffs.delete(key);
      this.pairDiffs.set(key, cached);
      return cached;
    }
    const [left, right] = await Promise.all([listingOf(a), listingOf(b)]);
    if (left === null || right === null) return { differences: [], count: 0 };
    const computed = await this.thread.diff(left, right);
    this.pairDiffs.set(key, computed);
    if (this.pairDiffs.size > CACHED_PAIRS) this.pairDiffs.delete(this.pairDiffs.keys().next().value as string);
    return computed;
  }

  /** Every stored diffoscope output between two hash groups, by ordered pair: one read for the links, one for the texts. */
  private async diffoscopesOf(outPath: string, groups: readonly DiffGroup[]): Promise<Map<string, DiffoscopeOfPair>> {
    const byPair = new Map<string, DiffoscopeOfPair>();
    const ids = groups.flatMap((a) => groups.filter((b) => b !== a).flatMap((b) => DIFFOSCOPE_FORMATS.map((format) => diffoscopeId(outPath, a.narHash, b.narHash, format))));
    if (ids.length === 0) return byPair;
    const found = await this.models.DiffoscopeResult.find({ _id: { $in: ids } }, { content: 0 }).lean();
    const base = encodeURIComponent(outPath.slice(STORE_DIR.length + 1));
    for (const record of found) {
      const pair = byPair.get(pairKey(record.a, record.b)) ?? { links: [], text: null };
      const format = record.format as DiffoscopeFormat;
      pair.links.push({
        format,
        url: `/api/v1/outputs/${base}/diffoscope/${encodeURIComponent(record.a)}/${encodeURIComponent(record.b)}.${FILE_EXTENSION[format]}`,
        a: record.a,
        b: record.b,
        builder: record.builder,
        truncated: record.truncated,
        timedOut: record.timedOut,
        diffoscopeVersion: record.diffoscopeVersion ?? null,
        storedAt: record.storedAt.toISOString(),
      });
      byPair.set(pairKey(record.a, record.b), pair);
    }
    const textIds = found.filter((record) => record.format === 'text').map((record) => record._id);
    if (textIds.length > 0) {
      for (const record of await this.models.DiffoscopeResult.find({ _id: { $in: textIds } }, { a: 1, b: 1, content: 1, storedAt: 1 }).lean()) {
        const content = (await gunzipAsync(bytesOf(record.content))).toString('utf8');
        (byPair.get(pairKey(record.a, record.b)) as DiffoscopeOfPair).text = { content, storedAt: record.storedAt.getTime() };
      }
    }
    return byPair;
  }

  /** Keeps the output's cause guess current for the report pages, and tells open pages the diff changed. */
  private async changed(outPath: string, kind: 'listing' | 'diffoscope', narHash: string | null): Promise<void> {
    const { causes } = await this.diff(outPath);
    const collection = this.models.DivergenceCause.collection;
    const update = { $set: { causes: [...causes], updatedAt: new Date() } };
    try {
      await collection.updateOne({ _id: outPath } as never, update, { upsert: true });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      await collection.updateOne({ _id: outPath } as never, update);
    }
    this.events.publish('output:diff', { outPath, kind, narHash, causes });
  }
}

interface DiffoscopeOfPair {
  readonly links: DiffoscopeLink[];
  text: { content: string; storedAt: number } | null;
}

function pairKey(a: string, b: string): string {
  return `${a} ${b}`;
}
