import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RoomInfo, RoomSummary } from '../src/protocol';
import { ChatStore } from '../src/store';
import { alice, bob, ev, FakeSocket, msg, session } from './fake';

const general: RoomInfo = {
  id: 'room-general',
  name: 'general',
  topic: '',
  visibility: 'public',
  kind: 'room',
  member_count: 2,
  my_role: 'member',
};
const dm: RoomInfo = {
  id: 'room-dm',
  name: 'dm',
  topic: '',
  visibility: 'private',
  kind: 'dm',
  member_count: 2,
  my_role: 'member',
  dm_peer: alice,
};

function summary(info: RoomInfo, s: Partial<RoomSummary>): RoomSummary {
  return { room: info, last_seq: 0, read_seq: 0, unread: 0, mentions: 0, ...s };
}

let sockets: FakeSocket[];
let active: boolean;

function makeStore(user = bob): ChatStore {
  const store = new ChatStore({
    session: session(user),
    url: 'ws://test/ws',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    isActive: () => active,
  });
  store.start();
  return store;
}

/** Open the latest socket and complete the hello/welcome exchange. */
function connect(store: ChatStore): FakeSocket {
  const s = sockets[sockets.length - 1]!;
  s.open();
  s.push({ type: 'welcome', version: 1, user: store.me, resume_from: 0 });
  s.push({ type: 'caught_up', pos: 0 });
  return s;
}

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  sockets = [];
  active = true;
});

afterEach(() => {
  vi.useRealTimers();
});

describe('connection and resume', () => {
  it('says hello with the token, a stable device id and no resume on the first login', () => {
    const store = makeStore();
    const s = connect(store);
    const hello = s.sent[0]!;
    expect(hello).toMatchObject({ type: 'hello', version: 1, token: 'tok-bob' });
    expect(hello.type === 'hello' && hello.device).toMatch(/^[0-9a-f-]{36}$/);
    expect(hello.type === 'hello' && hello.resume).toBeUndefined();
    expect(store.connState.value).toBe('connected');
    store.stop();
  });

  it('reconnects with backoff and resumes from the last processed pos', () => {
    const store = makeStore();
    const s1 = connect(store);
    s1.push(ev(msg(general.id, 5, 'hi', alice, { pos: 41 })));
    s1.push(ev(msg(general.id, 6, 'there', alice, { pos: 42 })));
    s1.drop();
    expect(store.connState.value).toBe('reconnecting');
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(sockets[1]!.sent[0]).toMatchObject({ type: 'hello', resume: 42 });
    // A failed attempt doubles the wait (0.5 s, then 1 s, 2 s ... with jitter).
    sockets[1]!.drop();
    vi.advanceTimersByTime(700);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1_000);
    expect(sockets).toHaveLength(3);
    store.stop();
  });

  it('persists the processed pos per user, so a reload resumes without a gap', () => {
    const store = makeStore();
    const s = connect(store);
    s.push(ev(msg(general.id, 1, 'x', alice, { pos: 7 })));
    s.push({ type: 'caught_up', pos: 9 });
    expect(s.ofType('ack_pos').at(-1)).toEqual({ type: 'ack_pos', pos: 9 });
    store.stop();
    const again = makeStore();
    sockets.at(-1)!.open();
    expect(sockets.at(-1)!.sent[0]).toMatchObject({ type: 'hello', resume: 9 });
    again.stop();
  });

  it('stops and reports when the server logs the session out (4003)', () => {
    const lost: string[] = [];
    const store = new ChatStore({
      session: session(),
      url: 'ws://t',
      createSocket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s;
      },
      onAuthLost: (w) => lost.push(w),
    });
    store.start();
    connect(store).drop(4003);
    vi.advanceTimersByTime(30_000);
    expect(lost).toEqual(['logged_out']);
    expect(sockets).toHaveLength(1);
  });

  it('reconnects at once when an admin changes my account (4009), and takes the new role and team flag', () => {
    const lost: string[] = [];
    const store = new ChatStore({
      session: session(),
      url: 'ws://t',
      createSocket: (u) => {
        const s = new FakeSocket(u);
        sockets.push(s);
        return s;
      },
      random: () => 0.5,
      onAuthLost: (w) => lost.push(w),
    });
    store.start();
    connect(store);
    expect(store.mayAnswer(general.id)).toBe(false);
    sockets[0]!.drop(4009);
    vi.advanceTimersByTime(1_000);
    expect(lost).toEqual([]);
    expect(sockets).toHaveLength(2);
    const s = sockets[1]!;
    s.open();
    expect(s.sent[0]).toMatchObject({ type: 'hello' });
    s.push({ type: 'welcome', version: 1, user: { ...store.me, role: 'staff' }, resume_from: 0, transformation_team: true });
    expect(store.transformationTeam).toBe(true);
    expect(store.mayAnswer(general.id)).toBe(true);
    store.stop();
  });
});

