import type { ChatEvent } from '../protocol';
import { plainLine } from '../markdown';

/**
 * Above a thread reply shown in the room's timeline: one line of what it
 * replies to, so the reply reads on its own. The parent may be outside the
 * loaded part of the timeline; then only "Reply to a message" shows.
 */
export function ReplyQuote({ parent }: { parent: ChatEvent | undefined }) {
  const c = parent?.content;
  const body = c && (c.kind === 'message' || c.kind === 'broadcast') ? c.body : undefined;
  const who = parent ? parent.sender.display_name || parent.sender.username : '';
  return (
    <div class="reply-quote muted small" data-testid="reply-quote">
      <span aria-hidden="true">↪ </span>
      {parent && body !== undefined && !parent.state?.deleted ? (
        <>
          Reply to <bdi class="reply-quote-who">{who}</bdi>: <q>{plainLine(body, 90)}</q>
        </>
      ) : (
        'Reply to a message'
      )}
    </div>
  );
}
