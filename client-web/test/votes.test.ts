import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Notice } from '../src/protocol';
import { ChatStore, voteKey } from '../src/store';
import { alice, bob, FakeSocket, session } from './fake';

let sockets: FakeSocket[];

function makeStore(): ChatStore {
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
  return store;
}

function notice(pos: number, seq: number, kind: Notice['kind'] = 'answered'): Notice {
  return { pos, room: 'r1', room_name: 'all-hands', seq, kind, event_seq: seq + 1, by: alice };
}

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  sockets = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('votes and notices', () => {
  it('keeps the live vote count of a question', () => {
    const store = makeStore();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
    s.push({ type: 'caught_up', pos: 0 });
    s.push({ type: 'question_votes', room: 'r1', seq: 7, votes: 3 });
    expect(store.voteCounts.value.get(voteKey('r1', 7))).toBe(3);
    s.push({ type: 'question_votes', room: 'r1', seq: 7, votes: 2 });
    expect(store.voteCounts.value.get(voteKey('r1', 7))).toBe(2);
  });

  it('lists each notice once, also when a resume from an older position sends it again', () => {
    const store = makeStore();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
    // Notices of the backlog come before caught_up.
    s.push({ type: 'notice', ...notice(10, 3) });
    s.push({ type: 'caught_up', pos: 12 });
    s.push({ type: 'notice', ...notice(14, 5, 'reply') });
    s.push({ type: 'notice', ...notice(10, 3) });
    expect(store.notices.value.map((n) => [n.pos, n.kind])).toEqual([
      [10, 'answered'],
      [14, 'reply'],
    ]);
    expect(store.unseenNotices.value).toBe(2);
  });

  it('records my vote and the follow it brings once the server says ok', async () => {
    const store = makeStore();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
    s.push({ type: 'caught_up', pos: 0 });
    const voting = store.vote('r1', 7, true);
    const req = s.ofType('vote').at(-1)!;
    expect(req).toMatchObject({ room: 'r1', seq: 7, on: true });
    s.push({ type: 'ok', req_id: req.req_id!, pos: 0 });
    await voting;
    expect(store.myVotes.value.has(voteKey('r1', 7))).toBe(true);
    expect(store.myFollows.value.has(voteKey('r1', 7))).toBe(true);
  });
});
