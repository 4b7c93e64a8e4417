import express, { type Express, type Request } from 'express';
import type { AppContext } from '../context.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { countRequest } from './requestMetrics.ts';
import { mountRoutes } from './routes/index.ts';

export function createApp(context: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('etag', false);

  app.use((req, res, next) => {
    countRequest(context.metrics, req, res, () => routeOf(req));
    next();
  });
  // No body parser here: only the routes that take a body read it, once the builder is known (jsonBody.ts).
  mountRoutes(app, context);
  app.use(notFoundHandler);
  app.use(errorHandler(context.log));
  return app;
}

/** The route Express matched, as mounted (`/attestation/*drv`), or `unmatched`. */
function routeOf(req: Request): string {
  const route = (req.route as { path?: string } | undefined)?.path;
  return route === undefined ? 'unmatched' : `${req.baseUrl}${route}`;
}
