import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import type { Models } from '../store/models.ts';

/** Switching a report's version takes a few writes; a lock older than this was left by a process that died. */
const LOCK_TTL_MS = 60_000;
/** Longer than any holder keeps the lock while alive, so waiting this long means the store is in trouble. */
const MAX_WAIT_MS = 2 * LOCK_TTL_MS;
const MAX_BACKOFF_MS = 250;

export class ReportBusyError extends Error {
  override name = 'ReportBusyError';
}

/** Runs `critical` while holding the lock `name` (a report's name, or `state:` and a version; see `reportLockSchema`), waiting while another writer holds it. */
export async function withReportLock<T>(models: Models, name: string, critical: () => Promise<T>): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + MAX_WAIT_MS;
  for (let wait = 5; ; wait = Math.min(wait * 2, MAX_BACKOFF_MS)) {
    try {
      await models.ReportLock.create({ _id: name, token, expiresAt: new Date(Date.now() + LOCK_TTL_MS) });
      break;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const held = await models.ReportLock.findById(name).lean();
    if (held && held.expiresAt.getTime() < Date.now()) {
      await models.ReportLock.deleteOne({ _id: name, token: held.token });
      continue;
    }
    if (Date.now() > deadline) throw new ReportBusyError(`another upload of report ${JSON.stringify(name)} has held it for over ${MAX_WAIT_MS / 1000} s`);
    await sleep(wait * (0.5 + Math.random()));
  }
  try {
    return await critical();
  } finally {
    await models.ReportLock.deleteOne({ _id: name, token });
  }
}
