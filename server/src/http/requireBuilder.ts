import type { RequestHandler, Response } from 'express';
import type { Builder } from '../builders/builderService.ts';
import type { AppContext } from '../context.ts';
import { unauthorized } from './errors.ts';

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/** Authenticates `Authorization: Bearer <token>` as lila did; the builder is then `authenticatedBuilder(res)`. */
export function requireBuilder(context: AppContext): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.header('authorization'));
    if (token === null) throw unauthorized('missing bearer token');
    const builder = await context.builders.authenticate(token);
    if (builder === null) throw unauthorized('invalid token');
    res.locals.builder = builder;
    next();
  };
}

export function authenticatedBuilder(res: Response): Builder {
  const builder = res.locals.builder as Builder | undefined;
  if (!builder) throw new Error('route is missing requireBuilder');
  return builder;
}
