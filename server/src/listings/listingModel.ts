import { Schema, type InferSchemaType } from 'mongoose';
import { CAUSE_KINDS, DIFFOSCOPE_FORMATS } from '@lilac/common';

/** The `_id` of the listing of one copy of an output: one per (output, NAR hash), whoever sent it. */
export function listingId(outPath: string, narHash: string): string {
  return `${outPath}#${narHash}`;
}

/**
 * A stored listing: its checked header. The entries are gzipped JSON in
 * `listing_chunks` under `upload`; the header is written last, so a
 * listing is either whole or absent.
 */
export const outputListingSchema = new Schema(
  {
    /** `listingId(outPath, narHash)`: reads go by the primary index, the only one the embedded store serves. */
    _id: { type: String },
    outPath: { type: String, required: true },
    narHash: { type: String, required: true },
    narSize: { type: Number, required: true },
    entryCount: { type: Number, required: true },
    /** Names this upload's chunks (`chunkId(upload, seq)`): concurrent uploads of one listing never write the same chunk. */
    upload: { type: String, required: true },
    chunks: { type: Number, required: true },
    builder: { type: String, required: true },
    storedAt: { type: Date, required: true },
  },
  { collection: 'output_listings', versionKey: false },
);

export function chunkId(upload: string, seq: number): string {
  return `${upload}:${seq}`;
}

/** Pieces of a gzipped listing, each well under MongoDB's 16 MiB document limit. */
export const listingChunkSchema = new Schema(
  {
    _id: { type: String },
    upload: { type: String, required: true },
    seq: { type: Number, required: true },
    data: { type: Buffer, required: true },
    /** When the upload wrote it: chunks no header names past a bound were left by a process killed mid-upload, and go (OrphanedChunkSweep). */
    writtenAt: { type: Date, required: true },
  },
  { collection: 'listing_chunks', versionKey: false },
);

export function diffoscopeId(outPath: string, a: string, b: string, format: string): string {
  return `${outPath}#${a}#${b}#${format}`;
}

/** diffoscope's output between two copies of an output, gzipped (at most 10 MiB before): the latest upload per (output, a, b, format). */
export const diffoscopeResultSchema = new Schema(
  {
    _id: { type: String },
    outPath: { type: String, required: true },
    a: { type: String, required: true },
    b: { type: String, required: true },
    format: { type: String, enum: DIFFOSCOPE_FORMATS, required: true },
    content: { type: Buffer, required: true },
    truncated: { type: Boolean, required: true },
    timedOut: { type: Boolean, required: true },
    diffoscopeVersion: { type: String, default: null },
    builder: { type: String, required: true },
    storedAt: { type: Date, required: true },
  },
  { collection: 'diffoscope_results', versionKey: false },
);

/** The cause guess of an output's divergence, kept so a report lists and filters them without diffing every path. */
export const divergenceCauseSchema = new Schema(
  {
    /** The output path. */
    _id: { type: String },
    causes: { type: [{ type: String, enum: CAUSE_KINDS }], default: [] },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'divergence_causes', versionKey: false },
);

export type OutputListingRecord = InferSchemaType<typeof outputListingSchema>;
export type DiffoscopeResultRecord = InferSchemaType<typeof diffoscopeResultSchema>;
