import { drvHashOf, InvalidStorePathError, parseDerivationReference, type DerivationDetail } from '@lilac/common';
import { Router, type Request } from 'express';
import { attestationsOf } from '../../attestations/attestationsOf.ts';
import { attestationView, outputSummaryView } from '../../attestations/views.ts';
import type { AppContext } from '../../context.ts';
import { notFound } from '../errors.ts';

/** The derivation a URL names, however it was pasted; 404 (as lila answers) for anything that is not a known one. */
async function knownDerivation(context: AppContext, req: Request): Promise<string> {
  // `/derivations//nix/store/…drv` arrives as the segments of a wildcard: `['', 'nix', 'store', '…drv']`.
  const segments = req.params.name as unknown as string[];
  const text = segments.join('/');
  let reference;
  try {
    reference = parseDerivationReference(text.startsWith('nix/store/') ? `/${text}` : text);
  } catch (error) {
    if (error instanceof InvalidStorePathError) throw notFound(error.message);
    throw error;
  }
  const known = await context.catalog.derivationsWithDigest(reference.digest);
  if (reference.drvPath === null) {
    if (known.length > 1) throw notFound(`digest ${reference.digest} names ${known.length} derivations: ${known.join(', ')}`);
    const [only] = known;
    if (only === undefined) throw notFound(`no attestations for a derivation with digest ${reference.digest}`);
    return only;
  }
  if (!known.includes(reference.drvPath)) throw notFound(`no attestations for derivation ${reference.drvPath}`);
  return reference.drvPath;
}

/** lila's derivation listing and per-derivation hash counts, and the monitor's per-derivation summaries. */
export function derivationRoutes(context: AppContext): Router {
  const router = Router();

  router.get('/derivations', async (_req, res) => {
    const paths = await context.catalog.derivationPaths();
    res.json(paths.map((drvPath) => ({ id: drvPath, drv_hash: drvHashOf(drvPath) })));
  });

  router.get('/derivations/*name', async (req, res) => {
    const drvPath = await knownDerivation(context, req);
    const perOutput = await Promise.all((await context.catalog.outputsOf(drvPath)).map((outPath) => attestationsOf(context.models, outPath)));
    const records = perOutput
      .flat()
      .filter((record) => record.drvPath === drvPath)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
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

  router.get('/api/v1/derivations/*name', async (req, res) => {
    const drvPath = await knownDerivation(context, req);
    const outPaths = await context.catalog.outputsOf(drvPath);
    // An empty `$in` is not pushed down to FerretDB's index: it would read every summary to find none.
    if (outPaths.length === 0) throw notFound(`no attestations for derivation ${drvPath}`);
    const summaries = await context.models.OutputSummary.find({ outPath: { $in: [...outPaths] } }).lean();
    summaries.sort((a, b) => (a.outPath < b.outPath ? -1 : 1));
    const detail: DerivationDetail = { drvPath, outputs: summaries.map(outputSummaryView) };
    res.json(detail);
  });

  return router;
}
