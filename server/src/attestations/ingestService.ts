import type { AttestationResult, OutputSummaryView, SignatureCheck, SignatureStatus } from '@lilac/common';
import { publicKeysOf, type Builder, type BuilderService } from '../builders/builderService.ts';
import type { EventBus } from '../events/eventBus.ts';
import { listingId } from '../listings/listingModel.ts';
import { wantedListings } from '../listings/listingsWanted.ts';
import type { Logger } from '../log.ts';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import { insertNew } from '../store/insertNew.ts';
import type { Models } from '../store/models.ts';
import { attestationId, type AttestationRecord } from './attestationModel.ts';
import { GroupCommit } from './groupCommit.ts';
import { IngestCheckpoint } from './ingestCheckpoint.ts';
import type { SignatureThreads } from './signatureThreads.ts';
import type { AttestationInput } from './submissions.ts';
import { SummaryFolding, type SummaryFold } from './summaryFolding.ts';
import { verifiedHashCount } from './verdict.ts';
import { attestationView } from './views.ts';

/** Attestations of one request written together; a larger request is written as several such chunks. */
const CHUNK = 500;
/** Attestations of concurrent requests written together (group commit). */
const MAX_GROUP = 1_000;
/** Groups written at once: the next group's attestations are inserted while the previous one's summaries are folded (which take turns). */
const GROUPS_IN_FLIGHT = 2;
/**
 * Attestations waiting that start a second group in flight. Fewer join the group after the one being
 * written: one-attestation requests (lila's hook) then share rounds of the store, whose cost is per
 * round trip far more than per attestation.
 */
const OVERLAP_FROM = 100;
const UNSIGNED_REASON = 'no signature submitted';

interface StoredSignature {
  readonly status: SignatureStatus;
  readonly reason: string | null;
  readonly key: string | null;
}

interface Chunk {
  readonly builder: string;
  readonly inputs: readonly AttestationInput[];
  readonly signatures: readonly StoredSignature[];
}

type Stored = AttestationRecord & { _id: string; createdAt: Date; updatedAt: Date };

/**
 * Takes attestations from builders: verifies each signature, stores it once,
 * folds it into its output's summary and publishes what changed. The pool's
 * `complete` uses this too, so every attestation enters by one door.
 *
 * Concurrent requests are written together (`GroupCommit`): one round trip
 * writes a group's attestations, and one or two its summaries, however many
 * requests the group holds.
 *
 * Storing and counting are two writes, and a crash can fall between them.
 * Counting is therefore idempotent and done again whenever the statement
 * is seen again: on resubmission, and for every attestation stored since the
 * checkpoint of a process that died (`IngestCheckpoint`, `IngestRepair`).
 */
export class AttestationIngest {
  private readonly commits = new GroupCommit<Chunk, AttestationResult[]>(
    (group) => this.writeGroup(group),
    (chunk) => chunk.inputs.length,
    MAX_GROUP,
    GROUPS_IN_FLIGHT,
    OVERLAP_FROM,
  );
  private readonly summaries: SummaryFolding;
  readonly checkpoint: IngestCheckpoint;

  constructor(
    private readonly models: Models,
    private readonly builders: BuilderService,
    private readonly events: EventBus,
    private readonly signatureChecks: SignatureThreads,
    private readonly log: Logger,
  ) {
    this.summaries = new SummaryFolding(models);
    this.checkpoint = new IngestCheckpoint(models, log);
  }

  async submit(builder: Builder, inputs: readonly AttestationInput[]): Promise<AttestationResult[]> {
    const touched = this.touchBuilder(builder.name);
    const signatures = await this.signaturesOf(inputs, publicKeysOf(builder));
    const chunks: Promise<AttestationResult[]>[] = [];
    for (let start = 0; start < inputs.length; start += CHUNK) {
      chunks.push(this.commits.submit({ builder: builder.name, inputs: inputs.slice(start, start + CHUNK), signatures: signatures.slice(start, start + CHUNK) }));
    }
    const results = (await Promise.all(chunks)).flat();
    await touched;
    return results;
  }

  /**
   * Counts again every attestation changed since `since`: what a request cut
   * off by a crash or a lost store connection may have stored and not counted.
   * Answers how many outputs gained a statement by it.
   */
  async settleChangedSince(since: Date): Promise<number> {
    let outputs = 0;
    let records: AttestationRecord[] = [];
    const settle = async () => {
      const folds = await this.foldAndPublish(
        records.map((record) => record.outPath),
        Promise.resolve(records),
      );
      outputs += [...folds.values()].filter((fold) => fold.counted).length;
      records = [];
    };
    for await (const record of this.models.Attestation.find({ updatedAt: { $gte: since } }).lean().cursor({ batchSize: CHUNK })) {
      records.push(record);
      if (records.length === CHUNK) await settle();
    }
    if (records.length > 0) await settle();
    return outputs;
  }

  /** Refuses further groups (503) and stops writing the checkpoint, which stays where a group still being written holds it. */
  close(): Promise<void> {
    return this.checkpoint.close();
  }

  /** One group commit: its attestations, then their summaries, under the checkpoint held at the group's time. */
  private async writeGroup(group: readonly Chunk[]): Promise<AttestationResult[][]> {
    const at = await this.checkpoint.hold();
    try {
      const results = await this.writeHeld(group, new Date(at), new Date());
      this.checkpoint.release(at);
      return results;
    } catch (error) {
      this.checkpoint.releaseUnsettled(at);
      throw error;
    }
  }

