import { readdirSync } from 'node:fs';
import path from 'node:path';

/** Files under `dir` whose names end with `suffix`, skipping node_modules. */
export function findFiles(dir: string, suffix: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findFiles(full, suffix);
      return entry.name.endsWith(suffix) ? [full] : [];
    })
    .sort();
}

export const WORKSPACES = ['common', 'server', 'hook', 'web', 'e2e'] as const;
