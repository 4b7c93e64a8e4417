import { Schema, type InferSchemaType } from 'mongoose';

/** A regular expression on package names and the page (an issue, a tracker) to link not-reproduced matches to. */
export const linkPatternSchema = new Schema(
  {
    pattern: { type: String, required: true, unique: true },
    link: { type: String, required: true },
  },
  { timestamps: true, collection: 'link_patterns' },
);

export type LinkPatternRecord = InferSchemaType<typeof linkPatternSchema>;