  /** `heldAt` is the group's time, the attestations' `updatedAt`; `now` the clock's, their `createdAt`. */
  private async writeHeld(group: readonly Chunk[], heldAt: Date, now: Date): Promise<AttestationResult[][]> {
    const documents = group.flatMap((chunk) =>
      chunk.inputs.map((input, item) =>
        storedDocument(attestationId(input.outPath, chunk.builder, input.narHash), chunk.builder, input, chunk.signatures[item] as StoredSignature, { createdAt: now, updatedAt: heldAt }),
      ),
    );
    const stored = this.store(documents);
    // A failed fold must not release the group while its attestations may still be landing: a repair must begin after them.
    const [folded, storing] = await Promise.allSettled([this.settle(documents.map((document) => document.outPath), stored), stored]);
    if (folded.status === 'rejected') throw folded.reason;
    if (storing.status === 'rejected') throw storing.reason;
    const [summaries, records] = [folded.value, storing.value];
    const listingsWanted = await wantedListings(this.models, records, summaries);
    let next = 0;
    return group.map((chunk) =>
      chunk.inputs.map((input) => {
        const record = records[next++] as AttestationRecord;
        return {
          outPath: input.outPath,
          verdict: (summaries.get(input.outPath) as OutputSummaryView).verdict,
          signature: { status: record.signatureStatus as SignatureStatus, reason: record.signatureReason ?? null },
          ...(listingsWanted.has(listingId(input.outPath, record.narHash)) && { listingWanted: true }),
        };
      }),
    );
  }

  private async signaturesOf(inputs: readonly AttestationInput[], keys: ReturnType<typeof publicKeysOf>): Promise<StoredSignature[]> {
    const signed = inputs.filter((input) => input.signature !== '');
    const checks = signed.length === 0 ? [] : await this.signatureChecks.check(signed, keys);
    let next = 0;
    return inputs.map((input): StoredSignature => {
      if (input.signature === '') return { status: 'unsigned', reason: UNSIGNED_REASON, key: null };
      const check = checks[next++] as SignatureCheck;
      return check.valid ? { status: 'valid', reason: null, key: check.keyName } : { status: 'invalid', reason: check.reason, key: null };
    });
  }

  /** Inserts the attestations in one round trip; a resubmission is the document already there, upgraded when its signature now checks out. */
  private async store(documents: readonly Stored[]): Promise<AttestationRecord[]> {
    const taken = await insertNew(this.models.Attestation.collection, documents);
    // Settled, not all: a failure is the group's only once every upgrade has landed or failed (see `writeHeld`).
    const stored = await Promise.allSettled(documents.map((document, index) => (taken.has(index) ? this.storeAgain(document) : { changed: true, record: document })));
    return stored.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      if (result.value.changed) this.events.publish('attestation', attestationView(result.value.record));
      return result.value.record;
    });
  }

  private async storeAgain(document: Stored): Promise<{ changed: boolean; record: AttestationRecord }> {
    const { _id, createdAt: _createdAt, ...fields } = document;
    if (document.signatureStatus === 'valid') {
      // The group's time, not the clock's now: the checkpoint held for the group covers it (`IngestCheckpoint`).
      const upgraded = await this.models.Attestation.findOneAndUpdate({ _id, signatureStatus: { $ne: 'valid' } }, { $set: fields }, { new: true, timestamps: false }).lean();
      if (upgraded) return { changed: true, record: upgraded };
    }
    const existing = await this.models.Attestation.findOne({ _id }).lean();
    if (!existing) throw new Error(`attestation of ${document.outPath} by ${document.builder} vanished while being resubmitted`);
    return { changed: false, record: existing };
  }

  /**
   * Makes stored attestations count: folds them into their outputs' summaries
   * and keeps divergences current. Doing it again changes nothing, which is
   * what lets a resubmission or start-up finish what a crash interrupted.
   */
  private async settle(outPaths: readonly string[], stored: Promise<readonly AttestationRecord[]>): Promise<Map<string, OutputSummaryView>> {
    const folds = await this.foldAndPublish(outPaths, stored);
    return new Map([...folds].map(([outPath, fold]) => [outPath, fold.after]));
  }

  private async foldAndPublish(outPaths: readonly string[], stored: Promise<readonly AttestationRecord[]>): Promise<Map<string, SummaryFold>> {
    const folds = await this.summaries.fold(outPaths, stored);
    await Promise.all([...folds.values()].map((fold) => this.publishChange(fold)));
    return folds;
  }

  private async publishChange(fold: SummaryFold): Promise<void> {
    if (fold.after.verdict !== fold.previous) {
      this.events.publish('verdict', { outPath: fold.after.outPath, drvPath: fold.after.drvPath, verdict: fold.after.verdict, previous: fold.previous });
    }
    const hashesAfter = verifiedHashCount(fold.after.hashes);
    if (hashesAfter >= 2) {
      if (fold.counted) await this.recordDivergence(fold.after, hashesAfter > verifiedHashCount(fold.before));
      else await this.ensureDivergence(fold.after);
    }
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
      if (!isDuplicateKeyError(error)) throw error;
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

  private async touchBuilder(name: string): Promise<void> {
    try {
      await this.builders.touch(name);
    } catch (error) {
      this.log.warn({ err: error, builder: name }, 'could not record when the builder was last seen');
    }
  }
}

/** The attestation as stored: every field the schema gives it, since it is inserted past mongoose. */
function storedDocument(id: string, builder: string, input: AttestationInput, signature: StoredSignature, times: { createdAt: Date; updatedAt: Date }): Stored {
  return {
    _id: id,
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
    ...times,
  };
}
