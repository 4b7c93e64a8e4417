import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/** Builder names appear in URLs (`/signatures/{builder}/…`) and logs; keep them plain. */
export const BUILDER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const publicKeySchema = new Schema(
  {
    /** The key name, the part before `:` in keys and signatures. */
    name: { type: String, required: true },
    /** The whole `name:base64` public key, as Nix prints it. */
    key: { type: String, required: true },
  },
  { _id: false },
);

export const builderSchema = new Schema(
  {
    _id: { type: String },
    name: { type: String, required: true, unique: true },
    keys: { type: [publicKeySchema], default: [] },
    lastSeenAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'builders' },
);
keyedBy(builderSchema, ['name'], ([name]) => name);

/** Tokens live apart from builders so each is one indexed document, found by its hash alone. */
export const builderTokenSchema = new Schema(
  {
    _id: { type: String },
    /** SHA-256 of the token, hex; the token itself is never stored. */
    hash: { type: String, required: true, unique: true },
    builder: { type: String, required: true, index: true },
  },
  { timestamps: true, collection: 'builder_tokens' },
);
keyedBy(builderTokenSchema, ['hash'], ([hash]) => hash);

export type BuilderRecord = InferSchemaType<typeof builderSchema>;
