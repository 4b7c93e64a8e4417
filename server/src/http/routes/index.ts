import type { Express } from 'express';
import type { AppContext } from '../../context.ts';
import { privateReads } from '../requireMember.ts';
import { requireStore } from '../requireStore.ts';
import { attestationRoutes } from './attestations.ts';
import { buildersRoutes } from './builders.ts';
import { derivationRoutes } from './derivations.ts';
import { commentRoutes } from './comments.ts';
import { divergenceRoutes } from './divergences.ts';
import { feedRoutes } from './feeds.ts';
import { healthRoutes } from './health.ts';
import { jobsRoutes } from './jobs.ts';
import { linkPatternRoutes } from './linkPatterns.ts';
import { openApiRoutes } from './openapi.ts';
import { outputDiffRoutes } from './outputDiffs.ts';
import { outputRoutes } from './outputs.ts';
import { reportRoutes } from './reports.ts';
import { sessionRoutes } from './session.ts';
import { signatureRoutes } from './signatures.ts';
import { statsRoutes } from './stats.ts';
import { triageRoutes } from './triage.ts';
import { webAppRoutes } from './webApp.ts';
import { whoamiRoutes } from './whoami.ts';

/** The whole HTTP API, one line per resource. */
export function mountRoutes(app: Express, context: AppContext): void {
  app.use(healthRoutes(context));
  app.use(requireStore(context));
  app.use(privateReads(context));
  // First of the resources: builders' submissions are most of the requests, and Express tries every route mounted before theirs.
  // lila's plain submission path never gets here: lilaFastPath.ts runs the steps above (the store check) and its route's for it, so what is added above must be added there too.
  app.use(attestationRoutes(context));
  app.use(sessionRoutes(context));
  app.use(whoamiRoutes(context));
  app.use(jobsRoutes(context));
  app.use(buildersRoutes(context));
  app.use(derivationRoutes(context));
  app.use(outputDiffRoutes(context));
  app.use(outputRoutes(context));
  app.use(triageRoutes(context));
  app.use(commentRoutes(context));
  app.use(divergenceRoutes(context));
  app.use(feedRoutes(context));
  app.use(reportRoutes(context));
  app.use(linkPatternRoutes(context));
  app.use(signatureRoutes(context));
  app.use(statsRoutes(context));
  app.use(openApiRoutes());
  // Last: the web monitor answers browser navigations no API route took.
  app.use(webAppRoutes(context));
}
