// One open thread: its first message and its replies, loaded with a `thread`
// request and then kept current from the event stream (new replies, edits,
// deletes, reactions and answers). Pure data like timeline.ts: every
// operation returns a new value, the same one when nothing changed.

import type { ChatEvent, RoomId, RoomSeq } from './protocol';
import { foldChange, type Timeline } from './timeline';

export interface ThreadState {
  room: RoomId;
  /** Seq of the thread's first message. */
  seq: RoomSeq;
  status: 'loading' | 'ready' | 'error';
  parent?: ChatEvent;
  /** Ascending by seq, each once. */
  replies: readonly ChatEvent[];
  /** More replies exist on the server after the last one loaded. */
  hasMore: boolean;
  error?: string;
}

/** The thread a reply belongs to, if the event is a thread reply. */
export function threadOf(e: ChatEvent): RoomSeq | undefined {
  return e.content.kind === 'message' ? e.content.thread : undefined;
}

/** A message or broadcast that is not itself a reply: a thread may start under it. */
export function mayStartThread(e: ChatEvent): boolean {
  return (e.content.kind === 'message' && e.content.thread === undefined) || e.content.kind === 'broadcast';
}

/** Merge replies (any order, duplicates allowed) into an ascending list. */
export function mergeReplies(list: readonly ChatEvent[], more: readonly ChatEvent[]): readonly ChatEvent[] {
  const bySeq = new Map<RoomSeq, ChatEvent>();
  for (const e of list) bySeq.set(e.seq, e);
  let added = false;
  for (const e of more) {
    if (!bySeq.has(e.seq)) {
      bySeq.set(e.seq, e);
      added = true;
    }
  }
  if (!added) return list;
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The `thread` reply arrived: it is the truth, plus any live replies it may not include yet. */
export function loaded(t: ThreadState, parent: ChatEvent, replies: readonly ChatEvent[], hasMore: boolean): ThreadState {
  const merged = mergeReplies(replies, t.replies);
  // Live replies that came while loading may be newer than the server's count.
  const count = Math.max(parent.state?.replies ?? 0, hasMore ? 0 : merged.length);
  return { room: t.room, seq: t.seq, status: 'ready', parent: withReplies(parent, count), replies: merged, hasMore };
}

/**
 * One event from the stream: a new reply in this thread joins it (and
 * counts on the parent); a change to the parent or a reply folds in.
 */
export function applyEvent(t: ThreadState, e: ChatEvent): ThreadState {
  if (e.room !== t.room) return t;
  if (threadOf(e) === t.seq) {
    const replies = mergeReplies(t.replies, [e]);
    if (replies === t.replies) return t;
    const next: ThreadState = { ...t, replies };
    if (t.parent && t.status === 'ready') next.parent = withReplies(t.parent, (t.parent.state?.replies ?? 0) + 1);
    return next;
  }
  const c = e.content;
  const target =
    c.kind === 'edited' || c.kind === 'deleted' || c.kind === 'reaction' ? c.target : c.kind === 'answered' ? c.question : undefined;
  if (target === undefined) return t;
  if (t.parent && t.parent.seq === target) {
    const parent = foldChange(t.parent, e);
    return parent === t.parent ? t : { ...t, parent };
  }
  const i = t.replies.findIndex((r) => r.seq === target);
  if (i < 0) return t;
  const folded = foldChange(t.replies[i]!, e);
  if (folded === t.replies[i]) return t;
  const replies = t.replies.slice();
  replies[i] = folded;
  return { ...t, replies };
}

function withReplies(e: ChatEvent, replies: number): ChatEvent {
  if ((e.state?.replies ?? 0) === replies) return e;
  return { ...e, state: { ...(e.state ?? {}), replies } };
}

/**
 * Replies new to a room's timeline count on their parents there (the reply
 * count under a message). History pages already carry the count: only
 * stream events go through here, and only those not seen before.
 */
export function countReplies(t: Timeline, replies: readonly ChatEvent[]): Timeline {
  let run: ChatEvent[] | null = null;
  let stash: Map<RoomSeq, ChatEvent> | null = null;
  for (const r of replies) {
    const parentSeq = threadOf(r);
    if (parentSeq === undefined) continue;
    const cur = run ?? t.run;
    const first = cur[0]?.seq;
    const idx = first === undefined ? -1 : parentSeq - first;
    if (idx >= 0 && idx < cur.length && cur[idx]!.seq === parentSeq) {
      run ??= t.run.slice();
      run[idx] = withReplies(cur[idx]!, (cur[idx]!.state?.replies ?? 0) + 1);
      continue;
    }
    const st = stash ?? t.stash;
    const held = st.get(parentSeq);
    if (held) {
      stash ??= new Map(t.stash);
      stash.set(parentSeq, withReplies(held, (held.state?.replies ?? 0) + 1));
    }
  }
  if (!run && !stash) return t;
  return { run: run ?? t.run, stash: stash ?? t.stash };
}
