import { describe, expect, it } from 'vitest';
import { reminderReason, type NotifyContext } from '../src/notify';
import type { BroadcastReminder, PendingAck } from '../src/protocol';
import { Reminders, nextReminderAt } from '../src/reminder';
import { alice, bob } from './fake';

const reminder = (pos: number, broadcast = 'b1', room = 'room-1'): BroadcastReminder => ({
  pos,
  broadcast,
  room,
  seq: 7,
  sender: alice,
  by: alice,
  at: 1_700_000_000_000,
});
const pinnedAck = (broadcast: string): PendingAck => ({ broadcast, room: 'room-1', seq: 7, sender: alice, body: 'Read me', ts: 1 });

function setup(pinned: PendingAck[], acked = new Set<string>(), afterLoad: PendingAck[] = pinned) {
  let list = pinned;
  let loads = 0;
  const live: string[] = [];
  const r = new Reminders({
    request: () => Promise.reject(new Error('not used')),
    pinned: () => list,
    acknowledged: (b) => acked.has(b),
    loadPending: async () => {
      loads++;
      list = afterLoad;
      return list;
    },
  });
  r.onLive = (x) => live.push(x.broadcast);
  return { r, live, loads: () => loads };
}

describe('broadcast reminders on the reader side', () => {
  it('a live reminder for a pinned broadcast notifies once; a replay of the same position does not', () => {
    const { r, live } = setup([pinnedAck('b1')]);
    r.handle(reminder(10), true);
    r.handle(reminder(10), true);
    expect(live).toEqual(['b1']);
    expect(r.received.value.get('b1')?.pos).toBe(10);
  });

  it('a reminder in a catch-up marks the pin without notifying', () => {
    const { r, live } = setup([pinnedAck('b1')]);
    r.handle(reminder(10), false);
    expect(live).toEqual([]);
    expect(r.received.value.has('b1')).toBe(true);
  });

  it('is ignored for a broadcast acknowledged in this session', () => {
    const { r, live } = setup([], new Set(['b1']));
    r.handle(reminder(10), true);
    expect(live).toEqual([]);
    expect(r.received.value.has('b1')).toBe(false);
  });

  it('asks the server when the broadcast is not pinned here, and notifies only if it still waits', async () => {
    const waiting = setup([], new Set(), [pinnedAck('b1')]);
    waiting.r.handle(reminder(10), true);
    await Promise.resolve();
    await Promise.resolve();
    expect(waiting.loads()).toBe(1);
    expect(waiting.live).toEqual(['b1']);
    const done = setup([], new Set(), []);
    done.r.handle(reminder(10), true);
    await Promise.resolve();
    await Promise.resolve();
    expect(done.live).toEqual([]);
  });
});

describe('the sender side and notification rule', () => {
  it('the next reminder is an hour after the newest', () => {
    expect(nextReminderAt(undefined)).toBe(0);
    expect(nextReminderAt([{ at: 5_000, reminded: 2, by: alice }, { at: 1_000, reminded: 3, by: alice }])).toBe(5_000 + 3_600_000);
  });

  it('a reminder notifies except for the room in view in a focused tab, whatever the level', () => {
    const ctx = (viewRoom: string | null, active: boolean): NotifyContext => ({
      meId: bob.id,
      myName: bob.username,
      isDm: () => false,
      level: () => 'none',
      viewRoom,
      active,
    });
    expect(reminderReason(reminder(1), ctx('room-2', true))).toBe('reminder');
    expect(reminderReason(reminder(1), ctx('room-1', false))).toBe('reminder');
    expect(reminderReason(reminder(1), ctx('room-1', true))).toBeNull();
  });
});
