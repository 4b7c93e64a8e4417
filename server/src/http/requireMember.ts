import { timingSafeEqual } from 'node:crypto';
import { CSRF_HEADER, roleAtLeast, type MemberRole } from '@lilac/common';
import type { Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../context.ts';
import type { Member } from '../people/memberService.ts';
import { sessionIdFrom } from '../people/sessionCookie.ts';
import { HttpError, unauthorized } from './errors.ts';
import { bearerToken } from './requireBuilder.ts';
import { prefersHtml } from './routes/webApp.ts';

/** Who sent a request: nobody, a builder (whose token never acts as a person), or a member by token or by session cookie. */
export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'builder'; name: string }
  | { kind: 'member'; member: Member; via: 'token' }
  | { kind: 'member'; member: Member; via: 'session'; sessionId: string; csrfToken: string };

/** A bearer token is a member's or a builder's; without one, the session cookie says who it is. An unknown credential is a 401, never anonymous. */
async function identify(context: AppContext, req: Pick<Request, 'headers'>): Promise<Caller> {
  const token = bearerToken(req.headers.authorization);
  if (token !== null) {
    const member = await context.members.authenticateToken(token);
    if (member) return { kind: 'member', member, via: 'token' };
    const builder = await context.builders.authenticate(token);
    if (builder) return { kind: 'builder', name: builder.name };
    throw unauthorized('invalid token');
  }
  const sessionId = sessionIdFrom(req.headers.cookie);
  if (sessionId !== null) {
    const session = await context.members.session(sessionId);
    if (session) return { kind: 'member', member: session.member, via: 'session', sessionId, csrfToken: session.csrfToken };
  }
  return { kind: 'anonymous' };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A browser sends the cookie with any request to this site, a forged one too;
 * only a page of this site can read the CSRF token from `GET /api/v1/me` and
 * send it back in a header. Bearer requests carry no ambient credential.
 */
function assertNotForged(caller: Caller, req: Request): void {
  if (caller.kind !== 'member' || caller.via !== 'session' || SAFE_METHODS.has(req.method)) return;
  const sent = Buffer.from(req.header(CSRF_HEADER) ?? '');
  const expected = Buffer.from(caller.csrfToken);
  if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
    throw new HttpError(403, `a request made with the session cookie must send the X-CSRF-Token header that GET /api/v1/me gives`);
  }
}

/**
 * Who sent the request, looked up once per request and only by the routes that
 * care: builders' own routes (ingest above all) never pay for a member look-up.
 */
export async function callerOf(context: AppContext, req: Request, res: Response): Promise<Caller> {
  const known = res.locals.caller as Caller | undefined;
  if (known) return known;
  const caller = await identify(context, req);
  res.locals.caller = caller;
  return caller;
}

/** A signed-in member with at least `role`; the member is then `authenticatedMember(res)`. */
export function requireMember(context: AppContext, role: MemberRole): RequestHandler {
  return async (req, res, next) => {
    const caller = await callerOf(context, req, res);
    if (caller.kind === 'anonymous') throw unauthorized('sign in as a member: POST /api/v1/session, or send Authorization: Bearer <member token>');
    if (caller.kind === 'builder') {
      throw new HttpError(403, `this is builder ${caller.name}'s token: builders' tokens never act as people; use a member token (npm run admin -- create-member)`);
    }
    if (!roleAtLeast(caller.member.role, role)) throw new HttpError(403, `${caller.member.name} is a ${caller.member.role}; this needs a ${role} or above`);
    assertNotForged(caller, req);
    next();
  };
}

export function authenticatedMember(res: Response): Member {
  const caller = res.locals.caller as Caller | undefined;
  if (caller?.kind !== 'member') throw new Error('route is missing requireMember');
  return caller.member;
}

/**
 * What anyone reaches even when reading is private: the sign-in, health checks,
 * and the web app's shell (which holds no data and has the sign-in form), also
 * where `/reports` and `/reports/NAME` answer a browser with it.
 */
function openEvenWhenPrivate(req: Request): boolean {
  if (/^\/(healthz|metrics|api\/v1\/session$|api\/v1\/openapi\.json$)/.test(req.path)) return true;
  if (req.method !== 'GET') return false;
  if (!/^\/(api|attestations?|derivations|reports|link_patterns|signatures|socket\.io)(\/|$)/.test(req.path)) return true;
  return /^\/reports(\/[^/]+)?\/?$/.test(req.path) && prefersHtml(req);
}

/** With `LILAC_PUBLIC=false`, reading needs a member (any role) or a builder's token; writing routes check their own callers. */
export function privateReads(context: AppContext): RequestHandler {
  return async (req, res, next) => {
    if (context.config.publicReads || !SAFE_METHODS.has(req.method) || openEvenWhenPrivate(req)) return next();
    if ((await callerOf(context, req, res)).kind === 'anonymous') throw unauthorized('this lilac is private (LILAC_PUBLIC=false): sign in as a member');
    next();
  };
}
