import { useEffect } from 'preact/hooks';
import { askPermission, dismissOffer, levelOf, loadLevels, offerNotifications, onLiveEvent, onReminder, roomLevels, setRoomLevel, type NotifyContext, type RoomLevel } from '../notify';
import { navigate, roomHref } from '../router';
import type { ChatEvent } from '../protocol';
import type { ChatStore } from '../store';
import { roomTitle } from '../store';

/** Wires the store's live events to desktop notifications while the shell is mounted. */
export function useNotifications(store: ChatStore, viewRoom: string | null): void {
  useEffect(() => loadLevels(store.me.id), [store]);
  useEffect(() => {
    const ctx = (): NotifyContext => ({
      meId: store.me.id,
      myName: store.me.username,
      isDm: (id) => store.rooms.value.get(id)?.info?.kind === 'dm',
      level: levelOf,
      viewRoom,
      active: document.visibilityState === 'visible' && document.hasFocus(),
    });
    const handle = (e: ChatEvent) => {
      const room = store.rooms.value.get(e.room);
      onLiveEvent(e, ctx(), room?.info ? roomTitle(room) : e.sender.display_name || e.sender.username, (id) => navigate(roomHref(id)));
    };
    store.reminders.onLive = (r, pinned) => {
      const room = store.rooms.value.get(r.room);
      onReminder(r, pinned.body, ctx(), room?.info ? roomTitle(room) : r.sender.display_name || r.sender.username, (id) =>
        navigate(roomHref(id, r.seq)),
      );
    };
    store.onLive = (e) => {
      // A new conversation's first message comes before the room list names
      // it (is it a DM?): ask for the list first, then decide.
      if (store.rooms.value.get(e.room)?.info) handle(e);
      else if (e.content.kind === 'message' || e.content.kind === 'broadcast') {
        store.refreshSummary().then(
          () => handle(e),
          () => undefined,
        );
      }
    };
    return () => {
      store.onLive = null;
      store.reminders.onLive = null;
    };
  }, [store, viewRoom]);
}

/** The offer to turn notifications on, shown after the first DM or mention (never on first load). */
export function NotifyOffer() {
  if (!offerNotifications.value) return null;
  return (
    <section class="notify-offer" aria-labelledby="notify-offer-title" data-testid="notify-offer">
      <h2 id="notify-offer-title">Get notified of DMs and mentions</h2>
      <p class="muted small">Your browser shows a notification when someone messages or mentions you while Townhall is in the background.</p>
      <div class="row">
        <button type="button" class="btn primary" onClick={() => void askPermission()}>
          Turn on notifications
        </button>
        <button type="button" class="btn subtle" onClick={dismissOffer}>
          Not now
        </button>
      </div>
    </section>
  );
}

const LABELS: readonly [RoomLevel, string][] = [
  ['mentions', 'Notify: DMs & mentions'],
  ['all', 'Notify: every message'],
  ['none', 'Notify: nothing'],
];

/** The room header's notification level (kept in this browser). */
export function RoomNotifySelect({ roomId }: { roomId: string }) {
  const level = roomLevels.value[roomId] ?? 'mentions';
  return (
    <select
      class="notify-select"
      aria-label="Notifications for this room"
      value={level}
      onChange={(e) => setRoomLevel(roomId, e.currentTarget.value as RoomLevel)}
      data-testid="room-notify"
    >
      {LABELS.map(([v, label]) => (
        <option key={v} value={v}>
          {label}
        </option>
      ))}
    </select>
  );
}
