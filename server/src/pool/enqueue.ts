import type { EnqueueResult, JobRequest, JobState } from '@lilac/common';
import type { PoolContext } from './poolContext.ts';
import { backInQueue } from './jobViews.ts';


const CHUNK = 1000;

function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += CHUNK) result.push(items.slice(start, start + CHUNK));
  return result;
}

/** Hands out blocks of the sequence that orders jobs across server processes. */
async function reserveSequence(pool: PoolContext, count: number): Promise<number> {
  if (count === 0) return 0;
  const counter = await pool.models.PoolCounter.findOneAndUpdate({ _id: 'jobs' }, { $inc: { value: count } }, { upsert: true, new: true }).lean();
  return (counter?.value ?? count) - count;
}

/**
 * Adds jobs in the order given; outputs that already have enough independent
 * builders are left out. A request that names a priority sets it, on a job
 * already in the pool too; one that names none leaves it.
 */
export async function enqueue(pool: PoolContext, requests: readonly JobRequest[]): Promise<EnqueueResult> {
  const { Job, OutputSummary } = pool.models;
  const unique = [...new Map(requests.map((request) => [request.outPath, request])).values()];
  const known = new Map<string, { verified: number; attestedBy: Set<string> }>();
  const existing = new Map<string, JobState>();
  for (const batch of chunks(unique.map((request) => request.outPath))) {
    // Ingest keeps every attesting builder in the output's summary, so the summaries alone say who attested what.
    const [summaries, jobs] = await Promise.all([
      OutputSummary.find({ outPath: { $in: batch } }, { outPath: 1, verifiedBuilderCount: 1, attestedBy: 1 }).lean(),
      Job.find({ outPath: { $in: batch } }, { outPath: 1, state: 1 }).lean(),
    ]);
    for (const summary of summaries) {
      known.set(summary.outPath, { verified: summary.verifiedBuilderCount, attestedBy: new Set(summary.attestedBy) });
    }
    for (const job of jobs) existing.set(job.outPath, job.state);
  }

  const result: EnqueueResult = { added: 0, requeued: 0, unchanged: 0, satisfied: 0 };
  const wanted = unique.filter((request) => {
    const satisfied = (known.get(request.outPath)?.verified ?? 0) >= pool.config.targetBuilders;
    if (satisfied) result.satisfied += 1;
    return !satisfied;
  });
  const fresh = wanted.filter((request) => !existing.has(request.outPath));
  // Before any job is in: a claim window read from now on must leave out what a worker lacks.
  pool.queuedFeatures.add(wanted.flatMap((request) => request.requiredSystemFeatures ?? []));
  const now = pool.now();
  let seq = await reserveSequence(pool, fresh.length);
  const inserts = fresh.map((request) => {
    const entry = known.get(request.outPath);
    return {
      ...request,
      system: request.system ?? null,
      requiredSystemFeatures: request.requiredSystemFeatures ?? [],
      priority: request.priority ?? 0,
      state: 'queued',
      verifiedBuilders: entry?.verified ?? 0,
      seq: seq++,
      attestedBy: [...(entry?.attestedBy ?? [])],
      triedBy: [],
      notBefore: now,
      since: now,
    };
  });
  for (const batch of chunks(inserts)) {
    try {
      const inserted = await Job.insertMany(batch, { ordered: false, rawResult: true });
      result.added += inserted.insertedCount;
    } catch (error) {
      // Another process enqueued some of the same outputs at the same moment; theirs stand.
      const insertedCount = (error as { insertedDocs?: unknown[]; result?: { insertedCount?: number } }).result?.insertedCount;
      if (insertedCount === undefined || (error as { code?: number }).code !== 11000) throw error;
      result.added += insertedCount;
      result.unchanged += batch.length - insertedCount;
    }
  }

  for (const request of wanted.filter((candidate) => existing.has(candidate.outPath))) {
    const entry = known.get(request.outPath);
    const refresh = { $addToSet: { attestedBy: { $each: [...(entry?.attestedBy ?? [])] } } };
    // An enqueuer that says what the job needs corrects what an earlier one (or none) said.
    const needs = {
      ...(request.system && { system: request.system, requiredSystemFeatures: request.requiredSystemFeatures ?? [] }),
      ...(request.priority !== undefined && { priority: request.priority }),
    };
    const requeued = await Job.updateOne(
      { outPath: request.outPath, state: { $in: ['done', 'failed', 'cancelled'] } },
      { $set: { ...backInQueue(now), ...needs, verifiedBuilders: entry?.verified ?? 0, attempts: 0, attemptsSince: now, lastError: null, notBefore: now }, ...refresh },
    );
    if (requeued.modifiedCount === 1) {
      result.requeued += 1;
    } else {
      await Job.updateOne({ outPath: request.outPath }, { $set: { ...needs, verifiedBuilders: entry?.verified ?? 0 }, ...refresh });
      result.unchanged += 1;
    }
  }
  // A new priority reorders the queue as much as a new job does.
  if (result.added + result.requeued > 0 || wanted.some((request) => request.priority !== undefined)) pool.queueChanged();
  return result;
}
