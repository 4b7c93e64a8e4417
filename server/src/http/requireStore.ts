import type { RequestHandler } from 'express';
import type { AppContext } from '../context.ts';
import { StoreUnavailableError } from '../store/storeAvailability.ts';
import { API_PATH } from './routes/webApp.ts';

/** API paths that answer without the store: they keep working through an outage. */
const STORE_FREE_PATH = /^\/(healthz|metrics|api\/v1\/openapi\.json)$/;

/**
 * While the store is known to be down (its process restarting, the driver
 * disconnected), API requests are answered 503 at once instead of waiting
 * seconds for the driver to give up. The web monitor's files need no store.
 */
export function requireStore(context: AppContext): RequestHandler {
  return (req, _res, next) => {
    if (API_PATH.test(req.path) && !STORE_FREE_PATH.test(req.path)) assertStoreConnected(context);
    next();
  };
}

export function assertStoreConnected(context: AppContext): void {
  const state = context.store.state();
  if (state !== 'connected') throw new StoreUnavailableError(state);
}
