import { Schema, type InferSchemaType } from 'mongoose';

/** Every derivation something was attested for: lila's `GET /derivations/` lists these. */
export const derivationSchema = new Schema(
  {
    drvPath: { type: String, required: true, unique: true },
  },
  { timestamps: true, collection: 'derivations' },
);

export type DerivationRecord = InferSchemaType<typeof derivationSchema>;
