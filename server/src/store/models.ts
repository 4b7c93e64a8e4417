import type { Connection } from 'mongoose';
import { attestationSchema } from '../attestations/attestationModel.ts';
import { storedTotalsSchema } from '../catalog/storedTotalsModel.ts';
import { ingestCheckpointSchema } from '../attestations/ingestCheckpointModel.ts';
import { outputSummarySchema } from '../attestations/outputSummaryModel.ts';
import { builderSchema, builderTokenSchema } from '../builders/builderModel.ts';
import { divergenceSchema } from '../divergences/divergenceModel.ts';
import { diffoscopeResultSchema, divergenceCauseSchema, listingChunkSchema, outputListingSchema } from '../listings/listingModel.ts';
import { linkPatternSchema } from '../linkPatterns/linkPatternModel.ts';
import { reportBlobSchema, reportDaySchema, reportLockSchema, reportSchema, reportStateSchema, reportVersionSchema } from '../reports/reportModel.ts';
import { jobSchema, poolCounterSchema } from '../pool/jobModel.ts';
import { attemptSchema, leaseSchema } from '../pool/leaseModel.ts';
import { commentThreadSchema } from '../comments/commentModel.ts';
import { triageSchema } from '../triage/triageModel.ts';
import { watchListSchema } from '../people/watchModel.ts';
import { memberSchema, memberTokenSchema, sessionSchema } from '../people/memberModel.ts';

/** Every collection lilac keeps, bound to one connection. */
export function createModels(connection: Connection) {
  return {
    Builder: connection.model('Builder', builderSchema),
    BuilderToken: connection.model('BuilderToken', builderTokenSchema),
    Attestation: connection.model('Attestation', attestationSchema),
    OutputSummary: connection.model('OutputSummary', outputSummarySchema),
    IngestCheckpoint: connection.model('IngestCheckpoint', ingestCheckpointSchema),
    Divergence: connection.model('Divergence', divergenceSchema),
    Report: connection.model('Report', reportSchema),
    ReportBlob: connection.model('ReportBlob', reportBlobSchema),
    ReportLock: connection.model('ReportLock', reportLockSchema),
    ReportState: connection.model('ReportState', reportStateSchema),
    ReportVersion: connection.model('ReportVersion', reportVersionSchema),
    ReportDay: connection.model('ReportDay', reportDaySchema),
    LinkPattern: connection.model('LinkPattern', linkPatternSchema),
    Job: connection.model('Job', jobSchema),
    PoolCounter: connection.model('PoolCounter', poolCounterSchema),
    Lease: connection.model('Lease', leaseSchema),
    JobAttempt: connection.model('JobAttempt', attemptSchema),
    OutputListing: connection.model('OutputListing', outputListingSchema),
    ListingChunk: connection.model('ListingChunk', listingChunkSchema),
    DiffoscopeResult: connection.model('DiffoscopeResult', diffoscopeResultSchema),
    DivergenceCause: connection.model('DivergenceCause', divergenceCauseSchema),
    Member: connection.model('Member', memberSchema),
    MemberToken: connection.model('MemberToken', memberTokenSchema),
    Session: connection.model('Session', sessionSchema),
    Triage: connection.model('Triage', triageSchema),
    CommentThread: connection.model('CommentThread', commentThreadSchema),
    WatchList: connection.model('WatchList', watchListSchema),
    StoredTotals: connection.model('StoredTotals', storedTotalsSchema),
  };
}

export type Models = ReturnType<typeof createModels>;

/**
 * Creates the collections and indexes (unique ones included) before the first write relies on
 * them. Connections do not build them on their own (`connectWithRetry`): they come after the
 * schema migrations.
 */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models)) {
    await model.init();
    await model.createIndexes();
  }
}
