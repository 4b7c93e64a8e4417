import { Router } from 'express';
import { openApiDocument } from '../openapi.ts';

export function openApiRoutes(): Router {
  const router = Router();
  router.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument);
  });
  return router;
}
