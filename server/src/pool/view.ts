import { canBuild, type PoolView, type PoolWorkerView, type WorkerCapabilities } from '@lilac/common';
import { Types } from 'mongoose';
import { attemptsOf } from './attempts.ts';
import { JOB_ORDER } from './jobModel.ts';
import { toPoolJobView, type StoredJob, type StoredLease } from './jobViews.ts';
import type { PoolContext } from './poolContext.ts';
import { poolStats } from './stats.ts';

/** A rebuilder connection to this process and what it announced. */
export interface LocalWorker {
  readonly builder: string;
  readonly capabilities: WorkerCapabilities | null;
}

/**
 * What the monitor shows: claimed jobs, the latest failures and cancels, the head of the
 * queue, each with its attempts, and who works on what. `localWorkers` (socket id → builder) are the
 * connections to this process; those of other processes show through the leases they hold.
 * A queued job none of this process's workers can build is flagged as waiting
 * for a capable worker: what other processes' workers announced is not known here.
 */
export async function poolView(pool: PoolContext, limit: number, localWorkers: ReadonlyMap<string, LocalWorker>): Promise<PoolView> {
  const { Job, Lease } = pool.models;
  // A lapsed lease is the sweeper's to return: its job shows as queued, as `poolStats` counts it.
  const leases = await Lease.find({ expiresAt: { $gte: pool.now() } }).sort({ claimedAt: 1 }).lean<StoredLease[]>();
  const leaseOf = new Map(leases.map((lease) => [lease._id, lease]));
  const [stats, claimed, failed, queued] = await Promise.all([
    poolStats(pool, new Set(leaseOf.keys())),
    leases.length === 0 ? [] : Job.find({ _id: { $in: leases.slice(0, limit).map((lease) => new Types.ObjectId(lease._id)) }, state: 'queued' }).lean<StoredJob[]>(),
    Job.find({ state: { $in: ['failed', 'cancelled'] } }).sort({ since: -1 }).limit(limit).lean<StoredJob[]>(),
    // Held jobs are queued too: enough are read to fill the list with those that are not.
    Job.find({ state: 'queued' }).sort(JOB_ORDER).limit(limit + leases.length).lean<StoredJob[]>(),
  ]);
  claimed.sort((a, b) => leaseOf.get(String(a._id))!.claimedAt.getTime() - leaseOf.get(String(b._id))!.claimedAt.getTime());
  const workers = new Map<string, PoolWorkerView>();
  for (const [socketId, { builder, capabilities }] of localWorkers) {
    workers.set(socketId, { builder, socketId, systems: capabilities?.systems ?? null, features: capabilities?.features ?? [], jobs: [] });
  }
  for (const lease of leases) {
    const worker = workers.get(lease.socketId) ?? { builder: lease.builder, socketId: lease.socketId, systems: null, features: [], jobs: [] };
    worker.jobs.push(lease._id);
    workers.set(lease.socketId, worker);
  }
  const waiting = queued.filter((job) => !leaseOf.has(String(job._id))).slice(0, limit);
  const capable = [...localWorkers.values()].map((worker) => worker.capabilities);
  const unroutable = (job: StoredJob) => !capable.some((capabilities) => canBuild(capabilities, { system: job.system ?? null, requiredSystemFeatures: job.requiredSystemFeatures }));
  const history = await attemptsOf(pool, [...claimed, ...failed, ...waiting]);
  const view = (job: StoredJob, lease: StoredLease | null, unroutableJob: boolean) => toPoolJobView(job, lease, unroutableJob, history.get(String(job._id)) ?? []);
  return {
    stats,
    jobs: [
      ...claimed.map((job) => view(job, leaseOf.get(String(job._id)) ?? null, false)),
      ...failed.map((job) => view(job, null, false)),
      ...waiting.map((job) => view(job, null, unroutable(job))),
    ],
    workers: [...workers.values()].sort((a, b) => a.builder.localeCompare(b.builder) || a.socketId.localeCompare(b.socketId)),
  };
}
