import { describe, expect, it } from 'vitest';
import { normaliseTag, parseTags } from '../src/faq';
import { parseRoute } from '../src/router';
import { safeHref } from '../src/markdown';

describe('faq tags', () => {
  it('normalises as the server does', () => {
    expect(normaliseTag('  Office  Move ')).toBe('office-move');
    expect(normaliseTag('Réorg_2027')).toBe('réorg_2027');
    expect(normaliseTag('a/b')).toBeNull();
    expect(normaliseTag('x'.repeat(33))).toBeNull();
  });
  it('parses a comma-separated list, sorted and deduplicated', () => {
    expect(parseTags('Pay, pensions, PAY,')).toEqual({ tags: ['pay', 'pensions'] });
    expect(parseTags('a, b/c').error).toContain('b/c');
    expect(parseTags('a,b,c,d,e,f,g,h,i').error).toContain('At most 8');
  });
});

describe('faq links', () => {
  it('routes #/faq and #/faq/N, and lets a message link an entry', () => {
    expect(parseRoute('#/faq')).toEqual({ name: 'faq' });
    expect(parseRoute('#/faq/12')).toEqual({ name: 'faq', id: 12 });
    expect(safeHref('#/faq/12')).toBe('#/faq/12');
    expect(safeHref('#/admin')).toBeNull();
  });
});
