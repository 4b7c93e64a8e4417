import express, { type RequestHandler } from 'express';

/** People's requests are small (a note, a comment, a password): 64 KiB is far above any of them and far below a builder's body limit. */
const PERSON_BODY_LIMIT = 64 * 1024;

/** Reads a person's JSON body; only JSON, so a cross-site form post is never read as one. */
export const personJsonBody: RequestHandler = express.json({ limit: PERSON_BODY_LIMIT, type: 'application/json', strict: true });
