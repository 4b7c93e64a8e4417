import type { RouteLocationNormalizedLoaded, RouteLocationRaw } from 'vue-router';

/** The sign-in page, told where the person came from so that signing in takes them back there. */
export function signInLink(from: RouteLocationNormalizedLoaded): RouteLocationRaw {
  if (from.name === 'sign-in') return from.fullPath;
  return { path: '/sign-in', query: { back: from.fullPath } };
}

/** Where a sign-in goes: the page it came from when that is one of the app's own, else home. */
export function afterSignIn(back: unknown): string {
  // Only a path of this site: `//host` or a URL would take the person elsewhere.
  return typeof back === 'string' && back.startsWith('/') && !back.startsWith('//') && !back.startsWith('/sign-in') ? back : '/';
}
