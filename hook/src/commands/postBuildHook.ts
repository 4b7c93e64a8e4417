import { drvHashOf } from '@lilac/common';
import { signSubmission, unsignedSubmission } from '../attest/submission.ts';
import { spoolAndSendInBackground } from '../delivery/background.ts';
import { log } from '../log.ts';
import { outputsOfDerivation, queryPathInfo } from '../store/pathInfo.ts';
import type { Command } from './command.ts';
import { hookConfig } from './hookConfig.ts';

/**
 * Nix's `post-build-hook`: attests every output of the derivation just built.
 * Nix waits for it, so it only signs and spools (unsigned when there is no
 * usable key); a background process sends. Always exits 0, since Nix stops
 * building when the hook fails.
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
      const infos = await queryPathInfo(given.length > 0 ? given : await outputsOfDerivation(drvPath));
      const submissions = infos.map((info) => {
        const submission = unsignedSubmission(info, 'post-build-hook', builtAt);
        return config.secretKey === null ? submission : signSubmission(submission, config.secretKey);
      });
      spoolAndSendInBackground(config, flags, drvHash, submissions);
    } catch (error) {
      log(`post-build-hook: ${(error as Error).message}`);
    }
    return 0;
  },
};
