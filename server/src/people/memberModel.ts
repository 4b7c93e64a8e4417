import { MEMBER_ROLES } from '@lilac/common';
import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/** A person: apart from builders, so that no builder token ever acts as one. */
export const memberSchema = new Schema(
  {
    _id: { type: String },
    name: { type: String, required: true, unique: true },
    role: { type: String, enum: MEMBER_ROLES, required: true },
    /** `scrypt$N$r$p$salt$hash`, base64 parts; null until the member sets a password. */
    passwordHash: { type: String, default: null },
    /** A revoked member keeps its name (its comments and triage history name it) but cannot sign in. */
    revokedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'members' },
);
keyedBy(memberSchema, ['name'], ([name]) => name);

/** As builders' tokens: one document per token, found by its hash alone. */
export const memberTokenSchema = new Schema(
  {
    _id: { type: String },
    /** SHA-256 of the token, hex. */
    hash: { type: String, required: true, unique: true },
    member: { type: String, required: true },
  },
  { timestamps: true, collection: 'member_tokens' },
);
keyedBy(memberTokenSchema, ['hash'], ([hash]) => hash);

/** A browser's signed-in session; the cookie holds the id, the store only its hash. */
export const sessionSchema = new Schema(
  {
    _id: { type: String },
    /** SHA-256 of the session id, hex. */
    hash: { type: String, required: true, unique: true },
    member: { type: String, required: true },
    /** Must come back in `X-CSRF-Token` on every state-changing request made with this session. */
    csrfToken: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: true, collection: 'sessions' },
);
keyedBy(sessionSchema, ['hash'], ([hash]) => hash);

export type MemberRecord = InferSchemaType<typeof memberSchema>;
