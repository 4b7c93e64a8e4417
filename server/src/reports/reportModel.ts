import { Schema, type InferSchemaType } from 'mongoose';

/** A named closure to report on; its SBOM and normalised graph live in `report_blobs` under `version`. */
export const reportSchema = new Schema(
  {
    name: { type: String, required: true, unique: true },
    /** The builder that defined it, the only one that may replace it; absent on reports made before lilac kept owners. */
    owner: { type: String },
    /** Names the blobs of the current upload; a replacement writes new blobs, then switches this. */
    version: { type: String, required: true },
    /** Distinct store paths in the report. */
    total: { type: Number, required: true },
    components: { type: Number, required: true },
    sbomBytes: { type: Number, required: true },
  },
  { timestamps: true, collection: 'reports' },
);

/**
 * Large payloads in pieces under the 16 MB document limit: the uploaded SBOM
 * (gzip of the exact bytes) and the normalised graph (gzip of JSON).
 */
export const reportBlobSchema = new Schema(
  {
    /**
     * `version:kind:seq` (`blobChunkId`), so a read is served by the primary index, the only one
     * the embedded FerretDB uses; chunks written before carry an ObjectId and are found by their fields.
     */
    _id: { type: Schema.Types.Mixed },
    report: { type: String, required: true },
    version: { type: String, required: true },
    kind: { type: String, enum: ['sbom', 'graph'], required: true },
    seq: { type: Number, required: true },
    data: { type: Buffer, required: true },
  },
  { collection: 'report_blobs' },
);
reportBlobSchema.index({ version: 1, kind: 1, seq: 1 }, { unique: true });
reportBlobSchema.index({ report: 1 });

export type ReportRecord = InferSchemaType<typeof reportSchema>;

/**
 * Held while one upload switches a report to its new blobs, so that
 * concurrent uploads of one report take turns: each then replaces (and
 * deletes the blobs of) exactly the version before it. Switching spans
 * several documents (the report, its blobs, its state), which no store
 * here changes together, hence a lock rather than a compare-and-set on the
 * report. The lock is an insert under a unique `_id`.
 */
export const reportLockSchema = new Schema(
  {
    _id: { type: String, required: true },
    token: { type: String, required: true },
    /** A holder that died leaves its lock behind; after this, the next upload takes it over. */
    expiresAt: { type: Date, required: true },
  },
  { collection: 'report_locks', versionKey: false },
);

/**
 * A report's verdicts in one document, so a server that just started answers
 * a 50,000-path report with one read instead of 50,000 summaries. Derived
 * from the output summaries, never the other way round: it is rebuilt from
 * them when missing or unreadable, reconciled with them in the background,
 * and every write re-reads the summaries of the paths it sets (see
 * `reportStates.ts`). Keyed by report version, so a replaced report's state
 * goes with its blobs.
 */
export const reportStateSchema = new Schema(
  {
    _id: { type: String },
    report: { type: String, required: true },
    /** The verdict names, in the order `verdicts` numbers them: a reordering of VERDICTS cannot misread a stored state. */
    legend: { type: [String], required: true },
    /** One character per distinct store path of the report, in `outPathsOf(graph)` order: `'0'` plus the verdict's index in `legend`. */
    verdicts: { type: String, required: true },
  },
  { timestamps: true, collection: 'report_states', versionKey: false },
);

/**
 * One upload of a report, kept when the next one replaces it (whose blobs
 * and state are deleted): the figures a history needs and nothing large.
 * `_id` is the version, the name `report_blobs` and `report_states` use.
 */
export const reportVersionSchema = new Schema(
  {
    _id: { type: String },
    report: { type: String, required: true },
    uploadedAt: { type: Date, required: true },
    replacedAt: { type: Date, default: null },
    total: { type: Number, required: true },
    attrPath: { type: String, default: null },
    /** Counts per verdict once the upload's state was built; absent for versions uploaded before lilac kept history. */
    countsAtUpload: { type: Schema.Types.Mixed, default: null },
    latestCounts: { type: Schema.Types.Mixed, default: null },
    countedAt: { type: Date, default: null },
  },
  { collection: 'report_versions', versionKey: false },
);
reportVersionSchema.index({ report: 1 });

/**
 * A report's counts per verdict on one day (UTC), the last recorded that day:
 * one small document per report and day, `_id` `<report>/<YYYY-MM-DD>`
 * (`/` is not allowed in report names), so a year of history is read by `_id`.
 */
export const reportDaySchema = new Schema(
  {
    _id: { type: String },
    report: { type: String, required: true },
    at: { type: Date, required: true },
    version: { type: String, required: true },
    total: { type: Number, required: true },
    counts: { type: Schema.Types.Mixed, required: true },
  },
  { collection: 'report_days', versionKey: false },
);
reportDaySchema.index({ report: 1 });
