import type { VerdictChange } from '@lilac/common';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';
import { LiveReport } from './liveReport.ts';
import { readBlob } from './reportBlobs.ts';
import type { ReportGraph } from './reportGraph.ts';
import { codeOf, currentCodes, readReportState, storeBuiltState, storeCurrentVerdicts } from './reportStates.ts';

/** What another server process changed shows here within this (docs/design.md promises a minute). */
export const OTHER_PROCESSES_MAX_LAG_MS = 60_000;

export interface ReportStateTiming {
  /** How soon this process stores its own verdict changes into the reports' states. */
  readonly storeEveryMs: number;
  /** How often it reads the list of reports and their stored states, which brings in other processes' changes. */
  readonly refreshEveryMs: number;
  /**
   * How often it compares every report with the output summaries. That
   * repairs what a process that crashed changed and never stored (and each
   * process does it for every report it loads, so also at start-up).
   */
  readonly reconcileEveryMs: number;
  /** How long after loading a report it is compared with the summaries: a server that just started answers first. */
  readonly reconcileAfterLoadMs: number;
}

export const DEFAULT_REPORT_STATE_TIMING: ReportStateTiming = { storeEveryMs: 1_000, refreshEveryMs: 20_000, reconcileEveryMs: 10 * 60_000, reconcileAfterLoadMs: 15_000 };

interface VersionRecord {
  readonly name: string;
  readonly version: string;
}

/**
 * Every report this process knows, with each path's verdict, kept current:
 * read from `report_states` in one round trip, patched from this process's
 * `verdict` events at once, stored back within a second, re-read every 20 s
 * for what other processes stored, and compared with the output summaries
 * in the background when loaded and every 10 minutes. All reports are loaded
 * (at start-up and when the list changes), since a verdict this process
 * decides must reach every report that holds the path.
 */
