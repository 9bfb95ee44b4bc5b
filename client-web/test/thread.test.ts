import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent, RoomInfo } from '../src/protocol';
import { ChatStore } from '../src/store';
import { applyEvent, countReplies, loaded, type ThreadState } from '../src/thread';
import { emptyTimeline, mergeEvents } from '../src/timeline';
import { alice, bob, ev, FakeSocket, msg, session } from './fake';

const general: RoomInfo = {
  id: 'g',
  name: 'general',
  topic: '',
  visibility: 'public',
  kind: 'room',
  member_count: 2,
  my_role: 'member',
};

function reply(seq: number, parent: number, body: string, extra: Partial<ChatEvent> = {}): ChatEvent {
  return msg('g', seq, body, alice, { content: { kind: 'message', body, thread: parent }, ...extra });
}

const opening: ThreadState = { room: 'g', seq: 5, status: 'loading', replies: [], hasMore: false };

describe('thread state', () => {
  it('a live reply joins its thread once, in seq order, and counts on the parent once', () => {
    let t = loaded(opening, msg('g', 5, 'the plan', bob, { state: { replies: 1 } }), [reply(6, 5, 'first')], false);
    t = applyEvent(t, reply(9, 5, 'third'));
    t = applyEvent(t, reply(8, 5, 'second'));
    const again = applyEvent(t, reply(9, 5, 'third'));
    expect(again).toBe(t);
    expect(t.replies.map((r) => r.seq)).toEqual([6, 8, 9]);
    expect(t.parent!.state!.replies).toBe(3);
  });

  it('ignores replies to other threads and events of other rooms', () => {
    const t = loaded(opening, msg('g', 5, 'p'), [], false);
    expect(applyEvent(t, reply(7, 4, 'elsewhere'))).toBe(t);
    expect(applyEvent(t, { ...reply(7, 5, 'other room'), room: 'h' })).toBe(t);
    expect(applyEvent(t, msg('g', 7, 'top-level'))).toBe(t);
  });

  it('edits, deletes and reactions fold into the parent and the replies', () => {
    let t = loaded(opening, msg('g', 5, 'p', bob), [reply(6, 5, 'typo')], false);
    t = applyEvent(t, msg('g', 7, '', alice, { content: { kind: 'edited', target: 6, body: 'fixed' } }));
    t = applyEvent(t, msg('g', 8, '', alice, { content: { kind: 'reaction', target: 5, emoji: '👍', on: true } }));
    expect(t.replies[0]!.content).toMatchObject({ body: 'fixed' });
    expect(t.replies[0]!.state!.edited_at).toBeDefined();
    expect(t.parent!.state!.reactions).toEqual({ '👍': [alice.id] });
    t = applyEvent(t, msg('g', 9, '', alice, { content: { kind: 'deleted', target: 6 } }));
    expect(t.replies[0]!.state!.deleted).toBe(true);
  });

  it('keeps replies that arrived live while the thread was loading', () => {
    const during = applyEvent(opening, reply(12, 5, 'live one'));
    const t = loaded(during, msg('g', 5, 'p', bob, { state: { replies: 1 } }), [reply(6, 5, 'old one')], false);
    expect(t.status).toBe('ready');
    expect(t.replies.map((r) => r.seq)).toEqual([6, 12]);
    expect(t.parent!.state!.replies).toBe(2);
  });

  it('counts new replies on their parent in the room timeline', () => {
    const tl = mergeEvents(emptyTimeline, [msg('g', 5, 'p'), msg('g', 6, 'q')]);
    const next = countReplies(tl, [reply(7, 5, 'a'), reply(8, 5, 'b'), msg('g', 9, 'not a reply')]);
    expect(next.run[0]!.state!.replies).toBe(2);
    expect(next.run[1]).toBe(tl.run[1]);
    expect(countReplies(tl, [msg('g', 9, 'x')])).toBe(tl);
  });
});

let sockets: FakeSocket[];

