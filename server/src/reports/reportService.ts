import { randomBytes } from 'node:crypto';
import {
  InvalidStorePathError,
  VERDICTS,
  type EnqueueSkip,
  type JobRequest,
  type ReportDetail,
  type ReportPath,
  type ReportPathGroup,
  type ReportSummary,
  type Suggestion,
  type Verdict,
  type VerdictChange,
} from '@lilac/common';
import type { EventBus } from '../events/eventBus.ts';
import { notFound } from '../http/errors.ts';
import { compileLinkPattern, invalidPatternReason } from '../linkPatterns/linkPatterns.ts';
import { notOwner } from '../ownership/ownership.ts';
import { parseJobRequests } from '../pool/jobRequests.ts';
import type { Models } from '../store/models.ts';
import { parseCycloneDx } from './cyclonedx.ts';
import { readBlob, writeBlob } from './reportBlobs.ts';
import { withReportLock } from './reportLock.ts';
import { outPathsOf, type ReportGraph } from './reportGraph.ts';
import { renderTextTree } from './textTree.ts';

export const REPORT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
/** Summaries read per `$in` query. */
const LOOKUP_BATCH = 5_000;
const LOOKUP_PARALLELISM = 2;
/**
 * A report's verdicts follow this process's ingest as it happens; what another
 * server process ingested shows after at most this long, when they are read again.
 */
const OTHER_PROCESSES_MAX_LAG_MS = 60_000;
const SUGGESTIONS = 50;

interface PathState {
  verdict: Verdict;
  attestedBy: string[];
}

/** A report's verdicts and attesting builders per path, as read from the store and followed since. */
interface ReportStates {
  readonly byPath: Map<string, PathState>;
  readonly counts: Record<Verdict, number>;
  readonly readAt: number;
}

interface LoadedReport {
  readonly name: string;
  readonly version: string;
  readonly graph: ReportGraph;
  readonly outPaths: readonly string[];
  readonly pathSet: ReadonlySet<string>;
  states: ReportStates | null;
  reading: Promise<ReportStates> | null;
  /** Outputs that changed while `reading` was in flight, which its answer may predate. */
  readonly changedWhileReading: Set<string>;
}

export function zeroCounts(): Record<Verdict, number> {
  return Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])) as Record<Verdict, number>;
}

function shuffled<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other] as T, items[index] as T];
  }
  return items;
}

/**
 * Reports: an uploaded SBOM kept byte-exact, its normalised graph, and the
 * views over it. Verdicts come from the per-output summaries, read in large
 * `$in` batches once per report and then kept current from `verdict` and
 * `attestation` events (which also drive `report:progress`): reading 50,000
 * summaries out of the embedded FerretDB takes seconds, patching one is free.
 */
export class ReportService {
  private readonly loaded = new Map<string, LoadedReport>();

  constructor(
    private readonly models: Models,
    private readonly events: EventBus,
  ) {
    events.subscribe('verdict', (change) => this.followVerdict(change));
    events.subscribe('attestation', (attestation) => this.followAttestation(attestation.output_path, attestation.builder));
  }

  /**
   * Defines a report owned by `owner`, or replaces one `owner` owns; `document` is `raw` parsed.
   * Throws `InvalidSbomError` or `NotOwnerError` and then leaves no blob behind.
   * Concurrent uploads of one report take turns switching to their blobs, so
   * each succeeds and deletes exactly the blobs it replaced.
   */
  async save(name: string, raw: Buffer, document: unknown, owner: string): Promise<{ created: boolean; total: number; components: number }> {
    const graph = parseCycloneDx(document);
    // Refused before writing blobs; checked again under the lock.
    this.assertOwner(await this.models.Report.findOne({ name }).lean(), name, owner);
    const version = `${name}:${randomBytes(8).toString('hex')}`;
    const fields = { version, total: outPathsOf(graph).length, components: graph.nodes.length, sbomBytes: raw.length };
    let previous: { version: string } | null;
    try {
      await writeBlob(this.models, name, version, 'sbom', raw);
      await writeBlob(this.models, name, version, 'graph', Buffer.from(JSON.stringify(graph)));
      previous = await withReportLock(this.models, name, async () => {
        const current = await this.models.Report.findOne({ name }).lean();
        this.assertOwner(current, name, owner);
        if (current) await this.models.Report.updateOne({ name }, { $set: fields });
        else await this.models.Report.create({ name, owner, ...fields });
        return current;
      });
    } catch (error) {
      await this.models.ReportBlob.deleteMany({ version });
      throw error;
    }
    if (previous) await this.models.ReportBlob.deleteMany({ version: previous.version });
    this.loaded.delete(name);
    return { created: previous === null, total: fields.total, components: fields.components };
  }

