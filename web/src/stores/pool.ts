import type { JobView, PoolStats, PoolView } from '@lilac/common/wire';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ApiError, errorText, getJson } from '../api.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';

export interface PoolActivity {
  key: string;
  at: string;
  kind: 'claimed' | 'done' | 'failed';
  job: JobView;
  builder: string;
  error: string | null;
}

const ACTIVITY_LIMIT = 30;

/** The rebuild pool's figures and recent job activity; null stats until the pool has reported. */
export const usePoolStore = defineStore('pool', () => {
  const stats = ref<PoolStats | null>(null);
  const activity = ref<PoolActivity[]>([]);
  const error = ref<string | null>(null);
  const socket = useMonitorSocket();

  async function load(): Promise<void> {
    try {
      stats.value = (await getJson<PoolView>('/api/v1/pool')).stats;
      error.value = null;
    } catch (caught) {
      // A server without the pool answers 404: nothing to show until `pool:stats` arrives.
      if (!(caught instanceof ApiError && caught.status === 404)) error.value = errorText(caught);
    }
  }

  function record(kind: PoolActivity['kind'], job: JobView, builder: string, failure: string | null = null): void {
    const at = new Date().toISOString();
    activity.value = [{ key: `${kind}:${job.id}:${at}`, at, kind, job, builder, error: failure }, ...activity.value].slice(0, ACTIVITY_LIMIT);
  }
  socket.on('pool:stats', (figures) => {
    stats.value = figures;
  });
  socket.on('job:claimed', ({ job, builder }) => record('claimed', job, builder));
  socket.on('job:done', ({ job, builder }) => record('done', job, builder));
  socket.on('job:failed', ({ job, builder, error: failure }) => record('failed', job, builder, failure));
  socket.onReconnect(() => void load());

  return { stats, activity, error, load };
});
