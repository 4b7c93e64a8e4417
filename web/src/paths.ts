/** The `<digest>-<name>` part of a store path, as the output page's URL takes it. */
export function baseName(storePath: string): string {
  return storePath.slice(storePath.lastIndexOf('/') + 1);
}

/** lila's drv hash: the derivation path without `/nix/store/` and `.drv`. */
export function drvHash(drvPath: string): string {
  return baseName(drvPath).replace(/\.drv$/, '');
}

export const outputLink = (outPath: string) => `/output/${encodeURIComponent(baseName(outPath))}`;
export const derivationLink = (drvPath: string) => `/derivation/${encodeURIComponent(drvHash(drvPath))}`;

export function formatTime(iso: string | null): string {
  if (!iso) return 'never';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
