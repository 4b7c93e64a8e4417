import { CAUSE_KINDS, type CauseKind, type FileDifference } from '@lilac/common';

/**
 * Formats that carry the mtimes of what they pack, or of their source, in
 * their own bytes: a differing one is most often a timestamp.
 */
const TIMESTAMPED_FILE = /\.(jar|war|ear|zip|whl|egg|gz|tgz|bz2|xz|zst|tar|a|ar|cpio|iso|pyc|pyo|elc|beam|class|jmod|apk|docx|odt|epub)$/i;

const DATE = /\b(19[7-9]\d|20\d\d)-(0[1-9]|1[0-2])-([0-2]\d|3[01])\b|\b\d\d:\d\d:\d\d\b|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2},? +(\d\d:\d\d|(19|20)\d\d)\b|\bmtime\b|\btimestamp\b|\bmodified\b|__DATE__|__TIME__/i;
const BUILD_PATH = /\/build\/|\/tmp\/nix-build-|\/private\/tmp\/nix-build-|\bNIX_BUILD_TOP\b/;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i;
const LONG_HEX = /\b[0-9a-f]{32,}\b/i;
const LOCALE_TIMEZONE = /\b(UTC|GMT|CES?T|EES?T|[PMCE][SD]T|JST|IST)\b|[+-](0\d|1[0-4])[03]0\b|\bLC_[A-Z]+\b|\bLANG=|\b[a-z]{2}_[A-Z]{2}(\.UTF-8)?\b|\bTZ=/;
const PARALLELISM = /\bmake\[\d+\]|\bNIX_BUILD_CORES\b|\benableParallelBuilding\b|\s-j\s?\d+\b/;
const ORDERING_NOTE = /ordering differences only/i;

/** The lines diffoscope's text output marks as removed (`-`) and added (`+`), without its tree-drawing margin. */
function changedLines(diffoscopeText: string): { removed: string[]; added: string[] } {
  const removed: string[] = [];
  const added: string[] = [];
  for (const raw of diffoscopeText.split('\n')) {
    const line = raw.replace(/^[│├└─┄╵ ]+/u, '');
    if (line.startsWith('---') || line.startsWith('+++')) continue;
    if (line.startsWith('-')) removed.push(line.slice(1));
    else if (line.startsWith('+')) added.push(line.slice(1));
  }
  return { removed, added };
}

/** The same lines on both sides, in another order. */
function onlyReordered(removed: readonly string[], added: readonly string[]): boolean {
  if (removed.length < 2 || removed.length !== added.length) return false;
  const sorted = (lines: readonly string[]) => [...lines].sort().join('\n');
  return sorted(removed) === sorted(added) && removed.join('\n') !== added.join('\n');
}

/**
 * A first guess at why two copies of an output differ, for people to sort
 * divergences by: never more than a hint, and said to be one wherever shown.
 * `differences` are the files the listings say differ, `diffoscopeText`
 * diffoscope's text output between the copies when a builder ran it.
 */
export function guessCauses(differences: readonly FileDifference[], diffoscopeText: string | null): CauseKind[] {
  const causes = new Set<CauseKind>();
  const contentChanges = differences.filter((difference) => difference.change === 'content');
  if (contentChanges.some((difference) => TIMESTAMPED_FILE.test(difference.path))) causes.add('timestamps');
  const targets = differences.flatMap((difference) => [difference.a?.target, difference.b?.target]).filter((target): target is string => target !== undefined);
  if (targets.some((target) => BUILD_PATH.test(target))) causes.add('build-path');

  if (diffoscopeText !== null) {
    const { removed, added } = changedLines(diffoscopeText);
    const lines = [...removed, ...added];
    if (lines.some((line) => DATE.test(line))) causes.add('timestamps');
    if (lines.some((line) => BUILD_PATH.test(line))) causes.add('build-path');
    if (ORDERING_NOTE.test(diffoscopeText) || onlyReordered(removed, added)) causes.add('file-ordering');
    if (lines.some((line) => UUID.test(line) || LONG_HEX.test(line))) causes.add('randomness');
    if (lines.some((line) => LOCALE_TIMEZONE.test(line))) causes.add('locale-timezone');
    if (lines.some((line) => PARALLELISM.test(line))) causes.add('parallelism');
  }

  // Files of the same length whose bytes differ, and nothing else pointing anywhere: random bytes, hash seeds.
  const sameSize = contentChanges.length > 0 && contentChanges.every((difference) => difference.a?.size === difference.b?.size);
  if (causes.size === 0 && sameSize && contentChanges.length === differences.length) causes.add('randomness');
  if (causes.size === 0 && (differences.length > 0 || diffoscopeText !== null)) causes.add('uncertain');
  return [...causes].sort((a, b) => CAUSE_KINDS.indexOf(a) - CAUSE_KINDS.indexOf(b));
}
