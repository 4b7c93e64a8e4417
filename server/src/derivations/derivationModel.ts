import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/** Every derivation something was attested for: lila's `GET /derivations/` lists these. */
export const derivationSchema = new Schema(
  {
    _id: { type: String },
    drvPath: { type: String, required: true, unique: true },
  },
  { timestamps: true, collection: 'derivations' },
);
keyedBy(derivationSchema, ['drvPath'], ([drvPath]) => drvPath);

export type DerivationRecord = InferSchemaType<typeof derivationSchema>;
