import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import type { PoolContext } from './poolContext.ts';

/** Records one builder's finished go at a job; a repeat of the same message records nothing more. */
export async function recordAttempt(pool: PoolContext, job: string, builder: string, outcome: 'done' | 'failed', error: string | null): Promise<void> {
  try {
    await pool.models.JobAttempt.create({ job, builder, outcome, error, at: pool.now() });
  } catch (cause) {
    if (!isDuplicateKeyError(cause)) throw cause;
  }
}
