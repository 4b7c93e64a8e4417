import { drvPathFromHash, parseStoreBaseName } from '@lilac/common';
import { Router } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import { batchSubmissions, lilaSubmissions } from '../../attestations/submissions.ts';
import { attestationView } from '../../attestations/views.ts';
import type { AppContext } from '../../context.ts';
import { jsonBody } from '../jsonBody.ts';
import { authenticatedBuilder, requireBuilder } from '../requireBuilder.ts';

/** Submitting attestations (lila's route and the batch route) and reading them per output. */
export function attestationRoutes(context: AppContext): Router {
  const router = Router();

  router.post('/attestation/:drvHash', requireBuilder(context), jsonBody(context), async (req, res) => {
    const inputs = lilaSubmissions(drvPathFromHash(req.params.drvHash as string), req.body);
    // lila's clients ignore the body; lilac's read each output's verdict and signature status.
    res.json(await context.ingest.submit(authenticatedBuilder(res), inputs));
  });

  router.post('/api/v1/attestations', requireBuilder(context), jsonBody(context), async (req, res) => {
    const inputs = batchSubmissions(req.body);
    res.json({ results: await context.ingest.submit(authenticatedBuilder(res), inputs) });
  });

  router.get('/attestations/by-output/:baseName', async (req, res) => {
    const { path } = parseStoreBaseName(req.params.baseName as string);
    const records = await attestationsOf(context.models, path);
    res.json(records.map(attestationView));
  });

  return router;
}
