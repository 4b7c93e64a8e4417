import { parseStoreBaseName, type OutputDetail } from '@lilac/common';
import { Router } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import { attestationView, outputSummaryView } from '../../attestations/views.ts';
import type { AppContext } from '../../context.ts';
import { notFound } from '../errors.ts';

/** One output's verdict, hash groups and every attestation behind them. */
export function outputRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/outputs/:baseName', async (req, res) => {
    const { path } = parseStoreBaseName(req.params.baseName as string);
    const summary = await context.models.OutputSummary.findOne({ outPath: path }).lean();
    if (!summary) throw notFound(`nothing attested for ${path}`);
    const attestations = await attestationsOf(context.models, path);
    const detail: OutputDetail = { ...outputSummaryView(summary), attestations: attestations.map(attestationView) };
    res.json(detail);
  });
  return router;
}