  private assertOwner(record: { owner?: string | null } | null, name: string, owner: string): void {
    if (record !== null && record.owner !== owner) throw notOwner(`report ${JSON.stringify(name)}`, record.owner, `give-report ${name}`);
  }

  async names(): Promise<string[]> {
    const reports = await this.models.Report.find({}, { name: 1 }).sort({ name: 1 }).lean();
    return reports.map((report) => report.name);
  }

  async sbom(name: string): Promise<Buffer> {
    const record = await this.record(name);
    return readBlob(this.models, record.version, 'sbom');
  }

  async summaries(): Promise<ReportSummary[]> {
    const records = await this.models.Report.find().sort({ name: 1 }).lean();
    const summaries: ReportSummary[] = [];
    for (const record of records) summaries.push(await this.summaryOf(record));
    return summaries;
  }

  async summary(name: string): Promise<ReportSummary> {
    return this.summaryOf(await this.record(name));
  }

  private async summaryOf(record: { name: string; owner?: string | null; updatedAt?: Date | null }): Promise<ReportSummary> {
    const report = await this.load(record.name);
    return {
      name: record.name,
      owner: record.owner ?? null,
      total: report.outPaths.length,
      counts: await this.counts(report),
      updatedAt: (record.updatedAt ?? new Date(0)).toISOString(),
    };
  }

  async detail(name: string): Promise<ReportDetail> {
    const report = await this.load(name);
    const states = await this.statesOf(report);
    const verdictOf = (outPath: string) => states.byPath.get(outPath)?.verdict ?? 'no-builds';
    const counts = { ...states.counts };
    const total = report.outPaths.length;
    const percentages = zeroCounts();
    for (const verdict of VERDICTS) percentages[verdict] = total === 0 ? 0 : Math.round((counts[verdict] / total) * 10_000) / 100;
    return {
      name,
      root: report.graph.root,
      total,
      counts,
      percentages,
      notReproduced: await this.groupByLinkPattern(report, verdictOf),
      tree: {
        nodes: report.graph.nodes.map((node, id) => ({
          id,
          outPath: node.outPath,
          name: node.name,
          verdict: node.outPath === null ? null : verdictOf(node.outPath),
          children: [...(report.graph.children[id] ?? [])],
        })),
        roots: [report.graph.root],
      },
    };
  }

  async textTree(name: string): Promise<string> {
    const report = await this.load(name);
    const { byPath } = await this.statesOf(report);
    return renderTextTree(report.graph, (outPath) => byPath.get(outPath)?.verdict ?? 'no-builds');
  }

