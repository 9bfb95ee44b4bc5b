import { describe, expect, it } from 'vitest';
import { AVATAR_COLOURS, avatarColour, avatarVersion, noteAvatar, setAvatarSession } from '../src/avatar';

function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = c.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('avatar colours', () => {
  it('give white initials at least 4.5:1 contrast on every colour', () => {
    for (const c of AVATAR_COLOURS) {
      const ratio = (1 + 0.05) / (luminance(c) + 0.05);
      expect(ratio, c).toBeGreaterThanOrEqual(4.5);
    }
  });
  it('are stable per person and spread across people', () => {
    const id = '0196a1b2-0000-7000-8000-000000000001';
    expect(avatarColour(id)).toBe(avatarColour(id));
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(avatarColour(`0196a1b2-0000-7000-8000-${String(i).padStart(12, '0')}`));
    expect(seen.size).toBeGreaterThanOrEqual(AVATAR_COLOURS.length - 1);
  });
});

describe('profile picture versions', () => {
  it('follow the latest user_updated over what an old message carried, and are forgotten at logout', () => {
    setAvatarSession('t');
    const oldSender = { id: 'u1', avatar: 1 };
    expect(avatarVersion(oldSender)).toBe(1);
    expect(avatarVersion({ id: 'u2' })).toBeNull();
    noteAvatar({ id: 'u1', avatar: 3 });
    expect(avatarVersion(oldSender)).toBe(3);
    // Removed: initials, even for a message sent while it was set.
    noteAvatar({ id: 'u1' });
    expect(avatarVersion(oldSender)).toBeNull();
    setAvatarSession(null);
    expect(avatarVersion(oldSender)).toBe(1);
  });
});
