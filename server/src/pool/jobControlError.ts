import { DomainError } from '../domainError.ts';
import { JOB_ID } from './jobModel.ts';

/** Why a maintainer's change to a job was refused: the HTTP edge answers 404 or 409. */
export class JobControlError extends DomainError<'not-found' | 'conflict'> {
  override name = 'JobControlError';
}

/** A job id as a client sent it; anything that cannot be one names no job. */
export function jobId(id: string): string {
  if (!JOB_ID.test(id)) throw new JobControlError('not-found', `no job ${JSON.stringify(id)}`);
  return id;
}
