import { Schema, type InferSchemaType } from 'mongoose';
import { VERDICTS } from '@lilac/common';
import { keyedBy } from '../store/keyedBy.ts';

const hashGroupSchema = new Schema(
  {
    narHash: { type: String, required: true },
    verifiedBuilders: { type: [String], default: [] },
    unverifiedBuilders: { type: [String], default: [] },
  },
  { _id: false },
);

const derivationClaimSchema = new Schema(
  {
    drvPath: { type: String, required: true },
    output: { type: String, default: null },
    builder: { type: String, required: true },
    verified: { type: Boolean, required: true },
  },
  { _id: false },
);

/**
 * Per-output state kept up to date at ingest, so verdicts and reports are
 * answered from one indexed document per path instead of rescanning attestations.
 */
export const outputSummarySchema = new Schema(
  {
    _id: { type: String },
    /** Also the `_id`, so unique without an index of its own. */
    outPath: { type: String, required: true },
    /** The derivation most verified builders named (`chosenDerivation`). */
    drvPath: { type: String, default: null },
    output: { type: String, default: null },
    /** Which builder named which derivation; empty in summaries written before claims were kept. */
    derivationClaims: { type: [derivationClaimSchema], default: [] },
    hashes: { type: [hashGroupSchema], default: [] },
    verdict: { type: String, enum: VERDICTS, required: true },
    /** Independent builders with a valid signature, over all hashes. */
    verifiedBuilderCount: { type: Number, required: true, default: 0 },
    /** Every builder that attested, verified or not (the pool never hands them this output). */
    attestedBy: { type: [String], default: [] },
    /** Bumped on every change; writers update only the revision they read. */
    revision: { type: Number, required: true, default: 0 },
  },
  { timestamps: true, collection: 'output_summaries' },
);
keyedBy(outputSummarySchema, ['outPath'], ([outPath]) => outPath);
outputSummarySchema.index({ verdict: 1 });
outputSummarySchema.index({ drvPath: 1 });

export type OutputSummaryRecord = InferSchemaType<typeof outputSummarySchema>;