function makeStore(room: RoomInfo = general, user = bob): { store: ChatStore; s: FakeSocket } {
  const store = new ChatStore({
    session: session(user),
    url: 'ws://test/ws',
    createSocket: (url) => {
      const sock = new FakeSocket(url);
      sockets.push(sock);
      return sock;
    },
    random: () => 0.5,
    isActive: () => true,
  });
  store.start();
  const s = sockets[sockets.length - 1]!;
  s.open();
  s.push({ type: 'welcome', version: 1, user: store.me, resume_from: 0 });
  s.push({ type: 'caught_up', pos: 0 });
  s.push({ type: 'summary', req_id: 'summary', rooms: [{ room, last_seq: 5, read_seq: 5, unread: 0, mentions: 0 }] });
  return { store, s };
}

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  sockets = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('threads in the store', () => {
  it('opens a thread from the server, then a reply I send shows once and counts once, in the thread and under the parent', async () => {
    const { store, s } = makeStore();
    s.push(ev(msg('g', 5, 'the plan', alice, { pos: 50 })));
    const opening = store.openThread('g', 5);
    const req = s.ofType('thread')[0]!;
    expect(req).toMatchObject({ room: 'g', seq: 5 });
    s.push({ type: 'thread', req_id: req.req_id!, room: 'g', parent: msg('g', 5, 'the plan', alice), replies: [], has_more: false });
    await opening;
    expect(store.thread.value).toMatchObject({ status: 'ready', replies: [] });

    const item = store.sendMessage('g', 'which floor?', { thread: 5 });
    const send = s.ofType('send')[0]!;
    expect(send).toMatchObject({ room: 'g', body: 'which floor?', thread: 5 });
    s.push({ type: 'ack', req_id: send.req_id!, client_id: item.client_id, room: 'g', seq: 6, pos: 60, ts: 1, duplicate: false });
    // The live echo of the same reply.
    s.push(ev({ ...reply(6, 5, 'which floor?'), sender: bob, pos: 60, client_id: item.client_id }));
    expect(store.thread.value!.replies.map((r) => r.seq)).toEqual([6]);
    expect(store.thread.value!.parent!.state!.replies).toBe(1);
    const parent = store.rooms.value.get('g')!.timeline.run.find((e) => e.seq === 5)!;
    expect(parent.state!.replies).toBe(1);

    // Someone else replies live.
    s.push(ev(reply(7, 5, 'the fourth', { pos: 70 })));
    expect(store.thread.value!.replies.map((r) => r.seq)).toEqual([6, 7]);
    expect(store.rooms.value.get('g')!.timeline.run.find((e) => e.seq === 5)!.state!.replies).toBe(2);
    store.closeThread();
    expect(store.thread.value).toBeNull();
    store.stop();
  });

  it('shows a load error in the thread instead of hanging', async () => {
    const { store, s } = makeStore();
    const opening = store.openThread('g', 99);
    const req = s.ofType('thread')[0]!;
    s.push({ type: 'error', req_id: req.req_id!, code: 'not_found', message: 'no such message' });
    await opening;
    expect(store.thread.value).toMatchObject({ status: 'error' });
    store.stop();
  });

  it('staff may not start a topic in an announce-only room, but leaders and its moderators may', () => {
    const announce: RoomInfo = { ...general, announce_only: true };
    const staff = makeStore(announce);
    expect(staff.store.mayPostTopLevel('g')).toBe(false);
    staff.store.stop();
    const moderator = makeStore({ ...announce, my_role: 'moderator' });
    expect(moderator.store.mayPostTopLevel('g')).toBe(true);
    moderator.store.stop();
    const leader = makeStore(announce, { ...alice, role: 'leader' });
    expect(leader.store.mayPostTopLevel('g')).toBe(true);
    leader.store.stop();
    const plain = makeStore();
    expect(plain.store.mayPostTopLevel('g')).toBe(true);
    plain.store.stop();
  });
});

describe('following', () => {
  it('asks whom I follow on connect, and follow/unfollow keep it current', async () => {
    const { store, s } = makeStore();
    const ask = s.ofType('following')[0]!;
    expect(ask).toBeDefined();
    const lead = { ...alice, id: 'u-lead', username: 'lead', role: 'leader' as const };
    s.push({ type: 'following', req_id: ask.req_id!, users: [lead] });
    expect(store.following.value.has('u-lead')).toBe(true);
    const off = store.follow(lead, false);
    const req = s.ofType('follow')[0]!;
    expect(req).toMatchObject({ user: 'lead', on: false });
    s.push({ type: 'ok', req_id: req.req_id!, pos: 9 });
    await off;
    expect(store.following.value.has('u-lead')).toBe(false);
    store.stop();
  });
});

describe('blocking (issue 17)', () => {
  it('asks whom I block once, and block/unblock keep it current', async () => {
    const { store, s } = makeStore();
    const loading = store.loadBlocked();
    void store.loadBlocked();
    const asks = s.ofType('blocked');
    expect(asks).toHaveLength(1);
    s.push({ type: 'blocked', req_id: asks[0]!.req_id!, users: [alice] });
    await loading;
    expect(store.blocked.value.has(alice.id)).toBe(true);
    const off = store.block(alice, false);
    const req = s.ofType('block')[0]!;
    expect(req).toMatchObject({ user: 'alice', on: false });
    s.push({ type: 'ok', req_id: req.req_id!, pos: 0 });
    await off;
    expect(store.blocked.value.has(alice.id)).toBe(false);
    store.stop();
  });

  it('leaving a DM drops it from my list; the other person writing again brings it back', async () => {
    const dm: RoomInfo = { id: 'd', name: '', topic: '', visibility: 'private', kind: 'dm', member_count: 2, my_role: 'member', dm_peer: alice };
    const { store, s } = makeStore(dm);
    expect(store.rooms.value.get('d')?.info).toBeDefined();
    const leaving = store.leave('d');
    const req = s.ofType('leave')[0]!;
    s.push({ type: 'ok', req_id: req.req_id!, pos: 0 });
    await leaving;
    expect(store.rooms.value.has('d')).toBe(false);
    const asked = s.ofType('summary').length;
    vi.useFakeTimers();
    try {
      s.push(ev(msg('d', 6, 'still there?', alice, { pos: 99 })));
      vi.runAllTimers();
    } finally {
      vi.useRealTimers();
    }
    // An event of a room I do not list makes the client ask for the summary,
    // where the server lists the DM again.
    expect(s.ofType('summary').length).toBeGreaterThan(asked);
    store.stop();
  });
});