describe('merging backlog and live frames', () => {
  it('applies a backlog in one batch at caught_up, then live events at once', () => {
    const store = makeStore();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: store.me, resume_from: 0 });
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 1, read_seq: 1 })] });
    let updates = 0;
    const off = store.rooms.subscribe(() => updates++);
    updates = 0;
    for (let i = 2; i <= 101; i++) s.push(ev(msg(general.id, i, `m${i}`, alice, { pos: 1000 + i })));
    expect(updates).toBe(0);
    s.push({ type: 'caught_up', pos: 1101 });
    expect(updates).toBe(1);
    expect(store.rooms.value.get(general.id)!.unread).toBe(100);
    expect(store.lastProcessedPos).toBe(1101);
    s.push(ev(msg(general.id, 102, 'live', alice, { pos: 1102 })));
    expect(updates).toBe(2);
    off();
    store.stop();
  });


  it('shows each event once across backlog, history, resume overlap and live frames', async () => {
    const store = makeStore();
    const s = connect(store);
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 3, read_seq: 3 })] });
    const e4 = msg(general.id, 4, 'four', alice, { pos: 50 });
    const e5 = msg(general.id, 5, 'five', alice, { pos: 51 });
    s.push(ev(e4));
    s.push(ev(e5));
    // The link drops and the server resends an overlap: must not duplicate.
    s.drop();
    vi.advanceTimersByTime(1_000);
    const s2 = connect(store);
    expect(s2.sent[0]).toMatchObject({ resume: 51 });
    s2.push(ev(e5));
    s2.push(ev(msg(general.id, 6, 'six', alice, { pos: 52 })));
    // Opening the room fetches a page that overlaps what the stream gave.
    const opening = store.openRoom(general.id);
    const h = s2.ofType('history').at(-1)!;
    s2.push({
      type: 'history',
      req_id: h.req_id!,
      room: general.id,
      events: [msg(general.id, 1, 'one'), msg(general.id, 2, 'two'), msg(general.id, 3, 'three'), e4, e5],
      has_more: false,
    });
    await opening;
    const run = store.rooms.value.get(general.id)!.timeline.run;
    expect(run.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(store.rooms.value.get(general.id)!.unread).toBe(3);
    store.stop();
  });

  it('does not count the same event twice when the summary comes after the backlog', () => {
    const store = makeStore();
    const s = connect(store);
    s.push(ev(msg(general.id, 4, 'a', alice, { pos: 60 })));
    s.push(ev(msg(general.id, 5, 'b', alice, { pos: 61 })));
    // Summary taken after both: authoritative, replaces the local count.
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 5, read_seq: 3, unread: 2 })] });
    expect(store.rooms.value.get(general.id)!.unread).toBe(2);
    // A live event after the summary adds one.
    s.push(ev(msg(general.id, 6, 'c', alice, { pos: 62 })));
    expect(store.rooms.value.get(general.id)!.unread).toBe(3);
    // The same event again (duplicate pos) adds nothing.
    s.push(ev(msg(general.id, 6, 'c', alice, { pos: 62 })));
    expect(store.rooms.value.get(general.id)!.unread).toBe(3);
    store.stop();
  });

  it('a summary taken before the server applied my mark_read does not bring the badge back', () => {
    active = true;
    const store = makeStore();
    const s = connect(store);
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 5, read_seq: 2, unread: 3 })] });
    expect(store.rooms.value.get(general.id)!.unread).toBe(3);
    // Read to the end: the badge clears at once (optimistic).
    expect(store.markRead(general.id, 5)).toBe(true);
    expect(store.rooms.value.get(general.id)!.unread).toBe(0);
    // A summary from before the server applied that mark_read (read_seq 2,
    // unread 3) must not put the stale count back: nothing would clear it.
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 5, read_seq: 2, unread: 3 })] });
    expect(store.rooms.value.get(general.id)!.unread).toBe(0);
    expect(store.rooms.value.get(general.id)!.readSeq).toBe(5);
    store.stop();
  });
});

