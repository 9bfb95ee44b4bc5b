// The `@` autocomplete of the composers, as pure functions: where the name
// being typed starts, who matches (people of the room first), and the text
// after choosing someone.

import type { UserInfo } from './protocol';

/** How many people the list shows: enough to choose from, short enough to scan. */
export const MAX_SUGGESTIONS = 8;

/** The `@name` being typed just before the caret, if any: `start` is the `@`. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const m = /(^|[^\p{L}\p{N}_.@-])@([\p{L}\p{N}_-]*)$/u.exec(before);
  if (!m) return null;
  const start = caret - m[2]!.length - 1;
  return { start, query: m[2]! };
}

/**
 * People matching `query` (a prefix of the username or of a word of the
 * display name, case-insensitively): the room's members first, then everyone
 * else; me last of all (mentioning oneself is rare). `@room` is offered too.
 */
export function suggest(
  query: string,
  members: readonly UserInfo[],
  everyone: readonly UserInfo[],
  meId: string,
): UserInfo[] {
  const q = query.toLowerCase();
  const matches = (u: UserInfo) =>
    u.username.toLowerCase().startsWith(q) ||
    u.display_name
      .toLowerCase()
      .split(/\s+/)
      .some((w) => w.startsWith(q));
  const seen = new Set<string>();
  const out: UserInfo[] = [];
  const me: UserInfo[] = [];
  const byName = (a: UserInfo, b: UserInfo) => a.username.localeCompare(b.username);
  for (const group of [[...members].sort(byName), [...everyone].sort(byName)]) {
    for (const u of group) {
      if (seen.has(u.id) || !matches(u)) continue;
      seen.add(u.id);
      (u.id === meId ? me : out).push(u);
    }
  }
  if ('room'.startsWith(q)) out.push(ROOM);
  return [...out, ...me].slice(0, MAX_SUGGESTIONS);
}

/** The pseudo-person `@room` (mentions everyone in the room). */
export const ROOM: UserInfo = { id: '@room', username: 'room', display_name: 'Everyone in this room', role: 'staff' };

/** Replace the `@query` at `start` with `@username ` and give the new caret. */
export function applyMention(text: string, start: number, caret: number, username: string): { text: string; caret: number } {
  const insert = `@${username} `;
  const rest = text.slice(caret).replace(/^ /, '');
  return { text: text.slice(0, start) + insert + rest, caret: start + insert.length };
}
