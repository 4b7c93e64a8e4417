import { createHash, randomBytes } from 'node:crypto';
import {
  InvalidStorePathError,
  VERDICTS,
  type EnqueueSkip,
  type JobRequest,
  type ReportDetail,
  type ReportHistory,
  type ReportPath,
  type ReportPathGroup,
  type ReportSummary,
  type Suggestion,
  type Verdict,
} from '@lilac/common';
import type { EventBus } from '../events/eventBus.ts';
import { notFound } from '../http/errors.ts';
import { compileLinkPattern, invalidPatternReason } from '../linkPatterns/linkPatterns.ts';
import { notOwner } from '../ownership/ownership.ts';
import { parseJobRequests } from '../pool/jobRequests.ts';
import type { Models } from '../store/models.ts';
import { parseCycloneDx, rootAttrPath } from './cyclonedx.ts';
import type { Logger } from '../log.ts';
import { LiveReports, type ReportStateTiming } from './liveReports.ts';
import { zeroCounts, type LiveReport } from './liveReport.ts';
import { readBlob, writeBlob } from './reportBlobs.ts';
import { attrPathOf, readHistory, recordReplaced, recordSnapshot, recordUploadCounts, recordVersion } from './reportHistory.ts';
import { withReportLock } from './reportLock.ts';
import { outPathsOf } from './reportGraph.ts';
import { deleteReportState } from './reportStates.ts';
import { renderTextTree } from './textTree.ts';

export const REPORT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const SUGGESTIONS = 50;
/** Report figures change as attestations arrive; an hourly point is plenty for a chart by day. */
const HISTORY_EVERY_MS = 60 * 60_000;
/** Candidates whose summaries `suggest` reads at a time, until it has enough. */
const SUGGESTION_BATCH = 500;

export { zeroCounts };

interface LinkPatternMatcher {
  readonly pattern: string;
  readonly link: string;
  readonly regex: ReturnType<typeof compileLinkPattern>;
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
 * views over it. Verdicts come from each report's compact state (see
 * `LiveReports`): reading 50,000 summaries out of the embedded FerretDB takes
 * seconds, reading one state document a few milliseconds.
 */
export class ReportService {
  private readonly live: LiveReports;
  private readonly serialised = new WeakMap<LiveReport, { key: string; body: Buffer; etag: string }>();
  /** The figures this process last recorded per version (`<day> <counts>`), so an unchanged report is not written again that day. */
  private readonly recorded = new Map<string, string>();
  private historyTimer: NodeJS.Timeout | null = null;
  /** Uploads' history records being written; closing waits for them. */
  private readonly historyWrites = new Set<Promise<void>>();
  private snapshotting: Promise<void> = Promise.resolve();

  constructor(
    private readonly models: Models,
    events: EventBus,
    private readonly log: Logger,
    timing?: ReportStateTiming,
    /** How often the current figures of every report are recorded for its history (when changed, and once a day). */
    private readonly historyEveryMs = HISTORY_EVERY_MS,
  ) {
    this.live = new LiveReports(models, events, log, timing);
  }

  /** Loads every report and keeps their states current (timers); without it, states are re-read when a minute old. */
  start(): void {
    this.live.start();
    this.historyTimer = setInterval(() => {
      this.snapshotting = this.snapshotting.then(() => this.recordHistory()).catch((error: unknown) => this.log.warn({ err: error }, 'recording report history failed; retrying at the next round'));
    }, this.historyEveryMs);
    this.historyTimer.unref();
  }

  async close(): Promise<void> {
    if (this.historyTimer !== null) clearInterval(this.historyTimer);
    await Promise.all([this.snapshotting, ...this.historyWrites]);
    return this.live.close();
  }

