import { drvHashOf, drvPathFromHash, type DerivationDetail } from '@lilac/common';
import { Router } from 'express';
import { attestationView, outputSummaryView } from '../../attestations/views.ts';
import type { AppContext } from '../../context.ts';
import { notFound } from '../errors.ts';

/** lila's derivation listing and per-derivation hash counts, and the monitor's per-derivation summaries. */
export function derivationRoutes(context: AppContext): Router {
  const router = Router();

  router.get('/derivations', async (_req, res) => {
    const records = await context.models.Derivation.find().sort({ _id: 1 }).lean();
    res.json(records.map((record) => ({ id: String(record._id), drv_hash: drvHashOf(record.drvPath) })));
  });

  router.get('/derivations/:drvHash', async (req, res) => {
    const drvPath = drvPathFromHash(req.params.drvHash as string);
    const records = await context.models.Attestation.find({ drvPath }).sort({ createdAt: 1 }).lean();
    if (records.length === 0) throw notFound(`no attestations for derivation ${drvPath}`);
    if (req.query.full === 'true' || req.query.full === '1') {
      res.json(records.map(attestationView));
      return;
    }
    // lila's clients read raw counts: builders per hash, verified or not.
    const counts: Record<string, Record<string, number>> = {};
    for (const record of records) {
      const hashes = (counts[record.outPath] ??= {});
      hashes[record.narHash] = (hashes[record.narHash] ?? 0) + 1;
    }
    res.json(counts);
  });

  router.get('/api/v1/derivations/:drvHash', async (req, res) => {
    const drvPath = drvPathFromHash(req.params.drvHash as string);
    const summaries = await context.models.OutputSummary.find({ drvPath }).sort({ outPath: 1 }).lean();
    if (summaries.length === 0) throw notFound(`no attestations for derivation ${drvPath}`);
    const detail: DerivationDetail = { drvPath, outputs: summaries.map(outputSummaryView) };
    res.json(detail);
  });

  return router;
}
