import { Schema } from 'mongoose';

/**
 * The store catalog's totals as a server process last showed them (one document, `_id` `totals`),
 * so that after a start they are shown, with their time, while the store is counted again.
 */
export const storedTotalsSchema = new Schema(
  {
    _id: { type: String },
    /** Outputs per verdict. */
    verdicts: { type: Schema.Types.Mixed, required: true },
    attestations: { type: Number, required: true },
    countedAt: { type: Date, required: true },
  },
  { collection: 'catalog_totals', versionKey: false },
);
