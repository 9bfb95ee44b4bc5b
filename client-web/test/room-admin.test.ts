import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RoomInfo, RoomSummary } from '../src/protocol';
import { markAllRead, mayManage } from '../src/roomAdmin';
import { ChatStore } from '../src/store';
import { alice, bob, ev, FakeSocket, msg, session } from './fake';

const room = (id: string, my_role: RoomInfo['my_role'] = 'member'): RoomInfo => ({
  id,
  name: id,
  topic: '',
  visibility: 'public',
  kind: 'room',
  member_count: 2,
  my_role,
});

let sockets: FakeSocket[];

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
  const s = sockets.at(-1)!;
  s.open();
  s.push({ type: 'welcome', version: 1, user: store.me, resume_from: 0 });
  s.push({ type: 'caught_up', pos: 0 });
  return { store, s };
}

function summary(info: RoomInfo, s: Partial<RoomSummary>): RoomSummary {
  return { room: info, last_seq: 0, read_seq: 0, unread: 0, mentions: 0, ...s };
}

beforeEach(() => {
  vi.useFakeTimers();
  localStorage.clear();
  sockets = [];
});
afterEach(() => vi.useRealTimers());

describe('room management in the client', () => {
  it('a room_updated event renames, retopics and archives the room everywhere it is shown', () => {
    const { store, s } = connected();
    s.push({ type: 'summary', req_id: 'summary', rooms: [summary(room('r1'), { last_seq: 3, read_seq: 3 })] });
    s.push(ev({ ...msg('r1', 4, '', alice), content: { kind: 'room_updated', name: 'Launch 2027', archived: true } }));
    const info = store.rooms.value.get('r1')!.info!;
    expect(info).toMatchObject({ name: 'Launch 2027', topic: '', archived: true });
    // A settings change never counts as unread.
    expect(store.rooms.value.get('r1')!.unread).toBe(0);
    s.push(ev({ ...msg('r1', 5, '', alice), content: { kind: 'room_updated', topic: 'Dates', archived: false } }));
    expect(store.rooms.value.get('r1')!.info).toMatchObject({ name: 'Launch 2027', topic: 'Dates', archived: false });
    store.stop();
  });

  it('only the owner or an admin gets the settings, never in a DM', () => {
    const { store } = connected();
    expect(mayManage(store, room('a', 'owner'))).toBe(true);
    expect(mayManage(store, room('b', 'moderator'))).toBe(false);
    expect(mayManage(store, { ...room('c', 'owner'), kind: 'dm' })).toBe(false);
    store.stop();
  });

  it('mark all as read sends one mark_read per unread room, at its last seq, and clears the counts', () => {
    const { store, s } = connected();
    s.push({
      type: 'summary',
      req_id: 'summary',
      rooms: [
        summary(room('r1'), { last_seq: 9, read_seq: 4, unread: 3, mentions: 1 }),
        summary(room('r2'), { last_seq: 5, read_seq: 5 }),
        summary(room('r3'), { last_seq: 2, read_seq: 0, unread: 1 }),
      ],
    });
    expect(store.totalUnread.value).toBe(4);
    expect(markAllRead(store)).toBe(2);
    expect(store.totalUnread.value).toBe(0);
    expect(store.rooms.value.get('r1')!.mentions).toBe(0);
    const marks = s.ofType('mark_read').map((f) => [f.room, f.seq]);
    expect(marks).toEqual([
      ['r1', 9],
      ['r3', 2],
    ]);
    store.stop();
  });
});
