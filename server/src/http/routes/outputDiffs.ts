import { parseListingQuestions, parseStoreBaseName, type DiffoscopeFormat } from '@lilac/common';
import express, { Router, type Request } from 'express';
import type { AppContext } from '../../context.ts';
import { listingWishes } from '../../listings/listingsWanted.ts';
import { badRequest } from '../errors.ts';
import { jsonBody } from '../jsonBody.ts';
import { authenticatedBuilder, requireBuilder } from '../requireBuilder.ts';

/**
 * diffoscope's HTML comes from builders: it is shown only as a document of
 * its own that may run nothing, load nothing and reach nothing of lilac's
 * (`sandbox` gives it an opaque origin), never inlined into the app.
 */
export const DIFFOSCOPE_HTML_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const FILE_FORMATS: Record<string, DiffoscopeFormat> = { txt: 'text', html: 'html' };

function outPathOf(req: Request): string {
  return parseStoreBaseName(req.params.baseName as string).path;
}

/** File listings and diffoscope outputs uploaded by builders, and the diff between an output's copies. */
export function outputDiffRoutes(context: AppContext): Router {
  const router = Router();
  // Read as bytes (inflated when gzipped): the listing thread parses and checks them, off the event loop.
  const listingBody = express.raw({ limit: context.config.listingBodyLimitBytes, type: () => true });

  router.put('/api/v1/outputs/:baseName/listing', requireBuilder(context), listingBody, async (req, res) => {
    const body: unknown = req.body;
    const { stored } = await context.listings.uploadListing(authenticatedBuilder(res).name, outPathOf(req), Buffer.isBuffer(body) ? body : Buffer.alloc(0));
    res.status(stored ? 201 : 200).json({ stored });
  });

  router.post('/api/v1/listings/wanted', requireBuilder(context), jsonBody(context), async (req, res) => {
    res.json(await listingWishes(context.models, authenticatedBuilder(res).name, parseListingQuestions(req.body)));
  });

  router.put('/api/v1/outputs/:baseName/diffoscope', requireBuilder(context), jsonBody(context), async (req, res) => {
    await context.listings.uploadDiffoscope(authenticatedBuilder(res).name, outPathOf(req), req.body);
    res.status(201).json({ stored: true });
  });

  router.get('/api/v1/outputs/:baseName/diff', async (req, res) => {
    res.json(await context.listings.diff(outPathOf(req)));
  });

  router.get('/api/v1/outputs/:baseName/diffoscope/:a/:file', async (req, res) => {
    const match = /^(.+)\.(txt|html)$/.exec(req.params.file as string);
    if (!match) throw badRequest('ask for <a>/<b>.txt or <a>/<b>.html');
    const format = FILE_FORMATS[match[2] as string] as DiffoscopeFormat;
    const { content } = await context.listings.diffoscope(outPathOf(req), req.params.a as string, match[1] as string, format);
    res.set('X-Content-Type-Options', 'nosniff');
    if (format === 'html') {
      res.set('Content-Security-Policy', DIFFOSCOPE_HTML_POLICY).type('text/html; charset=utf-8').send(content);
    } else {
      res.type('text/plain; charset=utf-8').send(content);
    }
  });

  return router;
}
