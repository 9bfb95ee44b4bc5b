// Hash routes: `#/` (overview) and `#/room/<id>`. The hash keeps the server's
// SPA fallback out of the picture and survives a reload.

import { signal } from '@preact/signals';

export type Route = { name: 'home' } | { name: 'room'; id: string };

export function parseRoute(hash: string): Route {
  const m = /^#\/room\/([^/?#]+)/.exec(hash);
  if (m) {
    try {
      return { name: 'room', id: decodeURIComponent(m[1]!) };
    } catch {
      return { name: 'home' };
    }
  }
  return { name: 'home' };
}

export const route = signal<Route>(parseRoute(globalThis.location?.hash ?? ''));

globalThis.addEventListener?.('hashchange', () => {
  route.value = parseRoute(globalThis.location.hash);
});

export function roomHref(id: string): string {
  return `#/room/${encodeURIComponent(id)}`;
}

export function navigate(href: string): void {
  if (globalThis.location.hash !== href) globalThis.location.hash = href;
  else route.value = parseRoute(href);
}
