import { parseFeatures, parseSystems, type WorkerCapabilities } from '@lilac/common';
import { ConfigError } from '../config.ts';
import { runNix } from '../store/nixCommand.ts';

interface NixSetting {
  readonly value: unknown;
}

/**
 * What this machine's Nix builds: its `system`, its `extra-platforms` and its
 * `system-features`, as `nix show-config` says (Nix 2.8 and later; newer Nix
 * keeps `show-config` beside `nix config show`).
 */
export async function nixCapabilities(): Promise<WorkerCapabilities> {
  const settings = JSON.parse(await runNix('nix', ['show-config', '--json'])) as Record<string, NixSetting | undefined>;
  const system = settings.system?.value;
  const extra = settings['extra-platforms']?.value ?? [];
  const features = settings['system-features']?.value ?? [];
  return {
    systems: parseSystems([system, ...(Array.isArray(extra) ? extra : [])], 'Nix systems'),
    features: parseFeatures(features, 'Nix system-features'),
  };
}

/**
 * Narrows what Nix builds to what the flags say (`--system S`, repeatable;
 * `--features a,b`, empty for none); a flag naming something Nix does not
 * build is refused, since the worker would claim jobs it then fails.
 */
export function narrowCapabilities(nix: WorkerCapabilities, systems: readonly string[] | undefined, features: string | undefined): WorkerCapabilities {
  const pick = (wanted: string[], have: readonly string[], what: string) => {
    const missing = wanted.filter((item) => !have.includes(item));
    if (missing.length > 0) throw new ConfigError(`${what} ${missing.join(', ')}: this machine's Nix does not build that (it has ${have.join(', ') || 'none'})`);
    return wanted;
  };
  try {
    return {
      systems: systems === undefined || systems.length === 0 ? nix.systems : pick(parseSystems(systems, '--system'), nix.systems, '--system'),
      features: features === undefined ? nix.features : pick(parseFeatures(features.split(',').filter((item) => item !== ''), '--features'), nix.features, '--features'),
    };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError((error as Error).message);
  }
}
