// The quick switcher's list (Ctrl/Cmd+K), as a pure function: conversations
// I am in and people I could message, filtered by what was typed.

export interface SwitchItem {
  /** `room:<id>` or `user:<username>`. */
  key: string;
  kind: 'room' | 'dm' | 'person';
  label: string;
  /** A second, quieter line part: `@username`, the topic. */
  detail: string;
  unread: number;
  mentions: number;
  roomId?: string;
  username?: string;
}

/** Enough to choose from without scrolling. */
export const MAX_ITEMS = 12;

/**
 * Match quality: 3 = the label or name starts with the query, 2 = a word of it
 * does, 1 = it contains it, 0 = no match. An empty query matches everything (1).
 */
export function matchScore(query: string, ...texts: string[]): number {
  const q = query.trim().toLowerCase();
  if (!q) return 1;
  let best = 0;
  for (const t of texts) {
    const s = t.toLowerCase();
    if (s.startsWith(q)) return 3;
    if (s.split(/[\s_.-]+/).some((w) => w.startsWith(q))) best = Math.max(best, 2);
    else if (s.includes(q)) best = Math.max(best, 1);
  }
  return best;
}

/**
 * Conversations (in the sidebar's order, which puts what changed first) and
 * then people without a conversation yet; better matches first, stable within
 * a score. People I already have a DM with appear as that conversation.
 */
export function switcherItems(
  query: string,
  rooms: readonly SwitchItem[],
  people: readonly SwitchItem[],
): SwitchItem[] {
  const scored: [SwitchItem, number, number][] = [];
  let order = 0;
  for (const r of rooms) {
    const s = matchScore(query, r.label, r.detail);
    if (s > 0) scored.push([r, s, order++]);
  }
  const dmPeers = new Set(rooms.filter((r) => r.kind === 'dm').map((r) => r.username));
  for (const p of people) {
    if (dmPeers.has(p.username)) continue;
    const s = matchScore(query, p.label, p.username ?? '');
    if (s > 0) scored.push([p, s, order++ + (query.trim() ? 0 : 10_000)]);
  }
  scored.sort((a, b) => b[1] - a[1] || a[2] - b[2]);
  return scored.slice(0, MAX_ITEMS).map(([it]) => it);
}
