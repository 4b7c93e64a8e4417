import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../context.ts';
import { InvalidSbomError } from '../../reports/cyclonedx.ts';
import { ReportBusyError } from '../../reports/reportLock.ts';
import { HISTORY_DAYS, MAX_HISTORY_DAYS } from '../../reports/reportHistory.ts';
import { REPORT_NAME_PATTERN } from '../../reports/reportService.ts';
import { NotOwnerError } from '../../ownership/ownership.ts';
import { badRequest, HttpError } from '../errors.ts';
import { rawBodyOf } from '../rawBody.ts';
import { jsonBody } from '../jsonBody.ts';
import { authenticatedBuilder, requireBuilder } from '../requireBuilder.ts';
import { prefersHtml, sendWebApp } from './webApp.ts';

export const CYCLONEDX_CONTENT_TYPE = 'application/vnd.cyclonedx+json';

const forbidden = (detail: string) => new HttpError(403, detail);

function reportName(req: Request): string {
  const name = req.params.name as string;
  if (!REPORT_NAME_PATTERN.test(name)) throw badRequest(`report name must match ${REPORT_NAME_PATTERN}`);
  return name;
}

/** The one place a browser asking for a report's HTML is answered: the web monitor's report page. */
function reportPage(_req: Request, res: Response): void {
  sendWebApp(res);
}

/** lila's reports (SBOM upload, text tree, CycloneDX, suggestions) and the monitor's JSON views of them. */
export function reportRoutes(context: AppContext): Router {
  const router = Router();

  router.get('/reports', async (req, res) => {
    // A browser navigating here gets the monitor's reports page; lila's clients keep their JSON list.
    if (prefersHtml(req)) return sendWebApp(res);
    res.json(await context.reports.names());
  });

  router.put('/reports/:name', requireBuilder(context), jsonBody(context), async (req, res) => {
    const name = reportName(req);
    const raw = rawBodyOf(req);
    if (raw === undefined) throw new HttpError(415, 'send the CycloneDX SBOM as a JSON body');
    try {
      const saved = await context.reports.save(name, raw, req.body, authenticatedBuilder(res).name);
      res.status(saved.created ? 201 : 200).json({ name, total: saved.total, components: saved.components });
    } catch (error) {
      if (error instanceof InvalidSbomError) throw badRequest(error.message);
      if (error instanceof NotOwnerError) throw forbidden(error.message);
      if (error instanceof ReportBusyError) throw new HttpError(503, error.message);
      throw error;
    }
  });

  router.get('/reports/:name', async (req, res) => {
    const name = reportName(req);
    const kind = req.accepts(['text/plain', 'application/json', CYCLONEDX_CONTENT_TYPE, 'text/html']) || 'text/plain';
    if (kind === 'text/html') return reportPage(req, res);
    if (kind === 'application/json') {
      res.json(await context.reports.summary(name));
      return;
    }
    if (kind === CYCLONEDX_CONTENT_TYPE) {
      res.type(CYCLONEDX_CONTENT_TYPE).send(await context.reports.sbom(name));
      return;
    }
    res.type('text/plain; charset=utf-8').send(await context.reports.textTree(name));
  });

  router.get('/reports/:name/suggest', requireBuilder(context), async (req, res) => {
    res.json(await context.reports.suggest(reportName(req), authenticatedBuilder(res).name));
  });

  router.get('/api/v1/reports', async (_req, res) => {
    res.json(await context.reports.summaries());
  });

  router.get('/api/v1/reports/:name/causes', async (req, res) => {
    res.json(await context.listings.causesOf(await context.reports.notReproducedPaths(reportName(req))));
  });

  router.get('/api/v1/reports/:name/rebuilds', async (req, res) => {
    res.json(await context.pool.lastRebuildsOf(await context.reports.outPaths(reportName(req))));
  });

  router.get('/api/v1/reports/:name', async (req, res) => {
    const { body, etag } = await context.reports.detailJson(reportName(req));
    // Set here, Express answers a matching If-None-Match with 304 and skips hashing 11 MB per request.
    res.set('ETag', etag).type('application/json').send(body);
  });

  router.get('/api/v1/reports/:name/history', async (req, res) => {
    const name = reportName(req);
    const text = req.query.days;
    const days = text === undefined ? HISTORY_DAYS : Number(text);
    if (!Number.isSafeInteger(days) || days < 1 || days > MAX_HISTORY_DAYS) throw badRequest(`days must be a whole number from 1 to ${MAX_HISTORY_DAYS}`);
    res.json(await context.reports.history(name, days));
  });

  return router;
}
