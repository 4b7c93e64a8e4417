import type { HashGroup, OutputSummaryView, Verdict } from '@lilac/common';
import { insertNew } from '../store/insertNew.ts';
import type { Models } from '../store/models.ts';
import type { AttestationRecord } from './attestationModel.ts';
import { chosenDerivation, withClaim, type DerivationClaim } from './derivationClaims.ts';
import { allBuildersOf, verifiedBuildersOf, withStatement } from './hashGroups.ts';
import { decideVerdict } from './verdict.ts';

const MAX_ATTEMPTS = 200;

export interface SummaryFold {
  readonly before: HashGroup[];
  readonly after: OutputSummaryView;
  readonly previous: Verdict;
  /** The hash groups changed (a statement new to the summary). */
  readonly counted: boolean;
}

/** An output summary as the driver reads it (`outputSummaryModel.ts`). */
interface StoredSummary {
  _id: string;
  outPath: string;
  drvPath: string | null;
  output: string | null;
  derivationClaims: DerivationClaim[];
  hashes: HashGroup[];
  verdict: Verdict;
  verifiedBuilderCount: number;
  attestedBy: string[];
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

type Fields = Omit<StoredSummary, '_id' | 'outPath' | 'revision' | 'createdAt' | 'updatedAt'>;

/** What one output's summary becomes with a group's statements folded in. */
interface Planned {
  readonly outPath: string;
  readonly current: StoredSummary | null;
  /** Null: the statements were all there already. */
  readonly fields: Fields | null;
  readonly counted: boolean;
}

function viewOf(outPath: string, fields: Pick<Fields, 'drvPath' | 'verdict' | 'hashes'>, updatedAt: Date): OutputSummaryView {
  return { outPath, drvPath: fields.drvPath ?? null, verdict: fields.verdict, hashes: fields.hashes, updatedAt: updatedAt.toISOString() };
}

function plan(outPath: string, current: StoredSummary | null, records: readonly AttestationRecord[]): Planned {
  const before = current?.hashes ?? [];
  const claimsBefore: DerivationClaim[] = (current?.derivationClaims ?? []).map((stored) => ({ ...stored, output: stored.output ?? null }));
  let hashes = before;
  let claims = claimsBefore;
  let counted = false;
  let claimed = false;
  for (const record of records) {
    const verified = record.signatureStatus === 'valid';
    const folded = withStatement(hashes, { builder: record.builder, narHash: record.narHash, verified });
    if (folded) [hashes, counted] = [folded, true];
    const claim = record.drvPath ? withClaim(claims, { drvPath: record.drvPath, output: record.output ?? null, builder: record.builder, verified }) : null;
    if (claim) [claims, claimed] = [claim, true];
  }
  if (current && !counted && !claimed) return { outPath, current, fields: null, counted: false };
  const derivation = chosenDerivation(claims);
  return {
    outPath,
    current,
    counted,
    fields: {
      hashes,
      verdict: decideVerdict(hashes),
      verifiedBuilderCount: verifiedBuildersOf(hashes).length,
      attestedBy: allBuildersOf(hashes),
      derivationClaims: claims,
      drvPath: derivation?.drvPath ?? current?.drvPath ?? null,
      output: derivation?.output ?? current?.output ?? null,
    },
  };
}

function sameFields(stored: StoredSummary, fields: Fields): boolean {
  return JSON.stringify([stored.hashes, stored.derivationClaims]) === JSON.stringify([fields.hashes, fields.derivationClaims]);
}

/**
 * Folds statements into output summaries, many outputs per round trip:
 * one read of every summary concerned (`_id: {$in}`, the index every store
 * serves), then at once an insert of the new ones and a bulk of
 * compare-and-set updates on `revision`. An update whose revision moved on (another server process
 * wrote) is read and folded again, so concurrent submitters never lose a
 * statement. FerretDB 1.24 runs an update as a read then a write, so the
 * revision check alone can lose an update between writers of one process:
 * this process's folds therefore take turns.
 */
export class SummaryFolding {
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly models: Models) {}

  /**
   * Folds the records in once they are stored: the summaries of `outPaths`
   * (the records' outputs) are read meanwhile, as soon as no earlier fold of
   * this process is running, so a group's attestations and its summaries'
   * read share one round trip's time.
   */
  fold(outPaths: readonly string[], stored: Promise<readonly AttestationRecord[]>): Promise<Map<string, SummaryFold>> {
    // Its failure is the fold's, seen once the turn comes: meanwhile it must not count as unhandled.
    stored.catch(() => undefined);
    const folding = this.turn.then(() => this.foldAll(outPaths, stored));
    this.turn = folding.catch(() => undefined);
    return folding;
  }

