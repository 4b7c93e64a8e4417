import type { Command } from './commands/command.ts';

/**
 * Every `lilac` subcommand, by the name typed on the command line, loaded only
 * when run: Nix waits for the hooks after every build, and the bundle splits
 * each command into its own chunk, so a hook never loads the rebuilder's
 * Socket.IO client.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  'post-build-hook': async () => (await import('./commands/postBuildHook.ts')).postBuildHook,
  'diff-hook': async () => (await import('./commands/diffHook.ts')).diffHook,
  flush: async () => (await import('./commands/flush.ts')).flush,
  'import-cache': async () => (await import('./commands/importCache.ts')).importCache,
  enqueue: async () => (await import('./commands/enqueue.ts')).enqueue,
  rebuild: async () => (await import('./commands/rebuild.ts')).rebuild,
  report: async () => (await import('./commands/report.ts')).report,
};
