/** A job's priority: claims take higher first; 0 unless someone says otherwise. */
export const MIN_JOB_PRIORITY = -1000;
export const MAX_JOB_PRIORITY = 1000;

export class InvalidPriorityError extends Error {
  override name = 'InvalidPriorityError';
}

/** A priority as a JSON body carries it, checked. */
export function parsePriority(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_JOB_PRIORITY || value > MAX_JOB_PRIORITY) {
    throw new InvalidPriorityError(`priority must be an integer from ${MIN_JOB_PRIORITY} to ${MAX_JOB_PRIORITY}, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** A priority as a command line carries it (`--priority 5`), checked. */
export function parsePriorityText(text: string): number {
  if (!/^-?[0-9]{1,5}$/.test(text)) throw new InvalidPriorityError(`priority must be an integer from ${MIN_JOB_PRIORITY} to ${MAX_JOB_PRIORITY}, not ${JSON.stringify(text)}`);
  return parsePriority(Number(text));
}
