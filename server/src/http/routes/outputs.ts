import { parseStoreBaseName, type OutputDetail } from '@lilac/common';
import { Router } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import { attestationView, outputSummaryView } from '../../attestations/views.ts';
import type { AppContext } from '../../context.ts';
import { historyEntryView, triageView } from '../../triage/triageService.ts';
import { notFound } from '../errors.ts';

/** One output's verdict, hash groups and every attestation behind them, the pool's rebuilds of it, and what people wrote about it. */
export function outputRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/outputs/:baseName', async (req, res) => {
    const { path } = parseStoreBaseName(req.params.baseName as string);
    const summary = await context.models.OutputSummary.findOne({ outPath: path }).lean();
    if (!summary) throw notFound(`nothing attested for ${path}`);
    const [attestations, triage, comments, rebuilds] = await Promise.all([
      attestationsOf(context.models, path),
      context.triage.find(path),
      context.comments.thread(path),
      context.pool.attemptsAt(path),
    ]);
    const detail: OutputDetail = {
      ...outputSummaryView(summary),
      attestations: attestations.map(attestationView),
      rebuilds,
      triage: triage ? triageView(triage, attestations) : null,
      history: (triage?.history ?? []).map(historyEntryView),
      comments,
    };
    res.json(detail);
  });
  return router;
}
