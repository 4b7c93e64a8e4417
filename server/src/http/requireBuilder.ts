import type { RequestHandler, Response } from 'express';
import type { Builder } from '../builders/builderService.ts';
import type { AppContext } from '../context.ts';
import { unauthorized } from './errors.ts';

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/** The builder whose token `Authorization: Bearer <token>` carries, as lila authenticated; anything else is a 401. */
export async function builderOfAuthorization(context: AppContext, authorization: string | undefined): Promise<Builder> {
  const token = bearerToken(authorization);
  if (token === null) throw unauthorized('missing bearer token');
  const builder = await context.builders.authenticate(token);
  if (builder === null) throw unauthorized('invalid token');
  return builder;
}

/** Authenticates the request's builder; it is then `authenticatedBuilder(res)`. */
export function requireBuilder(context: AppContext): RequestHandler {
  return async (req, res, next) => {
    res.locals.builder = await builderOfAuthorization(context, req.headers.authorization);
    next();
  };
}

export function authenticatedBuilder(res: Response): Builder {
  const builder = res.locals.builder as Builder | undefined;
  if (!builder) throw new Error('route is missing requireBuilder');
  return builder;
}
