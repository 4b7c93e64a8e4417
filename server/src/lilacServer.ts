import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'socket.io';
import { DEFAULT_DIFFOSCOPE_MAX_BYTES } from '@lilac/common';
import { IngestRepair } from './attestations/ingestRepair.ts';
import { OrphanedChunkSweep } from './listings/orphanedChunkSweep.ts';
import { AttestationIngest } from './attestations/ingestService.ts';
import { SignatureThreads } from './attestations/signatureThreads.ts';
import { BuilderService } from './builders/builderService.ts';
import { BuilderPresence } from './builders/presence.ts';
import { StoreCatalog } from './catalog/storeCatalog.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import { EventBus } from './events/eventBus.ts';
import { createHttpServer } from './http/httpServer.ts';
import { ListingService } from './listings/listingService.ts';
import type { Logger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { MemberService } from './people/memberService.ts';
import { SignInLimiter } from './people/signInLimiter.ts';
import { CommentService } from './comments/commentService.ts';
import { TriageService } from './triage/triageService.ts';
import { WorkPool } from './pool/workPool.ts';
import { attachSocketServer } from './realtime/socketServer.ts';
import { ReportService } from './reports/reportService.ts';
import { connectWithRetry } from './store/connectWithRetry.ts';
import { startOrJoinEmbeddedStore, type EmbeddedStore } from './store/embeddedStore.ts';
import { prepareOnConnect } from './store/migrations/prepareOnConnect.ts';
import { createModels, ensureIndexes } from './store/models.ts';

/** How long requests in flight at shutdown may take to finish before their connections are closed. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface LilacServer {
  readonly url: string;
  readonly io: Server;
  readonly context: AppContext;
  readonly httpServer: HttpServer;
  /** Settles once the store's schema and indexes are current; rejects when they cannot be (a newer lilac's store): the process must stop. */
  readonly prepared: Promise<void>;
  /** Stops taking requests, lets those in flight finish, returns the rebuilders' claims to the pool, then closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Resolve only once the store is connected and indexed (tests); `npm start` serves `/healthz` meanwhile. */
  readonly waitForStore?: boolean;
}

export async function startLilacServer(config: Config, log: Logger, options: StartOptions = {}): Promise<LilacServer> {
  let embedded: EmbeddedStore | null = null;
  let uri = config.mongodbUri;
  if (uri === undefined) {
    embedded = await startOrJoinEmbeddedStore({ dataDir: config.dataDir, sync: config.storeSync, log });
    uri = embedded.uri;
  }
  const connected = connectWithRetry(uri, config.dbName, log, embedded ?? undefined);
  const models = createModels(connected.connection);
  const { store, prepared } = prepareOnConnect(connected, log, () => ensureIndexes(models));
  const events = new EventBus();
  const builders = new BuilderService(models);
  const members = new MemberService(models);
  const signatureChecks = new SignatureThreads(config.signatureThreads);
  signatureChecks.start();
  const ingest = new AttestationIngest(models, builders, events, signatureChecks, log);
  const context: AppContext = {
    config,
    log,
    store,
    storeKind: embedded ? 'embedded-ferretdb' : 'mongodb',
    models,
    builders,
    members,
    triage: new TriageService(models, members, events, log),
    comments: new CommentService(models, events),
    signInLimiter: new SignInLimiter(config.signInAttempts, config.signInWindowMs),
    ingest,
    reports: new ReportService(models, events, log),
    catalog: new StoreCatalog(models, events, log),
    presence: new BuilderPresence(events),
    events,
    metrics: createMetrics(),
    pool: new WorkPool(models, events, config.pool, log, ingest),
    listings: new ListingService(models, events, config.maxListingEntries, DEFAULT_DIFFOSCOPE_MAX_BYTES),
  };
  const ingestRepair = new IngestRepair(context.ingest, models, log);
  const chunkSweep = new OrphanedChunkSweep(models, log);
  void prepared.then(
    () => {
      context.ingest.checkpoint.start();
      ingestRepair.start();
      chunkSweep.start();
      context.pool.start();
      context.reports.start();
      context.triage.start().catch((error: unknown) => log.error({ err: error }, 'could not load the outputs marked fixed'));
    },
    () => undefined,
  );
  if (options.waitForStore) {
    await prepared.catch(async (error: unknown) => {
      await store.close();
      await embedded?.stop();
      throw error;
    });
  }

  const httpServer = createHttpServer(context);
  const io = attachSocketServer(httpServer, context);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, resolve);
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url, store: context.storeKind }, 'lilac listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    io,
    context,
    httpServer,
    prepared,
    close() {
      closing ??= (async () => {
        await ingestRepair.stop();
        await chunkSweep.stop();
        // io.close() disconnects every rebuilder at once, then closes the HTTP server once in-flight requests are done.
        await new Promise<void>((resolve) => {
          void io.close(() => resolve());
          httpServer.closeIdleConnections();
          // A request a client holds open must not hold the shutdown, and the claims and store behind it, for ever.
          setTimeout(() => httpServer.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
        });
        // The rebuilders' claims go back to the pool while the store is still open: a restart leaves no lease to run out.
        await context.pool.close();
        await context.reports.close();
        await context.listings.close();
        await context.ingest.close();
        await signatureChecks.close();
        await store.close();
        await embedded?.stop();
        log.info('lilac stopped');
      })();
      return closing;
    },
  };
}
