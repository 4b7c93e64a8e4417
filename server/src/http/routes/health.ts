import { Router } from 'express';
import type { AppContext } from '../../context.ts';

export function healthRoutes(context: AppContext): Router {
  const router = Router();
  // Healthy only when the store answers now: the driver's view lags behind a store that just died.
  router.get('/healthz', async (_req, res) => {
    const known = context.store.state();
    const state = known === 'connected' && !(await context.store.answers()) ? 'unreachable' : known;
    res.status(state === 'connected' ? 200 : 503).json({
      status: state === 'connected' ? 'ok' : 'unavailable',
      store: { kind: context.storeKind, state },
    });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics());
  });
  return router;
}
