import { drvHashOf, parseStorePath } from '@lilac/common';
import { signSubmission, unsignedSubmission } from '../attest/submission.ts';
import { spoolAndSendInBackground } from '../delivery/background.ts';
import { trySaveFollowUp } from '../listings/followUps.ts';
import { log } from '../log.ts';
import { narDigestOfPath } from '../nar/narHash.ts';
import { queryPathInfo } from '../store/pathInfo.ts';
import type { Command } from './command.ts';
import { hookConfig } from './hookConfig.ts';

/**
 * Nix's `diff-hook`, run when a `--check` rebuild differs from the registered
 * output: `$1` the registered output, `$2` the rebuilt copy (`<out>.check`,
 * not in the store's database, so hashed here), `$3` the derivation, `$4` the
 * build directory. Attests the rebuilt hash for the output path, sent in the
 * background as the post-build-hook's are; once it is delivered, the same
 * background sender uploads the listings of both copies and diffoscope's
 * output between them (Nix waits for this hook, not for those). Exits 0.
 */
export const diffHook: Command = {
  summary: 'attest the differing result of a `nix-build --check` (run by Nix as its diff-hook)',
  usage: 'lilac diff-hook [flags] REGISTERED_OUT REBUILT_COPY DRV_PATH [BUILD_DIR]',
  async run(args, env) {
    const builtAt = new Date();
    try {
      const { config, flags, positionals } = hookConfig(args, env);
      const [outPath, rebuilt, drvPath] = positionals;
      if (outPath === undefined || rebuilt === undefined || drvPath === undefined) {
        log(`diff-hook needs three arguments: ${diffHook.usage}`);
        return 0;
      }
      parseStorePath(outPath);
      const [registered] = await queryPathInfo([outPath]);
      const digest = narDigestOfPath(rebuilt);
      // The rebuilt copy is stored with its self-references rewritten to the
      // output path, so the registered references describe it as well.
      const info = { outPath, narHash: digest.narHash, narSize: digest.narSize, references: registered!.references };
      log(`${outPath} rebuilt as ${digest.narHash} (registered ${registered!.narHash})`);
      const submission = unsignedSubmission(info, 'diff-hook', builtAt);
      // Saved before the sender starts, so the sender that delivers the attestation finds it.
      const copies = [
        { path: outPath, narHash: registered!.narHash },
        { path: rebuilt, narHash: digest.narHash },
      ];
      trySaveFollowUp(config.spoolDir, { outPath, copies, diffoscope: true });
      spoolAndSendInBackground(config, flags, drvHashOf(drvPath), [config.secretKey === null ? submission : signSubmission(submission, config.secretKey)]);
    } catch (error) {
      log(`diff-hook: ${(error as Error).message}`);
    }
    return 0;
  },
};
