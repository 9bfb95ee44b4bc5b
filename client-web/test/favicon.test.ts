import { describe, expect, it } from 'vitest';
import { badgeText, faviconHref } from '../src/favicon';

describe('favicon count', () => {
  it('says nothing at zero and caps at 99+', () => {
    expect(badgeText(0)).toBe('');
    expect(badgeText(-3)).toBe('');
    expect(badgeText(7)).toBe('7');
    expect(badgeText(99)).toBe('99');
    expect(badgeText(100)).toBe('99+');
  });

  it('draws the number in a badge only when there is one, as valid SVG', () => {
    const none = decodeURIComponent(faviconHref(0).slice('data:image/svg+xml,'.length));
    expect(none).not.toContain('d32f2f');
    const twelve = decodeURIComponent(faviconHref(12).slice('data:image/svg+xml,'.length));
    expect(twelve).toContain('>12</text>');
    const many = decodeURIComponent(faviconHref(1000).slice('data:image/svg+xml,'.length));
    expect(many).toContain('>99+</text>');
    const doc = new DOMParser().parseFromString(many, 'image/svg+xml');
    expect(doc.getElementsByTagName('parsererror')).toHaveLength(0);
    expect(doc.documentElement.nodeName).toBe('svg');
  });
});
