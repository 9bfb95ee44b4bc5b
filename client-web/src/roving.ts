// The timeline as one Tab stop (a roving tabindex): Tab lands on one message
// (the last one focused, else the newest); ↑/↓ move between messages,
// Home/End go to the first/last; Enter opens the message's actions (its
// buttons become tabbable), Escape goes back to the message. Done on the DOM
// (tabindex attributes the components do not set), so the message
// components stay as they are; a MutationObserver keeps new messages in line.

import type { RefObject } from 'preact';
import { useEffect } from 'preact/hooks';

const ITEM = '.events > li[data-seq]';
const FOCUSABLE = 'a[href], button, input, textarea, select, [tabindex]';

/** Index of the item after a key press, or null when the key is not ours. */
export function moveIndex(key: string, index: number, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case 'ArrowUp':
      return Math.max(0, index - 1);
    case 'ArrowDown':
      return Math.min(count - 1, index + 1);
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}

export function useRovingTimeline(container: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    const root = container.current;
    if (!root) return;
    let activeSeq: string | null = null;
    let openSeq: string | null = null;

    const items = () => [...root.querySelectorAll<HTMLElement>(ITEM)];
    const apply = () => {
      const all = items();
      if (!all.some((li) => li.dataset.seq === activeSeq)) activeSeq = all[all.length - 1]?.dataset.seq ?? null;
      for (const li of all) {
        const seq = li.dataset.seq!;
        const want = seq === activeSeq ? '0' : '-1';
        if (li.getAttribute('tabindex') !== want) li.setAttribute('tabindex', want);
        const open = seq === openSeq;
        for (const el of li.querySelectorAll<HTMLElement>(FOCUSABLE)) {
          if (open) {
            if (el.dataset.roved) {
              el.removeAttribute('tabindex');
              delete el.dataset.roved;
            }
          } else if (!el.dataset.roved && el.getAttribute('tabindex') !== '-1') {
            el.setAttribute('tabindex', '-1');
            el.dataset.roved = '1';
          }
        }
        li.toggleAttribute('data-actions-open', open);
      }
      // With messages, the container is no Tab stop of its own (a message is).
      root.setAttribute('tabindex', all.length ? '-1' : '0');
    };

    const itemOf = (el: EventTarget | null) => (el instanceof Element ? el.closest<HTMLElement>(ITEM) : null);

    const onKeyDown = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      const li = itemOf(e.target);
      if (!li) return;
      if (e.target === li) {
        if (e.key === 'Enter') {
          const first = li.querySelector<HTMLElement>('.msg-actions button, button, a[href]');
          if (!first) return;
          e.preventDefault();
          openSeq = li.dataset.seq!;
          apply();
          first.focus();
          return;
        }
        const all = items();
        const next = moveIndex(e.key, all.indexOf(li), all.length);
        if (next === null) return;
        e.preventDefault();
        const to = all[next]!;
        activeSeq = to.dataset.seq!;
        apply();
        to.focus();
        to.scrollIntoView({ block: 'nearest' });
      } else if (e.key === 'Escape' && openSeq === li.dataset.seq) {
        e.preventDefault();
        openSeq = null;
        apply();
        li.focus();
      }
    };

    const onFocusIn = (e: FocusEvent) => {
      const li = itemOf(e.target);
      if (!li) return;
      const seq = li.dataset.seq!;
      // Focus inside a message (a click, or focus returning after an edit): its actions are open.
      const inside = e.target !== li;
      if (seq === activeSeq && (inside ? openSeq === seq : true)) return;
      activeSeq = seq;
      if (inside) openSeq = seq;
      apply();
    };

    const onFocusOut = (e: FocusEvent) => {
      if (openSeq === null) return;
      const to = itemOf(e.relatedTarget);
      if (to && to.dataset.seq === openSeq) return;
      openSeq = null;
      apply();
    };

    apply();
    const observer = new MutationObserver(apply);
    observer.observe(root, { childList: true, subtree: true });
    root.addEventListener('keydown', onKeyDown);
    root.addEventListener('focusin', onFocusIn);
    root.addEventListener('focusout', onFocusOut);
    return () => {
      observer.disconnect();
      root.removeEventListener('keydown', onKeyDown);
      root.removeEventListener('focusin', onFocusIn);
      root.removeEventListener('focusout', onFocusOut);
    };
  }, []);
}
