import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent, Content, RoomInfo } from '../src/protocol';
import { ChatStore } from '../src/store';
import { applyChanges, emptyTimeline, foldChange, mergeEvents } from '../src/timeline';
import { alice, bob, ev, FakeSocket, msg, session } from './fake';

const R = 'room-general';
let pos = 5000;
function change(seq: number, content: Content, sender = alice): ChatEvent {
  return { pos: ++pos, room: R, seq, ts: 1_700_000_000_000 + seq * 1000, sender, content };
}

describe('folding change events (pure)', () => {
  it('an edit replaces the body and marks it edited; an older edit is skipped', () => {
    const m = msg(R, 3, 'meeting at 3');
    const e1 = foldChange(m, change(5, { kind: 'edited', target: 3, body: 'meeting at 4' }));
    expect(e1.content).toMatchObject({ body: 'meeting at 4' });
    expect(e1.state?.edited_at).toBe(1_700_000_005_000);
    const e2 = foldChange(e1, change(7, { kind: 'edited', target: 3, body: 'meeting at 5' }));
    expect(e2.content).toMatchObject({ body: 'meeting at 5' });
    // Seq 5 again (a resume overlap): nothing changes.
    expect(foldChange(e2, change(5, { kind: 'edited', target: 3, body: 'meeting at 4' }))).toBe(e2);
  });

  it('a delete leaves a tombstone: empty body, no reactions, no edited mark', () => {
    let m = msg(R, 3, 'secret', alice, { state: { reactions: { '🎉': ['u-bob'] } } });
    m = foldChange(m, change(4, { kind: 'edited', target: 3, body: 'still secret' }));
    m = foldChange(m, change(5, { kind: 'deleted', target: 3 }));
    expect(m.state).toEqual({ deleted: true });
    expect(m.content).toMatchObject({ body: '' });
    // Nothing changes a deleted message again.
    expect(foldChange(m, change(6, { kind: 'reaction', target: 3, emoji: '👍', on: true }))).toBe(m);
  });

  it('a reaction taken back by someone the server only counted lowers the count', () => {
    const m = msg(R, 3, 'all-hands', alice, { state: { reactions: { '👍': ['u-alice'] }, reactions_more: { '👍': 2 } } });
    const a = foldChange(m, change(4, { kind: 'reaction', target: 3, emoji: '👍', on: false }, bob));
    expect(a.state?.reactions).toEqual({ '👍': ['u-alice'] });
    expect(a.state?.reactions_more).toEqual({ '👍': 1 });
    const b = foldChange(a, change(5, { kind: 'reaction', target: 3, emoji: '👍', on: false }, bob));
    expect(b.state?.reactions_more).toBeUndefined();
    const c = foldChange(b, change(6, { kind: 'reaction', target: 3, emoji: '👍', on: false }, alice));
    expect(c.state?.reactions).toEqual({});
    // Nobody left to take one back: nothing changes.
    expect(foldChange(c, change(7, { kind: 'reaction', target: 3, emoji: '👍', on: false }, bob))).toBe(c);
  });

  it('reactions are sets of user ids: on/off toggles, repeats change nothing', () => {
    const m = msg(R, 3, 'hi');
    const on = change(4, { kind: 'reaction', target: 3, emoji: '🎉', on: true }, bob);
    const a = foldChange(m, on);
    expect(a.state?.reactions).toEqual({ '🎉': ['u-bob'] });
    expect(foldChange(a, on)).toBe(a);
    const b = foldChange(a, change(5, { kind: 'reaction', target: 3, emoji: '🎉', on: true }, alice));
    expect(b.state?.reactions?.['🎉']).toEqual(['u-bob', 'u-alice']);
    const c = foldChange(b, change(6, { kind: 'reaction', target: 3, emoji: '🎉', on: false }, bob));
    expect(c.state?.reactions).toEqual({ '🎉': ['u-alice'] });
    const d = foldChange(c, change(7, { kind: 'reaction', target: 3, emoji: '🎉', on: false }, alice));
    expect(d.state?.reactions).toEqual({});
  });

  it('answered sets the answer of the question', () => {
    const q = msg(R, 3, 'why?', alice, { content: { kind: 'message', body: 'why?', question: true } });
    const a = foldChange(q, change(9, { kind: 'answered', question: 3, answer: 8 }));
    expect(a.state?.answer).toBe(8);
  });

  it('applyChanges finds targets in the run and the stash, and leaves unknown targets alone', () => {
    let t = mergeEvents(mergeEvents(emptyTimeline, [msg(R, 1, 'a'), msg(R, 2, 'b')]), [msg(R, 10, 'far')]);
    expect(t.stash.has(10)).toBe(true);
    const before = t;
    t = applyChanges(t, [
      change(11, { kind: 'edited', target: 2, body: 'B' }),
      change(12, { kind: 'deleted', target: 10 }),
      change(13, { kind: 'reaction', target: 99, emoji: '👍', on: true }),
    ]);
    expect(t.run[1]!.content).toMatchObject({ body: 'B' });
    expect(t.stash.get(10)!.state?.deleted).toBe(true);
    expect(before.run[1]!.content).toMatchObject({ body: 'b' }); // pure
    expect(applyChanges(t, [change(14, { kind: 'reaction', target: 99, emoji: '👍', on: true })])).toBe(t);
  });
});

