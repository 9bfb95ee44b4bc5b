import { useCallback, useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import { isChange, type ChatEvent } from '../protocol';
import type { OutboxItem } from '../storage';
import type { ChatStore, RoomState, RoomView } from '../store';
import { hasOlder, lastSeq as runLast } from '../timeline';
import { initials, mentions } from '../text';
import { dayKey, dayLabel, describe, fullTime, timeOf } from './format';
import { MessageText } from './MessageText';

interface Props {
  store: ChatStore;
  room: RoomState;
  view: RoomView;
  pending: readonly OutboxItem[];
}

/** Within this distance of an edge, the next page loads. */
const EDGE_PX = 300;
/** Consecutive messages from one sender within this time share a header. */
const GROUP_MS = 5 * 60_000;

export function Timeline({ store, room, view, pending }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const placed = useRef<string | null>(null); // room id whose first scroll is done
  const atBottom = useRef(true);
  const firstSeqSeen = useRef<number | undefined>(undefined);
  const heightBefore = useRef(0);
  const topBefore = useRef(0);
  const sentIds = store.sentIds.value;
  const events = room.timeline.run;
  const newer = (runLast(room.timeline) ?? 0) < room.lastSeq;
  const older = hasOlder(room.timeline);

  // Read the old geometry during render, before the DOM changes.
  if (scroller.current) {
    heightBefore.current = scroller.current.scrollHeight;
    topBefore.current = scroller.current.scrollTop;
  }

  /** Mark read up to the last event the person can see. */
  const markVisible = useCallback(() => {
    const el = scroller.current;
    if (!el || view.status !== 'ready') return;
    const box = el.getBoundingClientRect();
    const items = el.querySelectorAll<HTMLElement>('[data-seq]');
    for (let i = items.length - 1; i >= 0; i--) {
      const r = items[i]!.getBoundingClientRect();
      // Seen when its top line is inside the view.
      if (r.top < box.bottom - 8) {
        const seq = Number(items[i]!.dataset.seq);
        if (seq > 0) store.markRead(room.id, seq);
        break;
      }
    }
  }, [store, room.id, view.status]);

  // First placement: at the divider when there is one, else at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || view.status !== 'ready' || placed.current === room.id) return;
    placed.current = room.id;
    firstSeqSeen.current = events[0]?.seq;
    const divider = el.querySelector<HTMLElement>('.new-divider');
    if (divider) {
      el.scrollTop = Math.max(0, divider.offsetTop - el.clientHeight * 0.25);
    } else {
      el.scrollTop = el.scrollHeight;
    }
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    markVisible();
  });

  // Later updates: keep the view still when older events come in above, and
  // follow new events when the person was at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || placed.current !== room.id) return;
    const first = events[0]?.seq;
    if (first !== undefined && firstSeqSeen.current !== undefined && first < firstSeqSeen.current) {
      el.scrollTop = topBefore.current + (el.scrollHeight - heightBefore.current);
    } else if (atBottom.current && !newer) {
      el.scrollTop = el.scrollHeight;
    }
    firstSeqSeen.current = first;
    markVisible();
  }, [events, pending.length]);

  useEffect(() => {
    const again = () => markVisible();
    globalThis.addEventListener('focus', again);
    document.addEventListener('visibilitychange', again);
    return () => {
      globalThis.removeEventListener('focus', again);
      document.removeEventListener('visibilitychange', again);
    };
  }, [markVisible]);

  const ticking = useRef(false);
  const onScroll = () => {
    if (ticking.current) return;
    ticking.current = true;
    requestAnimationFrame(() => {
      ticking.current = false;
      const el = scroller.current;
      if (!el) return;
      atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      if (el.scrollTop < EDGE_PX && older && !view.loadingOlder) void store.loadOlder(room.id);
      if (el.scrollHeight - el.scrollTop - el.clientHeight < EDGE_PX && newer && !view.loadingNewer) {
        void store.loadNewer(room.id);
      }
      markVisible();
    });
  };

  const dividerAfter = view.dividerSeq;
  const items: preact.JSX.Element[] = [];
  let prev: ChatEvent | undefined;
  let dividerShown = !(dividerAfter !== null && events.length > 0 && events[0]!.seq <= dividerAfter + 1);
  // The divider goes before the first new *message*: someone joining is not
  // what the person needs to catch up on.
  const firstNew =
    dividerAfter === null ? undefined : events.find((e) => e.seq > dividerAfter && e.content.kind === 'message')?.seq;
  if (firstNew === undefined) dividerShown = true;
  // "Sent" shows under my newest acknowledged message only, not under every one.
  let lastSent = -1;
  for (const e of events) if (e.sender.id === store.me.id && e.client_id && sentIds.has(e.client_id)) lastSent = e.seq;
  for (const e of events) {
    // Edits, deletes, reactions and answers change other messages; history
    // already shows their result (live application comes with the UI for them).
    if (isChange(e.content)) continue;
    if (!prev || dayKey(prev.ts) !== dayKey(e.ts)) {
      items.push(
        <li key={`day-${e.seq}`} class="day-sep" role="separator" aria-label={dayLabel(e.ts)}>
          <span>{dayLabel(e.ts)}</span>
        </li>,
      );
      prev = undefined;
    }
    if (!dividerShown && e.seq === firstNew) {
      dividerShown = true;
      items.push(
        <li key="new-divider" class="new-divider" role="separator" aria-label="New since you were away" data-testid="new-divider">
          <span>New since you were away</span>
        </li>,
      );
      prev = undefined;
    }
    items.push(
      <EventItem
        key={`e-${e.seq}`}
        event={e}
        grouped={isGrouped(prev, e)}
        me={store.me.id}
        myName={store.me.username}
        sent={e.seq === lastSent}
      />,
    );
    prev = e;
  }
  for (const p of pending) {
    items.push(<PendingItem key={`p-${p.client_id}`} item={p} store={store} />);
  }

  return (
    <div class="timeline" ref={scroller} onScroll={onScroll} tabIndex={0} role="region" aria-label="Messages">
      {older && (
        <div class="load-edge" aria-live="polite">
          {view.loadingOlder ? 'Loading earlier messages…' : ''}
          {!view.loadingOlder && (
            <button type="button" class="btn link" onClick={() => void store.loadOlder(room.id)}>
              Load earlier messages
            </button>
          )}
        </div>
      )}
      {!older && events.length > 0 && <p class="timeline-start muted small">This is the beginning of the conversation.</p>}
      <ol class="events" data-testid="timeline">
        {items}
      </ol>
      {newer && (
        <div class="load-edge">
          {view.loadingNewer ? (
            'Loading newer messages…'
          ) : (
            <button type="button" class="btn link" onClick={() => void store.loadNewer(room.id)}>
              Load newer messages
            </button>
          )}
        </div>
      )}
    </div>
  );
}

