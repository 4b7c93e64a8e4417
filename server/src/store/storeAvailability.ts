import mongoose from 'mongoose';
import type { StoreState } from './connectWithRetry.ts';

/** Thrown, and answered 503, when work needs the store and it is known not to answer. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(readonly state: StoreState | 'unreachable') {
    super(describeUnavailable(state));
  }
}

export function describeUnavailable(state: StoreState | 'unreachable'): string {
  switch (state) {
    case 'restarting':
      return 'the store is restarting; try again in a few seconds';
    case 'migrating':
      return 'the store is being migrated to this version of lilac; try again in a few seconds';
    case 'connecting':
      return 'the store is not connected yet; try again in a few seconds';
    default:
      return 'the store does not answer; try again later';
  }
}

/** Errors by which the driver says it could not reach the store at all (as opposed to a refused or failed command). */
export function isStoreUnreachable(error: unknown): boolean {
  return (
    error instanceof mongoose.mongo.MongoServerSelectionError ||
    error instanceof mongoose.mongo.MongoNetworkError ||
    error instanceof mongoose.mongo.MongoNotConnectedError ||
    error instanceof mongoose.mongo.MongoTopologyClosedError ||
    error instanceof mongoose.Error.MongooseServerSelectionError
  );
}
