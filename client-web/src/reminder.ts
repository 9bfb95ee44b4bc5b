// Broadcast reminders (issue 13) on the client. For the reader: a
// `broadcast_reminder` (live, or replayed in a catch-up) pins the broadcast
// again with "Reminded by …" and, when it arrives live, raises a desktop
// notification (notify.ts). For the sender: `broadcast_remind` and when the
// next reminder is allowed (the server's hourly limit).

import { signal } from '@preact/signals';
import { REMINDER_INTERVAL_MS } from './protocol';
import type { BroadcastReminder, ClientFrame, PendingAck, Reminder, ServerFrame } from './protocol';

type Request = <T extends ServerFrame>(frame: ClientFrame) => Promise<T>;

export interface ReminderDeps {
  request: Request;
  /** Broadcasts pinned for my acknowledgement now. */
  pinned: () => readonly PendingAck[];
  /** I acknowledged it in this session (a replayed reminder changes nothing). */
  acknowledged: (broadcast: string) => boolean;
  /** Ask the server what still waits for me (it is the truth after a reminder). */
  loadPending: () => Promise<readonly PendingAck[]>;
}

/** When the sender may remind again (0: now), from `reach`'s reminders (newest first). */
export function nextReminderAt(reminders: readonly Reminder[] | undefined): number {
  const last = reminders?.[0];
  return last ? last.at + REMINDER_INTERVAL_MS : 0;
}

export class Reminders {
  /** The latest reminder received per broadcast (the pinned card says "Reminded by …"). */
  readonly received = signal<ReadonlyMap<string, BroadcastReminder>>(new Map());
  /** A live reminder for a broadcast still pinned: the notification hook. */
  onLive: ((r: BroadcastReminder, pinned: PendingAck) => void) | null = null;

  constructor(private readonly deps: ReminderDeps) {}

  /** A `broadcast_reminder`; `live` when it came after `caught_up`. */
  handle(r: BroadcastReminder, live: boolean): void {
    if (this.deps.acknowledged(r.broadcast)) return;
    const known = this.received.value.get(r.broadcast);
    // A resume from an older position sends a reminder again: once is enough.
    if (known && known.pos >= r.pos) return;
    const next = new Map(this.received.value);
    next.set(r.broadcast, r);
    this.received.value = next;
    const find = () => this.deps.pinned().find((p) => p.broadcast === r.broadcast);
    const pinned = find();
    if (pinned) {
      if (live) this.onLive?.(r, pinned);
      return;
    }
    // Not pinned here yet: the server says whether it still waits for me
    // (acknowledged from another device: then nothing is shown).
    this.deps.loadPending().then(
      () => {
        const p = find();
        if (p && live) this.onLive?.(r, p);
      },
      () => undefined,
    );
  }

  /** Remind the audience who have not acknowledged (the sender or an admin). */
  remind(broadcast: string): Promise<Extract<ServerFrame, { type: 'broadcast_reminded' }>> {
    return this.deps.request<Extract<ServerFrame, { type: 'broadcast_reminded' }>>({ type: 'broadcast_remind', broadcast });
  }
}
