// Catching up inside a room: what arrived below while the person was reading
// further up (the "new messages below" pill), as a pure function.

import type { ChatEvent } from './protocol';
import { mentions } from './text';

export interface Below {
  /** Messages from others after `seenSeq`. */
  count: number;
  /** Of those, the ones that mention me (or @room). */
  mentions: number;
  /** The first of them: the pill scrolls there. */
  firstSeq: number | null;
}

export function newBelow(events: readonly ChatEvent[], seenSeq: number, meId: string, myName: string): Below {
  const out: Below = { count: 0, mentions: 0, firstSeq: null };
  for (const e of events) {
    if (e.seq <= seenSeq || e.sender.id === meId) continue;
    const c = e.content;
    if (c.kind !== 'message' && c.kind !== 'broadcast') continue;
    if (c.kind === 'message' && e.state?.deleted) continue;
    out.count++;
    out.firstSeq ??= e.seq;
    if (c.kind === 'message' && mentions(c.body, myName)) out.mentions++;
  }
  return out;
}

/** "3 new messages below · 1 mentions you" — singular and plural right. */
export function belowLabel(b: Below): string {
  const msgs = `${b.count} new ${b.count === 1 ? 'message' : 'messages'} below`;
  return b.mentions > 0 ? `${msgs} · ${b.mentions} ${b.mentions === 1 ? 'mentions' : 'mention'} you` : msgs;
}
