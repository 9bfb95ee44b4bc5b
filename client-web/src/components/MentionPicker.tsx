import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { applyMention, mentionQuery, suggest } from '../mention';
import type { ChatStore } from '../store';
import { Avatar } from './Avatar';

let counter = 0;

/**
 * The `@` autocomplete of a composer. The textarea keeps the focus (a
 * listbox driven by `aria-activedescendant`): ↑/↓ move, Enter or Tab
 * chooses, Escape closes. People of the room come first (loaded on the
 * first `@`), then everyone else.
 */
export function useMentionPicker(
  store: ChatStore,
  roomId: string,
  ref: RefObject<HTMLTextAreaElement | null>,
  setText: (v: string) => void,
) {
  const [query, setQuery] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const id = useRef(`mentions-${++counter}`).current;
  const asked = useRef<string | null>(null);

  useEffect(() => setQuery(null), [roomId]);
  useEffect(() => {
    if (!query || asked.current === roomId) return;
    asked.current = roomId;
    // Lists may be stale by a few joins: good enough to suggest names.
    if (!store.members.value.has(roomId)) store.loadMembers(roomId).catch(() => {});
    if (store.users.value.length === 0) store.loadUsers().catch(() => {});
  }, [query, roomId, store]);

  const members = (store.members.value.get(roomId) ?? []).map((m) => m.user);
  const list = query ? suggest(query.query, members, store.users.value, store.me.id) : [];
  const open = list.length > 0;
  const current = Math.min(active, list.length - 1);

  const update = () => {
    const el = ref.current;
    if (!el) return;
    const q = el.selectionStart === el.selectionEnd ? mentionQuery(el.value, el.selectionStart) : null;
    setQuery((old) => (old?.start === q?.start && old?.query === q?.query ? old : q));
    if (q?.query !== query?.query) setActive(0);
  };

  const choose = (username: string) => {
    const el = ref.current;
    if (!el || !query) return;
    const next = applyMention(el.value, query.start, el.selectionStart, username);
    // Text and caret change now, in this key or mouse event: the next key
    // typed must land after the name. (Placing the caret a frame later moved
    // it back in front of a key typed in between.) The re-render then finds
    // the value already written and leaves the textarea, caret included, alone.
    el.value = next.text;
    el.focus();
    el.setSelectionRange(next.caret, next.caret);
    setText(next.text);
    setQuery(null);
  };

  /** Keys the list takes while it is open; true when the key was used. */
  const onKeyDown = (e: KeyboardEvent): boolean => {
    if (!open || e.isComposing) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const d = e.key === 'ArrowDown' ? 1 : -1;
      setActive((current + d + list.length) % list.length);
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      choose(list[current]!.username);
    } else if (e.key === 'Escape') {
      setQuery(null);
    } else {
      return false;
    }
    e.preventDefault();
    e.stopPropagation();
    return true;
  };

  const inputProps = {
    'aria-autocomplete': 'list' as const,
    'aria-controls': open ? id : undefined,
    'aria-activedescendant': open ? `${id}-${current}` : undefined,
    onKeyUp: (e: KeyboardEvent) => {
      if (!['ArrowDown', 'ArrowUp', 'Enter', 'Tab', 'Escape'].includes(e.key)) update();
    },
    onClick: update,
    onBlur: () => setQuery(null),
  };

  const popup = open ? (
    <ul class="mention-list" role="listbox" id={id} aria-label="People to mention" data-testid="mention-list">
      {list.map((u, i) => (
        <li
          key={u.id}
          id={`${id}-${i}`}
          role="option"
          aria-selected={i === current}
          class={`mention-option${i === current ? ' active' : ''}`}
          // mousedown, not click: the textarea must not lose the focus first.
          onMouseDown={(e) => {
            e.preventDefault();
            choose(u.username);
          }}
          data-testid="mention-option"
        >
          {u.id === '@room' ? (
            <span class="avatar small" aria-hidden="true">
              @
            </span>
          ) : (
            <Avatar user={u} name={u.display_name || u.username} size="small" />
          )}
          <bdi class="mention-name">{u.display_name || u.username}</bdi>
          <span class="muted small">@{u.username}</span>
        </li>
      ))}
    </ul>
  ) : null;

  return { inputProps, onKeyDown, update, popup };
}
