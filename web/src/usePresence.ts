import type { PresencePage, PresenceView } from '@lilac/common/people';
import { onBeforeUnmount, ref, watch, type Ref } from 'vue';
import { useMonitorSocket } from './useMonitorSocket.ts';

/** Who else looks at `page` right now, kept live; this tab counts itself in. */
export function usePresence(page: Ref<PresencePage>): Ref<PresenceView | null> {
  const socket = useMonitorSocket();
  const view = ref<PresenceView | null>(null);
  const listener = (presence: PresenceView) => {
    if (presence.page === page.value) view.value = presence;
  };
  socket.on('presence', listener);
  watch(
    page,
    (current, previous) => {
      if (previous) socket.leave(previous);
      view.value = null;
      socket.join(current);
    },
    { immediate: true },
  );
  onBeforeUnmount(() => {
    socket.off('presence', listener);
    socket.leave(page.value);
  });
  return view;
}
