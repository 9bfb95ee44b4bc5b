// Hash routes: `#/` (overview) and `#/room/<id>`. The hash keeps the server's
// SPA fallback out of the picture and survives a reload.

import { signal } from '@preact/signals';

export type Route =
  | { name: 'home' }
  | { name: 'questions' }
  | { name: 'my-questions' }
  | { name: 'anonymous' }
  | { name: 'rumours' }
  | { name: 'pulse' }
  | { name: 'faq'; id?: number }
  | { name: 'admin' }
  | { name: 'account' }
  | { name: 'mentions' }
  | { name: 'reach'; id: string }
  | { name: 'sent' }
  | { name: 'invite'; token: string }
  | { name: 'broadcasts' }
  | { name: 'search'; q: string }
  | { name: 'room'; id: string; at?: number };

export function parseRoute(hash: string): Route {
  if (/^#\/questions\b/.test(hash)) return { name: 'questions' };
  if (/^#\/my-questions\b/.test(hash)) return { name: 'my-questions' };
  if (/^#\/anonymous\b/.test(hash)) return { name: 'anonymous' };
  if (/^#\/rumours\b/.test(hash)) return { name: 'rumours' };
  if (/^#\/pulse\b/.test(hash)) return { name: 'pulse' };
  const fm = /^#\/faq(?:\/(\d+))?\b/.exec(hash);
  if (fm) return fm[1] ? { name: 'faq', id: Number(fm[1]) } : { name: 'faq' };
  if (/^#\/admin\b/.test(hash)) return { name: 'admin' };
  if (/^#\/account\b/.test(hash)) return { name: 'account' };
  if (/^#\/mentions\b/.test(hash)) return { name: 'mentions' };
  if (/^#\/broadcasts\b/.test(hash)) return { name: 'broadcasts' };
  const im = /^#\/invite\/([A-Za-z0-9]{1,128})$/.exec(hash);
  if (im) return { name: 'invite', token: im[1]! };
  const sm = /^#\/search\?q=([^#]*)/.exec(hash);
  if (sm) {
    try {
      return { name: 'search', q: decodeURIComponent(sm[1]!) };
    } catch {
      return { name: 'home' };
    }
  }
  if (/^#\/reach\/?$/.test(hash)) return { name: 'sent' };
  const rm = /^#\/reach\/([^/?#]+)/.exec(hash);
  if (rm) {
    try {
      return { name: 'reach', id: decodeURIComponent(rm[1]!) };
    } catch {
      return { name: 'home' };
    }
  }
  const m = /^#\/room\/([^/?#]+)(?:\?at=(\d+))?/.exec(hash);
  if (m) {
    try {
      const r: Route = { name: 'room', id: decodeURIComponent(m[1]!) };
      if (m[2]) r.at = Number(m[2]);
      return r;
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

export function roomHref(id: string, at?: number): string {
  return `#/room/${encodeURIComponent(id)}${at !== undefined ? `?at=${at}` : ''}`;
}

export function searchHref(q: string): string {
  return `#/search?q=${encodeURIComponent(q)}`;
}

/** Bumped when the search on screen is asked for again (Enter on the same
 * words): the view is keyed on the query, so only this makes it search anew
 * and find what was indexed since. */
export const searchAgain = signal(0);

/** Show the results for `q`; the same query as shown searches again. */
export function runSearch(q: string): void {
  const href = searchHref(q);
  if (globalThis.location.hash === href) searchAgain.value++;
  else navigate(href);
}

export const questionsHref = '#/questions';
export const adminHref = '#/admin';
export const accountHref = '#/account';
export const mentionsHref = '#/mentions';
export const pastBroadcastsHref = '#/broadcasts';
/** A leader's or admin's own broadcasts, each linking to its reach page. */
export const sentBroadcastsHref = '#/reach';
export const myQuestionsHref = '#/my-questions';

export function navigate(href: string): void {
  if (globalThis.location.hash !== href) globalThis.location.hash = href;
  else route.value = parseRoute(href);
}
