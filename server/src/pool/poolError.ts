/** Why a worker's message about a job was refused; the `/rebuilders` namespace acknowledges with `{ error: message }`. */
export class PoolError extends Error {
  override name = 'PoolError';
}
