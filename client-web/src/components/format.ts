import type { ChatEvent, Millis } from '../protocol';

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

export function timeOf(ts: Millis): string {
  return timeFmt.format(new Date(ts));
}

export function fullTime(ts: Millis): string {
  return fullFmt.format(new Date(ts));
}

const shortDayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', month: 'short', day: 'numeric' });
const yearDayFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

/** A moment with its day, short: "Today 14:03", "Yesterday 09:12",
 * "Mon, Mar 3 14:03", and the year once it is not this year's. */
export function dateTimeOf(ts: Millis, now = Date.now()): string {
  const d = new Date(ts);
  const day = dayLabel(ts, now);
  if (day === 'Today' || day === 'Yesterday') return `${day} ${timeOf(ts)}`;
  const fmt = d.getFullYear() === new Date(now).getFullYear() ? shortDayFmt : yearDayFmt;
  return `${fmt.format(d)} ${timeOf(ts)}`;
}

export function dayKey(ts: Millis): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function dayLabel(ts: Millis, now = Date.now()): string {
  const k = dayKey(ts);
  if (k === dayKey(now)) return 'Today';
  if (k === dayKey(now - 86_400_000)) return 'Yesterday';
  return dayFmt.format(new Date(ts));
}

/** One line describing an event, for previews and system lines. */
export function describe(e: ChatEvent): string {
  const who = e.sender.display_name || e.sender.username;
  switch (e.content.kind) {
    case 'message':
      return e.content.body;
    case 'created':
      return `${who} created ${e.content.room_kind === 'dm' ? 'this conversation' : `the room ${e.content.name}`}`;
    case 'edited':
      return `${who} edited a message`;
    case 'deleted':
      return `${who} deleted a message`;
    case 'reaction':
      return `${who} reacted ${e.content.emoji}`;
    case 'answered':
      return `${who} marked an answer`;
    case 'merged':
      return `${who} merged a question into another`;
    case 'broadcast':
      return `📣 ${who}: ${e.content.body}`;
    case 'room_updated': {
      const c = e.content;
      const what = [
        c.name !== undefined && `renamed the room to ${c.name}`,
        c.topic !== undefined && (c.topic ? `changed the topic to “${c.topic}”` : 'cleared the topic'),
        c.archived !== undefined && (c.archived ? 'archived the room' : 'unarchived the room'),
      ].filter(Boolean);
      return `${who} ${what.join(', ')}`;
    }
    case 'room_role_set': {
      const u = e.content.user.display_name || e.content.user.username;
      return e.content.role === 'moderator' ? `${who} made ${u} a moderator` : `${who} made ${u} a member`;
    }
    case 'member': {
      const u = e.content.user.display_name || e.content.user.username;
      switch (e.content.action) {
        case 'joined':
          return `${u} joined`;
        case 'left':
          return `${u} left`;
        case 'added':
          return `${who} added ${u}`;
        case 'removed':
          return `${who} removed ${u}`;
      }
    }
  }
  return '';
}

/** One line of what an event says, without who said it, ≤ 140 characters. */
export function gist(e: ChatEvent): string {
  const text = describe(e).replace(/\s+/g, ' ');
  return text.length > 140 ? `${text.slice(0, 140)}…` : text;
}

export function preview(e: ChatEvent): string {
  const short = gist(e);
  if (e.content.kind !== 'message') return short;
  return `${e.sender.display_name || e.sender.username}: ${short}`;
}
