import type { AttestationIngest } from './attestations/ingestService.ts';
import type { BuilderService } from './builders/builderService.ts';
import type { BuilderPresence } from './builders/presence.ts';
import type { StoreCatalog } from './catalog/storeCatalog.ts';
import type { Config } from './config.ts';
import type { EventBus } from './events/eventBus.ts';
import type { ListingService } from './listings/listingService.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import type { MemberService } from './people/memberService.ts';
import type { SignInLimiter } from './people/signInLimiter.ts';
import type { StoreConnection } from './store/connectWithRetry.ts';
import type { WorkPool } from './pool/workPool.ts';
import type { ReportService } from './reports/reportService.ts';
import type { Models } from './store/models.ts';
import type { CommentService } from './comments/commentService.ts';
import type { TriageService } from './triage/triageService.ts';

/** What every route, socket handler and service of one server instance shares. */
export interface AppContext {
  readonly config: Config;
  readonly log: Logger;
  readonly store: StoreConnection;
  readonly storeKind: 'embedded-ferretdb' | 'mongodb';
  readonly models: Models;
  readonly builders: BuilderService;
  /** People: never builders, whose tokens do not act as members. */
  readonly members: MemberService;
  readonly signInLimiter: SignInLimiter;
  readonly triage: TriageService;
  readonly comments: CommentService;
  readonly presence: BuilderPresence;
  readonly events: EventBus;
  readonly metrics: Metrics;
  /** The one door attestations enter by (HTTP routes and the pool's `complete`). */
  readonly ingest: AttestationIngest;
  readonly reports: ReportService;
  /** Store-wide totals and digest look-ups for anonymous readers, from memory. */
  readonly catalog: StoreCatalog;
  readonly pool: WorkPool;
  /** File listings, diffoscope outputs and the diff between an output's copies. */
  readonly listings: ListingService;
}
