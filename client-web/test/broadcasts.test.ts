import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChatEvent } from '../src/protocol';
import { ChatStore } from '../src/store';
import { alice, bob, ev, FakeSocket, session } from './fake';

let sockets: FakeSocket[];
let active: boolean;

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
    isActive: () => active,
  });
  store.start();
  return store;
}

function broadcast(seq: number, id: string, pos: number, ack = true): ChatEvent {
  return {
    pos,
    room: 'room-org',
    seq,
    ts: 1_700_000_000_000 + seq,
    sender: { ...alice, role: 'leader' },
    content: { kind: 'broadcast', body: `announcement ${id}`, broadcast: id, ack_requested: ack },
  };
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

describe('broadcasts', () => {
  it('asks for pending acknowledgements after the backlog, pins live ones, and unpins on acknowledge', async () => {
    const store = makeStore();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
    s.push({ type: 'caught_up', pos: 0 });
    const req = s.ofType('pending_acks').at(-1)!;
    expect(req.req_id).toBeTruthy();
    s.push({
      type: 'pending_acks',
      req_id: req.req_id!,
      broadcasts: [{ broadcast: 'b1', room: 'room-org', seq: 2, sender: alice, body: 'old', ts: 1 }],
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(store.pendingAcks.value.map((p) => p.broadcast)).toEqual(['b1']);

    // A live broadcast asking for confirmation is delivered and pinned once.
    s.push(ev(broadcast(3, 'b2', 10)));
    expect(s.ofType('broadcast_receipt')).toContainEqual({ type: 'broadcast_receipt', broadcast: 'b2', kind: 'delivered' });
    expect(store.pendingAcks.value.map((p) => p.broadcast)).toEqual(['b1', 'b2']);
    // One without the request is not pinned.
    s.push(ev(broadcast(4, 'b3', 11, false)));
    expect(store.pendingAcks.value).toHaveLength(2);

    store.acknowledge('b2');
    expect(s.ofType('broadcast_receipt')).toContainEqual({ type: 'broadcast_receipt', broadcast: 'b2', kind: 'acknowledged' });
    expect(store.pendingAcks.value.map((p) => p.broadcast)).toEqual(['b1']);
    store.stop();
  });

  it('sends opened once per broadcast, only while the window is active', () => {
    const store = makeStore();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
    s.push({ type: 'caught_up', pos: 0 });
    s.push(ev(broadcast(2, 'b1', 5)));
    active = false;
    store.markBroadcastsOpened('room-org');
    expect(s.ofType('broadcast_receipt').filter((r) => r.kind === 'opened')).toHaveLength(0);
    active = true;
    store.markBroadcastsOpened('room-org');
    store.markBroadcastsOpened('room-org');
    expect(s.ofType('broadcast_receipt').filter((r) => r.kind === 'opened')).toEqual([
      { type: 'broadcast_receipt', broadcast: 'b1', kind: 'opened' },
    ]);
    store.stop();
  });

  it('keeps the latest reach counts from reach_update', () => {
    const store = makeStore();
    const s = sockets[0]!;
    s.open();
    s.push({ type: 'welcome', version: 1, user: bob, resume_from: 0 });
    s.push({ type: 'reach_update', broadcast: 'b1', counts: { audience: 3, delivered: 2, opened: 1, acknowledged: 1 } });
    expect(store.reachCounts.value.get('b1')).toEqual({ audience: 3, delivered: 2, opened: 1, acknowledged: 1 });
    store.stop();
  });
});
