import type { Stats, Verdict } from '@lilac/common';
import { Router } from 'express';
import type { AppContext } from '../../context.ts';
import { zeroCounts } from '../../reports/reportService.ts';

/** Totals for the monitor's front page, from the per-output summaries (one `$group`), not from attestations. */
export function statsRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/stats', async (_req, res) => {
    const { OutputSummary, Attestation, Builder } = context.models;
    const [groups, attestations, builders] = await Promise.all([
      OutputSummary.aggregate<{ _id: Verdict; count: number }>([{ $group: { _id: '$verdict', count: { $sum: 1 } } }]),
      Attestation.countDocuments(),
      Builder.countDocuments(),
    ]);
    const counts = zeroCounts();
    let outputs = 0;
    for (const group of groups) {
      counts[group._id] = group.count;
      outputs += group.count;
    }
    const stats: Stats = { counts, attestations, builders, outputs };
    res.json(stats);
  });
  return router;
}
