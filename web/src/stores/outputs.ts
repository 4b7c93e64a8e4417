import type { OutputDiff } from '@lilac/common/listings';
import type { DerivationDetail, MonitorAttestation, OutputDetail } from '@lilac/common/wire';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { errorText, getJson, throttle } from '../api.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';

/** The output or derivation on screen, refetched when an attestation for it arrives. */
export const useOutputsStore = defineStore('outputs', () => {
  const output = ref<OutputDetail | null>(null);
  const outputKey = ref<string | null>(null);
  const derivation = ref<DerivationDetail | null>(null);
  const derivationKey = ref<string | null>(null);
  const error = ref<string | null>(null);
  /** What differs between the shown output's copies, and diffoscope's text by its URL. */
  const diff = ref<OutputDiff | null>(null);
  const diffoscopeTexts = ref<Record<string, string>>({});
  const diffError = ref<string | null>(null);
  const socket = useMonitorSocket();

  async function openOutput(digestName: string): Promise<void> {
    if (outputKey.value !== digestName) [output.value, diff.value, diffoscopeTexts.value] = [null, null, {}];
    outputKey.value = digestName;
    void openDiff(digestName);
    try {
      const detail = await getJson<OutputDetail>(`/api/v1/outputs/${encodeURIComponent(digestName)}`);
      if (outputKey.value === digestName) [output.value, error.value] = [detail, null];
    } catch (caught) {
      if (outputKey.value === digestName) error.value = errorText(caught);
    }
  }

  async function openDiff(digestName: string): Promise<void> {
    if (outputKey.value !== digestName) return;
    try {
      const fetched = await getJson<OutputDiff>(`/api/v1/outputs/${encodeURIComponent(digestName)}/diff`);
      const texts = await diffoscopeTextsOf(fetched);
      if (outputKey.value === digestName) [diff.value, diffoscopeTexts.value, diffError.value] = [fetched, texts, null];
    } catch (caught) {
      if (outputKey.value === digestName) diffError.value = errorText(caught);
    }
  }

  async function openDerivation(drvHash: string): Promise<void> {
    if (derivationKey.value !== drvHash) derivation.value = null;
    derivationKey.value = drvHash;
    try {
      const detail = await getJson<DerivationDetail>(`/api/v1/derivations/${encodeURIComponent(drvHash)}`);
      if (derivationKey.value === drvHash) [derivation.value, error.value] = [detail, null];
    } catch (caught) {
      if (derivationKey.value === drvHash) error.value = errorText(caught);
    }
  }

  const refresh = throttle(() => {
    if (outputKey.value !== null) void openOutput(outputKey.value);
    if (derivationKey.value !== null) void openDerivation(derivationKey.value);
  }, 300);
  socket.on('attestations', (attestations) => {
    const shown = ({ output_path, drv_path }: MonitorAttestation) => output.value?.outPath === output_path || (drv_path !== null && derivation.value?.drvPath === drv_path);
    if (attestations.some(shown)) refresh();
  });
  const refreshDiff = throttle(() => {
    if (outputKey.value !== null) void openDiff(outputKey.value);
  }, 300);
  socket.on('output:diff', ({ outPath }) => {
    if (output.value?.outPath === outPath || diff.value?.outPath === outPath) refreshDiff();
  });
  // Triage and comments arrive whole: shown at once, without a refetch.
  socket.on('triage', ({ outPath, triage, change }) => {
    const shown = output.value;
    if (shown?.outPath !== outPath) return;
    // The event does not work out whether newer builds confirm a fix: the next fetch does.
    shown.triage = { ...triage, fixConfirmed: shown.triage?.fixConfirmed ?? false };
    shown.history = [...shown.history, change];
    if (triage.status === 'fixed') refresh();
  });
  socket.on('comment', ({ outPath, comment }) => {
    const shown = output.value;
    if (shown?.outPath !== outPath) return;
    const index = shown.comments.findIndex((existing) => existing.id === comment.id);
    shown.comments = index === -1 ? [...shown.comments, comment] : shown.comments.map((existing) => (existing.id === comment.id ? comment : existing));
  });
  socket.on('comment:deleted', ({ outPath, id }) => {
    const shown = output.value;
    if (shown?.outPath === outPath) shown.comments = shown.comments.filter((comment) => comment.id !== id);
  });
  socket.onReconnect(refresh);

  return { output, derivation, error, diff, diffoscopeTexts, diffError, openOutput, openDerivation };
});

/** diffoscope's text outputs of a diff, fetched as text: they are shown in a `<pre>`, never parsed as markup. */
async function diffoscopeTextsOf(diff: OutputDiff): Promise<Record<string, string>> {
  const urls = diff.pairs.flatMap((pair) => (pair.diffoscope === 'not-run' ? [] : pair.diffoscope.filter((link) => link.format === 'text').map((link) => link.url)));
  const texts = await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(url);
      return [url, response.ok ? await response.text() : `(could not fetch diffoscope's output: ${response.status})`] as const;
    }),
  );
  return Object.fromEntries(texts);
}
