import type { CauseKind } from '@lilac/common/listings';
import type { ReportDetail, ReportSummary, ReportTreeNode, Verdict } from '@lilac/common/wire';
import { defineStore } from 'pinia';
import { ref, shallowRef, triggerRef } from 'vue';
import { errorText, getJson, throttle } from '../api.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';
import { percentagesOf } from '../verdictShares.ts';

/** Verdicts listed under "not reproduced", grouped by link pattern only the server knows. */
const NOT_REPRODUCED: ReadonlySet<Verdict | null | undefined> = new Set(['partially-reproduced', 'nondeterministic']);

/**
 * Reports: the list, and the one report on screen. The open report is kept in
 * a shallow ref (50,000 nodes need no deep reactivity); live verdicts patch it
 * in place at once, and a throttled refetch follows only when the
 * not-reproduced groups change, since only the server knows their link patterns.
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
  /** Cause guesses of the open report's not-reproduced paths, by output path; paths without one are absent. */
  const causes = ref<Record<string, readonly CauseKind[]>>({});
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

  async function fetchCauses(name: string): Promise<void> {
    try {
      const fetched = await getJson<Record<string, CauseKind[]>>(`/api/v1/reports/${encodeURIComponent(name)}/causes`);
      if (currentName.value === name) causes.value = fetched;
    } catch {
      // The guesses are an extra: the report stands without them, and the next change fetches them again.
    }
  }

  async function open(name: string): Promise<void> {
    if (currentName.value !== name) {
      currentName.value = name;
      current.value = null;
      causes.value = {};
    }
    void fetchCauses(name);
    loading.value = true;
    await fetchReport(name);
    loading.value = false;
  }

  const refetchCurrent = throttle(() => {
    if (currentName.value !== null) void fetchReport(currentName.value);
  }, 1000);

  // The paths' verdicts only: the counts come from `report:progress`, which the server sends before the list of changes it counted.
  socket.on('verdicts', (changes) => {
    if (!current.value) return;
    let changed = false;
    for (const { outPath, verdict } of changes) {
      const nodes = nodesByPath.get(outPath);
      if (!nodes) continue;
      const previous = nodes[0]?.verdict;
      for (const node of nodes) node.verdict = verdict;
      changed = true;
      if (NOT_REPRODUCED.has(previous) || NOT_REPRODUCED.has(verdict)) refetchCurrent();
    }
    if (!changed) return;
    revision.value += 1;
    triggerRef(current);
  });
  socket.on('report:progress', ({ report: name, total, counts }) => {
    const summary = list.value.find((candidate) => candidate.name === name);
    if (summary) Object.assign(summary, { total, counts });
    const report = current.value;
    if (report && name === report.name) {
      Object.assign(report, { total, counts: { ...counts }, percentages: percentagesOf(counts, total) });
      revision.value += 1;
      triggerRef(current);
    }
  });
  socket.on('output:diff', ({ outPath, causes: guessed }) => {
    if (current.value && nodesByPath.has(outPath)) causes.value = { ...causes.value, [outPath]: guessed };
  });
  socket.onReconnect(() => {
    void loadList();
    if (currentName.value !== null) {
      void fetchReport(currentName.value);
      void fetchCauses(currentName.value);
    }
  });

  return { list, listError, current, currentName, currentError, loading, revision, causes, loadList, open };
});
