import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { AppContext } from '../context.ts';
import { HttpError } from './errors.ts';
import { jsonShapeProblem, type JsonShapeLimits } from '../jsonShape.ts';
import { keepRawBody } from './rawBody.ts';

/** Refuses, with a 413, JSON text that would hold more than `maxValues` values or nest deeper than `maxDepth` (see jsonShapeProblem). */
export function checkJsonShape(text: Buffer, limits: JsonShapeLimits): void {
  const problem = jsonShapeProblem(text, limits);
  if (problem !== null) throw new HttpError(413, problem);
}

/** A route's own bounds where the server-wide ones (`Config`) do not fit its bodies. */
export interface JsonBodyLimits {
  readonly bodyLimitBytes: number;
  readonly bodyMaxValues: number;
  readonly bodyMaxDepth: number;
}

/** lila's clients post JSON without always saying so: read any body as JSON unless it says it is something else. */
function postedAsJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  return type === undefined || /json|x-www-form-urlencoded/.test(type);
}

/** Middleware that sets `req.body`; it needs nothing of Express's, so a plain Node handler may call it too (`lilaFastPath.ts`). */
export type BodyReader = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Reads a JSON body, for the routes that take one, after `requireBuilder`: nobody
 * unauthenticated makes lilac inflate, buffer or parse anything. The byte limit
 * applies to the inflated body; values and depth are counted before parsing.
 */
export function jsonBody(context: AppContext, limits: Partial<JsonBodyLimits> = {}): BodyReader {
  const { bodyLimitBytes, bodyMaxValues, bodyMaxDepth } = { ...context.config, ...limits };
  return express.json({
    limit: bodyLimitBytes,
    type: postedAsJson,
    verify(req, res, body) {
      checkJsonShape(body, { maxValues: bodyMaxValues, maxDepth: bodyMaxDepth });
      keepRawBody(req, res, body);
    },
  });
}
