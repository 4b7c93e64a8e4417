import type { CauseKind } from '@lilac/common/listings';

/** reproducible-builds.org's names for the usual causes, as the guesses are shown. */
export const CAUSE_LABELS: Record<CauseKind, string> = {
  timestamps: 'timestamps',
  'build-path': 'build path',
  'file-ordering': 'file ordering',
  randomness: 'randomness',
  'locale-timezone': 'locale / timezone',
  parallelism: 'parallelism',
  uncertain: 'uncertain',
};
