import { Schema, type InferSchemaType } from 'mongoose';

/**
 * Written before a request's attestations are stored, deleted once each is
 * folded into its output's summary: what a crash in between leaves behind is
 * found here at start-up and finished (`IngestRepair`), never left stored
 * but uncounted.
 */
export const ingestIntentSchema = new Schema(
  {
    builder: { type: String, required: true },
    /** The attestations' natural keys, `attestationId`s. */
    attestationIds: { type: [String], required: true },
    openedAt: { type: Date, required: true },
  },
  { collection: 'ingest_intents' },
);

export type IngestIntentRecord = InferSchemaType<typeof ingestIntentSchema>;
