import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

const commentSchema = new Schema(
  {
    id: { type: String, required: true },
    author: { type: String, required: true },
    body: { type: String, required: true },
    createdAt: { type: Date, required: true },
    editedAt: { type: Date, default: null },
  },
  { _id: false },
);

/**
 * One output's comments in one document, found by `_id`: the only look-up the
 * embedded store serves from an index. Written by compare-and-set on `version`.
 */
export const commentThreadSchema = new Schema(
  {
    _id: { type: String },
    outPath: { type: String, required: true, unique: true },
    comments: { type: [commentSchema], default: [] },
    version: { type: Number, required: true },
  },
  { collection: 'comment_threads' },
);
keyedBy(commentThreadSchema, ['outPath'], ([outPath]) => outPath);

export type CommentThreadRecord = InferSchemaType<typeof commentThreadSchema>;
/** A comment as stored inside its thread. */
export interface CommentRecord {
  id: string;
  author: string;
  body: string;
  createdAt: Date;
  editedAt: Date | null;
}
