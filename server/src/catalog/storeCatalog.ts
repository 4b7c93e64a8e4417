import { parseStorePath, type AttestationView, type Verdict, type VerdictChange } from '@lilac/common';
import { attestationIdsOf } from '../attestations/attestationsOf.ts';
import { MAX_CLAIMS } from '../attestations/derivationClaims.ts';
import { statementsOf } from '../attestations/hashGroups.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import { zeroCounts } from '../reports/reportService.ts';
import type { Models } from '../store/models.ts';

/** How old the catalog may grow before the next reader starts a recount; other server processes' writes show within this, or within `RECOUNT_SPACING` scans' time. */
export const RECOUNT_AFTER_MS = 60_000;
/**
 * A recount waits after the last scan (finished, failed or dropped) this many times as long as that
 * scan took: a scan reads every summary (minutes at a million attestations), and a monitor left open
 * asks for totals all the time, so without this the store would be scanning without end, at the cost
 * of ingest.
 */
export const RECOUNT_SPACING = 9;

/** How often the totals shown to readers are stored, for a restarted server to show while it counts. */
const STORE_TOTALS_EVERY_MS = 60_000;
const STORED_TOTALS_ID = 'totals';

export interface CatalogTotals {
  readonly verdicts: Record<Verdict, number>;
  readonly attestations: number;
  /** When the stored totals shown were taken; null once this process has counted. */
  readonly countedAt: Date | null;
}

/** Attestation `_id`s per read when reading the outputs whose summaries stopped recording derivations. */
const CAPPED_READ = 1_000;

type Change = { kind: 'attestation'; view: AttestationView } | { kind: 'verdict'; change: VerdictChange };

function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): boolean {
  const values = map.get(key);
  if (!values) {
    map.set(key, [value]);
    return true;
  }
  if (values.includes(value)) return false;
  values.push(value);
  return true;
}

/** One consistent picture of the store, built by one scan and then kept current by the event bus. */
class CatalogState {
  readonly verdicts = zeroCounts();
  attestations = 0;
  readonly attestationsByBuilder = new Map<string, number>();
  /** Every output counted in `verdicts`. */
  readonly outputs = new Set<string>();
  readonly derivationsByDigest = new Map<string, string[]>();
  readonly outputsByDerivation = new Map<string, string[]>();
  private sortedDerivations: string[] | null = null;

  addOutput(outPath: string, drvPath: string | null): boolean {
    const added = !this.outputs.has(outPath);
    this.outputs.add(outPath);
    if (drvPath !== null) {
      this.addDerivation(drvPath);
      addTo(this.outputsByDerivation, drvPath, outPath);
    }
    return added;
  }

  addDerivation(drvPath: string): void {
    if (addTo(this.derivationsByDigest, parseStorePath(drvPath).digest, drvPath)) this.sortedDerivations = null;
  }

  apply(change: Change): void {
    if (change.kind === 'verdict') {
      // Only a first scan replays changes it may already hold; a count never goes below zero for that.
      this.verdicts[change.change.previous] = Math.max(0, this.verdicts[change.change.previous] - 1);
      this.verdicts[change.change.verdict]++;
      return;
    }
    const { output_path: outPath, drv_path: drvPath, builder } = change.view;
    this.countAttestation(builder);
    // Ingest publishes an output's first attestation before its first verdict change, which moves it out of `no-builds`.
    if (this.addOutput(outPath, drvPath)) this.verdicts['no-builds']++;
  }

  countAttestation(builder: string): void {
    this.attestations++;
    this.attestationsByBuilder.set(builder, (this.attestationsByBuilder.get(builder) ?? 0) + 1);
  }

  derivationPaths(): readonly string[] {
    this.sortedDerivations ??= [...this.derivationsByDigest.values()].flat().sort();
    return this.sortedDerivations;
  }
}

/**
 * What anonymous readers ask about the whole store — totals per verdict and per
 * builder, which derivation a digest names, a derivation's outputs —
 * answered from memory. FerretDB 1.24 serves no index but `_id`, so each of
 * these was a scan of a whole collection per request (seconds at 15,500
 * attestations, and readers slowed ingest eightfold). The catalog is built by
 * one scan, follows this process's ingest through the event bus at once, and
 * is recounted (one scan in the background, however many readers) once it is
 * older than `RECOUNT_AFTER_MS` (or `RECOUNT_SPACING`), which brings in other processes' writes; a
 * recount during which this process ingested is dropped, and the one after it
 * waits as long as after any other (so under this process's steady ingest,
 * other processes' writes show only at a quiet moment). A resubmission whose signature now verifies counts once more until a
 * recount.
 */
export class StoreCatalog {
  private state: CatalogState | null = null;
  private recountDueAt = 0;
  private storedTotalsRead: Promise<CatalogTotals | null> | null = null;
  private totalsStoredAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<CatalogState> | null = null;
  /** Changes seen while a scan runs: the scan may have read the store before they were written. */
  private pending: Change[] | null = null;

  constructor(
    private readonly models: Models,
    events: EventBus,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    // The bus lives exactly as long as this server, so the subscriptions need no teardown.
    events.subscribe('attestation', (view) => this.record({ kind: 'attestation', view }));
    events.subscribe('verdict', (change) => this.record({ kind: 'verdict', change }));
  }

