import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.ts';

const distDir = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));
const indexFile = `${distDir}index.html`;
const faviconFile = `${distDir}favicon.svg`;

/** Paths that belong to the API, lila's routes or the live channel: never answered with the SPA. */
export const API_PATH = /^\/(api|socket\.io|attestations?|derivations|reports|link_patterns|signatures|healthz|metrics)(\/|$)/;

/** True when a client asked for HTML over JSON or text, as browsers navigating do (curl's `*∕*` prefers JSON). */
export function prefersHtml(req: Request): boolean {
  return req.accepts(['application/json', 'text/plain', 'text/html']) === 'text/html';
}

/** Answers with the SPA's entry page; its router renders the page for the URL. */
export function sendWebApp(res: Response): void {
  if (!existsSync(indexFile)) {
    res.status(503).json({ detail: 'the web app is not built: run `npm run build -w web`' });
    return;
  }
  // Always revalidated, so a new build's asset names reach browsers at once.
  res.set('cache-control', 'no-cache').sendFile(indexFile);
}

/**
 * The built web monitor (`web/dist`): hashed assets cached for good, the entry
 * page revalidated, and any other browser navigation outside the API answered
 * with the entry page so deep links work. Mounted after every API route.
 */
export function webAppRoutes(_context: AppContext): Router {
  const router = Router();
  router.use(
    express.static(distDir, {
      index: false,
      setHeaders(res, file) {
        res.set('cache-control', file.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  // Asked for by clients that do not read the page's `<link rel="icon">`; browsers take an SVG under this name too.
  router.get('/favicon.ico', (_req, res, next) => {
    if (!existsSync(faviconFile)) return next();
    res.type('image/svg+xml').set('cache-control', 'public, max-age=86400').sendFile(faviconFile);
  });
  router.get(/.*/, (req, res, next) => {
    // `/` is the monitor for any client; deeper paths only for browsers, so API clients keep getting JSON 404s.
    if (req.path !== '/' && (API_PATH.test(req.path) || !prefersHtml(req))) return next();
    sendWebApp(res);
  });
  return router;
}
