import type { mongo } from 'mongoose';
import type { Logger } from '../../log.ts';

/**
 * One step of the stored documents' schema, from `version - 1` to `version`.
 * It works on the raw driver, not on lilac's models: it reads documents as an
 * older lilac wrote them, which today's models (and their `keyedBy`
 * middleware) would misread. `up` must be idempotent: a process that dies
 * midway leaves the version where it was, and the next start runs it again.
 */
export interface Migration {
  readonly version: number;
  /** Says what it changes, for the log and the `store_migrations` record. */
  readonly name: string;
  up(db: mongo.Db, log: Logger): Promise<void>;
}
