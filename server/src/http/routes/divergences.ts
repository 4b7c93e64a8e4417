import type { DivergenceView } from '@lilac/common';
import { Router } from 'express';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../errors.ts';

const MAX_LIMIT = 1000;

/** Outputs whose builders disagree, most recently changed first. */
export function divergenceRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/divergences', async (req, res) => {
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '50';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}`);
    const records = await context.models.Divergence.find().sort({ lastChanged: -1 }).limit(limit).lean();
    const views: DivergenceView[] = records.map((record) => ({
      outPath: record.outPath,
      drvPath: record.drvPath ?? null,
      hashes: record.hashes.map((group) => ({
        narHash: group.narHash,
        verifiedBuilders: [...group.verifiedBuilders],
        unverifiedBuilders: [...group.unverifiedBuilders],
      })),
      firstSeen: record.firstSeen.toISOString(),
      lastChanged: record.lastChanged.toISOString(),
    }));
    res.json(views);
  });
  return router;
}
