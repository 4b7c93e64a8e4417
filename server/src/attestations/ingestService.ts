import type { AttestationResult, HashGroup, OutputSummaryView, SignatureStatus, Verdict } from '@lilac/common';
import { publicKeysOf, type Builder, type BuilderService } from '../builders/builderService.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';
import { attestationId, type AttestationRecord } from './attestationModel.ts';
import { chosenDerivation, withClaim, type DerivationClaim } from './derivationClaims.ts';
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
const UNSIGNED_REASON = 'no signature submitted';

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: number }).code === 11000;
}

interface StoredSignature {
  readonly status: SignatureStatus;
  readonly reason: string | null;
  readonly key: string | null;
}

interface SummaryFold {
  readonly before: HashGroup[];
  readonly after: OutputSummaryView;
  readonly previous: Verdict;
  /** The hash groups changed (a statement new to the summary). */
  readonly counted: boolean;
}

/**
 * Takes attestations from builders: verifies each signature, stores it once,
 * folds it into its output's summary and publishes what changed. The pool's
 * `complete` uses this too, so every attestation enters by one door.
 *
 * Storing and counting are two writes, and a crash can fall between them.
 * Counting is therefore idempotent and done again whenever the statement
 * is seen again: on resubmission, and at start-up for every request whose
 * intent (written before its first attestation) was never closed.
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
    const intent = await this.models.IngestIntent.create({
      builder: builder.name,
      attestationIds: inputs.map((input) => attestationId(input.outPath, builder.name, input.narHash)),
      openedAt: new Date(),
    });
    const results = new Array<AttestationResult>(inputs.length);
    let next = 0;
    const worker = async () => {
      while (next < inputs.length) {
        const index = next++;
        results[index] = await this.submitOne(builder.name, keys, inputs[index] as AttestationInput);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLELISM, inputs.length) }, worker));
    await this.models.IngestIntent.deleteOne({ _id: intent._id });
    await touched;
    return results;
  }

  /**
   * Counts what requests that never finished stored (a crash, a lost store
   * connection). Every intent is settled; only those opened before
   * `forgetOpenedBefore` are deleted, since a younger one may belong to a
   * request another server process is still working on.
   */
  async repairUnfinished(forgetOpenedBefore: Date): Promise<{ intents: number; attestations: number }> {
    const { IngestIntent, Attestation } = this.models;
    const intents = await IngestIntent.find().lean();
    let attestations = 0;
    for (const intent of intents) {
      const records = await Attestation.find({ _id: { $in: intent.attestationIds } }).lean();
      for (const record of records) await this.settle(record);
      attestations += records.length;
      if (intent.openedAt < forgetOpenedBefore) await IngestIntent.deleteOne({ _id: intent._id });
    }
    return { intents: intents.length, attestations };
  }

  private async submitOne(builder: string, keys: ReturnType<typeof publicKeysOf>, input: AttestationInput): Promise<AttestationResult> {
    const stored = await this.store(builder, input, this.signatureOf(input, keys));
    if (stored.changed) this.events.publish('attestation', attestationView(stored.record));
    const verdict = await this.settle(stored.record);
    return { outPath: input.outPath, verdict, signature: { status: stored.record.signatureStatus as SignatureStatus, reason: stored.record.signatureReason ?? null } };
  }

  private signatureOf(input: AttestationInput, keys: ReturnType<typeof publicKeysOf>): StoredSignature {
    if (input.signature === '') return { status: 'unsigned', reason: UNSIGNED_REASON, key: null };
    const check = checkSignature(input, keys, this.verifier);
    return check.valid ? { status: 'valid', reason: null, key: check.keyName } : { status: 'invalid', reason: check.reason, key: null };
  }

  /** Inserts the attestation; a resubmission is the same document, upgraded when its signature now checks out. */
  private async store(builder: string, input: AttestationInput, signature: StoredSignature): Promise<{ changed: boolean; record: AttestationRecord }> {
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
      return { changed: true, record: created.toObject() };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const key = { outPath: input.outPath, builder, narHash: input.narHash };
    if (signature.status === 'valid') {
      const upgraded = await this.models.Attestation.findOneAndUpdate({ ...key, signatureStatus: { $ne: 'valid' } }, { $set: fields }, { new: true }).lean();
      if (upgraded) return { changed: true, record: upgraded };
    }
    const existing = await this.models.Attestation.findOne(key).lean();
    if (!existing) throw new Error(`attestation of ${input.outPath} by ${builder} vanished while being resubmitted`);
    return { changed: false, record: existing };
  }

  /**
   * Makes a stored attestation count: folds it into its output's summary and
   * keeps the divergence current. Doing it again changes nothing, which is
   * what lets a resubmission or start-up finish what a crash interrupted.
   */
  private async settle(record: AttestationRecord): Promise<Verdict> {
    const verified = record.signatureStatus === 'valid';
    const claim = record.drvPath ? { drvPath: record.drvPath, output: record.output ?? null, builder: record.builder, verified } : null;
    const fold = await this.summaryLock.run(record.outPath, () =>
      this.foldIntoSummary(record.outPath, { builder: record.builder, narHash: record.narHash, verified }, claim),
    );
    if (fold.after.verdict !== fold.previous) {
      this.events.publish('verdict', { outPath: fold.after.outPath, drvPath: fold.after.drvPath, verdict: fold.after.verdict, previous: fold.previous });
    }
    const hashesAfter = verifiedHashCount(fold.after.hashes);
    if (hashesAfter >= 2) {
      if (fold.counted) await this.recordDivergence(fold.after, hashesAfter > verifiedHashCount(fold.before));
      else await this.ensureDivergence(fold.after);
    }
    return fold.after.verdict;
  }

  /**
   * Optimistic concurrency on `revision`: read, compute, write only if nobody
   * wrote since; on conflict read again. Concurrent submitters for one output
   * thus never lose each other's statements.
   */
  private async foldIntoSummary(
    outPath: string,
    statement: { builder: string; narHash: string; verified: boolean },
    claim: DerivationClaim | null,
  ): Promise<SummaryFold> {
    const { OutputSummary } = this.models;
    for (let attempt = 0; attempt < MAX_SUMMARY_ATTEMPTS; attempt++) {
      const current = await OutputSummary.findOne({ outPath }).lean();
      const before: HashGroup[] = current ? outputSummaryView(current).hashes : [];
      const hashes = withStatement(before, statement);
      const claimsBefore: DerivationClaim[] = (current?.derivationClaims ?? []).map((stored) => ({ ...stored, output: stored.output ?? null }));
      const claims = claim ? withClaim(claimsBefore, claim) : null;
      if (current && hashes === null && claims === null) {
        const after = outputSummaryView(current);
        return { before, after, previous: after.verdict, counted: false };
      }
      const groups = hashes ?? before;
      const verdict = decideVerdict(groups);
      const derivation = chosenDerivation(claims ?? claimsBefore);
      const fields = {
        hashes: groups,
        verdict,
        verifiedBuilderCount: verifiedBuildersOf(groups).length,
        attestedBy: allBuildersOf(groups),
        derivationClaims: claims ?? claimsBefore,
        drvPath: derivation?.drvPath ?? current?.drvPath ?? null,
        output: derivation?.output ?? current?.output ?? null,
      };
      if (!current) {
        try {
          const created = await OutputSummary.create({ outPath, ...fields, revision: 1 });
          return { before, after: outputSummaryView(created.toObject()), previous: 'no-builds', counted: true };
        } catch (error) {
          if (isDuplicateKey(error)) continue;
          throw error;
        }
      }
      const updated = await OutputSummary.findOneAndUpdate({ outPath, revision: current.revision }, { $set: fields, $inc: { revision: 1 } }, { new: true }).lean();
      if (updated) return { before, after: outputSummaryView(updated), previous: current.verdict as Verdict, counted: hashes !== null };
      if (attempt > 8) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
    }
    throw new Error(`summary of ${outPath} kept changing under ${MAX_SUMMARY_ATTEMPTS} attempts`);
  }

  /** A crash between counting and recording the divergence left none; a statement seen again records it. */
  private async ensureDivergence(summary: OutputSummaryView): Promise<void> {
    const existing = await this.models.Divergence.findOne({ outPath: summary.outPath }, { _id: 1 }).lean();
    if (!existing) await this.recordDivergence(summary, true);
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
