import type { FileDifference } from '@lilac/common/listings';

/** One line of the differing-files tree: a differing file, or a directory holding some. */
export interface DiffTreeRow {
  readonly path: string;
  readonly name: string;
  readonly depth: number;
  /** Has differing files beneath it: can be collapsed. */
  readonly parent: boolean;
  /** Null for a directory shown only because something beneath it differs. */
  readonly difference: FileDifference | null;
}

function parentOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
}

/**
 * The differences (in NAR order, as the server gives them) as tree rows,
 * directories before what they hold, without what lies beneath a collapsed
 * directory. The output itself (`''`) is the root and gets no row unless it
 * differs itself.
 */
export function diffTreeRows(differences: readonly FileDifference[], collapsed: ReadonlySet<string>): DiffTreeRow[] {
  const byPath = new Map<string, FileDifference | null>();
  for (const difference of differences) {
    const segments = difference.path === '' ? [] : difference.path.split('/');
    for (let length = 1; length < segments.length; length++) {
      const ancestor = segments.slice(0, length).join('/');
      if (!byPath.has(ancestor)) byPath.set(ancestor, null);
    }
    byPath.set(difference.path, difference);
  }
  const parents = new Set([...byPath.keys()].filter((path) => path !== '').map(parentOf));
  const rows: DiffTreeRow[] = [];
  for (const [path, difference] of byPath) {
    const segments = path === '' ? [] : path.split('/');
    const hidden = segments.slice(0, -1).some((_, index) => collapsed.has(segments.slice(0, index + 1).join('/')));
    if (hidden) continue;
    rows.push({ path, name: path === '' ? '(the output itself)' : (segments.at(-1) as string), depth: Math.max(0, segments.length - 1), parent: parents.has(path) && path !== '', difference });
  }
  return rows;
}