  /**
   * Every output of the report the pool can rebuild, once each, in report
   * order, and how many components it cannot and why (an enqueue that adds
   * nothing must say so).
   */
  async rebuildableOutputs(name: string): Promise<{ outputs: JobRequest[]; skipped: EnqueueSkip[] }> {
    const report = await this.load(name);
    const seen = new Set<string>();
    const outputs: JobRequest[] = [];
    let withoutOutPath = 0;
    let withoutDrvPath = 0;
    const misnamed: string[] = [];
    for (const node of report.graph.nodes) {
      if (node.outPath === null) {
        withoutOutPath += 1;
        continue;
      }
      if (seen.has(node.outPath)) continue;
      seen.add(node.outPath);
      if (node.drvPath === null) {
        withoutDrvPath += 1;
        continue;
      }
      const candidate = { drvPath: node.drvPath, output: node.output ?? 'out', outPath: node.outPath };
      // An SBOM may name an output Nix would not (a guessed `out`): the pool finds a job's output by its path.
      try {
        outputs.push(...parseJobRequests([candidate]));
      } catch (error) {
        if (!(error instanceof InvalidStorePathError)) throw error;
        misnamed.push(`${node.outPath}: ${error.message.replace(/^item 0: /, '')}`);
      }
    }
    const components = (count: number) => `${count} component${count === 1 ? '' : 's'}`;
    const skipped: EnqueueSkip[] = [];
    if (withoutOutPath > 0) skipped.push({ count: withoutOutPath, reason: `${components(withoutOutPath)} ${withoutOutPath === 1 ? 'has' : 'have'} no output path (no nix:out_path, and ${withoutOutPath === 1 ? 'its bom-ref is not one' : 'their bom-refs are not ones'})` });
    if (withoutDrvPath > 0) skipped.push({ count: withoutDrvPath, reason: `${components(withoutDrvPath)} ${withoutDrvPath === 1 ? 'lacks' : 'lack'} nix:drv_path` });
    if (misnamed.length > 0) {
      const possessive = misnamed.length === 1 ? `1 component's output path does` : `${misnamed.length} components' output paths do`;
      skipped.push({ count: misnamed.length, reason: `${possessive} not match ${misnamed.length === 1 ? 'its' : 'their'} derivation and nix:output (e.g. ${misnamed[0]})` });
    }
    return { outputs, skipped };
  }

  /** Up to 50 outputs worth rebuilding, shuffled: not reproduced yet and not attested by `builder`. */
  async suggest(name: string, builder: string): Promise<Suggestion[]> {
    const report = await this.load(name);
    const { byPath } = await this.statesOf(report);
    const seen = new Set<string>();
    const candidates: Suggestion[] = [];
    for (const node of report.graph.nodes) {
      if (node.outPath === null || node.drvPath === null || seen.has(node.outPath)) continue;
      seen.add(node.outPath);
      const state = byPath.get(node.outPath);
      if (state?.verdict === 'reproduced' || state?.attestedBy.includes(builder)) continue;
      candidates.push({ drv_path: node.drvPath, output: node.output ?? 'out', out_path: node.outPath });
    }
    return shuffled(candidates).slice(0, SUGGESTIONS);
  }

  private async groupByLinkPattern(report: LoadedReport, verdictOf: (outPath: string) => Verdict): Promise<ReportPathGroup[]> {
    // A pattern stored before patterns were checked with RE2 may not compile: it links nothing.
    const patterns = (await this.models.LinkPattern.find().sort({ createdAt: 1 }).lean()).flatMap((record) =>
      invalidPatternReason(record.pattern) === null ? [{ pattern: record.pattern, link: record.link, regex: compileLinkPattern(record.pattern) }] : [],
    );
    const groups = new Map<string | null, ReportPathGroup>();
    const seen = new Set<string>();
    for (const node of report.graph.nodes) {
      if (node.outPath === null || seen.has(node.outPath)) continue;
      seen.add(node.outPath);
      const verdict = verdictOf(node.outPath);
      if (verdict !== 'partially-reproduced' && verdict !== 'nondeterministic') continue;
      const match = patterns.find((candidate) => candidate.regex.test(node.name)) ?? null;
      const key = match?.pattern ?? null;
      let group = groups.get(key);
      if (!group) {
        group = { pattern: key, link: match?.link ?? null, paths: [] };
        groups.set(key, group);
      }
      const path: ReportPath = { outPath: node.outPath, drvPath: node.drvPath, name: node.name, verdict };
      group.paths.push(path);
    }
    // Linked groups first, the unmatched rest last.
    return [...groups.values()].sort((a, b) => (a.pattern === null ? 1 : b.pattern === null ? -1 : a.pattern.localeCompare(b.pattern)));
  }

  private async counts(report: LoadedReport): Promise<Record<Verdict, number>> {
    return { ...(await this.statesOf(report)).counts };
  }

