import { isDigest, isNarinfoValue, NARINFO_CONTENT_TYPE, parseStorePath, renderNarinfo } from '@lilac/common';
import { Router } from 'express';
import { attestationId } from '../../attestations/attestationModel.ts';
import { summariesWithDigest } from '../../attestations/summariesWithDigest.ts';
import type { AppContext } from '../../context.ts';
import { badRequest, notFound } from '../errors.ts';

/** Valid signatures first, then unsigned, then invalid; the newest of a kind. */
const STATUS_RANK: Record<string, number> = { valid: 0, unsigned: 1, invalid: 2 };

/** A narinfo per builder and output, as lila served it: what that builder said it built, with its signature. */
export function signatureRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/signatures/:builder/:file', async (req, res) => {
    const builder = req.params.builder as string;
    const file = req.params.file as string;
    const digest = file.endsWith('.narinfo') ? file.slice(0, -'.narinfo'.length) : '';
    if (!isDigest(digest)) throw badRequest('expected /signatures/{builder}/{32-character store path digest}.narinfo');
    // The output's summary names the builder's hashes, which give the attestations' `_id`s.
    const summaries = await summariesWithDigest(context.models, digest);
    const ids = summaries.flatMap((summary) =>
      summary.hashes
        .filter((group) => group.verifiedBuilders.includes(builder) || group.unverifiedBuilders.includes(builder))
        .map((group) => attestationId(summary.outPath, builder, group.narHash)),
    );
    const [attestation] = (ids.length === 0 ? [] : await context.models.Attestation.find({ _id: { $in: ids } }).lean()).sort(
      (a, b) => (STATUS_RANK[a.signatureStatus] ?? 3) - (STATUS_RANK[b.signatureStatus] ?? 3) || b.createdAt.getTime() - a.createdAt.getTime(),
    );
    if (!attestation) throw notFound(`builder ${JSON.stringify(builder)} attested nothing with digest ${digest}`);
    res.type(NARINFO_CONTENT_TYPE).send(
      renderNarinfo({
        storePath: attestation.outPath,
        url: `nar/${digest}.nar`,
        compression: 'none',
        narHash: attestation.narHash,
        ...(attestation.narSize !== null && attestation.narSize !== undefined && { narSize: attestation.narSize }),
        ...(attestation.references && { references: attestation.references.map((reference) => parseStorePath(reference).baseName) }),
        ...(attestation.drvPath && { deriver: parseStorePath(attestation.drvPath).baseName }),
        // A signature stored before ingest refused control characters would add lines of its own; it verifies nothing anyway.
        sigs: [attestation.signature].filter(isNarinfoValue),
      }),
    );
  });
  return router;
}