describe('unread counts and mentions', () => {
  it('counts others’ messages after the read marker and mentions of me; sorts changed rooms on top', () => {
    const store = makeStore();
    const s = connect(store);
    const quiet: RoomInfo = { ...general, id: 'room-quiet', name: 'quiet' };
    s.push({
      type: 'summary',
      req_id: 'summary',
      rooms: [
        summary(quiet, { last_seq: 9, read_seq: 9, latest: msg('room-quiet', 9, 'old') }),
        summary(general, { last_seq: 2, read_seq: 2 }),
        summary(dm, { last_seq: 1, read_seq: 1 }),
      ],
    });
    s.push(ev(msg(general.id, 3, 'hello all')));
    s.push(ev(msg(general.id, 4, '@bob can you check?')));
    s.push(ev(msg(general.id, 5, 'my own', bob)));
    s.push(ev(msg(dm.id, 2, 'ping')));
    const g = store.rooms.value.get(general.id)!;
    expect([g.unread, g.mentions]).toEqual([2, 1]);
    expect(store.roomList.value.map((r) => r.id)).toEqual([general.id, dm.id, 'room-quiet']);
    expect(store.totalUnread.value).toBe(3);
    store.stop();
  });

  it('counts only messages and broadcasts as unread, as the server does (protocol.md, summary)', () => {
    const store = makeStore();
    const s = connect(store);
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 2, read_seq: 2 })] });
    const carol = { ...alice, id: 'u-carol', username: 'carol' };
    s.push(ev(msg(general.id, 3, 'x', alice, { content: { kind: 'member', user: carol, action: 'joined' } })));
    s.push(ev(msg(general.id, 4, 'hello')));
    s.push(ev(msg(general.id, 5, 'x', alice, { content: { kind: 'reaction', target: 4, emoji: '🎉', on: true } })));
    s.push(ev(msg(general.id, 6, 'x', alice, { content: { kind: 'edited', target: 4, body: 'hello!' } })));
    s.push(ev(msg(general.id, 7, 'x', alice, { content: { kind: 'broadcast', body: 'all hands', broadcast: 'b-1' } })));
    s.push(ev(msg(general.id, 8, 'x', alice, { content: { kind: 'member', user: carol, action: 'left' } })));
    expect(store.rooms.value.get(general.id)).toMatchObject({ unread: 2, lastSeq: 8 });
    // Recounted from loaded events after a read marker: the same rule.
    s.push({ type: 'read_marker', room: general.id, seq: 3 });
    expect(store.rooms.value.get(general.id)).toMatchObject({ unread: 2 });
    s.push({ type: 'read_marker', room: general.id, seq: 4 });
    expect(store.rooms.value.get(general.id)).toMatchObject({ unread: 1 });
    store.stop();
  });

  it('a read_marker from another device clears or recounts the room', () => {
    const store = makeStore();
    const s = connect(store);
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 2, read_seq: 2 })] });
    s.push(ev(msg(general.id, 3, '@bob one')));
    s.push(ev(msg(general.id, 4, 'two')));
    s.push({ type: 'read_marker', room: general.id, seq: 3 });
    expect(store.rooms.value.get(general.id)).toMatchObject({ unread: 1, mentions: 0, readSeq: 3 });
    s.push({ type: 'read_marker', room: general.id, seq: 4 });
    expect(store.rooms.value.get(general.id)).toMatchObject({ unread: 0, mentions: 0 });
    store.stop();
  });

  it('moves the read marker only while the window is visible and focused', () => {
    const store = makeStore();
    const s = connect(store);
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 5, read_seq: 2, unread: 3 })] });
    active = false;
    expect(store.markRead(general.id, 5)).toBe(false);
    expect(s.ofType('mark_read')).toHaveLength(0);
    expect(store.rooms.value.get(general.id)!.unread).toBe(3);
    active = true;
    expect(store.markRead(general.id, 5)).toBe(true);
    expect(s.ofType('mark_read')).toEqual([expect.objectContaining({ room: general.id, seq: 5 })]);
    expect(store.rooms.value.get(general.id)!.unread).toBe(0);
    // Never backwards.
    expect(store.markRead(general.id, 4)).toBe(false);
    store.stop();
  });
});

