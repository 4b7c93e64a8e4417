import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout, one per event, so operators can ship them as they are. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'lilac' }, timestamp: pino.stdTimeFunctions.isoTime });
}
