import type { AttestationResult, HashGroup, OutputSummaryView, SignatureStatus, Verdict } from '@lilac/common';
import { publicKeysOf, type Builder, type BuilderService } from '../builders/builderService.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';
import { allBuildersOf, verifiedBuildersOf, withStatement } from './hashGroups.ts';
import { KeyedLock } from './keyedLock.ts';
import { checkSignature } from './signatureCheck.ts';
import type { SignatureVerifier } from './signatureVerifier.ts';
import type { AttestationInput } from './submissions.ts';
import { decideVerdict, verifiedHashCount } from './verdict.ts';
import { attestationView, outputSummaryView } from './views.ts';

const MAX_SUMMARY_ATTEMPTS = 200;
/** Attestations of one request stored at once; bounds the store round trips in flight per request. */
const PARALLELISM = 32;

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: number }).code === 11000;
}

const UNSIGNED_REASON = 'no signature submitted';

interface StoredSignature {
  readonly status: SignatureStatus;
  readonly reason: string | null;
  readonly key: string | null;
}

interface SummaryChange {
  readonly before: HashGroup[];
  readonly after: OutputSummaryView;
  readonly previous: Verdict;
}

/**
 * Takes attestations from builders: verifies each signature, stores it once,
 * folds it into its output's summary and publishes what changed. The pool's
 * `complete` uses this too, so every attestation enters by one door.
 */
export class AttestationIngest {
  /** Derivations known to be recorded, so most submissions skip that write. */
  private readonly knownDerivations = new Set<string>();
  /**
   * FerretDB 1.24 runs findAndModify as a read then a write, so the revision
   * check alone can lose an update there; within one process, writers of one
   * output take turns. Across processes (MongoDB) the revision check holds.
   */
  private readonly summaryLock = new KeyedLock();

  constructor(
    private readonly models: Models,
    private readonly builders: BuilderService,
    private readonly events: EventBus,
    private readonly verifier: SignatureVerifier,
    private readonly log: Logger,
  ) {}

