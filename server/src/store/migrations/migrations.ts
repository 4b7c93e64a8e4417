import type { Migration } from './migration.ts';
import { naturalKeyIds } from './0001-naturalKeyIds.ts';
import { derivationClaims } from './0002-derivationClaims.ts';
import { reportGraphs } from './0003-reportGraphs.ts';
import { redundantIndexes } from './0004-redundantIndexes.ts';
import { leasesHoldClaims } from './0005-leasesHoldClaims.ts';
import { jobRequirements } from './0006-jobRequirements.ts';
import { attemptOutcomes } from './0007-attemptOutcomes.ts';
import { listingChunkTimes } from './0008-listingChunkTimes.ts';
import { jobPriority } from './0009-jobPriority.ts';
import { dropDerivations } from './0010-dropDerivations.ts';
import { ingestCheckpoints } from './0011-ingestCheckpoints.ts';

/**
 * Every migration, in order; the store's schema version is the number of
 * them applied. Adding one: a file `NNNN-what.ts` exporting a `Migration`
 * with the next version, and its line here.
 */
export const MIGRATIONS: readonly Migration[] = [naturalKeyIds, derivationClaims, reportGraphs, redundantIndexes, leasesHoldClaims, jobRequirements, attemptOutcomes, listingChunkTimes, jobPriority, dropDerivations, ingestCheckpoints];
