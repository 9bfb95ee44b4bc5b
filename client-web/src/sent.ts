// "Your broadcasts" (`sent_broadcasts`): who may list them and how one
// line of counts reads. Pure, so the wording is unit-tested apart from the
// view (`components/SentBroadcasts.tsx`).

import type { Role, SentBroadcast } from './protocol';

/** Leaders and admins send broadcasts; the server refuses anyone else. */
export function mayListSent(role: Role): boolean {
  return role === 'leader' || role === 'admin';
}

/** "2 of 10 acknowledged, 5 opened" when an acknowledgement was asked for,
 *  else "5 of 10 opened". */
export function reachLine(b: Pick<SentBroadcast, 'ack_requested' | 'counts'>): string {
  const { audience, opened, acknowledged } = b.counts;
  return b.ack_requested
    ? `${acknowledged} of ${audience} acknowledged, ${opened} opened`
    : `${opened} of ${audience} opened`;
}

/** The first line of a text, for a one-line snippet. */
export function snippet(text: string, max = 120): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