  /**
   * Records each report's current counts as today's point of its history,
   * where they changed since this process last recorded them (or the day
   * did). The timer calls it every hour.
   */
  async recordHistory(now: () => Date = () => new Date()): Promise<void> {
    const records = await this.models.Report.find({}, { name: 1, version: 1, updatedAt: 1 }).lean();
    const current = new Set(records.map((record) => record.version));
    for (const version of this.recorded.keys()) if (!current.has(version)) this.recorded.delete(version);
    for (const record of records) {
      try {
        const live = await this.live.get(record);
        if (!live.ready) continue;
        const at = now();
        const key = `${at.toISOString().slice(0, 10)} ${JSON.stringify(live.counts)}`;
        if (this.recorded.get(record.version) === key) continue;
        await recordSnapshot(this.models, { report: record.name, version: record.version, total: live.outPaths.length, counts: { ...live.counts } }, at, record.updatedAt ?? at);
        this.recorded.set(record.version, key);
      } catch (error) {
        // One report that cannot be read (replaced meanwhile, its blobs gone) does not hold up the others.
        this.log.warn({ err: error, report: record.name }, 'recording the history of a report failed; retrying at the next round');
      }
    }
  }

  /** The report's figures over the last `days` days: a point per upload and per day. */
  async history(name: string, days: number): Promise<ReportHistory> {
    await this.record(name);
    return readHistory(this.models, name, days, new Date());
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
    const replacedCounts = previous ? this.live.countsIfLoaded(previous.version) : null;
    const built = this.live.uploaded({ name, version }, graph);
    if (previous) {
      await this.models.ReportBlob.deleteMany({ version: previous.version });
      await deleteReportState(this.models, previous.version);
    }
    const at = new Date();
    try {
      if (previous) await recordReplaced(this.models, name, previous.version, at, replacedCounts);
      await recordVersion(this.models, { report: name, version, total: fields.total, attrPath: rootAttrPath(document) }, at);
    } catch (error) {
      // The upload has taken effect: a history that cannot be written is no reason to say it failed.
      this.log.warn({ err: error, report: name }, 'recording the history of an upload failed');
    }
    const writing = this.recordUploadCounts(name, version, built, at);
    this.historyWrites.add(writing);
    void writing.finally(() => this.historyWrites.delete(writing));
    return { created: previous === null, total: fields.total, components: fields.components };
  }

