/** The cookie holding a browser's session id; read by the HTTP edge and by `/monitor`'s handshake alike. */
export const SESSION_COOKIE = 'lilac_session';

export function sessionIdFrom(cookieHeader: string | undefined): string | null {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === SESSION_COOKIE) return value.join('=') || null;
  }
  return null;
}
