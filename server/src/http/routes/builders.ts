import type { BuilderView } from '@lilac/common';
import { Router } from 'express';
import type { AppContext } from '../../context.ts';

/** `GET /api/v1/builders`: who reports, with which keys, how much (counted by the catalog), and whether connected now. */
export function buildersRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/builders', async (_req, res) => {
    const builders = await context.builders.list();
    const body: BuilderView[] = await Promise.all(
      builders.map(async (builder) => ({
        name: builder.name,
        keys: builder.keys.map(({ key }) => key),
        lastSeenAt: builder.lastSeenAt?.toISOString() ?? null,
        attestations: await context.catalog.attestationsBy(builder.name),
        online: context.presence.isOnline(builder.name),
      })),
    );
    res.json(body);
  });
  return router;
}
