import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/** The outputs one member follows (its Atom feed), in one document found by `_id`. */
export const watchListSchema = new Schema(
  {
    _id: { type: String },
    member: { type: String, required: true, unique: true },
    outPaths: { type: [String], default: [] },
  },
  { collection: 'watch_lists' },
);
keyedBy(watchListSchema, ['member'], ([member]) => member);

export type WatchListRecord = InferSchemaType<typeof watchListSchema>;
