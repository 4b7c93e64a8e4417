import { VERDICTS, type ReportHistory, type ReportHistoryPoint, type ReportVersionView, type Verdict } from '@lilac/common';
import type { Models } from '../store/models.ts';
import { withUpsertRetry } from '../store/upsert.ts';

type Counts = Record<Verdict, number>;

/** Days a history answers by default, and at most: a year of daily points, ten. */
export const HISTORY_DAYS = 365;
export const MAX_HISTORY_DAYS = 3650;
/** Versions (and so upload points) a history answers at most, the newest. */
export const MAX_HISTORY_VERSIONS = 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function dayId(report: string, day: string): string {
  return `${report}/${day}`;
}

/** Counts as stored, with every verdict present (a verdict added later counts 0 in old figures). */
function countsOf(stored: unknown): Counts | null {
  if (stored === null || typeof stored !== 'object') return null;
  return Object.fromEntries(VERDICTS.map((verdict) => [verdict, Number((stored as Record<string, unknown>)[verdict] ?? 0)])) as Counts;
}

export interface VersionFigures {
  readonly report: string;
  readonly version: string;
  readonly total: number;
  readonly counts: Counts;
}

/** A new version is in force: its record, written before the upload is answered so its attribute path shows at once. */
export async function recordVersion(models: Models, version: { report: string; version: string; total: number; attrPath: string | null }, at: Date): Promise<void> {
  await withUpsertRetry(() =>
    models.ReportVersion.updateOne(
      { _id: version.version },
      { $set: { report: version.report, uploadedAt: at, total: version.total, attrPath: version.attrPath }, $setOnInsert: { countsAtUpload: null, replacedAt: null } },
      { upsert: true },
    ),
  );
}

/**
 * The new version's counts once its state was built: the day's, then its
 * upload figures, so a version whose upload counts are read already has its
 * day's point.
 */
export async function recordUploadCounts(models: Models, figures: VersionFigures, at: Date): Promise<void> {
  await recordDay(models, figures, at);
  await models.ReportVersion.updateOne({ _id: figures.version }, { $set: { countsAtUpload: figures.counts, latestCounts: figures.counts, countedAt: at } });
}

/**
 * The version the upload at `at` replaced: kept, with the figures it last had
 * when this process knows them. Concurrent uploads may get here before the
 * replaced one recorded itself: its record is then begun here, and its upload
 * fills in the rest.
 */
export async function recordReplaced(models: Models, report: string, version: string, at: Date, lastCounts: Counts | null): Promise<void> {
  await withUpsertRetry(() =>
    models.ReportVersion.updateOne(
      { _id: version },
      {
        $set: { replacedAt: at, ...(lastCounts !== null && { latestCounts: lastCounts, countedAt: at }) },
        $setOnInsert: { report, uploadedAt: at, total: 0, attrPath: null, countsAtUpload: null },
      },
      { upsert: true },
    ),
  );
}

/**
 * The current figures of a version, as the day's point and as the version's
 * latest counts. A version uploaded before lilac kept history gets its record
 * here, dated by the report's last change.
 */
export async function recordSnapshot(models: Models, figures: VersionFigures, at: Date, versionSince: Date): Promise<void> {
  await withUpsertRetry(() =>
    models.ReportVersion.updateOne(
      { _id: figures.version },
      { $set: { latestCounts: figures.counts, countedAt: at }, $setOnInsert: { report: figures.report, uploadedAt: versionSince, total: figures.total, attrPath: null, countsAtUpload: null, replacedAt: null } },
      { upsert: true },
    ),
  );
  await recordDay(models, figures, at);
}

function recordDay(models: Models, figures: VersionFigures, at: Date) {
  return withUpsertRetry(() =>
    models.ReportDay.updateOne(
      { _id: dayId(figures.report, dayOf(at)) },
      { $set: { report: figures.report, at, version: figures.version, total: figures.total, counts: figures.counts } },
      { upsert: true },
    ),
  );
}

/** The attribute path recorded with a version, if any. */
export async function attrPathOf(models: Models, version: string): Promise<string | null> {
  const record = await models.ReportVersion.findById(version, { attrPath: 1 }).lean();
  return record?.attrPath ?? null;
}

/**
 * A report's figures over the last `days` days: one upload point per version
 * (the newest 1000), one point per day, oldest first. Days are read by `_id`.
 */
export async function readHistory(models: Models, report: string, days: number, now: Date): Promise<ReportHistory> {
  const since = new Date(now.getTime() - days * DAY_MS);
  const dayIds = Array.from({ length: days + 1 }, (_, index) => dayId(report, dayOf(new Date(now.getTime() - index * DAY_MS))));
  const [versionRecords, dayRecords] = await Promise.all([
    models.ReportVersion.find({ report }).sort({ uploadedAt: -1 }).limit(MAX_HISTORY_VERSIONS).lean(),
    models.ReportDay.find({ _id: { $in: dayIds } }).lean(),
  ]);
  const versions: ReportVersionView[] = versionRecords.map((record) => ({
    version: String(record._id),
    uploadedAt: record.uploadedAt.toISOString(),
    replacedAt: record.replacedAt ? record.replacedAt.toISOString() : null,
    total: record.total,
    attrPath: record.attrPath ?? null,
    countsAtUpload: countsOf(record.countsAtUpload),
    latestCounts: countsOf(record.latestCounts),
    countedAt: record.countedAt ? record.countedAt.toISOString() : null,
  }));
  const points: ReportHistoryPoint[] = [];
  for (const record of versionRecords) {
    const counts = countsOf(record.countsAtUpload);
    if (counts !== null && record.uploadedAt >= since) points.push({ at: record.uploadedAt.toISOString(), version: String(record._id), kind: 'upload', total: record.total, counts });
  }
  for (const record of dayRecords) {
    const counts = countsOf(record.counts);
    if (counts !== null && record.at >= since) points.push({ at: record.at.toISOString(), version: record.version, kind: 'snapshot', total: record.total, counts });
  }
  points.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind === 'upload' ? -1 : 1));
  return { name: report, points, versions };
}

/** A removed report's history goes with it. */
export async function deleteHistory(models: Models, report: string): Promise<void> {
  await models.ReportVersion.deleteMany({ report });
  await models.ReportDay.deleteMany({ report });
}
