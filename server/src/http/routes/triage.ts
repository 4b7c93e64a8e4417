import type { TriageView, UntriagedItem } from '@lilac/common';
import { Router } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import type { AppContext } from '../../context.ts';
import { parseTriageUpdate } from '../../triage/triageInput.ts';
import { historyEntryView, triageView } from '../../triage/triageService.ts';
import { badRequest } from '../errors.ts';
import { personJsonBody } from '../personBody.ts';
import { authenticatedMember, requireMember } from '../requireMember.ts';
import { attestedOutput } from './attestedOutput.ts';

/** Triage of divergent outputs: maintainers change it, anyone reads the queues. */
export function triageRoutes(context: AppContext): Router {
  const router = Router();
  router.put('/api/v1/outputs/:baseName/triage', requireMember(context, 'maintainer'), personJsonBody, async (req, res) => {
    const path = await attestedOutput(context, req.params.baseName as string);
    const update = parseTriageUpdate(req.body);
    const { record } = await context.triage.update(path, update, authenticatedMember(res).name);
    res.json({ triage: triageView(record, await attestationsOf(context.models, path)), history: record.history.map(historyEntryView) });
  });


  // Where work starts: the most recent divergences nobody has triaged yet (no record, or still `new`).
  router.get('/api/v1/triage/untriaged', async (req, res) => {
    const limit = Number(typeof req.query.limit === 'string' ? req.query.limit : '50');
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badRequest('limit must be an integer from 1 to 500');
    // Looks through a bounded window of recent divergences, so an old backlog never makes this a full scan.
    const recent = await context.models.Divergence.find({}, { outPath: 1, lastChanged: 1 }).sort({ lastChanged: -1 }).limit(limit * 10).lean();
    const triaged = await context.triage.ofOutPaths(recent.map((divergence) => divergence.outPath));
    const items: UntriagedItem[] = recent
      .filter((divergence) => (triaged.get(divergence.outPath)?.status ?? 'new') === 'new')
      .slice(0, limit)
      .map((divergence) => ({ outPath: divergence.outPath, lastChanged: divergence.lastChanged.toISOString() }));
    res.json(items);
  });

  // The report page filters its not-reproduced list by these.
  router.get('/api/v1/reports/:name/triage', async (req, res) => {
    const detail = await context.reports.detail(req.params.name as string);
    const outPaths = detail.notReproduced.flatMap((group) => group.paths.map((path) => path.outPath));
    const records = await context.triage.ofOutPaths(outPaths);
    const views: Record<string, TriageView> = {};
    for (const [outPath, record] of records) views[outPath] = triageView(record);
    res.json(views);
  });
  return router;
}
