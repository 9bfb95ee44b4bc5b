// One room's timeline as the screen shows it: a contiguous run of events by
// seq (no holes, so nothing is silently missing between two messages), plus a
// stash of events that arrived but do not touch the run yet (live events while
// an old page is shown, backlog before the room was opened). Pure data: every
// operation returns a new Timeline, so signals see the change.
//
// Dedupe is by seq within a room: an event's (room, seq) and its pos name the
// same commit, so an event that comes twice (backlog and history, resend after
// reconnect, ack and live frame) lands once.

import type { ChatEvent, MessageState, RoomSeq } from './protocol';

/** How many out-of-run events to keep per room; older ones are fetched again. */
const STASH_LIMIT = 1000;
/**
 * At most this many stashed events join the run per operation in each
 * direction: opening a room after a backlog of thousands renders a page, not
 * the whole backlog; scrolling takes the next page from the stash.
 */
export const ABSORB_LIMIT = 100;

export interface Timeline {
  /** Ascending by seq, each seq exactly once, no gaps. */
  readonly run: readonly ChatEvent[];
  /** Events outside the run, by seq. */
  readonly stash: ReadonlyMap<RoomSeq, ChatEvent>;
}

export const emptyTimeline: Timeline = { run: [], stash: new Map() };

export function firstSeq(t: Timeline): RoomSeq | undefined {
  return t.run[0]?.seq;
}

export function lastSeq(t: Timeline): RoomSeq | undefined {
  return t.run[t.run.length - 1]?.seq;
}

/** Seq 1 is the room's `created` event: a run that starts there has nothing older. */
export function hasOlder(t: Timeline): boolean {
  const f = firstSeq(t);
  return f === undefined || f > 1;
}

export function contains(t: Timeline, seq: RoomSeq): boolean {
  const f = firstSeq(t);
  const l = lastSeq(t);
  return (f !== undefined && l !== undefined && seq >= f && seq <= l) || t.stash.has(seq);
}

/**
 * Merge events (any order, duplicates allowed) into the timeline. Events next
 * to the run extend it; others wait in the stash until the run reaches them.
 */
export function mergeEvents(t: Timeline, events: readonly ChatEvent[]): Timeline {
  if (events.length === 0) return t;
  const stash = new Map(t.stash);
  for (const e of events) {
    if (!contains(t, e.seq) && !stash.has(e.seq)) stash.set(e.seq, e);
  }
  if (stash.size === t.stash.size) return t; // only duplicates
  // Everything just merged may join the run, plus a page of what waited.
  const limit = events.length + ABSORB_LIMIT;
  return absorb(t.run.slice(), stash, limit, limit);
}

/**
 * Make `page` (a contiguous history page) the run: used when a room is opened
 * at a given place. The old run goes to the stash so nothing is lost.
 */
export function resetRun(t: Timeline, page: readonly ChatEvent[]): Timeline {
  const stash = new Map(t.stash);
  for (const e of t.run) stash.set(e.seq, e);
  const sorted = dedupeSorted(page);
  // A page from the server is contiguous; if it is not, keep its longest
  // contiguous tail (the newest part) as the run and stash the rest.
  let start = 0;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.seq !== sorted[i - 1]!.seq + 1) start = i;
  }
  for (let i = 0; i < start; i++) stash.set(sorted[i]!.seq, sorted[i]!);
  const run = sorted.slice(start);
  for (const e of run) stash.delete(e.seq);
  return absorb(run, stash);
}

