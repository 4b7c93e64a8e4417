import type { IncomingMessage } from 'node:http';
import express, { type RequestHandler } from 'express';
import type { AppContext } from '../context.ts';
import { HttpError } from './errors.ts';
import { keepRawBody } from './rawBody.ts';

export interface JsonShapeLimits {
  readonly maxValues: number;
  readonly maxDepth: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Refuses JSON text that would hold more than `maxValues` values or nest deeper
 * than `maxDepth`, before `JSON.parse` builds it: 64 MiB of `[{},{},…]` is 22
 * million objects and gigabytes of heap. Every value but the first follows a
 * comma or opens a container, so their sum bounds the count. Byte-wise is
 * enough: UTF-8 never reuses ASCII bytes inside a multi-byte character.
 */
export function checkJsonShape(text: Buffer, limits: JsonShapeLimits): void {
  let values = 1;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const byte = text[index];
    if (inString) {
      if (byte === BACKSLASH) index++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === COMMA) {
      values++;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      values++;
      if (++depth > limits.maxDepth) throw new HttpError(413, `request body nests deeper than ${limits.maxDepth} levels`);
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
    if (values > limits.maxValues) throw new HttpError(413, `request body holds more than ${limits.maxValues} JSON values`);
  }
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

/**
 * Reads a JSON body, for the routes that take one, after `requireBuilder`: nobody
 * unauthenticated makes lilac inflate, buffer or parse anything. The byte limit
 * applies to the inflated body; values and depth are counted before parsing.
 */
export function jsonBody(context: AppContext, limits: Partial<JsonBodyLimits> = {}): RequestHandler {
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
