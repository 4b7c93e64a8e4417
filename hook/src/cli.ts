import type { Command } from './commands/command.ts';
import { diffHook } from './commands/diffHook.ts';
import { flush } from './commands/flush.ts';
import { importCache } from './commands/importCache.ts';
import { postBuildHook } from './commands/postBuildHook.ts';
import { rebuild } from './commands/rebuild.ts';

/** Every `lilac` subcommand, by the name typed on the command line. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  'post-build-hook': postBuildHook,
  'diff-hook': diffHook,
  flush,
  'import-cache': importCache,
  rebuild,
};
