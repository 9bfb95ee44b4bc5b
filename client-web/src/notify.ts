// Desktop notifications (the Notification API) for what needs the person: a
// direct message, a mention of them or @room, a broadcast asking for
// acknowledgement or a reminder to acknowledge one; and, in rooms set to
// "all", every message. Never for the
// room on screen in a focused, visible tab. Permission is asked for only from
// a banner shown after the first DM or mention arrives (never on first load).
// The per-room level and "Not now" are kept in localStorage, per user.

import { signal } from '@preact/signals';
import type { BroadcastReminder, ChatEvent, RoomId } from './protocol';
import { mentions } from './text';

/** What a room notifies about: everything, only DMs/mentions/broadcasts (the default), nothing. */
export type RoomLevel = 'all' | 'mentions' | 'none';
export type Reason = 'dm' | 'mention' | 'broadcast' | 'reminder' | 'message';

export interface NotifyContext {
  meId: string;
  myName: string;
  isDm: (room: RoomId) => boolean;
  level: (room: RoomId) => RoomLevel;
  /** The room on screen, if any. */
  viewRoom: RoomId | null;
  /** The tab is visible and its window has the focus. */
  active: boolean;
}

/** Why this live event deserves a notification, or null. */
export function notifyReason(e: ChatEvent, ctx: NotifyContext): Reason | null {
  if (e.sender.id === ctx.meId) return null;
  const c = e.content;
  if (c.kind !== 'message' && c.kind !== 'broadcast') return null;
  if (ctx.active && e.room === ctx.viewRoom) return null;
  const level = ctx.level(e.room);
  // A broadcast that asks to be acknowledged gets through a muted room: it is the point of it.
  if (c.kind === 'broadcast' && c.ack_requested) return 'broadcast';
  if (level === 'none') return null;
  if (ctx.isDm(e.room)) return 'dm';
  if (c.kind === 'message' && mentions(c.body, ctx.myName)) return 'mention';
  return level === 'all' ? 'message' : null;
}

const LEVELS_KEY = (user: string) => `townhall.notify-levels.${user}`;
const DISMISSED_KEY = (user: string) => `townhall.notify-dismissed.${user}`;

function read(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) globalThis.localStorage?.removeItem(key);
    else globalThis.localStorage?.setItem(key, value);
  } catch {
    // Storage disabled: the setting lasts for this page only.
  }
}

/** Per-room levels of the logged-in user (rooms not listed: "mentions"). */
export const roomLevels = signal<Readonly<Record<RoomId, RoomLevel>>>({});
/** The banner offering notifications is on screen. */
export const offerNotifications = signal(false);
/** Bumped when the permission changes (the browser API has no event everywhere). */
export const permissionTick = signal(0);

let user = '';

export function loadLevels(userId: string): void {
  user = userId;
  try {
    roomLevels.value = JSON.parse(read(LEVELS_KEY(userId)) ?? '{}') as Record<RoomId, RoomLevel>;
  } catch {
    roomLevels.value = {};
  }
  offerNotifications.value = false;
}

export function setRoomLevel(room: RoomId, level: RoomLevel): void {
  const next = { ...roomLevels.value };
  if (level === 'mentions') delete next[room];
  else next[room] = level;
  roomLevels.value = next;
  write(LEVELS_KEY(user), JSON.stringify(next));
}

export function levelOf(room: RoomId): RoomLevel {
  return roomLevels.value[room] ?? 'mentions';
}

export function permission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

export async function askPermission(): Promise<void> {
  offerNotifications.value = false;
  if (permission() !== 'default') return;
  await Notification.requestPermission();
  permissionTick.value++;
}

export function dismissOffer(): void {
  offerNotifications.value = false;
  write(DISMISSED_KEY(user), '1');
}

const TITLES: Record<Reason, string> = {
  dm: 'New direct message',
  mention: 'You were mentioned',
  broadcast: 'Broadcast: please confirm you have read it',
  reminder: 'Reminder: please confirm you have read it',
  message: 'New message',
};

/**
 * Handle one live event: show a notification when it deserves one and the
 * permission is granted; offer the permission the first time one would have
 * been shown (unless the person said "Not now").
 */
export function onLiveEvent(e: ChatEvent, ctx: NotifyContext, roomName: string, open: (room: RoomId) => void): void {
  const why = notifyReason(e, ctx);
  if (!why) return;
  const c = e.content;
  const body = c.kind === 'message' || c.kind === 'broadcast' ? c.body : '';
  show(why, roomName, e.sender.display_name || e.sender.username, body, e.room, open);
}

/** Why a live reminder deserves a notification: always (like a broadcast asking for acknowledgement, through a muted room), except for the room on screen in a focused tab. */
export function reminderReason(r: BroadcastReminder, ctx: NotifyContext): Reason | null {
  if (r.sender.id === ctx.meId) return null;
  if (ctx.active && r.room === ctx.viewRoom) return null;
  return 'reminder';
}

/** Handle one live reminder (`body`: the broadcast's text, from the pinned list). */
export function onReminder(r: BroadcastReminder, body: string, ctx: NotifyContext, roomName: string, open: (room: RoomId) => void): void {
  const why = reminderReason(r, ctx);
  if (!why) return;
  show(why, roomName, r.sender.display_name || r.sender.username, body, r.room, open);
}

function show(why: Reason, roomName: string, who: string, body: string, room: RoomId, open: (room: RoomId) => void): void {
  const p = permission();
  if (p === 'default') {
    if (why !== 'message' && read(DISMISSED_KEY(user)) === null) offerNotifications.value = true;
    return;
  }
  if (p !== 'granted') return;
  const n = new Notification(`${TITLES[why]} · ${roomName}`, {
    body: `${who}: ${body.length > 160 ? `${body.slice(0, 159)}…` : body}`,
    // One notification per room at a time: a burst replaces, not piles up.
    tag: `townhall:${room}`,
  });
  n.onclick = () => {
    globalThis.focus();
    open(room);
    n.close();
  };
}
