import { loadConfig } from './config.ts';
import { startLilacServer } from './lilacServer.ts';
import { createLogger } from './log.ts';

const config = loadConfig();
const log = createLogger(config.logLevel);

try {
  const server = await startLilacServer(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A second signal means the operator will not wait.
    process.once(signal, () => process.exit(1));
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  server.prepared.catch((error: unknown) => {
    // A store still connecting when the operator stops lilac fails to prepare because it was closed: nothing to report.
    if (stopping) return;
    log.fatal({ err: error }, `lilac cannot use this store: ${(error as Error).message}`);
    void server.close().finally(() => process.exit(1));
  });
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  log.fatal({ err: error }, (error as Error).message);
  process.exit(1);
}
