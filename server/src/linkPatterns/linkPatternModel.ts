import { Schema, type InferSchemaType } from 'mongoose';

/** A regular expression on package names and the page (an issue, a tracker) to link not-reproduced matches to. */
export const linkPatternSchema = new Schema(
  {
    pattern: { type: String, required: true, unique: true },
    link: { type: String, required: true },
    /** The builder that defined it, the only one that may change it; absent on patterns made before lilac kept owners. */
    owner: { type: String },
  },
  { timestamps: true, collection: 'link_patterns' },
);

export type LinkPatternRecord = InferSchemaType<typeof linkPatternSchema>;
