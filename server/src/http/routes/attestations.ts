import { parseDerivationReference, parseStoreBaseName } from '@lilac/common';
import { Router, type Request } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import { batchSubmissions, lilaSubmissions } from '../../attestations/submissions.ts';
import { attestationView } from '../../attestations/views.ts';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../errors.ts';
import { jsonBody } from '../jsonBody.ts';
import { authenticatedBuilder, requireBuilder } from '../requireBuilder.ts';

/**
 * The derivation lila's route names: lila's `<digest>-<name>`, or the base name
 * or full path as people paste them. A bare digest names no derivation a
 * submission could be about.
 */
function submittedDerivation(req: Request): string {
  // `/attestation//nix/store/…drv` arrives as the segments of a wildcard: `['', 'nix', 'store', '…drv']`.
  const text = (req.params.drv as unknown as string[]).join('/');
  const reference = parseDerivationReference(text.startsWith('nix/store/') ? `/${text}` : text);
  if (reference.drvPath === null) throw badRequest(`a bare digest does not say which derivation: give ${reference.digest}-<name>, as lila's hook does`);
  return reference.drvPath;
}

/** Submitting attestations (lila's route and the batch route) and reading them per output. */
export function attestationRoutes(context: AppContext): Router {
  const router = Router();

  router.post('/attestation/*drv', requireBuilder(context), jsonBody(context), async (req, res) => {
    const inputs = lilaSubmissions(submittedDerivation(req), req.body);
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