  private async foldAll(outPaths: readonly string[], stored: Promise<readonly AttestationRecord[]>): Promise<Map<string, SummaryFold>> {
    // An empty `_id: {$in: []}` is no index look-up on FerretDB but a scan of every summary.
    const firstRead = outPaths.length === 0 ? Promise.resolve(new Map<string, StoredSummary>()) : this.read([...new Set(outPaths)]);
    const [records, firstSummaries] = await Promise.all([stored, firstRead]);
    const statements = new Map<string, AttestationRecord[]>();
    for (const record of records) {
      const list = statements.get(record.outPath);
      if (list) list.push(record);
      else statements.set(record.outPath, [record]);
    }
    const folds = new Map<string, SummaryFold>();
    let pending = [...statements.keys()];
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_ATTEMPTS) throw new Error(`summaries of ${pending.length} outputs (${pending[0]}, …) kept changing under ${MAX_ATTEMPTS} attempts`);
      if (attempt > 8) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
      const current = attempt === 0 ? firstSummaries : await this.read(pending);
      const plans = pending.map((outPath) => plan(outPath, current.get(outPath) ?? null, statements.get(outPath) ?? []));
      const now = new Date();
      const unchanged = plans.filter((planned) => planned.fields === null);
      for (const { outPath, current: stored } of unchanged) {
        const summary = stored as StoredSummary;
        const after = viewOf(outPath, summary, summary.updatedAt ?? new Date(0));
        folds.set(outPath, { before: summary.hashes, after, previous: summary.verdict, counted: false });
      }
      const written = (
        await Promise.all([
          this.create(plans.filter((planned) => planned.fields !== null && planned.current === null), now),
          this.update(plans.filter((planned) => planned.fields !== null && planned.current !== null), now),
        ])
      ).flat();
      for (const planned of written) {
        const fields = planned.fields as Fields;
        folds.set(planned.outPath, {
          before: planned.current?.hashes ?? [],
          after: viewOf(planned.outPath, fields, now),
          previous: planned.current?.verdict ?? 'no-builds',
          counted: planned.counted,
        });
      }
      const done = new Set([...unchanged, ...written].map((planned) => planned.outPath));
      pending = pending.filter((outPath) => !done.has(outPath));
    }
    return folds;
  }

  private async read(outPaths: readonly string[]): Promise<Map<string, StoredSummary>> {
    // A summary's `_id` is its output path (outputSummaryModel.ts).
    const found = (await this.models.OutputSummary.collection.find({ _id: { $in: outPaths } } as never).toArray()) as unknown as StoredSummary[];
    return new Map(found.map((summary) => [summary.outPath, summary]));
  }

  /** Returns the plans whose summary this wrote; one another writer created first is folded again. */
  private async create(plans: readonly Planned[], now: Date): Promise<Planned[]> {
    const taken = await insertNew(
      this.models.OutputSummary.collection,
      plans.map(({ outPath, fields }) => ({ _id: outPath, outPath, ...fields, revision: 1, createdAt: now, updatedAt: now })),
    );
    return plans.filter((_, index) => !taken.has(index));
  }

  /** Returns the plans whose summary this updated; one whose revision moved on is folded again. */
  private async update(plans: readonly Planned[], now: Date): Promise<Planned[]> {
    if (plans.length === 0) return [];
    const collection = this.models.OutputSummary.collection;
    const result = await collection.bulkWrite(
      plans.map(({ outPath, current, fields }) => ({
        updateOne: {
          filter: { _id: outPath, revision: (current as StoredSummary).revision } as never,
          update: { $set: { ...fields, updatedAt: now }, $inc: { revision: 1 } },
        },
      })),
      { ordered: false },
    );
    if (result.matchedCount === plans.length) return [...plans];
    // Which of them missed the bulk result does not say: those now at the revision after the one read, holding what was written, were this writer's.
    const after = await this.read(plans.map((planned) => planned.outPath));
    return plans.filter(({ outPath, current, fields }) => {
      const stored = after.get(outPath);
      return stored !== undefined && stored.revision === (current as StoredSummary).revision + 1 && sameFields(stored, fields as Fields);
    });
  }
}
