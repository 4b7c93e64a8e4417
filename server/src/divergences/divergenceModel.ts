import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

const hashGroupSchema = new Schema(
  {
    narHash: { type: String, required: true },
    verifiedBuilders: { type: [String], default: [] },
    unverifiedBuilders: { type: [String], default: [] },
  },
  { _id: false },
);

/** An output whose builders disagree: recorded when first seen, changed when a new distinct hash arrives. */
export const divergenceSchema = new Schema(
  {
    _id: { type: String },
    outPath: { type: String, required: true, unique: true },
    drvPath: { type: String, default: null },
    hashes: { type: [hashGroupSchema], default: [] },
    firstSeen: { type: Date, required: true },
    /** When the set of distinct verified hashes last grew. */
    lastChanged: { type: Date, required: true },
  },
  { collection: 'divergences' },
);
keyedBy(divergenceSchema, ['outPath'], ([outPath]) => outPath);
divergenceSchema.index({ lastChanged: -1 });

export type DivergenceRecord = InferSchemaType<typeof divergenceSchema>;