describe('change events through the store', () => {
  const general: RoomInfo = { id: R, name: 'general', topic: '', visibility: 'public', kind: 'room', member_count: 2, my_role: 'member' };
  let sockets: FakeSocket[];
  beforeEach(() => {
    vi.useFakeTimers();
    localStorage.clear();
    sockets = [];
  });
  afterEach(() => vi.useRealTimers());

  function connected(): { store: ChatStore; s: FakeSocket } {
    const store = new ChatStore({
      session: session(bob),
      url: 'ws://test/ws',
      createSocket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      random: () => 0.5,
      isActive: () => true,
    });
    store.start();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
    s.push({ type: 'summary', rooms: [{ room: general, last_seq: 0, read_seq: 0, unread: 0, mentions: 0 }] });
    return { store, s };
  }

  it('backlog and live edits, deletes, reactions and answers update the messages on screen', () => {
    const { store, s } = connected();
    // Backlog: a question and a message, then an edit of the message.
    s.push(ev(msg(R, 1, 'will my team move?', alice, { content: { kind: 'message', body: 'will my team move?', question: true } })));
    s.push(ev(msg(R, 2, 'no idea', alice)));
    s.push(ev(change(3, { kind: 'edited', target: 2, body: 'not this year' })));
    s.push({ type: 'caught_up', pos });
    const run = () => store.rooms.value.get(R)!.timeline.run;
    expect(run()[1]!.content).toMatchObject({ body: 'not this year' });
    expect(run()[1]!.state?.edited_at).toBeDefined();
    // Live: a reaction, an answer, a delete.
    s.push(ev(change(4, { kind: 'reaction', target: 1, emoji: '👍', on: true }, bob)));
    s.push(ev(change(5, { kind: 'answered', question: 1, answer: 2 })));
    expect(run()[0]!.state).toMatchObject({ reactions: { '👍': ['u-bob'] }, answer: 2 });
    s.push(ev(change(6, { kind: 'deleted', target: 2 })));
    expect(run()[1]!.state?.deleted).toBe(true);
    // Changes are not unread messages.
    expect(store.rooms.value.get(R)!.unread).toBe(2);
    store.stop();
  });

  it('a question goes out with question: true', () => {
    const { store, s } = connected();
    s.push({ type: 'caught_up', pos: 0 });
    store.sendMessage(R, 'why?', { question: true });
    expect(s.ofType('send')[0]).toMatchObject({ body: 'why?', question: true });
    store.stop();
  });
});
