import type { Stats } from '@lilac/common';
import { Router } from 'express';
import type { AppContext } from '../../context.ts';

/** Totals for the monitor's front page, from the catalog kept in memory (or, while it counts after a start, the totals last stored): no request scans a collection. */
export function statsRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/stats', async (_req, res) => {
    const [{ verdicts, attestations, countedAt }, builders] = await Promise.all([context.catalog.totals(), context.builders.list()]);
    const outputs = Object.values(verdicts).reduce((sum, count) => sum + count, 0);
    const stats: Stats = { counts: verdicts, attestations, builders: builders.length, outputs, countedAt: countedAt?.toISOString() ?? null };
    res.json(stats);
  });
  return router;
}
