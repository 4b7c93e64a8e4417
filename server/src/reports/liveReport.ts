import { randomUUID } from 'node:crypto';
import { VERDICTS, type Verdict } from '@lilac/common';
import { outPathsOf, type ReportGraph } from './reportGraph.ts';
import { NO_BUILDS, verdictOfCode, type VerdictCode } from './reportStates.ts';

export function zeroCounts(): Record<Verdict, number> {
  return Object.fromEntries(VERDICTS.map((verdict) => [verdict, 0])) as Record<Verdict, number>;
}

/**
 * One report version as this process holds it: its graph, and the verdict of
 * each of its store paths as last read from its stored state, with this
 * process's own verdict changes applied on top as they happen.
 */
export class LiveReport {
  readonly outPaths: readonly string[];
  readonly indexOf: ReadonlyMap<string, number>;
  readonly codes: Uint8Array;
  readonly counts: Record<Verdict, number>;
  /** Paths whose verdict this process changed and has not stored yet: a stored state read meanwhile predates them. */
  readonly pending = new Set<number>();
  /** When the stored state was last read (0: never). */
  syncedAt = 0;
  /** Set once the verdicts come from the store; until then they are all `no-builds`. */
  ready = false;
  /** Counts verdict changes, so views computed from the verdicts know when they are out of date; `id` tells this count from another instance's. */
  changes = 0;
  readonly id = randomUUID();
  private turn: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly version: string,
    readonly graph: ReportGraph,
  ) {
    this.outPaths = outPathsOf(graph);
    this.indexOf = new Map(this.outPaths.map((outPath, index) => [outPath, index]));
    this.codes = new Uint8Array(this.outPaths.length).fill(NO_BUILDS);
    this.counts = zeroCounts();
    this.counts['no-builds'] = this.outPaths.length;
  }

  verdictOf(outPath: string): Verdict {
    const index = this.indexOf.get(outPath);
    return index === undefined ? 'no-builds' : verdictOfCode(this.codes[index] as VerdictCode);
  }

  /** Whether the verdict at `index` changed. */
  set(index: number, code: VerdictCode): boolean {
    const before = this.codes[index] as VerdictCode;
    if (before === code) return false;
    this.counts[verdictOfCode(before)] -= 1;
    this.counts[verdictOfCode(code)] += 1;
    this.codes[index] = code;
    this.changes += 1;
    return true;
  }

  /** Takes a stored state read at `readAt`, except where this process has changes not stored yet; whether any verdict changed. */
  adopt(stored: Uint8Array, readAt: number): boolean {
    let changed = false;
    for (let index = 0; index < stored.length; index++) {
      if (this.pending.has(index)) continue;
      if (this.set(index, stored[index] as VerdictCode)) changed = true;
    }
    this.syncedAt = readAt;
    this.ready = true;
    return changed;
  }

  /** Runs reads and writes of this report's stored state one at a time, so none adopts an answer older than the last. */
  inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }
}
