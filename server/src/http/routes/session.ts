import type { MeView } from '@lilac/common';
import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.ts';
import { SESSION_LIFETIME_MS, type Member } from '../../people/memberService.ts';
import { badRequest, HttpError, unauthorized } from '../errors.ts';
import { personJsonBody } from '../personBody.ts';
import { SESSION_COOKIE } from '../../people/sessionCookie.ts';
import { authenticatedMember, callerOf, requireMember } from '../requireMember.ts';

function meView(member: Member, csrfToken: string | null): MeView {
  return { name: member.name, role: member.role, hasPassword: member.hasPassword, csrfToken };
}

/**
 * httpOnly: no script reads it. SameSite=Strict: no other site's page, link or
 * form makes the browser send it; the web app's own requests still carry it,
 * and a link followed from elsewhere only loads the app, which then asks with
 * the cookie. Secure when the request came over https (directly or through a
 * proxy on loopback), so a plain-http development server still works.
 */
function setSessionCookie(req: Request, res: Response, id: string): void {
  res.cookie(SESSION_COOKIE, id, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: SESSION_LIFETIME_MS });
}

function credentials(body: unknown): { token: string } | { name: string; password: string } {
  const value = (body ?? {}) as Record<string, unknown>;
  if (typeof value.token === 'string' && value.token !== '') return { token: value.token };
  if (typeof value.name === 'string' && typeof value.password === 'string') return { name: value.name, password: value.password };
  throw badRequest('send {"token": "<member token>"} or {"name": "...", "password": "..."}');
}

/** Signing in and out, and the signed-in member. */
export function sessionRoutes(context: AppContext): Router {
  const router = Router();
  router.post('/api/v1/session', personJsonBody, async (req, res) => {
    const given = credentials(req.body);
    const keys = [`address:${req.ip ?? 'unknown'}`, ...('name' in given ? [`name:${given.name}`] : [])];
    const wait = context.signInLimiter.retryAfterMs(keys);
    if (wait > 0) {
      res.set('retry-after', String(Math.ceil(wait / 1000)));
      throw new HttpError(429, `too many failed sign-ins: try again in ${Math.ceil(wait / 1000)} s`);
    }
    const member = 'token' in given ? await context.members.authenticateToken(given.token) : await context.members.authenticatePassword(given.name, given.password);
    if (!member) {
      context.signInLimiter.fail(keys);
      throw unauthorized('token' in given ? 'no member has this token' : 'wrong name or password');
    }
    const { id, session } = await context.members.startSession(member);
    setSessionCookie(req, res, id);
    res.status(201).json(meView(member, session.csrfToken));
  });
  router.delete('/api/v1/session', requireMember(context, 'viewer'), async (req, res) => {
    const caller = await callerOf(context, req, res);
    if (caller.kind === 'member' && caller.via === 'session') await context.members.endSession(caller.sessionId);
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' });
    res.status(204).end();
  });
  router.get('/api/v1/me', requireMember(context, 'viewer'), async (req, res) => {
    const caller = await callerOf(context, req, res);
    res.json(meView(authenticatedMember(res), caller.kind === 'member' && caller.via === 'session' ? caller.csrfToken : null));
  });
  router.put('/api/v1/me/password', requireMember(context, 'viewer'), personJsonBody, async (req, res) => {
    const password = (req.body as { password?: unknown } | undefined)?.password;
    if (typeof password !== 'string') throw badRequest('send {"password": "..."}');
    await context.members.setPassword(authenticatedMember(res).name, password);
    res.status(204).end();
  });
  return router;
}
