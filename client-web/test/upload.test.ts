import { describe, expect, it } from 'vitest';
import { formatSize, pastedName } from '../src/upload';

describe('file helpers', () => {
  it('formats sizes the way a card shows them', () => {
    expect(formatSize(1)).toBe('1 byte');
    expect(formatSize(29)).toBe('29 bytes');
    expect(formatSize(48_213)).toBe('48 KB');
    expect(formatSize(26_214_400)).toBe('26.2 MB');
  });

  it('names a pasted image by its type and time', () => {
    expect(pastedName('image/png')).toMatch(/^pasted-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.png$/);
    expect(pastedName('image/jpeg')).toMatch(/\.jpg$/);
  });
});