  /**
   * The new version's counts once its state is built: in the background,
   * since building takes seconds for 50,000 paths on the embedded store and
   * the upload's answer did not wait for it before history existed. A version
   * replaced before its state was stored has none. Never throws.
   */
  private async recordUploadCounts(name: string, version: string, built: Promise<LiveReport>, at: Date): Promise<void> {
    try {
      const live = await built.catch(() => null);
      if (live === null) return;
      const counts = { ...live.counts };
      await recordUploadCounts(this.models, { report: name, version, total: live.outPaths.length, counts }, at);
      this.recorded.set(version, `${at.toISOString().slice(0, 10)} ${JSON.stringify(counts)}`);
    } catch (error) {
      this.log.warn({ err: error, report: name }, 'recording the counts of an upload failed');
    }
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
      counts: { ...report.counts },
      updatedAt: (record.updatedAt ?? new Date(0)).toISOString(),
    };
  }

  async detail(name: string): Promise<ReportDetail> {
    const report = await this.load(name);
    return this.detailOf(report, await this.linkPatterns(), await attrPathOf(this.models, report.version));
  }

  /**
   * `detail` serialised, with an entity tag: a 50,000-path report's is 11 MB
   * of JSON, so it is kept per report until a verdict or a link pattern changes.
   */
  async detailJson(name: string): Promise<{ body: Buffer; etag: string }> {
    const report = await this.load(name);
    const patterns = await this.linkPatterns();
    const attrPath = await attrPathOf(this.models, report.version);
    const key = `${report.id}:${report.changes}:${JSON.stringify([attrPath, patterns.map(({ pattern, link }) => [pattern, link])])}`;
    const cached = this.serialised.get(report);
    if (cached?.key === key) return cached;
    const serialised = {
      key,
      body: Buffer.from(JSON.stringify(this.detailOf(report, patterns, attrPath))),
      etag: `W/"${createHash('sha256').update(key).digest('base64url')}"`,
    };
    this.serialised.set(report, serialised);
    return serialised;
  }

  private detailOf(report: LiveReport, patterns: readonly LinkPatternMatcher[], attrPath: string | null): ReportDetail {
    const name = report.name;
    const verdictOf = (outPath: string) => report.verdictOf(outPath);
    const counts = { ...report.counts };
    const total = report.outPaths.length;
    const percentages = zeroCounts();
    for (const verdict of VERDICTS) percentages[verdict] = total === 0 ? 0 : Math.round((counts[verdict] / total) * 10_000) / 100;
    return {
      name,
      root: report.graph.root,
      total,
      counts,
      percentages,
      notReproduced: this.groupByLinkPattern(report, patterns, verdictOf),
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
      attrPath,
    };
  }

  /** Every output path of the report, each once. */
  async outPaths(name: string): Promise<string[]> {
    return [...new Set((await this.load(name)).outPaths)];
  }

  /** The report's partially reproduced and nondeterministic outputs, each once. */
  async notReproducedPaths(name: string): Promise<string[]> {
    const report = await this.load(name);
    return [...new Set(report.outPaths)].filter((outPath) => {
      const verdict = report.verdictOf(outPath);
      return verdict === 'partially-reproduced' || verdict === 'nondeterministic';
    });
  }

  async textTree(name: string): Promise<string> {
    const report = await this.load(name);
    return renderTextTree(report.graph, (outPath) => report.verdictOf(outPath));
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

  /**
   * Up to 50 outputs worth rebuilding, shuffled: not reproduced yet and not
   * attested by `builder`. Who attested what is read from the summaries of
   * shuffled candidates, a batch at a time, until there are enough.
   */
  async suggest(name: string, builder: string): Promise<Suggestion[]> {
    const report = await this.load(name);
    const seen = new Set<string>();
    const candidates: Suggestion[] = [];
    for (const node of report.graph.nodes) {
      if (node.outPath === null || node.drvPath === null || seen.has(node.outPath)) continue;
      seen.add(node.outPath);
      if (report.verdictOf(node.outPath) === 'reproduced') continue;
      candidates.push({ drv_path: node.drvPath, output: node.output ?? 'out', out_path: node.outPath });
    }
    shuffled(candidates);
    const suggestions: Suggestion[] = [];
    for (let offset = 0; offset < candidates.length && suggestions.length < SUGGESTIONS; offset += SUGGESTION_BATCH) {
      const batch = candidates.slice(offset, offset + SUGGESTION_BATCH);
      const summaries = await this.models.OutputSummary.find({ outPath: { $in: batch.map((candidate) => candidate.out_path) } }, { _id: 0, outPath: 1, verdict: 1, attestedBy: 1 }).lean();
      const known = new Map(summaries.map((summary) => [summary.outPath, summary]));
      for (const candidate of batch) {
        const summary = known.get(candidate.out_path);
        if (summary && (summary.verdict === 'reproduced' || summary.attestedBy.includes(builder))) continue;
        suggestions.push(candidate);
        if (suggestions.length === SUGGESTIONS) break;
      }
    }
    return suggestions;
  }

  private async linkPatterns(): Promise<LinkPatternMatcher[]> {
    // A pattern stored before patterns were checked with RE2 may not compile: it links nothing.
    return (await this.models.LinkPattern.find().sort({ createdAt: 1 }).lean()).flatMap((record) =>
      invalidPatternReason(record.pattern) === null ? [{ pattern: record.pattern, link: record.link, regex: compileLinkPattern(record.pattern) }] : [],
    );
  }

  private groupByLinkPattern(report: LiveReport, patterns: readonly LinkPatternMatcher[], verdictOf: (outPath: string) => Verdict): ReportPathGroup[] {
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

  private async record(name: string) {
    const record = await this.models.Report.findOne({ name }).lean();
    if (!record) throw notFound(`no report named ${JSON.stringify(name)}`);
    return record;
  }

  private async load(name: string): Promise<LiveReport> {
    return this.live.get(await this.record(name));
  }
}
