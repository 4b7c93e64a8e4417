import { Router } from 'express';
import type { AppContext } from '../../context.ts';
import { defineLinkPattern, InvalidLinkPatternError, listLinkPatterns, maintainLinkPattern, removeLinkPattern } from '../../linkPatterns/linkPatterns.ts';
import { MissingRecordError, NotOwnerError } from '../../ownership/ownership.ts';
import { badRequest, HttpError, notFound } from '../errors.ts';
import { personJsonBody } from '../personBody.ts';
import { requireMember } from '../requireMember.ts';
import { authenticatedBuilder, requireBuilder } from '../requireBuilder.ts';

/** lila's link patterns: package-name regex → a page about why it does not reproduce. */
export function linkPatternRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/link_patterns', async (_req, res) => {
    res.json(await listLinkPatterns(context.models));
  });
  // lila takes both as query parameters (`curl -X POST -G --data-urlencode …`).
  router.post('/link_patterns', requireBuilder(context), async (req, res) => {
    const { pattern, link } = req.query;
    if (typeof pattern !== 'string' || typeof link !== 'string') throw badRequest('pattern and link query parameters are required, once each');
    try {
      res.json(await defineLinkPattern(context.models, pattern, link, authenticatedBuilder(res).name));
    } catch (error) {
      if (error instanceof InvalidLinkPatternError) throw badRequest(error.message);
      if (error instanceof NotOwnerError) throw new HttpError(403, error.message);
      throw error;
    }
  });
  // Maintainers and admins manage every pattern from the web app, whichever builder defined it.
  router.put('/api/v1/link-patterns', requireMember(context, 'maintainer'), personJsonBody, async (req, res) => {
    const { pattern, link } = (req.body ?? {}) as { pattern?: unknown; link?: unknown };
    if (typeof pattern !== 'string' || typeof link !== 'string') throw badRequest('send {"pattern": "...", "link": "https://..."}');
    try {
      res.json(await maintainLinkPattern(context.models, pattern, link));
    } catch (error) {
      if (error instanceof InvalidLinkPatternError) throw badRequest(error.message);
      throw error;
    }
  });
  router.delete('/api/v1/link-patterns', requireMember(context, 'maintainer'), async (req, res) => {
    const { pattern } = req.query;
    if (typeof pattern !== 'string') throw badRequest('the pattern query parameter is required, once');
    try {
      await removeLinkPattern(context.models, pattern);
    } catch (error) {
      if (error instanceof MissingRecordError) throw notFound(error.message);
      throw error;
    }
    res.status(204).end();
  });
  return router;
}
