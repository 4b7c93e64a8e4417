import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/** Every derivation something was attested for: lila's `GET /derivations/` lists these. */
export const derivationSchema = new Schema(
  {
    _id: { type: String },
    /** Also the `_id`, so unique without an index of its own. */
    drvPath: { type: String, required: true },
  },
  { timestamps: true, collection: 'derivations' },
);
keyedBy(derivationSchema, ['drvPath'], ([drvPath]) => drvPath);

export type DerivationRecord = InferSchemaType<typeof derivationSchema>;
