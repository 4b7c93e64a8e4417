import { parseDerivationReference, parseStoreBaseName, type AttestationResult } from '@lilac/common';
import { Router } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import { batchSubmissions, lilaSubmissions } from '../../attestations/submissions.ts';
import { attestationView } from '../../attestations/views.ts';
import type { Builder } from '../../builders/builderService.ts';
import type { AppContext } from '../../context.ts';
import { badRequest } from '../errors.ts';
import { jsonBody } from '../jsonBody.ts';
import { authenticatedBuilder, requireBuilder } from '../requireBuilder.ts';

/**
 * The derivation lila's route names: lila's `<digest>-<name>`, or the base name
 * or full path as people paste them. A bare digest names no derivation a
 * submission could be about.
 */
function submittedDerivation(text: string): string {
  const reference = parseDerivationReference(text.startsWith('nix/store/') ? `/${text}` : text);
  if (reference.drvPath === null) throw badRequest(`a bare digest does not say which derivation: give ${reference.digest}-<name>, as lila's hook does`);
  return reference.drvPath;
}

/**
 * lila's `POST /attestation/{drv}`, once the builder and the body are known: `derivation` is the
 * path after `/attestation/`, decoded. Express routes it, and so does `lilaFastPath.ts`.
 */
export function submitAsLila(context: AppContext, builder: Builder, derivation: string, body: unknown): Promise<AttestationResult[]> {
  // lila's clients ignore the answer; lilac's read each output's verdict and signature status.
  return context.ingest.submit(builder, lilaSubmissions(submittedDerivation(derivation), body));
}

/** Submitting attestations (lila's route and the batch route) and reading them per output. */
export function attestationRoutes(context: AppContext): Router {
  const router = Router();

  router.post('/attestation/*drv', requireBuilder(context), jsonBody(context), async (req, res) => {
    // `/attestation//nix/store/…drv` arrives as the segments of a wildcard: `['', 'nix', 'store', '…drv']`.
    const derivation = (req.params.drv as unknown as string[]).join('/');
    res.json(await submitAsLila(context, authenticatedBuilder(res), derivation, req.body));
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
