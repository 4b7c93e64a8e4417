import type { AttestationView, TriageFieldChange, TriageHistoryEntry, TriageUpdate, TriageView, CauseTag, TriageStatus } from '@lilac/common';
import { attestationsOf } from '../attestations/attestationsOf.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { MemberService } from '../people/memberService.ts';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import type { Models } from '../store/models.ts';
import type { TriageRecord } from './triageModel.ts';
import { InvalidTriageError } from './triageInput.ts';

/** Who the history names when lilac itself changed a record (a fixed output diverging again). */
export const LILAC_ITSELF = 'lilac';

export class TriageNotFoundError extends Error {
  override name = 'TriageNotFoundError';
}

type TriageFields = Pick<TriageView, 'status' | 'assignee' | 'causes' | 'links' | 'note' | 'reopened'>;

const UNTRIAGED: TriageFields = { status: 'new', assignee: null, causes: [], links: [], note: '', reopened: false };

/** An attestation as far as confirming a fix needs it. */
export interface AttestationFacts {
  builder: string;
  narHash: string;
  signatureStatus: string;
  createdAt?: Date;
}

/** The builds attested since the output was marked fixed, with valid signatures: the evidence for or against the fix. */
function buildsSinceFix(fixedAt: Date, attestations: readonly AttestationFacts[]): AttestationFacts[] {
  return attestations.filter((attestation) => attestation.signatureStatus === 'valid' && attestation.createdAt !== undefined && attestation.createdAt > fixedAt);
}

/** A fix is confirmed by the data: since it was marked `fixed`, at least two builders attested the output, and all got one hash. */
export function fixConfirmed(record: Pick<TriageRecord, 'status' | 'fixedAt'>, attestations: readonly AttestationFacts[]): boolean {
  if (record.status !== 'fixed' || !record.fixedAt) return false;
  const newer = buildsSinceFix(record.fixedAt, attestations);
  return new Set(newer.map((attestation) => attestation.builder)).size >= 2 && new Set(newer.map((attestation) => attestation.narHash)).size === 1;
}

/**
 * A fix is refuted by the data: the builds since it was marked `fixed`
 * disagree among themselves. Hashes from before the fix do not count: they
 * are what the fix was for.
 */
export function divergesSinceFix(fixedAt: Date, attestations: readonly AttestationFacts[]): boolean {
  return new Set(buildsSinceFix(fixedAt, attestations).map((attestation) => attestation.narHash)).size >= 2;
}

function fieldsOf(record: TriageRecord | null): TriageFields {
  if (!record) return UNTRIAGED;
  return {
    status: record.status as TriageStatus,
    assignee: record.assignee ?? null,
    causes: [...record.causes] as CauseTag[],
    links: [...record.links],
    note: record.note ?? '',
    reopened: record.reopened ?? false,
  };
}

function changesBetween(before: TriageFields, after: TriageFields): TriageFieldChange[] {
  return (Object.keys(after) as (keyof TriageFields)[])
    .filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]))
    .map((field) => ({ field, from: before[field], to: after[field] }));
}

export function historyEntryView(entry: { at: Date; by: string; changes: { field: string; from?: unknown; to?: unknown }[] }): TriageHistoryEntry {
  return { at: entry.at.toISOString(), by: entry.by, changes: entry.changes.map((change) => ({ field: change.field as TriageFieldChange['field'], from: change.from ?? null, to: change.to ?? null })) };
}

/** `fixConfirmed` needs the output's attestations; lists that do not read them pass none and get false. */
export function triageView(record: TriageRecord, attestations: readonly AttestationFacts[] = []): TriageView {
  return {
    outPath: record.outPath,
    ...fieldsOf(record),
    fixedAt: record.fixedAt ? record.fixedAt.toISOString() : null,
    fixConfirmed: fixConfirmed(record, attestations),
    updatedAt: record.updatedAt.toISOString(),
    updatedBy: record.updatedBy,
  };
}

const MAX_WRITE_ATTEMPTS = 10;

/**
 * Triage records of divergent outputs: changed by maintainers, reopened by
 * lilac when an output marked fixed diverges again. Every change is kept in
 * the record's history and published on the event bus.
 */
