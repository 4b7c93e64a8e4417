import express, { type Express } from 'express';
import type { AppContext } from '../context.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { mountRoutes } from './routes/index.ts';

export function createApp(context: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('etag', false);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const path = `${req.baseUrl}${route === 'unmatched' ? '' : route}` || route;
      context.metrics.httpRequests.inc({ method: req.method, route: path, status: String(res.statusCode) });
      context.metrics.httpDuration.observe({ method: req.method, route: path }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });
  // No body parser here: only the routes that take a body read it, once the builder is known (jsonBody.ts).
  mountRoutes(app, context);
  app.use(notFoundHandler);
  app.use(errorHandler(context.log));
  return app;
}
