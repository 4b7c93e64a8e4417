import type { BuilderView } from '@lilac/common/wire';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { errorText, getJson, singleFlight, throttle } from '../api.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';

/** Builders, their keys and activity, and who is connected right now. */
export const useBuildersStore = defineStore('builders', () => {
  const builders = ref<BuilderView[]>([]);
  const loaded = ref(false);
  const error = ref<string | null>(null);
  const socket = useMonitorSocket();

  const load = singleFlight(async () => {
    try {
      builders.value = await getJson<BuilderView[]>('/api/v1/builders');
      loaded.value = true;
      error.value = null;
    } catch (caught) {
      error.value = errorText(caught);
    }
  });

  const online = computed(() => builders.value.filter((builder) => builder.online).map((builder) => builder.name));
  const reload = throttle(() => void load(), 500);

  function setOnline(name: string, state: boolean): void {
    const builder = builders.value.find((candidate) => candidate.name === name);
    if (builder) builder.online = state;
    else reload();
  }
  socket.on('builder:online', ({ builder }) => setOnline(builder, true));
  socket.on('builder:offline', ({ builder }) => setOnline(builder, false));
  socket.on('attestations', (attestations) => {
    for (const { builder: name, created_at } of attestations) {
      const builder = builders.value.find((candidate) => candidate.name === name);
      if (!builder) {
        reload();
        continue;
      }
      builder.attestations += 1;
      builder.lastSeenAt = created_at;
    }
  });
  socket.onReconnect(() => void load());

  return { builders, loaded, error, online, load };
});