  async submit(builder: Builder, inputs: readonly AttestationInput[]): Promise<AttestationResult[]> {
    const keys = publicKeysOf(builder);
    const touched = this.touchBuilder(builder.name);
    await this.recordDerivations(inputs);
    const results = new Array<AttestationResult>(inputs.length);
    let next = 0;
    const worker = async () => {
      while (next < inputs.length) {
        const index = next++;
        results[index] = await this.submitOne(builder.name, keys, inputs[index] as AttestationInput);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLELISM, inputs.length) }, worker));
    await touched;
    return results;
  }

  private async submitOne(builder: string, keys: ReturnType<typeof publicKeysOf>, input: AttestationInput): Promise<AttestationResult> {
    const stored = await this.store(builder, input, await this.signatureOf(input, keys));
    let verdict: Verdict;
    if (stored.changed) {
      const change = await this.foldIntoSummary(input, { builder, narHash: input.narHash, verified: stored.status === 'valid' });
      verdict = change?.after.verdict ?? (await this.currentVerdict(input.outPath));
      this.events.publish('attestation', attestationView(stored.record));
      if (change) await this.publishChange(change);
    } else {
      verdict = await this.currentVerdict(input.outPath);
    }
    return { outPath: input.outPath, verdict, signature: { status: stored.status, reason: stored.reason } };
  }

  private async signatureOf(input: AttestationInput, keys: ReturnType<typeof publicKeysOf>): Promise<StoredSignature> {
    if (input.signature === '') return { status: 'unsigned', reason: UNSIGNED_REASON, key: null };
    const check = checkSignature(input, keys, this.verifier);
    return check.valid ? { status: 'valid', reason: null, key: check.keyName } : { status: 'invalid', reason: check.reason, key: null };
  }

  /** Inserts the attestation; a resubmission is the same document, upgraded when its signature now checks out. */
  private async store(builder: string, input: AttestationInput, signature: StoredSignature) {
    const fields = {
      outPath: input.outPath,
      drvPath: input.drvPath,
      output: input.output,
      builder,
      narHash: input.narHash,
      narSize: input.narSize,
      references: input.references,
      signature: input.signature,
      signatureStatus: signature.status,
      signatureReason: signature.reason,
      signatureKey: signature.key,
      source: input.source,
      builtAt: input.builtAt,
    };
    try {
      const created = await this.models.Attestation.create(fields);
      return { changed: true, status: signature.status, reason: signature.reason, record: created.toObject() };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const key = { outPath: input.outPath, builder, narHash: input.narHash };
    if (signature.status === 'valid') {
      const upgraded = await this.models.Attestation.findOneAndUpdate({ ...key, signatureStatus: { $ne: 'valid' } }, { $set: fields }, { new: true }).lean();
      if (upgraded) return { changed: true, status: 'valid' as const, reason: null, record: upgraded };
    }
    const existing = await this.models.Attestation.findOne(key).lean();
    if (!existing) throw new Error(`attestation of ${input.outPath} by ${builder} vanished while being resubmitted`);
    const status = existing.signatureStatus as SignatureStatus;
    return { changed: false, status, reason: existing.signatureReason ?? null, record: existing };
  }

  /**
   * Optimistic concurrency on `revision`: read, compute, write only if nobody
   * wrote since; on conflict read again. Concurrent submitters for one output
   * thus never lose each other's statements.
   */
  private foldIntoSummary(input: AttestationInput, statement: { builder: string; narHash: string; verified: boolean }): Promise<SummaryChange | null> {
    return this.summaryLock.run(input.outPath, () => this.foldIntoSummaryOnce(input, statement));
  }

  private async foldIntoSummaryOnce(
    input: AttestationInput,
    statement: { builder: string; narHash: string; verified: boolean },
  ): Promise<SummaryChange | null> {
    const { OutputSummary } = this.models;
    for (let attempt = 0; attempt < MAX_SUMMARY_ATTEMPTS; attempt++) {
      const current = await OutputSummary.findOne({ outPath: input.outPath }).lean();
      const before: HashGroup[] = current ? outputSummaryView(current).hashes : [];
      const hashes = withStatement(before, statement);
      if (hashes === null) return null;
      const verdict = decideVerdict(hashes);
      const fields = {
        hashes,
        verdict,
        verifiedBuilderCount: verifiedBuildersOf(hashes).length,
        attestedBy: allBuildersOf(hashes),
        drvPath: current?.drvPath ?? input.drvPath,
        output: current?.output ?? input.output,
      };
      if (!current) {
        try {
          const created = await OutputSummary.create({ outPath: input.outPath, ...fields, revision: 1 });
          return { before, after: outputSummaryView(created.toObject()), previous: 'no-builds' };
        } catch (error) {
          if (isDuplicateKey(error)) continue;
          throw error;
        }
      }
      const updated = await OutputSummary.findOneAndUpdate(
        { outPath: input.outPath, revision: current.revision },
        { $set: fields, $inc: { revision: 1 } },
        { new: true },
      ).lean();
      if (updated) return { before, after: outputSummaryView(updated), previous: current.verdict as Verdict };
      if (attempt > 8) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
    }
    throw new Error(`summary of ${input.outPath} kept changing under ${MAX_SUMMARY_ATTEMPTS} attempts`);
  }

  private async publishChange(change: SummaryChange): Promise<void> {
    const { after, previous, before } = change;
    if (after.verdict !== previous) {
      this.events.publish('verdict', { outPath: after.outPath, drvPath: after.drvPath, verdict: after.verdict, previous });
    }
    const hashesBefore = verifiedHashCount(before);
    const hashesAfter = verifiedHashCount(after.hashes);
    if (hashesAfter >= 2) await this.recordDivergence(after, hashesAfter > hashesBefore);
  }

  /** Keeps the divergence's builder lists current; it is news (an event) only when first seen or a new distinct hash arrived. */
  private async recordDivergence(summary: OutputSummaryView, newHash: boolean): Promise<void> {
    const now = new Date();
    const update = newHash
      ? { $set: { hashes: summary.hashes, drvPath: summary.drvPath, lastChanged: now }, $setOnInsert: { firstSeen: now } }
      : { $set: { hashes: summary.hashes, drvPath: summary.drvPath }, $setOnInsert: { firstSeen: now, lastChanged: now } };
    let record;
    try {
      record = await this.models.Divergence.findOneAndUpdate({ outPath: summary.outPath }, update, { upsert: true, new: true }).lean();
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      record = await this.models.Divergence.findOneAndUpdate({ outPath: summary.outPath }, update, { new: true }).lean();
    }
    if (newHash && record) {
      this.events.publish('divergence', {
        outPath: record.outPath,
        drvPath: record.drvPath ?? null,
        hashes: summary.hashes,
        firstSeen: record.firstSeen.toISOString(),
        lastChanged: record.lastChanged.toISOString(),
      });
    }
  }

  private async currentVerdict(outPath: string): Promise<Verdict> {
    const summary = await this.models.OutputSummary.findOne({ outPath }, { verdict: 1 }).lean();
    return (summary?.verdict as Verdict | undefined) ?? 'no-builds';
  }

  private async recordDerivations(inputs: readonly AttestationInput[]): Promise<void> {
    const fresh = [...new Set(inputs.map((input) => input.drvPath).filter((path): path is string => path !== null))].filter(
      (path) => !this.knownDerivations.has(path),
    );
    if (fresh.length === 0) return;
    await this.models.Derivation.bulkWrite(
      // bulkWrite skips query middleware, so the `_id` the derivation is keyed by is named here.
      fresh.map((drvPath) => ({ updateOne: { filter: { _id: drvPath }, update: { $setOnInsert: { drvPath } }, upsert: true } })),
      { ordered: false },
    ).catch((error: unknown) => {
      // Another request recording the same derivation at the same moment is fine.
      if (!isDuplicateKey(error)) throw error;
    });
    if (this.knownDerivations.size > 100_000) this.knownDerivations.clear();
    for (const path of fresh) this.knownDerivations.add(path);
  }

  private async touchBuilder(name: string): Promise<void> {
    try {
      await this.builders.touch(name);
    } catch (error) {
      this.log.warn({ err: error, builder: name }, 'could not record when the builder was last seen');
    }
  }
}
