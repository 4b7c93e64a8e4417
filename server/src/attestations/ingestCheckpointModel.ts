import { Schema, type InferSchemaType } from 'mongoose';

/**
 * One server process's word on its ingest (`IngestCheckpoint`): every
 * attestation it stored with an `updatedAt` before `settledBefore` is counted
 * in its summary. What a process that died left stored but uncounted is
 * therefore among the attestations changed since its checkpoint.
 */
export const ingestCheckpointSchema = new Schema(
  {
    _id: { type: String, required: true },
    settledBefore: { type: Date, required: true },
    /** When the process last wrote it: one not written for a while belongs to a process that died. */
    seenAt: { type: Date, required: true },
  },
  { collection: 'ingest_checkpoints', versionKey: false },
);

export type IngestCheckpointRecord = InferSchemaType<typeof ingestCheckpointSchema>;
