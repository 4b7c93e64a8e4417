import type { Express } from 'express';
import type { AppContext } from '../../context.ts';
import { healthRoutes } from './health.ts';
import { whoamiRoutes } from './whoami.ts';

/** The whole HTTP API, one line per resource. */
export function mountRoutes(app: Express, context: AppContext): void {
  app.use(healthRoutes(context));
  app.use(whoamiRoutes(context));
}
