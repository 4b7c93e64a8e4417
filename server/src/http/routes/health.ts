import { Router } from 'express';
import type { AppContext } from '../../context.ts';

export function healthRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    const state = context.store.state();
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
