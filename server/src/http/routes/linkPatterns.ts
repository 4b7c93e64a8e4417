import { Router } from 'express';
import type { AppContext } from '../../context.ts';
import { defineLinkPattern, InvalidLinkPatternError, listLinkPatterns } from '../../linkPatterns/linkPatterns.ts';
import { NotOwnerError } from '../../ownership/ownership.ts';
import { badRequest, HttpError } from '../errors.ts';
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
  return router;
}
