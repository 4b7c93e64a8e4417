import { CAUSE_TAGS, TRIAGE_STATUSES } from '@lilac/common';
import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

const fieldChangeSchema = new Schema(
  {
    field: { type: String, required: true },
    from: { type: Schema.Types.Mixed, default: null },
    to: { type: Schema.Types.Mixed, default: null },
  },
  { _id: false },
);

const historyEntrySchema = new Schema(
  {
    at: { type: Date, required: true },
    by: { type: String, required: true },
    changes: { type: [fieldChangeSchema], default: [] },
  },
  { _id: false },
);

/**
 * What people know about one divergent output. The history lives in the same
 * document: one read by `_id` gives the page all of it, and a change and its
 * history entry are written together by one compare-and-set on `version`.
 */
export const triageSchema = new Schema(
  {
    _id: { type: String },
    outPath: { type: String, required: true, unique: true },
    status: { type: String, enum: TRIAGE_STATUSES, required: true },
    assignee: { type: String, default: null },
    causes: { type: [{ type: String, enum: CAUSE_TAGS }], default: [] },
    links: { type: [String], default: [] },
    note: { type: String, default: '' },
    reopened: { type: Boolean, default: false },
    fixedAt: { type: Date, default: null },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, required: true },
    history: { type: [historyEntrySchema], default: [] },
    version: { type: Number, required: true },
  },
  { collection: 'triage' },
);
keyedBy(triageSchema, ['outPath'], ([outPath]) => outPath);

export type TriageRecord = InferSchemaType<typeof triageSchema>;