  /**
   * Outputs per verdict and attestations. Before the first scan is done they are the totals stored
   * when a process last showed them, with that time as `countedAt` (a scan of a large store takes
   * minutes); once counted, `countedAt` is null.
   */
  async totals(): Promise<CatalogTotals> {
    if (this.state === null) {
      // A first count that failed is not started again by every reader the stored totals can answer.
      if (this.loading !== null || this.now() > this.recountDueAt) void this.recount();
      const stored = await this.storedTotals();
      if (stored !== null && this.state === null) return stored;
    }
    const state = await this.current();
    this.storeTotalsNowAndThen(state);
    return { verdicts: { ...state.verdicts }, attestations: state.attestations, countedAt: null };
  }

  async attestationsBy(builder: string): Promise<number> {
    return (await this.current()).attestationsByBuilder.get(builder) ?? 0;
  }

  async derivationsWithDigest(digest: string): Promise<readonly string[]> {
    return (await this.current()).derivationsByDigest.get(digest) ?? [];
  }

  /** Outputs attested as built from `drvPath`. */
  async outputsOf(drvPath: string): Promise<readonly string[]> {
    return (await this.current()).outputsByDerivation.get(drvPath) ?? [];
  }

  /** Every derivation something was attested for, sorted. */
  async derivationPaths(): Promise<readonly string[]> {
    return (await this.current()).derivationPaths();
  }

  private storedTotals(): Promise<CatalogTotals | null> {
    this.storedTotalsRead ??= this.models.StoredTotals.findById(STORED_TOTALS_ID)
      .lean()
      .then((stored) => stored && { verdicts: { ...zeroCounts(), ...(stored.verdicts as Partial<Record<Verdict, number>>) }, attestations: stored.attestations, countedAt: stored.countedAt })
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'reading the stored catalog totals failed; readers wait for the count, or read them again');
        this.storedTotalsRead = null;
        return null;
      });
    return this.storedTotalsRead;
  }

  /** Keeps the stored totals within `STORE_TOTALS_EVERY_MS` of what readers were shown, for the next start. */
  private storeTotalsNowAndThen(state: CatalogState): void {
    const now = this.now();
    if (now - this.totalsStoredAt < STORE_TOTALS_EVERY_MS) return;
    this.totalsStoredAt = now;
    this.models.StoredTotals.updateOne(
      { _id: STORED_TOTALS_ID },
      { $set: { verdicts: { ...state.verdicts }, attestations: state.attestations, countedAt: new Date(now) } },
      { upsert: true },
    ).catch((error: unknown) => this.log.warn({ err: error }, 'storing the catalog totals failed; a reader a minute later tries again'));
  }

  private record(change: Change): void {
    this.state?.apply(change);
    this.pending?.push(change);
  }

  private async current(): Promise<CatalogState> {
    if (this.state === null) return this.recount();
    if (this.now() > this.recountDueAt) void this.recount();
    return this.state;
  }

  /** The scan running, or a new one; its failure is logged here, once, and reaches only the readers that wait for it. */
  private recount(): Promise<CatalogState> {
    if (this.loading === null) {
      const loading = this.scan().finally(() => {
        this.loading = null;
        this.pending = null;
      });
      loading.catch((error: unknown) => this.log.warn({ err: error }, 'counting the store catalog failed; the counts shown stay'));
      this.loading = loading;
    }
    return this.loading;
  }

  private async scan(): Promise<CatalogState> {
    const started = this.now();
    try {
      return await this.read();
    } finally {
      const finished = this.now();
      this.recountDueAt = Math.max(started + RECOUNT_AFTER_MS, finished + RECOUNT_SPACING * (finished - started));
    }
  }

  private async read(): Promise<CatalogState> {
    this.pending = [];
    const state = new CatalogState();
    const { OutputSummary, Attestation } = this.models;
    const capped: string[] = [];
    for await (const summary of OutputSummary.find({}, { outPath: 1, drvPath: 1, verdict: 1, hashes: 1, derivationClaims: 1 }).lean().cursor()) {
      state.addOutput(summary.outPath, summary.drvPath ?? null);
      state.verdicts[summary.verdict as Verdict]++;
      // A summary holds one attestation per builder and hash (`attestationId`), so they are counted without reading them.
      for (const { builder } of statementsOf(summary.hashes)) state.countAttestation(builder);
      for (const claim of summary.derivationClaims) state.addDerivation(claim.drvPath);
      if (summary.derivationClaims.length >= MAX_CLAIMS) capped.push(...attestationIdsOf(summary.outPath, summary.hashes));
    }
    // Every derivation an attestation names, whatever its signature: past MAX_CLAIMS an output's summary stops
    // recording them (a fixed-output source fetched by many nixpkgs revisions), so those outputs' attestations say.
    for (let start = 0; start < capped.length; start += CAPPED_READ) {
      const ids = capped.slice(start, start + CAPPED_READ);
      for (const { drvPath } of await Attestation.find({ _id: { $in: ids } }, { _id: 0, drvPath: 1 }).lean()) {
        if (typeof drvPath === 'string') state.addDerivation(drvPath);
      }
    }
    const changedMeanwhile = this.pending ?? [];
    if (this.state !== null && changedMeanwhile.length > 0) {
      // The scan read the store while this process wrote to it, so it may or may not hold those writes; the events
      // kept the current counts exact for this process, so they stay, and a later reader recounts.
      return this.state;
    }
    for (const change of changedMeanwhile) state.apply(change);
    this.state = state;
    return state;
  }
}
