// Room management (rename, topic, archive: the owner or an admin) and the
// cross-room actions "mark all as read". Kept out of store.ts: these only
// use the store's public actions and the `update_room` frame.

import type { Content, RoomId, RoomInfo } from './protocol';
import type { ChatStore } from './store';

type RoomUpdated = Extract<Content, { kind: 'room_updated' }>;

/** The room as a `room_updated` event leaves it (only what changed is in it). */
export function withUpdate(info: RoomInfo, c: RoomUpdated): RoomInfo {
  const next = { ...info };
  if (c.name !== undefined) next.name = c.name;
  if (c.topic !== undefined) next.topic = c.topic;
  if (c.archived !== undefined) next.archived = c.archived;
  return next;
}

/** The server's rule: the room's owner or an admin, and never a DM. */
export function mayManage(store: ChatStore, info: RoomInfo | undefined): boolean {
  if (!info || info.kind === 'dm') return false;
  return store.me.role === 'admin' || info.my_role === 'owner';
}

/** Rename, change the topic, archive or unarchive; resolves with the room as it is now. */
export async function updateRoom(
  store: ChatStore,
  room: RoomId,
  patch: { name?: string; topic?: string; archived?: boolean },
): Promise<RoomInfo> {
  const reply = await store.conn.request({ type: 'update_room', room, ...patch });
  if (reply.type !== 'room') throw new Error(`unexpected reply ${reply.type}`);
  return reply.room;
}

/**
 * Mark every room read up to its latest message: one `mark_read` per room
 * with something unread (the server moves the markers and tells my other
 * devices with `read_marker`). Returns how many rooms it marked.
 */
export function markAllRead(store: ChatStore): number {
  let marked = 0;
  for (const r of store.rooms.value.values()) {
    if (r.info && r.lastSeq > r.readSeq && store.markRead(r.id, r.lastSeq)) marked++;
  }
  return marked;
}
