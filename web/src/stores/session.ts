import { roleAtLeast, type MeView, type MemberRole, type SignInRequest } from '@lilac/common/people';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { ApiError, errorText, getJson, sendJson } from '../api.ts';
import { useMonitorSocket } from '../useMonitorSocket.ts';

/** Who is signed in on this browser (the session lives in an httpOnly cookie the page never sees), and the CSRF token its changes carry. */
export const useSessionStore = defineStore('session', () => {
  const me = ref<MeView | null>(null);
  const checked = ref(false);
  const error = ref<string | null>(null);
  const socket = useMonitorSocket();

  async function load(): Promise<void> {
    try {
      me.value = await getJson<MeView>('/api/v1/me');
    } catch (caught) {
      me.value = null;
      if (!(caught instanceof ApiError && caught.status === 401)) error.value = errorText(caught);
    } finally {
      checked.value = true;
    }
  }

  async function signIn(request: SignInRequest): Promise<boolean> {
    try {
      me.value = await sendJson<MeView>('POST', '/api/v1/session', null, request);
      error.value = null;
      // The live connection learns who this is from the cookie at its handshake.
      socket.reconnect();
      return true;
    } catch (caught) {
      error.value = errorText(caught);
      return false;
    }
  }

  async function signOut(): Promise<void> {
    try {
      await sendJson('DELETE', '/api/v1/session', me.value?.csrfToken ?? null);
    } finally {
      me.value = null;
      socket.reconnect();
    }
  }

  /** A change on behalf of the member; the server still checks the role. */
  function send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T | null> {
    return sendJson<T>(method, path, me.value?.csrfToken ?? null, body);
  }

  const can = (role: MemberRole) => computed(() => me.value !== null && roleAtLeast(me.value.role, role));

  return { me, checked, error, load, signIn, signOut, send, canComment: can('viewer'), canTriage: can('maintainer'), isAdmin: can('admin') };
});
