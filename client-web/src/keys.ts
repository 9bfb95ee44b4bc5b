// Keyboard shortcuts of the whole app (the list is also the help dialog's and
// the README's). The decisions are pure functions, unit-tested; `useGlobalKeys`
// wires them to one `keydown` listener on the window.

import { useEffect, useRef } from 'preact/hooks';

export interface Shortcut {
  keys: string;
  what: string;
}

/** Shown by the "?" dialog, in this order. */
export const SHORTCUTS: readonly Shortcut[] = [
  { keys: 'Ctrl K / ⌘ K', what: 'Jump to a room or person' },
  { keys: 'Alt ↑ / Alt ↓', what: 'Previous / next conversation' },
  { keys: 'Alt Shift ↑ / Alt Shift ↓', what: 'Previous / next unread conversation' },
  { keys: 'Escape', what: 'Close the open panel or dialog' },
  { keys: '?', what: 'Show these shortcuts' },
  { keys: 'Enter / Shift Enter', what: 'Send / new line (in a message box)' },
  { keys: '@', what: 'Mention someone (↑ ↓ to choose, Enter to insert)' },
  { keys: '↑ / ↓ in messages', what: 'Move between messages (Home / End: first / last)' },
  { keys: 'Enter on a message', what: 'Show its actions (Tab between them, Escape back)' },
];

export type KeyAction =
  | { do: 'switcher' }
  | { do: 'help' }
  | { do: 'room'; step: 1 | -1; unread: boolean }
  | { do: 'escape' }
  | null;

/** Where typing goes: there `?` is a character, not a shortcut. */
export function isTypingTarget(el: Element | null): boolean {
  if (!el) return false;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (el as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(type);
  }
  return (el as HTMLElement).isContentEditable === true;
}

type KeyLike = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey' | 'isComposing' | 'defaultPrevented'>;

/** What a key press means for the whole app, given where the focus is. */
export function keyAction(e: KeyLike, target: Element | null): KeyAction {
  if (e.isComposing) return null;
  if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === 'k' || e.key === 'K')) return { do: 'switcher' };
  if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
    return { do: 'room', step: e.key === 'ArrowUp' ? -1 : 1, unread: e.shiftKey };
  }
  if (e.defaultPrevented) return null;
  if (e.key === 'Escape') return { do: 'escape' };
  if (e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey && !isTypingTarget(target)) return { do: 'help' };
  return null;
}

/**
 * The conversation `step` places from `current` in the sidebar's order
 * (`ids`), wrapping around; with `unread`, the next one with unread messages
 * (null when none has). From no room, ↓ starts at the top and ↑ at the bottom.
 */
export function stepRoom(
  ids: readonly string[],
  current: string | null,
  step: 1 | -1,
  unread?: (id: string) => boolean,
): string | null {
  const n = ids.length;
  if (n === 0) return null;
  let i = current === null ? -1 : ids.indexOf(current);
  if (i < 0) i = step === 1 ? -1 : n;
  for (let k = 1; k <= n; k++) {
    const j = (((i + step * k) % n) + n) % n;
    const id = ids[j]!;
    if (id === current) continue;
    if (!unread || unread(id)) return id;
  }
  return null;
}

export interface GlobalKeyHandlers {
  switcher: () => void;
  help: () => void;
  room: (step: 1 | -1, unread: boolean) => void;
}

/** Installs the app-wide shortcuts while the logged-in shell is mounted. */
export function useGlobalKeys(handlers: GlobalKeyHandlers): void {
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // A modal dialog handles its own keys (Escape, Tab); none of ours apply under it.
      if (document.querySelector('[aria-modal="true"]')) return;
      const a = keyAction(e, document.activeElement);
      if (!a) return;
      if (a.do === 'escape') {
        // Close the side panel (thread or members), if one is open.
        const close = document.querySelector<HTMLElement>('.members-panel .panel-head button[aria-label^="Close"]');
        if (!close) return;
        e.preventDefault();
        close.click();
        const now = document.activeElement;
        if (!now || now === document.body) document.querySelector<HTMLElement>('[data-testid="composer"]')?.focus();
        return;
      }
      e.preventDefault();
      const h = latest.current;
      if (a.do === 'switcher') h.switcher();
      else if (a.do === 'help') h.help();
      else h.room(a.step, a.unread);
    };
    globalThis.addEventListener('keydown', onKey);
    return () => globalThis.removeEventListener('keydown', onKey);
  }, []);
}
