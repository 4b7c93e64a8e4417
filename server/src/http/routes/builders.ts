import type { BuilderView } from '@lilac/common';
import { Router } from 'express';
import type { AppContext } from '../../context.ts';

/** `GET /api/v1/builders`: who reports, with which keys, how much, and whether connected now. */
export function buildersRoutes(context: AppContext): Router {
  const router = Router();
  router.get('/api/v1/builders', async (_req, res) => {
    const [builders, counts] = await Promise.all([
      context.builders.list(),
      context.models.Attestation.aggregate<{ _id: string; count: number }>([{ $group: { _id: '$builder', count: { $sum: 1 } } }]),
    ]);
    const attestations = new Map(counts.map(({ _id, count }) => [_id, count]));
    const body: BuilderView[] = builders.map((builder) => ({
      name: builder.name,
      keys: builder.keys.map(({ key }) => key),
      lastSeenAt: builder.lastSeenAt?.toISOString() ?? null,
      attestations: attestations.get(builder.name) ?? 0,
      online: context.presence.isOnline(builder.name),
    }));
    res.json(body);
  });
  return router;
}
