// Anonymous questions (issue 15) on the client: the questions I asked
// anonymously (with their status: pending, approved, answered, rejected with
// a reason, merged), where rooms allow them, and, for the transformation
// team, the moderation queue. The server never sends who asked; the asker's
// own frames carry `mine: true`.

import { signal } from '@preact/signals';
import type { AnonQuestion, ClientFrame, ModerationAction, RoomId, ServerFrame } from './protocol';

type Request = <T extends ServerFrame>(frame: ClientFrame) => Promise<T>;

/** Newest first by time asked, one entry per id. */
export function upsert(list: AnonQuestion[], q: AnonQuestion): AnonQuestion[] {
  const rest = list.filter((x) => x.id !== q.id);
  return [q, ...rest].sort((a, b) => b.asked_at - a.asked_at);
}

/** The moderation queue: pending only, oldest first. */
export function updateQueue(list: AnonQuestion[], q: AnonQuestion): AnonQuestion[] {
  const rest = list.filter((x) => x.id !== q.id);
  if (q.status.state !== 'pending') return rest;
  return [...rest, q].sort((a, b) => a.asked_at - b.asked_at);
}

/** A short, human status line for the asker. */
export function statusText(q: AnonQuestion): string {
  const s = q.status;
  switch (s.state) {
    case 'pending':
      return 'Waiting for moderation';
    case 'approved':
      return 'Published in the room';
    case 'answered':
      return 'Answered';
    case 'rejected':
      return `Not published: ${s.reason}`;
    case 'merged':
      return 'Merged into an existing question';
    case 'withdrawn':
      return 'Withdrawn';
  }
}

export class AnonQuestions {
  /** My anonymous questions, newest first. */
  readonly mine = signal<AnonQuestion[]>([]);
  /** The transformation team's queue (pending, oldest first). */
  readonly queue = signal<AnonQuestion[]>([]);
  /** Allowed everywhere, or in these rooms. */
  readonly org = signal(false);
  readonly rooms = signal<Set<RoomId>>(new Set());
  /** Counts setting changes, so a failed one reverts only if it was the last. */
  private settingTurn = 0;

  constructor(private readonly request: Request) {}

  allowedIn(room: RoomId): boolean {
    return this.org.value || this.rooms.value.has(room);
  }

  /** After every (re)connect: statuses may have changed while away. */
  onReady(team: boolean): void {
    void this.refresh(team).catch(() => {});
  }

  async refresh(team: boolean): Promise<void> {
    const s = await this.request<Extract<ServerFrame, { type: 'anonymous_settings' }>>({
      type: 'anonymous_settings',
    });
    this.org.value = s.org;
    this.rooms.value = new Set(s.rooms);
    const m = await this.request<Extract<ServerFrame, { type: 'anonymous_questions' }>>({
      type: 'my_anonymous_questions',
    });
    this.mine.value = m.questions;
    if (team) await this.loadQueue();
  }

  async loadQueue(): Promise<void> {
    const q = await this.request<Extract<ServerFrame, { type: 'moderation_queue' }>>({ type: 'moderation_queue' });
    this.queue.value = q.questions;
  }

  /** Returns true if the frame was one of ours. */
  handleFrame(f: ServerFrame): boolean {
    if (f.type === 'anonymous_question') {
      this.mine.value = upsert(this.mine.value, f.question);
      return true;
    }
    if (f.type === 'moderation_item') {
      this.queue.value = updateQueue(this.queue.value, f.question);
      return true;
    }
    return false;
  }

  async ask(room: RoomId, body: string): Promise<AnonQuestion | undefined> {
    const r = await this.request<Extract<ServerFrame, { type: 'anonymous_questions' }>>({
      type: 'ask_anonymously',
      room,
      body,
    });
    const q = r.questions[0];
    if (q) this.mine.value = upsert(this.mine.value, q);
    return q;
  }

  async edit(id: string, body: string): Promise<void> {
    await this.request({ type: 'edit_anonymous', id, body });
  }

  async withdraw(id: string): Promise<void> {
    await this.request({ type: 'withdraw_anonymous', id });
  }

  async moderate(id: string, action: ModerationAction): Promise<void> {
    await this.request({ type: 'moderate', id, action });
  }

  async setAllowed(room: RoomId | undefined, on: boolean): Promise<void> {
    // Shown at once and put back if the server refuses: the checkbox is
    // controlled by this state, so waiting for the reply would snap it back
    // to its old value for the length of a round trip.
    const apply = (value: boolean) => {
      if (!room) {
        this.org.value = value;
        return;
      }
      const next = new Set(this.rooms.value);
      if (value) next.add(room);
      else next.delete(room);
      this.rooms.value = next;
    };
    const before = room ? this.rooms.value.has(room) : this.org.value;
    const turn = ++this.settingTurn;
    apply(on);
    try {
      await this.request(room ? { type: 'set_anonymous_questions', room, on } : { type: 'set_anonymous_questions', on });
    } catch (err) {
      // Put back only if no later change was made meanwhile.
      if (turn === this.settingTurn) apply(before);
      throw err;
    }
  }
}
