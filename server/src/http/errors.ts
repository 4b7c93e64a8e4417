import { InvalidKeyError, InvalidNarHashError, InvalidPriorityError, InvalidRoutingError, InvalidStorePathError, ListingError } from '@lilac/common';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { SubmissionError } from '../attestations/submissions.ts';
import { DiffError } from '../listings/listingService.ts';
import { BuilderError } from '../builders/builderService.ts';
import type { Logger } from '../log.ts';
import { CommentError } from '../comments/commentService.ts';
import { MemberError } from '../people/memberService.ts';
import { JobControlError } from '../pool/jobControlError.ts';
import { InvalidTriageError } from '../triage/triageInput.ts';
import { TriageNotFoundError } from '../triage/triageService.ts';
import { IngestClosedError } from '../attestations/ingestCheckpoint.ts';
import { describeUnavailable, isStoreUnreachable, StoreUnavailableError } from '../store/storeAvailability.ts';

/** An error whose message is safe and useful to show the client, in lila's `{"detail": ...}` shape. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string) => new HttpError(400, detail);
export const unauthorized = (detail: string) => new HttpError(401, detail);
export const notFound = (detail: string) => new HttpError(404, detail);
export const conflict = (detail: string) => new HttpError(409, detail);

const diffErrorStatus = { 'not-found': 404, 'not-attested': 403, 'size-mismatch': 422, 'too-large': 413, 'unknown-hash': 422 } as const;
const builderErrorStatus = { invalid: 400, 'not-found': 404, conflict: 409 } as const;
const commentErrorStatus = { invalid: 400, 'not-found': 404, forbidden: 403 } as const;

function statusAndDetail(error: unknown): { status: number; detail: string } | null {
  if (error instanceof HttpError) return { status: error.status, detail: error.detail };
  if (error instanceof BuilderError) return { status: builderErrorStatus[error.kind], detail: error.message };
  if (error instanceof SubmissionError || error instanceof ListingError) return { status: 400, detail: error.message };
  if (error instanceof DiffError) return { status: diffErrorStatus[error.kind], detail: error.message };
  if (error instanceof MemberError) return { status: builderErrorStatus[error.kind], detail: error.message };
  if (error instanceof InvalidTriageError) return { status: 400, detail: error.message };
  if (error instanceof TriageNotFoundError) return { status: 409, detail: error.message };
  if (error instanceof JobControlError) return { status: error.kind === 'not-found' ? 404 : 409, detail: error.message };
  if (error instanceof CommentError) return { status: commentErrorStatus[error.kind], detail: error.message };
  if (error instanceof InvalidStorePathError || error instanceof InvalidNarHashError || error instanceof InvalidKeyError || error instanceof InvalidRoutingError || error instanceof InvalidPriorityError) {
    return { status: 400, detail: error.message };
  }
  if (error instanceof StoreUnavailableError) return { status: 503, detail: error.message };
  if (error instanceof IngestClosedError) return { status: 503, detail: error.message };
  if (isStoreUnreachable(error)) return { status: 503, detail: describeUnavailable('unreachable') };
  // body-parser marks its errors with a `type` and an HTTP status.
  const type = (error as { type?: string } | null)?.type;
  if (type === 'entity.too.large') {
    const limit = (error as { limit?: number }).limit;
    return { status: 413, detail: `request body exceeds the limit of ${limit} bytes` };
  }
  if (type === 'entity.parse.failed') return { status: 400, detail: 'request body is not valid JSON' };
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return { status: 415, detail: (error as Error).message };
  return bodyReadError(error);
}

/** body-parser marks what went wrong reading a body (a gzip that does not inflate, a short body) with a 4xx `status`. */
function bodyReadError(error: unknown): { status: number; detail: string } | null {
  if (!(error instanceof Error)) return null;
  const { status, code } = error as Error & { status?: unknown; code?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  if (typeof code === 'string' && code.startsWith('Z_')) return { status, detail: `request body does not decompress: ${error.message}` };
  return { status, detail: error.message };
}

/** The answer to a request that failed with `error`: a known error's status and detail, else a 500, logged with the request it failed. */
export function errorAnswer(error: unknown, log: Logger, request: { readonly method?: string; readonly url?: string }): { status: number; detail: string } {
  const known = statusAndDetail(error);
  if (known) return known;
  log.error({ err: error, method: request.method, url: request.url }, 'unhandled error');
  return { status: 500, detail: 'internal server error' };
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const { status, detail } = errorAnswer(error, log, { method: req.method, url: req.originalUrl });
    res.status(status).json({ detail });
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ detail: `no route for ${req.method} ${req.path}` });
};
