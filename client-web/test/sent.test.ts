import { describe, expect, it } from 'vitest';
import { mayListSent, reachLine, snippet } from '../src/sent';

const counts = { audience: 10, delivered: 8, opened: 5, acknowledged: 2 };

describe('sent broadcasts', () => {
  it('lets leaders and admins list them, not staff', () => {
    expect(mayListSent('leader')).toBe(true);
    expect(mayListSent('admin')).toBe(true);
    expect(mayListSent('staff')).toBe(false);
  });
  it('reads acknowledgements when asked for, else opens', () => {
    expect(reachLine({ ack_requested: true, counts })).toBe('2 of 10 acknowledged, 5 opened');
    expect(reachLine({ ack_requested: false, counts })).toBe('5 of 10 opened');
  });
  it('shows the first non-empty line, cut', () => {
    expect(snippet('\nhello\nworld')).toBe('hello');
    expect(snippet('abcdef', 4)).toBe('abc…');
  });
});
