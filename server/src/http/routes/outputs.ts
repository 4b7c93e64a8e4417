import { parseStoreBaseName, type OutputDetail, type TriageView, type UntriagedItem } from '@lilac/common';
import { Router } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import { attestationView, outputSummaryView } from '../../attestations/views.ts';
import type { AppContext } from '../../context.ts';
import { historyEntryView, triageView } from '../../triage/triageService.ts';
import { parseTriageUpdate } from '../../triage/triageInput.ts';
import { badRequest, notFound } from '../errors.ts';
import { personJsonBody } from '../personBody.ts';
import { authenticatedMember, requireMember } from '../requireMember.ts';

/** One output's verdict, hash groups and every attestation behind them, with what people wrote about it. */
export function outputRoutes(context: AppContext): Router {
  const router = Router();
  const outPathOf = async (baseName: string): Promise<string> => {
    const { path } = parseStoreBaseName(baseName);
    if (!(await context.models.OutputSummary.exists({ outPath: path }))) throw notFound(`nothing attested for ${path}`);
    return path;
  };

  router.get('/api/v1/outputs/:baseName', async (req, res) => {
    const { path } = parseStoreBaseName(req.params.baseName as string);
    const summary = await context.models.OutputSummary.findOne({ outPath: path }).lean();
    if (!summary) throw notFound(`nothing attested for ${path}`);
    const [attestations, triage, comments] = await Promise.all([attestationsOf(context.models, path), context.triage.find(path), context.comments.thread(path)]);
    const detail: OutputDetail = {
      ...outputSummaryView(summary),
      attestations: attestations.map(attestationView),
      triage: triage ? triageView(triage, attestations) : null,
      history: (triage?.history ?? []).map(historyEntryView),
      comments,
    };
    res.json(detail);
  });

  router.put('/api/v1/outputs/:baseName/triage', requireMember(context, 'maintainer'), personJsonBody, async (req, res) => {
    const path = await outPathOf(req.params.baseName as string);
    const update = parseTriageUpdate(req.body);
    const { record } = await context.triage.update(path, update, authenticatedMember(res).name);
    res.json({ triage: triageView(record, await attestationsOf(context.models, path)), history: record.history.map(historyEntryView) });
  });

  router.post('/api/v1/outputs/:baseName/comments', requireMember(context, 'viewer'), personJsonBody, async (req, res) => {
    const path = await outPathOf(req.params.baseName as string);
    res.status(201).json(await context.comments.add(path, authenticatedMember(res), (req.body as { body?: unknown } | undefined)?.body as string));
  });

  router.patch('/api/v1/outputs/:baseName/comments/:id', requireMember(context, 'viewer'), personJsonBody, async (req, res) => {
    const path = await outPathOf(req.params.baseName as string);
    res.json(await context.comments.edit(path, req.params.id as string, authenticatedMember(res), (req.body as { body?: unknown } | undefined)?.body as string));
  });

  router.delete('/api/v1/outputs/:baseName/comments/:id', requireMember(context, 'viewer'), async (req, res) => {
    const path = await outPathOf(req.params.baseName as string);
    await context.comments.remove(path, req.params.id as string, authenticatedMember(res));
    res.status(204).end();
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
