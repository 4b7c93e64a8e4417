import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.ts';

/** Counts and times a request once its answer is sent; `routeOf` names its route then, when routing has found it. */
export function countRequest(metrics: Metrics, req: IncomingMessage, res: ServerResponse, routeOf: () => string): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const route = routeOf();
    metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, Number(process.hrtime.bigint() - started) / 1e9);
  });
}
