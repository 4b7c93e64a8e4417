import { isDigest, NARINFO_CONTENT_TYPE, parseStorePath, renderNarinfo } from '@lilac/common';
import { Router } from 'express';
import type { AppContext } from '../../context.ts';
import { badRequest, notFound } from '../errors.ts';

/** A narinfo per builder and output, as lila served it: what that builder said it built, with its signature. */
export function signatureRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/signatures/:builder/:file', async (req, res) => {
    const builder = req.params.builder as string;
    const file = req.params.file as string;
    const digest = file.endsWith('.narinfo') ? file.slice(0, -'.narinfo'.length) : '';
    if (!isDigest(digest)) throw badRequest('expected /signatures/{builder}/{32-character store path digest}.narinfo');
    const [attestation] = await context.models.Attestation.find({ builder, outPath: { $regex: `^/nix/store/${digest}-` } })
      .sort({ signatureStatus: -1, createdAt: -1 })
      .limit(1)
      .lean();
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
        sigs: [attestation.signature],
      }),
    );
  });
  return router;
}
