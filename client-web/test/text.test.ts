import { describe, expect, it } from 'vitest';
import { linkify, mentions } from '../src/text';

describe('mentions', () => {
  it('finds @username and @room as whole names, case-insensitively', () => {
    expect(mentions('@bob can you look?', 'bob')).toBe(true);
    expect(mentions('hey @Bob.', 'bob')).toBe(true);
    expect(mentions('(@bob)', 'bob')).toBe(true);
    expect(mentions('@room deploy at 5', 'bob')).toBe(true);
    expect(mentions('@bobby hi', 'bob')).toBe(false);
    expect(mentions('@bob-ops please', 'bob')).toBe(false);
    expect(mentions('@bobby and @bob', 'bob')).toBe(true);
    expect(mentions('no mention here', 'bob')).toBe(false);
  });
});

describe('linkify', () => {
  it('splits http(s) links from text and leaves trailing punctuation out', () => {
    expect(linkify('see https://example.com/a?b=1. ok')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: '. ok' },
    ]);
    expect(linkify('(http://x.org/wiki/A_(b))')[1]).toEqual({
      kind: 'link',
      text: 'http://x.org/wiki/A_(b)',
      href: 'http://x.org/wiki/A_(b)',
    });
  });

  it('never turns other schemes into links', () => {
    expect(linkify('javascript:alert(1) data:text/html,x')).toEqual([
      { kind: 'text', text: 'javascript:alert(1) data:text/html,x' },
    ]);
  });
});