describe('outbox', () => {
  it('shows sending at once, then sent on ack, and dedupes the echo by client_id', () => {
    const store = makeStore();
    const s = connect(store);
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 1, read_seq: 1 })] });
    const item = store.sendMessage(general.id, 'hello');
    expect(store.outbox.value).toEqual([expect.objectContaining({ client_id: item.client_id, status: 'sending' })]);
    const send = s.ofType('send')[0]!;
    expect(send).toMatchObject({ room: general.id, client_id: item.client_id, body: 'hello' });
    expect(item.client_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    s.push({ type: 'ack', req_id: send.req_id!, client_id: item.client_id, room: general.id, seq: 2, pos: 70, ts: 1, duplicate: false });
    expect(store.outbox.value).toHaveLength(0);
    expect(store.sentIds.value.has(item.client_id)).toBe(true);
    // The live echo of the same message: still one on screen.
    s.push(ev(msg(general.id, 2, 'hello', bob, { pos: 70, client_id: item.client_id })));
    const run = store.rooms.value.get(general.id)!.timeline.run;
    expect(run.filter((e) => e.client_id === item.client_id)).toHaveLength(1);
    expect(store.rooms.value.get(general.id)!.unread).toBe(0);
    store.stop();
  });

  it('marks a refused message failed, and retry sends the same client_id again', () => {
    const store = makeStore();
    const s = connect(store);
    const item = store.sendMessage(general.id, 'x');
    const send = s.ofType('send')[0]!;
    s.push({ type: 'error', req_id: send.req_id!, code: 'body_too_large', message: 'too big' });
    expect(store.outbox.value[0]).toMatchObject({ status: 'failed', error: 'Message is too long.' });
    store.retry(item.client_id);
    expect(store.outbox.value[0]).toMatchObject({ status: 'sending' });
    expect(s.ofType('send').map((f) => f.client_id)).toEqual([item.client_id, item.client_id]);
    store.stop();
  });

  it('keeps what was typed while offline, survives a reload, and sends it exactly once on reconnect', () => {
    const store = makeStore();
    const s1 = connect(store);
    s1.drop();
    const item = store.sendMessage(general.id, 'written offline');
    expect(store.outbox.value[0]!.status).toBe('sending');
    // Reload: a new store for the same user reads the outbox back.
    store.stop();
    const reloaded = makeStore();
    expect(reloaded.outbox.value.map((i) => i.client_id)).toEqual([item.client_id]);
    const s2 = connect(reloaded);
    expect(s2.ofType('send').map((f) => f.client_id)).toEqual([item.client_id]);
    // The link drops again before the ack: the next connection resends it
    // once more with the same client_id (the server dedupes), not twice.
    s2.drop();
    vi.advanceTimersByTime(1_000);
    const s3 = connect(reloaded);
    expect(s3.ofType('send').map((f) => f.client_id)).toEqual([item.client_id]);
    s3.push({ type: 'ack', req_id: s3.ofType('send')[0]!.req_id!, client_id: item.client_id, room: general.id, seq: 9, pos: 90, ts: 1, duplicate: true });
    expect(reloaded.outbox.value).toHaveLength(0);
    expect(localStorage.getItem(`townhall.outbox.${bob.id}`)).toBeNull();
    // Further reconnects send nothing.
    s3.drop();
    vi.advanceTimersByTime(1_000);
    const s4 = connect(reloaded);
    expect(s4.ofType('send')).toHaveLength(0);
    reloaded.stop();
  });

  it('retries a rate-limited send by itself after a pause, with the same client_id', () => {
    const store = makeStore();
    const s = connect(store);
    const item = store.sendMessage(general.id, 'busy');
    s.push({ type: 'error', req_id: s.ofType('send')[0]!.req_id!, code: 'rate_limited', message: 'slow down' });
    expect(store.outbox.value[0]!.status).toBe('sending');
    vi.advanceTimersByTime(1_100);
    expect(s.ofType('send').map((f) => f.client_id)).toEqual([item.client_id, item.client_id]);
    store.stop();
  });

  it('does not resend a failed message by itself', () => {
    const store = makeStore();
    const s = connect(store);
    store.sendMessage(general.id, 'nope');
    s.push({ type: 'error', req_id: s.ofType('send')[0]!.req_id!, code: 'not_found', message: 'no' });
    s.drop();
    vi.advanceTimersByTime(1_000);
    const s2 = connect(store);
    expect(s2.ofType('send')).toHaveLength(0);
    expect(store.outbox.value[0]!.status).toBe('failed');
    store.stop();
  });
});

describe('private room access', () => {
  it('shows not found for a room that is neither mine nor in the directory', async () => {
    const store = makeStore();
    const s = connect(store);
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(general, { last_seq: 1, read_seq: 1 })] });
    const opening = store.openRoom('room-secret');
    await vi.advanceTimersByTimeAsync(0);
    const dir = s.ofType('directory').at(-1)!;
    s.push({ type: 'rooms', req_id: dir.req_id!, rooms: [general] });
    await opening;
    expect(store.view.value).toMatchObject({ room: 'room-secret', status: 'not_found' });
    expect(store.rooms.value.get('room-secret')?.timeline.run ?? []).toHaveLength(0);
    store.stop();
  });
});
