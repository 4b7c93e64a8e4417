/**
 * Which jobs a worker can build: a job names the Nix `system` it is built
 * for and the `requiredSystemFeatures` its derivation asks for; a worker
 * announces the systems and features it has. Shared by the server (which
 * offers jobs) and the hook (which reads them from Nix).
 */

/** Nix system names: `x86_64-linux`, `aarch64-darwin`, `riscv64-linux`, and the `x86_64-v3-linux` Nix lists in `extra-platforms`. */
const SYSTEM = /^[a-z0-9_]+(?:-[a-z0-9_]+){1,3}$/;
/** A system feature as Nix names them (`kvm`, `big-parallel`, `gccarch-armv8-a`): a plain token. */
const FEATURE = /^[A-Za-z0-9_.+-]{1,64}$/;
/** More than any real machine or derivation has: bounds what a client can make the server hold. */
export const MAX_SYSTEMS = 16;
export const MAX_FEATURES = 32;

export class InvalidRoutingError extends Error {
  override name = 'InvalidRoutingError';
}

/** What a job needs: `system` null when its enqueuer did not say (any worker may take it). */
export interface JobRequirements {
  system: string | null;
  requiredSystemFeatures: string[];
}

/** What a worker announced; a worker that announced nothing is offered any job, as before routing existed. */
export interface WorkerCapabilities {
  systems: string[];
  features: string[];
}

/** The system a job is built for, checked; null and undefined mean "not said". */
export function parseSystem(value: unknown, what = 'system'): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !SYSTEM.test(value) || value.length > 64) {
    throw new InvalidRoutingError(`${what} must be a Nix system name like "x86_64-linux", not ${JSON.stringify(value)}`);
  }
  return value;
}

function parseTokens(value: unknown, what: string, max: number, check: (item: string) => boolean, shape: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > max) throw new InvalidRoutingError(`${what} must be a list of at most ${max} ${shape}`);
  for (const item of value) {
    if (typeof item !== 'string' || !check(item)) throw new InvalidRoutingError(`${what}: ${JSON.stringify(item)} is not ${shape}`);
  }
  return [...new Set(value as string[])].sort();
}

/** System features, checked, without repeats, sorted. */
export function parseFeatures(value: unknown, what = 'requiredSystemFeatures'): string[] {
  return parseTokens(value, what, MAX_FEATURES, (item) => FEATURE.test(item), 'plain feature names');
}

export function parseSystems(value: unknown, what = 'systems'): string[] {
  return parseTokens(value, what, MAX_SYSTEMS, (item) => SYSTEM.test(item) && item.length <= 64, 'Nix system names like "x86_64-linux"');
}

/**
 * A worker's announcement as it came (`{ systems, features }`, from the
 * handshake); null when it announced no systems, which keeps today's
 * behaviour of offering it any job.
 */
export function parseCapabilities(systems: unknown, features: unknown): WorkerCapabilities | null {
  if (systems === undefined || systems === null) {
    if (features !== undefined && features !== null) throw new InvalidRoutingError('features need systems: announce the systems the features are for');
    return null;
  }
  const parsed = parseSystems(systems);
  if (parsed.length === 0) throw new InvalidRoutingError('systems must name at least one system');
  return { systems: parsed, features: parseFeatures(features, 'features') };
}

/** Whether a worker with `capabilities` can build a job needing `needs`; null capabilities take anything. */
export function canBuild(capabilities: WorkerCapabilities | null, needs: JobRequirements): boolean {
  if (capabilities === null) return true;
  if (needs.system !== null && !capabilities.systems.includes(needs.system)) return false;
  return needs.requiredSystemFeatures.every((feature) => capabilities.features.includes(feature));
}
