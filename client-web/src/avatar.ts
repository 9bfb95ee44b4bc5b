/**
 * Each person's initials sit on a colour of their own, the same on every
 * screen and every visit: picked from their user id by a hash, from a
 * palette in which white text has at least 4.5:1 contrast (WCAG AA) on
 * every colour, so it reads the same in the light and the dark theme.
 */

/** White on each of these is ≥ 4.5:1 (checked in test/avatar.test.ts). */
export const AVATAR_COLOURS = [
  '#1f5fbf', // blue
  '#2e7d32', // green
  '#8e24aa', // purple
  '#c2185b', // pink
  '#a84b00', // burnt orange
  '#00796b', // teal
  '#5d4037', // brown
  '#3949ab', // indigo
  '#455a64', // blue grey
  '#ad1457', // raspberry
] as const;

/** FNV-1a over the id's UTF-16 units: stable, cheap, well spread. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function avatarColour(id: string): string {
  return AVATAR_COLOURS[hash(id) % AVATAR_COLOURS.length]!;
}

/** The inline style of an avatar for the person with this id. */
export function avatarStyle(id: string): { background: string; color: string } {
  return { background: avatarColour(id), color: '#fff' };
}

// ---- Profile pictures (issue 13) ----
// A person may set a picture (`POST /api/avatar`); everyone else shows it
// where their initials were, and the initials stay the fallback (no picture,
// still loading, or not served). The server pushes each change as
// `user_updated`: `avatarVersions` keeps the latest version heard per
// person, so every place (an old message's sender included) follows it.
// Pictures are fetched with the session's token (an <img src> cannot carry
// an Authorization header) and shown from blob: URLs, one per version.

import { signal } from '@preact/signals';

/** Latest picture version heard per user id (null: removed). */
export const avatarVersions = signal<ReadonlyMap<string, number | null>>(new Map());

/** A `user_updated` (or my own change) arrived for this person. */
export function noteAvatar(user: { id: string; avatar?: number }): void {
  const v = user.avatar ?? null;
  if (avatarVersions.value.get(user.id) === v) return;
  const next = new Map(avatarVersions.value);
  next.set(user.id, v);
  avatarVersions.value = next;
}

/** The picture version to show for `user`: the latest heard, else theirs. */
export function avatarVersion(user: { id: string; avatar?: number }): number | null {
  const heard = avatarVersions.value.get(user.id);
  return heard !== undefined ? heard : (user.avatar ?? null);
}

let token: string | null = null;
const pictures = new Map<string, Promise<string>>();

/** The session's token (null when it ends: every picture is forgotten). */
export function setAvatarSession(t: string | null): void {
  token = t;
  for (const url of pictures.values()) url.then((u) => URL.revokeObjectURL(u)).catch(() => {});
  pictures.clear();
  avatarVersions.value = new Map();
}

/** A blob: URL of this version of the person's picture, fetched once. */
export function avatarUrl(id: string, version: number): Promise<string> {
  const key = `${id}?v=${version}`;
  let url = pictures.get(key);
  if (!url) {
    if (!token) return Promise.reject(new Error('no session'));
    url = fetch(`/api/avatar/${key}`, { headers: { Authorization: `Bearer ${token}` } }).then(async (res) => {
      if (!res.ok) throw new Error(`http_${res.status}`);
      return URL.createObjectURL(await res.blob());
    });
    // A failure is not cached for long: a later render may try again.
    url.catch(() => setTimeout(() => pictures.delete(key), 30_000));
    pictures.set(key, url);
  }
  return url;
}
