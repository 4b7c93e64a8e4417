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
 * deletes the blobs of) exactly the version before it. The lock is an insert
 * under a unique `_id`, the one write FerretDB 1.24 makes atomic (its
 * conditional updates do not re-check their filter).
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