export class LiveReports {
  /** Loaded or loading report versions; `following` the ones verdict changes are applied to. */
  private readonly versions = new Map<string, Promise<LiveReport>>();
  private readonly following = new Set<LiveReport>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private reconciling: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly models: Models,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly timing: ReportStateTiming = DEFAULT_REPORT_STATE_TIMING,
    private readonly now: () => number = Date.now,
  ) {
    events.subscribe('verdict', (change) => this.follow(change));
  }

  start(): void {
    this.track(this.refreshAll());
    const every = (ms: number, work: () => Promise<unknown>) => {
      // A round still running (a store that is slow, a lock left by a dead process) is not joined by another.
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        this.track(work().finally(() => (running = false)));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.timing.storeEveryMs, () => this.storeAll());
    every(this.timing.refreshEveryMs, () => this.refreshAll());
    every(this.timing.reconcileEveryMs, async () => {
      for (const live of this.following) this.scheduleReconcile(live);
    });
  }

  /** Stops the timers, waits for work under way, and stores what this process changed, so the store is not closed under it. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.allSettled([...this.inFlight, this.reconciling]);
    await this.storeAll();
  }

  /** The report version `record` names, loaded if this process does not hold it yet. */
  async get(record: VersionRecord): Promise<LiveReport> {
    const live = await (this.versions.get(record.version) ?? this.load(record));
    if (this.now() - live.syncedAt > OTHER_PROCESSES_MAX_LAG_MS) await this.refresh(live);
    return live;
  }

  /**
   * The counts of a version this process follows with its verdicts read, without
   * loading it; synchronous, so an upload asks between its switch and `uploaded`
   * without letting another upload's `uploaded` come first.
   */
  countsIfLoaded(version: string): LiveReport['counts'] | null {
    for (const live of this.following) if (live.version === version && live.ready) return { ...live.counts };
    return null;
  }

  /**
   * An upload switched report `name` to `version`: its state is built from
   * the summaries in the background (a 50,000-path report takes seconds on
   * the embedded store), and readers in this process wait for it; another
   * process that reads it before it is stored builds one too. Resolves once
   * built, even if another upload replaced it meanwhile.
   */
  uploaded(record: VersionRecord, graph: ReportGraph): Promise<LiveReport> {
    const live = new LiveReport(record.name, record.version, graph);
    for (const other of this.following) if (other.name === live.name) this.retire(other);
    this.following.add(live);
    const building = live.inTurn(() => this.build(live)).then(
      () => live,
      (error: unknown) => {
        this.retire(live);
        throw error;
      },
    );
    this.versions.set(live.version, building);
    this.track(building);
    return building;
  }

  private retire(live: LiveReport): void {
    this.following.delete(live);
    this.versions.delete(live.version);
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.log.warn({ err: error }, 'keeping report states current failed; retrying at the next round'));
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private load(record: VersionRecord): Promise<LiveReport> {
    const loading = this.loadVersion(record).catch((error: unknown) => {
      this.versions.delete(record.version);
      throw error;
    });
    this.versions.set(record.version, loading);
    return loading;
  }

  private async loadVersion({ name, version }: VersionRecord): Promise<LiveReport> {
    const graph = JSON.parse((await readBlob(this.models, version, 'graph')).toString('utf8')) as ReportGraph;
    const live = new LiveReport(name, version, graph);
    // Followed before the state is read, so no verdict this process decides falls between the two.
    this.following.add(live);
    try {
      const readAt = this.now();
      const stored = await readReportState(this.models, version, live.outPaths.length);
      if (stored) {
        live.adopt(stored, readAt);
        const timer = setTimeout(() => this.scheduleReconcile(live), this.timing.reconcileAfterLoadMs);
        timer.unref();
        this.timers.push(timer);
      } else {
        await live.inTurn(() => this.build(live));
      }
    } catch (error) {
      this.following.delete(live);
      throw error;
    }
    return live;
  }

  /** Builds `live`'s state from the summaries and stores it, unless another process stored a usable one first. */
  private async build(live: LiveReport): Promise<void> {
    const readAt = this.now();
    const codes = await currentCodes(this.models, live.outPaths);
    const stored = await storeBuiltState(this.models, live.name, live.version, codes);
    if (stored !== codes) {
      // Where the other process's state and the summaries just read differ, a store re-reads the summaries.
      for (let index = 0; index < codes.length; index++) {
        if (stored[index] !== codes[index] && !live.pending.has(index)) {
          live.pending.add(index);
          live.set(index, codes[index] as number);
        }
      }
    }
    if (live.adopt(stored, readAt)) this.publishProgress(live);
  }

  private refresh(live: LiveReport): Promise<void> {
    return live.inTurn(async () => {
      const readAt = this.now();
      const stored = await readReportState(this.models, live.version, live.outPaths.length);
      if (!stored) return this.following.has(live) ? this.build(live) : undefined;
      if (live.adopt(stored, readAt)) this.publishProgress(live);
    });
  }

  /** Stores this process's verdict changes of `live`: each write re-reads those paths' summaries, so it stores the latest. */
  private store(live: LiveReport): Promise<void> {
    return live.inTurn(async () => {
      if (live.pending.size === 0) return;
      const indexes = [...live.pending];
      live.pending.clear();
      try {
        const readAt = this.now();
        const stored = await storeCurrentVerdicts(this.models, live.version, live.outPaths, indexes);
        if (stored && live.adopt(stored, readAt)) this.publishProgress(live);
      } catch (error) {
        for (const index of indexes) live.pending.add(index);
        throw error;
      }
    });
  }

  private async storeAll(): Promise<void> {
    for (const live of this.following) if (live.pending.size > 0) await this.store(live);
  }

  private async refreshAll(): Promise<void> {
    const records = await this.models.Report.find({}, { name: 1, version: 1 }).lean();
    const current = new Set(records.map((record) => record.version));
    for (const live of this.following) if (!current.has(live.version)) this.retire(live);
    for (const record of records) {
      if (this.closed) return;
      const known = this.versions.get(record.version);
      if (!known) {
        await this.load(record);
        continue;
      }
      const live = await known.catch(() => null);
      if (live && this.now() - live.syncedAt >= this.timing.refreshEveryMs / 2) await this.refresh(live);
    }
  }

  /** Compares `live` with the output summaries, one report at a time, and stores where they differ. */
  private scheduleReconcile(live: LiveReport): void {
    this.reconciling = this.reconciling
      .then(() => (this.closed || !this.following.has(live) ? undefined : this.reconcile(live)))
      .catch((error: unknown) => this.log.warn({ err: error, report: live.name }, 'comparing a report with the output summaries failed; retrying at the next round'));
  }

  private async reconcile(live: LiveReport): Promise<void> {
    const truth = await currentCodes(this.models, live.outPaths);
    const differing = await live.inTurn(async () => {
      const readAt = this.now();
      const stored = await readReportState(this.models, live.version, live.outPaths.length);
      if (!stored) return 0;
      if (live.adopt(stored, readAt)) this.publishProgress(live);
      let count = 0;
      for (let index = 0; index < truth.length; index++) {
        if (live.codes[index] !== truth[index] && !live.pending.has(index)) {
          live.pending.add(index);
          count += 1;
        }
      }
      return count;
    });
    if (differing === 0) return;
    this.log.info({ report: live.name, paths: differing }, 'report state differed from the output summaries; storing the summaries’ verdicts');
    await this.store(live);
  }

  private follow(change: VerdictChange): void {
    const code = codeOf(change.verdict);
    for (const live of this.following) {
      const index = live.indexOf.get(change.outPath);
      if (index === undefined) continue;
      live.pending.add(index);
      if (live.set(index, code) && live.ready) this.publishProgress(live);
    }
  }

  private publishProgress(live: LiveReport): void {
    this.events.publish('report:progress', { report: live.name, total: live.outPaths.length, counts: { ...live.counts } });
  }
}