  private statesOf(report: LoadedReport): Promise<ReportStates> {
    if (report.states && Date.now() - report.states.readAt < OTHER_PROCESSES_MAX_LAG_MS) return Promise.resolve(report.states);
    report.reading ??= this.readStates(report).finally(() => {
      report.reading = null;
    });
    return report.reading;
  }

  private async readStates(report: LoadedReport): Promise<ReportStates> {
    report.changedWhileReading.clear();
    const readAt = Date.now();
    const byPath = await this.lookUp(report.outPaths);
    // Events only patch states already read, so what changed during the long read is read again, by key.
    for (let round = 0; round < 10 && report.changedWhileReading.size > 0; round++) {
      const changed = [...report.changedWhileReading];
      report.changedWhileReading.clear();
      for (const [outPath, state] of await this.lookUp(changed)) byPath.set(outPath, state);
    }
    const counts = zeroCounts();
    for (const outPath of report.outPaths) counts[byPath.get(outPath)?.verdict ?? 'no-builds'] += 1;
    report.states = { byPath, counts, readAt };
    return report.states;
  }

  /** Verdicts and attesting builders of many paths: a few large indexed `$in` reads, never one per path. */
  private async lookUp(outPaths: readonly string[]): Promise<Map<string, PathState>> {
    const states = new Map<string, PathState>();
    const batches: string[][] = [];
    for (let offset = 0; offset < outPaths.length; offset += LOOKUP_BATCH) batches.push(outPaths.slice(offset, offset + LOOKUP_BATCH));
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++] as string[];
        const summaries = await this.models.OutputSummary.find({ outPath: { $in: batch } }, { _id: 0, outPath: 1, verdict: 1, attestedBy: 1 }).lean();
        for (const summary of summaries) states.set(summary.outPath, { verdict: summary.verdict as Verdict, attestedBy: [...summary.attestedBy] });
      }
    };
    await Promise.all(Array.from({ length: LOOKUP_PARALLELISM }, worker));
    return states;
  }

  private async record(name: string) {
    const record = await this.models.Report.findOne({ name }).lean();
    if (!record) throw notFound(`no report named ${JSON.stringify(name)}`);
    return record;
  }

  private async load(name: string): Promise<LoadedReport> {
    const record = await this.record(name);
    const cached = this.loaded.get(name);
    if (cached?.version === record.version) return cached;
    const graph = JSON.parse((await readBlob(this.models, record.version, 'graph')).toString('utf8')) as ReportGraph;
    const outPaths = outPathsOf(graph);
    const report: LoadedReport = { name, version: record.version, graph, outPaths, pathSet: new Set(outPaths), states: null, reading: null, changedWhileReading: new Set() };
    this.loaded.set(name, report);
    return report;
  }

  /** The state of `outPath` in each loaded report that holds it, created when the store had none. */
  private *statesFollowing(outPath: string): Generator<{ report: LoadedReport; states: ReportStates; state: PathState }> {
    for (const report of this.loaded.values()) {
      if (!report.pathSet.has(outPath)) continue;
      if (report.reading) report.changedWhileReading.add(outPath);
      const { states } = report;
      if (!states) continue;
      let state = states.byPath.get(outPath);
      if (!state) {
        state = { verdict: 'no-builds', attestedBy: [] };
        states.byPath.set(outPath, state);
      }
      yield { report, states, state };
    }
  }

  private followAttestation(outPath: string, builder: string): void {
    for (const { state } of this.statesFollowing(outPath)) {
      if (!state.attestedBy.includes(builder)) state.attestedBy.push(builder);
    }
  }

  private followVerdict(change: VerdictChange): void {
    for (const { report, states, state } of this.statesFollowing(change.outPath)) {
      if (state.verdict === change.verdict) continue;
      states.counts[state.verdict] = Math.max(0, states.counts[state.verdict] - 1);
      states.counts[change.verdict] += 1;
      state.verdict = change.verdict;
      this.events.publish('report:progress', { report: report.name, total: report.outPaths.length, counts: { ...states.counts } });
    }
  }
}
