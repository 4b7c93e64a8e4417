import { VERDICTS, type ReportDetail, type ReportSummary, type ReportTreeNode, type Verdict } from '@lilac/common/wire';
import { defineStore } from 'pinia';
import { ref, shallowRef, triggerRef } from 'vue';
import { errorText, getJson, throttle } from '../api.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';

function percentagesOf(counts: Record<Verdict, number>, total: number): Record<Verdict, number> {
  return Object.fromEntries(VERDICTS.map((verdict) => [verdict, total === 0 ? 0 : Math.round((counts[verdict] / total) * 1000) / 10])) as Record<Verdict, number>;
}

/**
 * Reports: the list, and the one report on screen. The open report is kept in
 * a shallow ref (50,000 nodes need no deep reactivity); live verdicts patch it
 * in place at once, then a throttled refetch brings groups and figures back to
 * exactly what the server says.
 */
export const useReportsStore = defineStore('reports', () => {
  const list = ref<ReportSummary[]>([]);
  const listError = ref<string | null>(null);
  const current = shallowRef<ReportDetail | null>(null);
  const currentName = ref<string | null>(null);
  const currentError = ref<string | null>(null);
  const loading = ref(false);
  /** Bumped on every change to `current`, in place or not, for views that cache what they derive from it. */
  const revision = ref(0);
  let nodesByPath = new Map<string, ReportTreeNode[]>();
  const socket = useMonitorSocket();

  async function loadList(): Promise<void> {
    try {
      list.value = await getJson<ReportSummary[]>('/api/v1/reports');
      listError.value = null;
    } catch (caught) {
      listError.value = errorText(caught);
    }
  }

  async function fetchReport(name: string): Promise<void> {
    try {
      const report = await getJson<ReportDetail>(`/api/v1/reports/${encodeURIComponent(name)}`);
      if (currentName.value !== name) return;
      nodesByPath = new Map();
      for (const node of report.tree.nodes) {
        if (node.outPath === null) continue;
        const nodes = nodesByPath.get(node.outPath);
        if (nodes) nodes.push(node);
        else nodesByPath.set(node.outPath, [node]);
      }
      current.value = report;
      revision.value += 1;
      currentError.value = null;
    } catch (caught) {
      if (currentName.value === name) currentError.value = errorText(caught);
    }
  }

  async function open(name: string): Promise<void> {
    if (currentName.value !== name) {
      currentName.value = name;
      current.value = null;
    }
    loading.value = true;
    await fetchReport(name);
    loading.value = false;
  }

  const refetchCurrent = throttle(() => {
    if (currentName.value !== null) void fetchReport(currentName.value);
  }, 1000);

  socket.on('verdict', ({ outPath, verdict }) => {
    const report = current.value;
    const nodes = nodesByPath.get(outPath);
    if (!report || !nodes) return;
    const previous = nodes[0]?.verdict;
    for (const node of nodes) node.verdict = verdict;
    if (previous && previous !== verdict) {
      report.counts[previous] = Math.max(0, report.counts[previous] - 1);
      report.counts[verdict] += 1;
      report.percentages = percentagesOf(report.counts, report.total);
    }
    revision.value += 1;
    triggerRef(current);
    refetchCurrent();
  });
  socket.on('report:progress', ({ report: name, total, counts }) => {
    const summary = list.value.find((candidate) => candidate.name === name);
    if (summary) Object.assign(summary, { total, counts });
    if (name === currentName.value) refetchCurrent();
  });
  socket.onReconnect(() => {
    void loadList();
    if (currentName.value !== null) void fetchReport(currentName.value);
  });

  return { list, listError, current, currentName, currentError, loading, revision, loadList, open };
});
