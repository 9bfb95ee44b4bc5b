import { describe, expect, it } from 'vitest';
import { dateTimeOf, timeOf } from '../src/components/format';

describe('dateTimeOf', () => {
  const now = new Date(2026, 10, 30, 15, 0).getTime();
  it('names today and yesterday', () => {
    const t = new Date(2026, 10, 30, 9, 5).getTime();
    expect(dateTimeOf(t, now)).toBe(`Today ${timeOf(t)}`);
    const y = new Date(2026, 10, 29, 23, 59).getTime();
    expect(dateTimeOf(y, now)).toBe(`Yesterday ${timeOf(y)}`);
  });
  it('gives the date further back, and the year only when it differs', () => {
    const t = new Date(2026, 2, 3, 14, 3).getTime();
    expect(dateTimeOf(t, now)).not.toMatch(/2026/);
    expect(dateTimeOf(t, now)).toContain(timeOf(t));
    const old = new Date(2025, 2, 3, 14, 3).getTime();
    expect(dateTimeOf(old, now)).toMatch(/2025/);
  });
});
