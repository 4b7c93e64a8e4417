import { isUnbuiltOutcome, type JobView, type PoolJobView, type PoolStats, type PoolView, type RebuildOutcome } from '@lilac/common/wire';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ApiError, errorText, getJson, throttle } from '../api.ts';
import { useSessionStore } from './session.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';

export interface PoolActivity {
  key: string;
  at: string;
  /** `retrying`: the rebuild failed or timed out and the job waits to be offered again; `failed`: it will not be; `cancelled`: a cancel stopped it. */
  kind: 'claimed' | 'done' | 'retrying' | 'failed' | 'cancelled';
  job: JobView;
  builder: string | null;
  /** How the rebuild ended; null for a claim. */
  outcome: RebuildOutcome | null;
}

const ACTIVITY_LIMIT = 30;

/** A job the pool lists with the outcome of its last rebuild, as activity: a page opened later still sees why a job failed. */
function lastOutcome(job: PoolJobView): PoolActivity | null {
  if (job.outcome === null) return null;
  const kind = !isUnbuiltOutcome(job.outcome.kind) ? 'done' : job.state === 'failed' || job.state === 'cancelled' ? job.state : 'retrying';
  return { key: `${kind}:${job.id}:${job.since}`, at: job.since, kind, job, builder: null, outcome: job.outcome };
}

/** The rebuild pool's figures and recent job activity; null stats until the pool has reported. */
export const usePoolStore = defineStore('pool', () => {
  const stats = ref<PoolStats | null>(null);
  const activity = ref<PoolActivity[]>([]);
  /** Queued jobs no connected worker can build (their system or features), as of the last load. */
  const waitingForWorker = ref<PoolJobView[]>([]);
  /** Claimed jobs and the head of the queue, in claim order: what a maintainer may cancel or reprioritise. */
  const active = ref<PoolJobView[]>([]);
  const error = ref<string | null>(null);
  const socket = useMonitorSocket();

  function add(items: PoolActivity[]): void {
    const seen = new Set(activity.value.map((item) => item.key));
    const fresh = items.filter((item) => !seen.has(item.key));
    activity.value = [...fresh, ...activity.value].sort((a, b) => b.at.localeCompare(a.at)).slice(0, ACTIVITY_LIMIT);
  }

  async function load(): Promise<void> {
    try {
      const view = await getJson<PoolView>('/api/v1/pool');
      stats.value = view.stats;
      add(view.jobs.map(lastOutcome).filter((item) => item !== null));
      waitingForWorker.value = view.jobs.filter((job) => job.waitingForCapableWorker);
      active.value = view.jobs.filter((job) => job.state === 'claimed' || job.state === 'queued');
      error.value = null;
    } catch (caught) {
      // A server without the pool answers 404: nothing to show until `pool:stats` arrives.
      if (!(caught instanceof ApiError && caught.status === 404)) error.value = errorText(caught);
    }
  }

  function record(kind: PoolActivity['kind'], job: JobView, builder: string, outcome: RebuildOutcome | null = null): void {
    const at = new Date().toISOString();
    add([{ key: `${kind}:${job.id}:${at}`, at, kind, job, builder, outcome }]);
  }
  socket.on('pool:stats', (figures) => {
    stats.value = figures;
  });
  socket.on('job:claimed', ({ job, builder }) => record('claimed', job, builder));
  socket.on('job:done', ({ job, builder, outcome }) => record('done', job, builder, outcome));
  socket.on('job:failed', ({ job, builder, outcome, final }) => record(outcome.kind === 'cancelled' ? 'cancelled' : final ? 'failed' : 'retrying', job, builder, outcome));
  socket.onReconnect(() => void load());
  // A cancel or priority change (this page's or another maintainer's) reorders the list: read it again, once per burst.
  const reload = throttle(() => void load(), 500);
  socket.on('job:cancelled', reload);
  socket.on('job:priority', reload);

  const session = useSessionStore();
  /** A maintainer's change; the event it raises reloads the list, on this page as on everyone else's. */
  async function control(send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
      error.value = null;
    } catch (caught) {
      error.value = errorText(caught);
    }
  }
  const cancel = (id: string) => control(() => session.send<PoolJobView>('POST', `/api/v1/jobs/${encodeURIComponent(id)}/cancel`));
  const setPriority = (id: string, priority: number) => control(() => session.send<PoolJobView>('PATCH', `/api/v1/jobs/${encodeURIComponent(id)}`, { priority }));

  return { stats, activity, waitingForWorker, active, error, load, cancel, setPriority };
});