export class TriageService {
  constructor(
    private readonly models: Models,
    private readonly members: MemberService,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {}

  /**
   * Outputs marked fixed, kept in memory so that ingest's `attestation` events
   * cost a set look-up, not a store read, for every other output. Loaded once
   * at start and kept by this process's own changes: a fix marked through
   * another server process is watched here from that process's next restart.
   */
  private readonly fixed = new Set<string>();

  async start(): Promise<void> {
    const records = await this.models.Triage.find({ status: 'fixed' }, { outPath: 1 }).lean();
    for (const record of records) this.fixed.add(record.outPath);
    this.events.subscribe('attestation', (attestation) => {
      if (!this.fixed.has(attestation.output_path)) return;
      this.reopenIfRefuted(attestation).catch((error: unknown) => this.log.error({ err: error, outPath: attestation.output_path }, 'could not reopen a fixed output that diverged again'));
    });
  }

  async find(outPath: string): Promise<TriageRecord | null> {
    return this.models.Triage.findOne({ outPath }).lean();
  }

  async ofOutPaths(outPaths: readonly string[]): Promise<Map<string, TriageRecord>> {
    if (outPaths.length === 0) return new Map();
    const records = await this.models.Triage.find({ outPath: { $in: [...outPaths] } }, { history: 0 }).lean();
    return new Map(records.map((record) => [record.outPath, record as TriageRecord]));
  }

  async update(outPath: string, update: TriageUpdate, by: string): Promise<{ record: TriageRecord; entry: TriageHistoryEntry | null }> {
    if (!(await this.models.Divergence.exists({ outPath }))) throw new TriageNotFoundError(`${outPath} has not diverged: only outputs whose builders disagree are triaged`);
    if (update.assignee && !(await this.members.exists(update.assignee))) throw new InvalidTriageError(`no member named ${JSON.stringify(update.assignee)} to assign`);
    return this.change(outPath, by, (before) => {
      const after: TriageFields = { ...before, ...update };
      // A person who sets the status has seen the reopening.
      if (update.status !== undefined) after.reopened = false;
      return after;
    });
  }

  /** The attestation may not be folded into the output's summary yet, so it is counted on its own too. */
  private async reopenIfRefuted(attestation: AttestationView): Promise<void> {
    const outPath = attestation.output_path;
    const record = await this.find(outPath);
    if (record?.status !== 'fixed' || !record.fixedAt) return;
    const stored = await attestationsOf(this.models, outPath);
    const facts: AttestationFacts[] = [
      ...stored,
      { builder: attestation.builder, narHash: attestation.output_hash, signatureStatus: attestation.signature.status, createdAt: new Date(attestation.created_at) },
    ];
    if (!divergesSinceFix(record.fixedAt, facts)) return;
    await this.change(outPath, LILAC_ITSELF, (before) => (before.status === 'fixed' ? { ...before, status: 'investigating', reopened: true } : before));
  }

  /** Compare-and-set on the record's version, so two maintainers' changes never overwrite each other's history. */
  private async change(outPath: string, by: string, next: (before: TriageFields) => TriageFields): Promise<{ record: TriageRecord; entry: TriageHistoryEntry | null }> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const existing = await this.find(outPath);
      const before = fieldsOf(existing);
      const after = next(before);
      const changes = changesBetween(before, after);
      if (existing && changes.length === 0) return { record: existing, entry: null };
      const at = new Date();
      const entry = { at, by, changes };
      const statusChanged = after.status !== before.status;
      const fixedAt = after.status === 'fixed' ? (statusChanged ? at : (existing?.fixedAt ?? at)) : null;
      const fields = { ...after, fixedAt, updatedAt: at, updatedBy: by };
      const written = existing ? await this.replaceIfUnchanged(existing, fields, entry) : await this.insertIfAbsent(outPath, fields, entry);
      if (written) {
        if (written.status === 'fixed') this.fixed.add(outPath);
        else this.fixed.delete(outPath);
        const view = historyEntryView(entry);
        this.events.publish('triage', { outPath, triage: triageView(written), change: view });
        return { record: written, entry: view };
      }
    }
    throw new Error(`triage of ${outPath} kept changing under ${MAX_WRITE_ATTEMPTS} attempts to write it`);
  }

  private async insertIfAbsent(outPath: string, fields: object, entry: object): Promise<TriageRecord | null> {
    try {
      const created = await this.models.Triage.create({ outPath, ...fields, history: [entry], version: 1 });
      return created.toObject() as TriageRecord;
    } catch (error) {
      if (isDuplicateKeyError(error)) return null;
      throw error;
    }
  }

  private async replaceIfUnchanged(existing: TriageRecord, fields: object, entry: object): Promise<TriageRecord | null> {
    return this.models.Triage.findOneAndUpdate(
      { _id: existing._id, version: existing.version },
      { $set: { ...fields, history: [...existing.history, entry], version: existing.version + 1 } },
      { new: true },
    ).lean();
  }
}
