import { useEffect, useState } from 'preact/hooks';
import { navigate, roomHref } from '../router';
import type { ChatStore } from '../store';
import { roomTitle } from '../store';
import { switcherItems, type SwitchItem } from '../switcher';
import { HashIcon, PenIcon } from './Icons';
import { Modal } from './Modal';

/**
 * Ctrl/Cmd+K: type part of a room or person's name, ↑/↓ to choose, Enter to
 * go. A person without a conversation yet gets one (`open_dm`).
 */
export function QuickSwitcher({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [error, setError] = useState('');

  useEffect(() => {
    if (store.users.value.length === 0) store.loadUsers().catch(() => {});
  }, [store]);

  const rooms: SwitchItem[] = store.roomList.value.map((r) => {
    const info = r.info!;
    const dm = info.kind === 'dm';
    return {
      key: `room:${r.id}`,
      kind: dm ? 'dm' : 'room',
      label: roomTitle(r),
      detail: dm ? `@${info.dm_peer?.username ?? ''}` : info.topic,
      unread: r.unread,
      mentions: r.mentions,
      roomId: r.id,
      ...(dm && info.dm_peer ? { username: info.dm_peer.username } : {}),
    };
  });
  const people: SwitchItem[] = store.users.value
    .filter((u) => u.id !== store.me.id)
    .map((u) => ({
      key: `user:${u.username}`,
      kind: 'person',
      label: u.display_name || u.username,
      detail: `@${u.username}`,
      unread: 0,
      mentions: 0,
      username: u.username,
    }));
  const items = switcherItems(query, rooms, people);
  const current = Math.min(active, items.length - 1);

  const go = async (it: SwitchItem | undefined) => {
    if (!it) return;
    try {
      const id = it.roomId ?? (await store.openDm(it.username!)).id;
      onClose();
      navigate(roomHref(id));
    } catch (err) {
      setError(`Could not open the conversation: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  return (
    <Modal title="Jump to…" onClose={onClose} initialFocus="input">
      <div class="switcher" data-testid="quick-switcher">
        <input
          type="text"
          class="switcher-input"
          role="combobox"
          aria-expanded={items.length > 0}
          aria-controls="switcher-list"
          aria-activedescendant={items.length > 0 ? `switch-${current}` : undefined}
          aria-autocomplete="list"
          aria-label="Room or person"
          placeholder="Room or person"
          autoComplete="off"
          value={query}
          onInput={(e) => {
            setQuery(e.currentTarget.value);
            setActive(0);
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              if (items.length) setActive((current + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length);
            } else if (e.key === 'Enter') {
              e.preventDefault();
              void go(items[current]);
            }
          }}
          data-testid="switcher-input"
        />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <ul class="switcher-list" role="listbox" id="switcher-list" aria-label="Rooms and people">
          {items.map((it, i) => (
            <li
              key={it.key}
              id={`switch-${i}`}
              role="option"
              aria-selected={i === current}
              class={`switcher-item${i === current ? ' active' : ''}`}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => void go(it)}
              onMouseMove={() => i !== current && setActive(i)}
              data-testid="switcher-item"
            >
              <span class="room-icon" aria-hidden="true">
                {it.kind === 'room' ? <HashIcon /> : it.kind === 'dm' ? '@' : <PenIcon />}
              </span>
              <bdi class="switcher-label">{it.label}</bdi>
              <span class="muted small switcher-detail">
                {it.kind === 'person' ? `${it.detail} · new conversation` : it.detail}
              </span>
              {it.unread > 0 && <span class="badge">{it.unread > 9999 ? '9999+' : it.unread}</span>}
              {it.unread > 0 && <span class="sr-only">, {it.unread} unread</span>}
            </li>
          ))}
        </ul>
        {items.length === 0 && <p class="muted switcher-empty">Nothing matches “{query}”.</p>}
      </div>
    </Modal>
  );
}
