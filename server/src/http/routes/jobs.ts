import { parsePriority, type EnqueueResult } from '@lilac/common';
import { Router } from 'express';
import type { AppContext } from '../../context.ts';
import { parseJobRequests } from '../../pool/jobRequests.ts';
import { REPORT_NAME_PATTERN } from '../../reports/reportService.ts';
import { badRequest } from '../errors.ts';
import { jsonBody } from '../jsonBody.ts';
import { personJsonBody } from '../personBody.ts';
import { requireBuilder } from '../requireBuilder.ts';
import { authenticatedMember, requireMember } from '../requireMember.ts';

const DEFAULT_LIST_LIMIT = 200;
const MAX_LIST_LIMIT = 5000;

/** The rebuild work pool over HTTP: enqueue outputs (listed, or a report's), the monitor's view of the pool, and maintainers' control of jobs. */
export function jobsRoutes(context: AppContext): Router {
  const router = Router();

  router.post('/api/v1/jobs', requireBuilder(context), jsonBody(context), async (req, res) => {
    const requests = parseJobRequests(req.body);
    res.json(await context.pool.enqueue(requests));
  });

  router.post('/api/v1/reports/:name/enqueue', requireBuilder(context), async (req, res) => {
    const name = req.params.name as string;
    if (!REPORT_NAME_PATTERN.test(name)) throw badRequest(`report name must match ${REPORT_NAME_PATTERN}`);
    const { outputs, skipped } = await context.reports.rebuildableOutputs(name);
    const result: EnqueueResult = await context.pool.enqueue(outputs);
    res.json({ ...result, skipped });
  });

  router.post('/api/v1/jobs/:id/cancel', requireMember(context, 'maintainer'), async (req, res) => {
    res.json(await context.pool.cancel(req.params.id as string, authenticatedMember(res).name));
  });

  router.patch('/api/v1/jobs/:id', requireMember(context, 'maintainer'), personJsonBody, async (req, res) => {
    const body = req.body as { priority?: unknown } | undefined;
    if (typeof body !== 'object' || body === null || !('priority' in body)) throw badRequest('expected {"priority": N}');
    res.json(await context.pool.prioritise(req.params.id as string, parsePriority(body.priority), authenticatedMember(res).name));
  });

  router.get('/api/v1/pool', async (req, res) => {
    const text = typeof req.query.limit === 'string' ? req.query.limit : String(DEFAULT_LIST_LIMIT);
    const limit = Number(text);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw badRequest(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    res.json(await context.pool.view(limit));
  });

  return router;
}