function isGrouped(prev: ChatEvent | undefined, e: ChatEvent): boolean {
  return (
    !!prev &&
    prev.content.kind === 'message' &&
    e.content.kind === 'message' &&
    prev.sender.id === e.sender.id &&
    e.ts - prev.ts < GROUP_MS
  );
}

interface EventProps {
  event: ChatEvent;
  grouped: boolean;
  me: string;
  myName: string;
  sent: boolean;
}

function EventItem({ event: e, grouped, me, myName, sent }: EventProps) {
  if (e.content.kind !== 'message') {
    return (
      <li class="sys-line" data-seq={e.seq}>
        <span>{describe(e)}</span>
        <time dateTime={new Date(e.ts).toISOString()} title={fullTime(e.ts)}>
          {timeOf(e.ts)}
        </time>
      </li>
    );
  }
  const mine = e.sender.id === me;
  const mentioned = !mine && mentions(e.content.body, myName);
  const name = e.sender.display_name || e.sender.username;
  return (
    <li
      class={`msg${grouped ? ' grouped' : ''}${mentioned ? ' mentions-me' : ''}${mine ? ' mine' : ''}`}
      data-seq={e.seq}
      data-testid="message"
    >
      {grouped ? (
        <time class="gutter-time" dateTime={new Date(e.ts).toISOString()} title={fullTime(e.ts)}>
          {timeOf(e.ts)}
        </time>
      ) : (
        <span class="avatar" aria-hidden="true">
          {initials(name)}
        </span>
      )}
      <div class="msg-main">
        {grouped ? (
          <span class="sr-only">{name}: </span>
        ) : (
          <div class="msg-head">
            <span class="sender">{name}</span>
            <time dateTime={new Date(e.ts).toISOString()} title={fullTime(e.ts)}>
              {timeOf(e.ts)}
            </time>
            {mentioned && <span class="tag mention">Mentions you</span>}
          </div>
        )}
        <div class="msg-text" data-testid="message-text">
          {e.state?.deleted ? (
            <span class="muted">(message deleted)</span>
          ) : (
            <MessageText body={e.content.body} />
          )}
          {e.state?.edited_at && !e.state.deleted && <span class="muted small"> (edited)</span>}
        </div>
        {mine && sent && (
          <div class="msg-status sent" data-status="sent">
            Sent
          </div>
        )}
      </div>
    </li>
  );
}

function PendingItem({ item, store }: { item: OutboxItem; store: ChatStore }) {
  const name = store.me.display_name || store.me.username;
  return (
    <li class={`msg mine pending ${item.status}`} data-testid="message" data-client-id={item.client_id}>
      <span class="avatar" aria-hidden="true">
        {initials(name)}
      </span>
      <div class="msg-main">
        <div class="msg-head">
          <span class="sender">{name}</span>
        </div>
        <div class="msg-text" data-testid="message-text">
          <MessageText body={item.body} />
        </div>
        {item.status === 'sending' ? (
          <div class="msg-status" data-status="sending" role="status">
            Sending…
          </div>
        ) : (
          <div class="msg-status failed" data-status="failed" role="alert">
            <span>Failed{item.error ? ` (${item.error})` : ''} — </span>
            <button type="button" class="btn link" onClick={() => store.retry(item.client_id)}>
              Retry
            </button>
            <button type="button" class="btn link" onClick={() => store.discard(item.client_id)}>
              Discard
            </button>
          </div>
        )}
      </div>
    </li>
  );
}
