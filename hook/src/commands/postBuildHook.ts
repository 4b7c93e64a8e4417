import { drvHashOf } from '@lilac/common';
import { builtOutputSubmissions } from '../attest/builtOutputs.ts';
import { spoolAndSendInBackground } from '../delivery/background.ts';
import { log } from '../log.ts';
import { outputsOfDerivation } from '../store/pathInfo.ts';
import type { Command } from './command.ts';
import { hookConfig } from './hookConfig.ts';

/**
 * Attests every output of the derivation just built before returning: signs
 * and spools (unsigned when there is no usable key); a background process
 * sends. The nix.conf wrapper no longer runs it (Node starts too slowly for
 * Nix to wait on): it records the build and `lilac flush` attests it (see
 * recordedBuilds.ts). Always exits 0, since Nix stops building when a hook fails.
 */
export const postBuildHook: Command = {
  summary: 'attest the outputs Nix just built (run by Nix with DRV_PATH and OUT_PATHS set)',
  usage: 'lilac post-build-hook [--env-file F] [--server URL] [--token T | --token-file F] [--secret-key-file F] [--spool-dir D] [--timeout-ms N]',
  async run(args, env) {
    const builtAt = new Date();
    try {
      const { config, flags } = hookConfig(args, env);
      const drvPath = env.DRV_PATH;
      if (!drvPath) {
        log('DRV_PATH is not set, so there is nothing to attest (Nix sets it when it runs the post-build-hook)');
        return 0;
      }
      const drvHash = drvHashOf(drvPath);
      const given = (env.OUT_PATHS ?? '').split(/\s+/).filter((outPath) => outPath !== '');
      const submissions = await builtOutputSubmissions(given.length > 0 ? given : await outputsOfDerivation(drvPath), config.secretKey, builtAt);
      spoolAndSendInBackground(config, flags, drvHash, submissions);
    } catch (error) {
      log(`post-build-hook: ${(error as Error).message}`);
    }
    return 0;
  },
};
