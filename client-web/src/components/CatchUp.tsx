import { belowLabel, type Below } from '../catchup';

interface Props {
  /** What arrived below since the person scrolled up (count 0: nothing). */
  below: Below;
  /** Not at the bottom: offer "Jump to latest". */
  awayFromBottom: boolean;
  /** The "new since you were away" divider is above the view. */
  unreadAbove: boolean;
  onBelow: () => void;
  onLatest: () => void;
  onFirstUnread: () => void;
}

/**
 * The pills over a timeline: "Jump to first unread" at the top while the
 * divider is above the view; at the bottom "N new messages below" (with the
 * mentions) when something arrived while the person reads further up, else
 * "Jump to latest" when away from the bottom.
 */
export function CatchUpTop({ unreadAbove, onFirstUnread }: Pick<Props, 'unreadAbove' | 'onFirstUnread'>) {
  if (!unreadAbove) return null;
  return (
    <div class="catchup-pill-row top">
      <button type="button" class="catchup-pill" onClick={onFirstUnread} data-testid="jump-first-unread">
        <span aria-hidden="true">↑ </span>Jump to first unread
      </button>
    </div>
  );
}

export function CatchUpBottom({ below, awayFromBottom, onBelow, onLatest }: Omit<Props, 'unreadAbove' | 'onFirstUnread'>) {
  if (below.count === 0 && !awayFromBottom) return null;
  return (
    <div class="catchup-pill-row bottom">
      {below.count > 0 ? (
        <button
          type="button"
          class={`catchup-pill${below.mentions ? ' mention' : ''}`}
          onClick={onBelow}
          data-testid="new-below"
        >
          <span aria-hidden="true">↓ </span>
          {belowLabel(below)}
        </button>
      ) : null}
      <button type="button" class="catchup-pill subtle" onClick={onLatest} data-testid="jump-latest">
        Jump to latest
      </button>
    </div>
  );
}
