import { createHash } from 'node:crypto';
import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/** The `_id` of one builder's statement of one NAR hash for one output. */
export function attestationId(outPath: string, builder: string, narHash: string): string {
  return createHash('sha256').update(`${outPath}\0${builder}\0${narHash}`).digest('hex');
}

/** One builder's statement about one output: "building it gave this NAR hash", with its signature. */
export const attestationSchema = new Schema(
  {
    _id: { type: String },
    /** Full store path of the output. */
    outPath: { type: String, required: true },
    /** The derivation it was built from, when the builder said (lila's URL names it). */
    drvPath: { type: String, default: null },
    /** Output name in the derivation (`out`, `dev`, …), when known. */
    output: { type: String, default: null },
    builder: { type: String, required: true },
    /** `sha256:<nix-base32>`, whatever form was submitted. */
    narHash: { type: String, required: true },
    narSize: { type: Number, default: null },
    /** Full store paths; null when the builder did not say (lila's hook does not). */
    references: { type: [String], default: null },
    /** As submitted; empty when the builder sent none (lila's diff hook). */
    signature: { type: String, default: '' },
    signatureStatus: { type: String, enum: ['valid', 'invalid', 'unsigned'], required: true },
    /** Why a signature could not be verified; null when valid. */
    signatureReason: { type: String, default: null },
    /** Key name that verified the signature. */
    signatureKey: { type: String, default: null },
    source: { type: String, enum: ['post-build-hook', 'diff-hook', 'rebuild', 'cache-import', 'api'], default: 'api' },
    /** When the builder says the build finished; a spooled submission arrives later than that. */
    builtAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'attestations' },
);
/**
 * A resubmission of the same statement is the same document. Attestations are
 * read by `_id` (an output's summary names them), and by `updatedAt` only to
 * count again what a server process that died may have left uncounted
 * (`ingestCheckpoint.ts`). No other index is kept: each costs every ingest
 * write (migration 0004).
 */
keyedBy(attestationSchema, ['outPath', 'builder', 'narHash'], ([outPath, builder, narHash]) => attestationId(outPath ?? '', builder ?? '', narHash ?? ''));
attestationSchema.index({ updatedAt: 1 });

export type AttestationRecord = InferSchemaType<typeof attestationSchema>;
