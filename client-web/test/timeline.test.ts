import { describe, expect, it } from 'vitest';
import { ABSORB_LIMIT, emptyTimeline, growFromStash, hasOlder, mergeEvents, resetRun } from '../src/timeline';
import { msg } from './fake';

const seqs = (t: { run: readonly { seq: number }[] }) => t.run.map((e) => e.seq);

describe('timeline merge', () => {
  it('opening a room after a big backlog shows a page around the anchor, and grows page by page from the stash', () => {
    const backlog = Array.from({ length: 1000 }, (_, i) => msg('r', i + 1, `b${i + 1}`));
    let t = mergeEvents(emptyTimeline, backlog);
    const page = backlog.slice(99, 199); // seq 100..199, around the read marker
    t = resetRun(t, page);
    expect(t.run.length).toBeLessThanOrEqual(100 + 2 * ABSORB_LIMIT);
    expect(t.run[0]!.seq).toBeLessThanOrEqual(100);
    const end = t.run[t.run.length - 1]!.seq;
    t = growFromStash(t, 'newer');
    expect(t.run[t.run.length - 1]!.seq).toBe(end + ABSORB_LIMIT);
    expect(seqs(t)).toEqual(Array.from({ length: t.run.length }, (_, i) => t.run[0]!.seq + i));
  });


  it('keeps events in seq order, each once, whatever order and how often they arrive', () => {
    const a = msg('r', 3, 'three');
    const b = msg('r', 4, 'four');
    const c = msg('r', 5, 'five');
    let t = mergeEvents(emptyTimeline, [b]);
    t = mergeEvents(t, [c, a]);
    t = mergeEvents(t, [a, b, c, b]);
    expect(seqs(t)).toEqual([3, 4, 5]);
    expect(t.stash.size).toBe(0);
  });

  it('returns the same object when only duplicates arrive (no re-render)', () => {
    const t = mergeEvents(emptyTimeline, [msg('r', 1, 'x')]);
    expect(mergeEvents(t, [{ ...t.run[0]! }])).toBe(t);
  });

  it('holds an event after a gap in the stash until the gap is filled', () => {
    let t = mergeEvents(emptyTimeline, [msg('r', 10, 'a'), msg('r', 11, 'b')]);
    t = mergeEvents(t, [msg('r', 14, 'later')]);
    expect(seqs(t)).toEqual([10, 11]);
    expect([...t.stash.keys()]).toEqual([14]);
    t = mergeEvents(t, [msg('r', 12, 'c'), msg('r', 13, 'd')]);
    expect(seqs(t)).toEqual([10, 11, 12, 13, 14]);
    expect(t.stash.size).toBe(0);
  });

  it('prepends an older page', () => {
    let t = mergeEvents(emptyTimeline, [msg('r', 51, 'x'), msg('r', 52, 'y')]);
    const page = Array.from({ length: 50 }, (_, i) => msg('r', i + 1, `m${i + 1}`));
    t = mergeEvents(t, page);
    expect(seqs(t)).toEqual(Array.from({ length: 52 }, (_, i) => i + 1));
    expect(hasOlder(t)).toBe(false);
  });

  it('resetRun makes a history page the run and keeps live events for later', () => {
    // Live events 500..502 arrived before the room was opened at its read marker.
    let t = mergeEvents(emptyTimeline, [msg('r', 500, 'a'), msg('r', 501, 'b'), msg('r', 502, 'c')]);
    const page = Array.from({ length: 10 }, (_, i) => msg('r', 100 + i, `p${i}`));
    t = resetRun(t, page);
    expect(seqs(t)).toEqual(Array.from({ length: 10 }, (_, i) => 100 + i));
    expect([...t.stash.keys()].sort()).toEqual([500, 501, 502]);
    // Paging forward until the gap closes absorbs them.
    t = mergeEvents(t, Array.from({ length: 390 }, (_, i) => msg('r', 110 + i, `q${i}`)));
    expect(t.run[t.run.length - 1]!.seq).toBe(502);
    expect(t.stash.size).toBe(0);
  });
});
