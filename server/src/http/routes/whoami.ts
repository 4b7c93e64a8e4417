import { Router } from 'express';
import type { AppContext } from '../../context.ts';
import { authenticatedBuilder, requireBuilder } from '../requireBuilder.ts';

/** Lets a builder check its token and see which keys the server will verify its signatures with. */
export function whoamiRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/whoami', requireBuilder(context), (_req, res) => {
    const builder = authenticatedBuilder(res);
    res.json({ name: builder.name, keys: builder.keys.map((key) => key.key) });
  });
  return router;
}
