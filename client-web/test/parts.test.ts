import { describe, expect, it } from 'vitest';
import { PartJoiner, joinPart } from '../src/parts';

describe('replies in parts', () => {
  it('joins the lists of every part, in order, and drops `more`', () => {
    const j = new PartJoiner();
    expect(j.add({ type: 'summary', req_id: 's', rooms: [1, 2], more: true })).toBeNull();
    expect(j.add({ type: 'summary', req_id: 's', rooms: [3], more: true })).toBeNull();
    expect(j.add({ type: 'summary', req_id: 's', rooms: [4] })).toEqual({ type: 'summary', req_id: 's', rooms: [1, 2, 3, 4] });
  });

  it('passes a whole reply through untouched and keeps other replies apart', () => {
    const j = new PartJoiner();
    const whole = { type: 'members', req_id: 'm', room: 'r', members: ['a'] };
    expect(j.add({ type: 'members', req_id: 'x', room: 'r', members: ['b'], more: true })).toBeNull();
    expect(j.add(whole)).toBe(whole);
    expect(j.add({ type: 'members', req_id: 'x', room: 'r', members: ['c'] })).toEqual({
      type: 'members',
      req_id: 'x',
      room: 'r',
      members: ['b', 'c'],
    });
  });

  it('forgets unfinished replies when the link drops', () => {
    const j = new PartJoiner();
    j.add({ type: 'online', req_id: 'o', users: ['a'], more: true });
    j.clear();
    expect(j.add({ type: 'online', req_id: 'o', users: ['b'] })).toEqual({ type: 'online', req_id: 'o', users: ['b'] });
  });

  it('keeps the non-list fields of the last part', () => {
    expect(joinPart({ a: [1], n: 1, more: true }, { a: [2], n: 2 })).toEqual({ a: [1, 2], n: 2 });
  });
});
