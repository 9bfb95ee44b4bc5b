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
