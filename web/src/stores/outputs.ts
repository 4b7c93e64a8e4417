import type { DerivationDetail, OutputDetail } from '@lilac/common/wire';
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
  const socket = useMonitorSocket();

  async function openOutput(digestName: string): Promise<void> {
    if (outputKey.value !== digestName) output.value = null;
    outputKey.value = digestName;
    try {
      const detail = await getJson<OutputDetail>(`/api/v1/outputs/${encodeURIComponent(digestName)}`);
      if (outputKey.value === digestName) [output.value, error.value] = [detail, null];
    } catch (caught) {
      if (outputKey.value === digestName) error.value = errorText(caught);
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
  socket.on('attestation', ({ output_path, drv_path }) => {
    const shown = output.value?.outPath === output_path || (drv_path !== null && derivation.value?.drvPath === drv_path);
    if (shown) refresh();
  });
  socket.onReconnect(refresh);

  return { output, derivation, error, openOutput, openDerivation };
});
