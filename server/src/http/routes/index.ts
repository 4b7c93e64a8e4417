import type { Express } from 'express';
import type { AppContext } from '../../context.ts';
import { buildersRoutes } from './builders.ts';
import { healthRoutes } from './health.ts';
import { webAppRoutes } from './webApp.ts';
import { whoamiRoutes } from './whoami.ts';

/** The whole HTTP API, one line per resource. */
export function mountRoutes(app: Express, context: AppContext): void {
  app.use(healthRoutes(context));
  app.use(whoamiRoutes(context));
  app.use(buildersRoutes(context));
  // Last: the web monitor answers browser navigations no API route took.
  app.use(webAppRoutes(context));
}
