import type { DivergenceView, HashGroup, JobView, MonitorAttestation, RebuildOutcome, Stats } from '@lilac/common/wire';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { errorText, getJson, singleFlight, throttle } from '../api.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';

export const FEED_LIMIT = 100;

export type FeedItem =
  | { kind: 'attestation'; key: string; at: string; attestation: MonitorAttestation }
  | { kind: 'divergence'; key: string; at: string; outPath: string; drvPath: string | null; hashes: HashGroup[] }
  | { kind: 'rebuild'; key: string; at: string; job: JobView; builder: string; outcome: RebuildOutcome };

/** A rebuild finished (`job:done`) or failed (`job:failed`); the event has no time of its own, so the feed stamps its arrival. */
function rebuildItem({ job, builder, outcome }: { job: JobView; builder: string; outcome: RebuildOutcome }): FeedItem {
  const at = new Date().toISOString();
  return { kind: 'rebuild', key: `rebuild:${job.id}:${builder}:${at}`, at, job, builder, outcome };
}

function attestationItem(attestation: MonitorAttestation): FeedItem {
  return { kind: 'attestation', key: `attestation:${attestation.output_path}:${attestation.builder}:${attestation.output_hash}`, at: attestation.created_at, attestation };
}

function divergenceItem(divergence: DivergenceView): FeedItem {
  return {
    kind: 'divergence',
    key: `divergence:${divergence.outPath}:${divergence.lastChanged}`,
    at: divergence.lastChanged,
    outPath: divergence.outPath,
    drvPath: divergence.drvPath,
    hashes: divergence.hashes,
  };
}

/** The dashboard's live feed (attestations, divergences, rebuild outcomes; newest first, bounded) and the service-wide counters. */
export const useLiveStore = defineStore('live', () => {
  const feed = ref<FeedItem[]>([]);
  const stats = ref<Stats | null>(null);
  const feedError = ref<string | null>(null);
  const statsError = ref<string | null>(null);
  const error = computed(() => feedError.value ?? statsError.value);
  const socket = useMonitorSocket();

  function add(items: FeedItem[]): void {
    const seen = new Set(feed.value.map((item) => item.key));
    const fresh = items.filter((item) => !seen.has(item.key));
    if (fresh.length === 0) return;
    feed.value = [...fresh, ...feed.value].sort((a, b) => b.at.localeCompare(a.at)).slice(0, FEED_LIMIT);
  }

  /** Stored totals (`countedAt` set) are asked again until the server has counted, however quiet the store. */
  const STORED_TOTALS_RECHECK_MS = 5_000;
  let recheck: ReturnType<typeof setTimeout> | null = null;
  const fetchStats = singleFlight(async () => {
    try {
      stats.value = await getJson<Stats>('/api/v1/stats');
      statsError.value = null;
    } catch (caught) {
      statsError.value = errorText(caught);
    }
    if (stats.value?.countedAt && recheck === null) {
      recheck = setTimeout(() => {
        recheck = null;
        void fetchStats();
      }, STORED_TOTALS_RECHECK_MS);
    }
  });

  /** The feed does not wait for the counters: after a restart of a large store, their first count takes minutes. */
  async function load(): Promise<void> {
    const counted = fetchStats();
    try {
      add((await getJson<DivergenceView[]>(`/api/v1/divergences?limit=${FEED_LIMIT}`)).map(divergenceItem));
      feedError.value = null;
    } catch (caught) {
      feedError.value = errorText(caught);
    }
    await counted;
  }

  // Counters come from the server rather than being patched here, so they never drift.
  const refreshStats = throttle(() => void fetchStats(), 300);
  socket.on('attestations', (attestations) => {
    // Newest first, as the feed shows them: a list's attestations often share their time, and the sort keeps their order.
    add(attestations.map(attestationItem).reverse());
    refreshStats();
  });
  socket.on('divergence', (divergence) => add([divergenceItem(divergence)]));
  socket.on('job:done', (event) => add([rebuildItem(event)]));
  socket.on('job:failed', (event) => add([rebuildItem(event)]));
  socket.on('verdicts', refreshStats);
  socket.onReconnect(() => void load());

  return { feed, stats, error, load };
});