function dedupeSorted(events: readonly ChatEvent[]): ChatEvent[] {
  const bySeq = new Map<RoomSeq, ChatEvent>();
  for (const e of events) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * Take up to `n` stashed events that continue the run on one side (no
 * request needed when the backlog already brought them). Returns the same
 * timeline when the stash has nothing there.
 */
export function growFromStash(t: Timeline, side: 'older' | 'newer', n = ABSORB_LIMIT): Timeline {
  if (t.run.length === 0) return t;
  const edge = side === 'newer' ? t.run[t.run.length - 1]!.seq + 1 : t.run[0]!.seq - 1;
  if (!t.stash.has(edge)) return t;
  return absorb(t.run.slice(), new Map(t.stash), side === 'newer' ? n : 0, side === 'older' ? n : 0);
}

/** Grow the run from the stash in both directions (bounded), then bound the stash. */
function absorb(
  run: ChatEvent[],
  stash: Map<RoomSeq, ChatEvent>,
  newerLimit = ABSORB_LIMIT,
  olderLimit = ABSORB_LIMIT,
): Timeline {
  if (run.length === 0) {
    if (stash.size === 0) return { run, stash };
    // No run yet: the newest contiguous block of the stash becomes it, which
    // is what a room shows at the bottom before any history was asked for.
    const seqs = [...stash.keys()].sort((a, b) => a - b);
    let start = seqs.length - 1;
    while (start > 0 && seqs[start - 1] === seqs[start]! - 1 && seqs.length - start < ABSORB_LIMIT) start--;
    for (let i = start; i < seqs.length; i++) {
      run.push(stash.get(seqs[i]!)!);
      stash.delete(seqs[i]!);
    }
  }
  let next = run[run.length - 1]!.seq + 1;
  for (let taken = 0; taken < newerLimit && stash.has(next); taken++) {
    run.push(stash.get(next)!);
    stash.delete(next);
    next++;
  }
  const before: ChatEvent[] = [];
  let prev = run[0]!.seq - 1;
  for (let taken = 0; taken < olderLimit && stash.has(prev); taken++) {
    before.push(stash.get(prev)!);
    stash.delete(prev);
    prev--;
  }
  if (before.length) run = before.reverse().concat(run);
  // Drop stashed events inside the run's range (cannot happen by
  // construction, but a stale copy must never show twice).
  const lo = run[0]!.seq;
  const hi = run[run.length - 1]!.seq;
  for (const s of stash.keys()) if (s >= lo && s <= hi) stash.delete(s);
  if (stash.size > STASH_LIMIT) {
    const keep = [...stash.keys()].sort((a, b) => b - a).slice(0, STASH_LIMIT);
    const bounded = new Map<RoomSeq, ChatEvent>();
    for (const s of keep.reverse()) bounded.set(s, stash.get(s)!);
    return { run, stash: bounded };
  }
  return { run, stash };
}

/**
 * Apply change events (`edited`, `deleted`, `reaction`, `answered`) to the
 * messages they target, wherever those are held (run or stash). A target not
 * loaded here is left alone: history brings it with its current `state`.
 * Applying the same change twice changes nothing (reactions are sets of user
 * ids; an edit older than one the message already carries is skipped).
 */
export function applyChanges(t: Timeline, changes: readonly ChatEvent[]): Timeline {
  let run: ChatEvent[] | null = null;
  let stash: Map<RoomSeq, ChatEvent> | null = null;
  const sorted = [...changes].sort((a, b) => a.seq - b.seq);
  for (const c of sorted) {
    const target = changeTarget(c);
    if (target === undefined) continue;
    const first = t.run[0]?.seq;
    const idx = first === undefined ? -1 : target - first;
    const cur = run ?? t.run;
    if (idx >= 0 && idx < cur.length && cur[idx]!.seq === target) {
      const next = foldChange(cur[idx]!, c);
      if (next !== cur[idx]) {
        run ??= t.run.slice();
        run[idx] = next;
      }
      continue;
    }
    const st = stash ?? t.stash;
    const held = st.get(target);
    if (held) {
      const next = foldChange(held, c);
      if (next !== held) {
        stash ??= new Map(t.stash);
        stash.set(target, next);
      }
    }
  }
  if (!run && !stash) return t;
  return { run: run ?? t.run, stash: stash ?? t.stash };
}

function changeTarget(c: ChatEvent): RoomSeq | undefined {
  switch (c.content.kind) {
    case 'edited':
    case 'deleted':
    case 'reaction':
      return c.content.target;
    case 'answered':
      return c.content.question;
    default:
      return undefined;
  }
}

/** One message with one change folded in; the same object when nothing changes. */
export function foldChange(m: ChatEvent, c: ChatEvent): ChatEvent {
  if (m.content.kind !== 'message') return m;
  const state = m.state ?? {};
  switch (c.content.kind) {
    case 'edited': {
      if (state.deleted) return m;
      const edits = state.edits ?? [];
      if (edits.includes(c.seq) || edits.some((s) => s > c.seq)) return m;
      return {
        ...m,
        content: { ...m.content, body: c.content.body },
        state: { ...state, edited_at: c.ts, edits: [...edits, c.seq] },
      };
    }
    case 'deleted': {
      if (state.deleted) return m;
      const next: ChatEvent = { ...m, content: { ...m.content, body: '' }, state: { deleted: true } };
      if (state.answer !== undefined) next.state!.answer = state.answer;
      if (state.replies !== undefined) next.state!.replies = state.replies;
      return next;
    }
    case 'reaction': {
      if (state.deleted) return m;
      const { emoji, on } = c.content;
      const who = state.reactions?.[emoji] ?? [];
      const extra = state.reactions_more?.[emoji] ?? 0;
      const has = who.includes(c.sender.id);
      // Someone not listed takes theirs back: they were one of the people
      // the server only counts (`reactions_more`, past REACTORS_LISTED).
      if (!on && !has && extra === 0) return m;
      if (on && has) return m;
      const reactions = { ...(state.reactions ?? {}) };
      const more = { ...(state.reactions_more ?? {}) };
      const list = on ? [...who, c.sender.id] : who.filter((u) => u !== c.sender.id);
      if (!on && !has) {
        if (extra > 1) more[emoji] = extra - 1;
        else delete more[emoji];
      }
      if (list.length || more[emoji]) reactions[emoji] = list;
      else delete reactions[emoji];
      const next: MessageState = { ...state, reactions };
      if (Object.keys(more).length) next.reactions_more = more;
      else delete next.reactions_more;
      return { ...m, state: next };
    }
    case 'answered':
      if (state.answer === c.content.answer) return m;
      return { ...m, state: { ...state, answer: c.content.answer } };
    default:
      return m;
  }
}
