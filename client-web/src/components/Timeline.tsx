import { BroadcastCard } from './Broadcasts';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { isChange, MAX_BODY_BYTES, REACTIONS, type ChatEvent } from '../protocol';
import type { OutboxItem } from '../storage';
import type { ChatStore, RoomState, RoomView } from '../store';
import { hasOlder, lastSeq as runLast } from '../timeline';
import { mentions, utf8Length } from '../text';
import { dayKey, dayLabel, describe, fullTime, timeOf } from './format';
import { MessageText } from './MessageText';
import { ReplyQuote } from './ReplyQuote';
import { useRovingTimeline } from '../roving';
import { newBelow } from '../catchup';
import { CatchUpBottom, CatchUpTop } from './CatchUp';
import { AttachmentList } from './Attachments';
import { FollowToggle, VoteButton } from './Votes';
import { Avatar } from './Avatar';
import { PersonName } from './ProfileCard';
import { FaqAnswerButton, FaqPublishButton } from './Faq';
import { TeamTag } from './TeamTag';

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
  useRovingTimeline(scroller);
  const atBottom = useRef(true);
  /** The newest seq the person has had in view at the bottom: newer ones are "new below". */
  const [seenSeq, setSeenSeq] = useState(Number.MAX_SAFE_INTEGER);
  const [farFromBottom, setFarFromBottom] = useState(false);
  const [unreadAbove, setUnreadAbove] = useState(false);
  const firstSeqSeen = useRef<number | undefined>(undefined);
  const heightBefore = useRef(0);
  const topBefore = useRef(0);
  const sentIds = store.sentIds.value;
  const events = room.timeline.run;
  // One message at a time is being edited / confirmed for deletion / reacted to.
  const [editing, setEditing] = useState<number | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [picker, setPicker] = useState<number | null>(null);
  /** The question whose answer is being chosen. */
  const [answering, setAnswering] = useState<number | null>(null);
  const [actionError, setActionError] = useState('');
  /** After an inline editor or confirmation closes, focus goes back to the message's actions. */
  const refocus = useRef<{ seq: number; action: string } | null>(null);
  useEffect(() => {
    const r = refocus.current;
    if (!r || editing !== null || confirming !== null) return;
    refocus.current = null;
    const el = scroller.current;
    const item = el?.querySelector<HTMLElement>(`[data-seq="${r.seq}"]`);
    const target = item?.querySelector<HTMLElement>(`[data-action="${r.action}"]`) ?? item?.querySelector<HTMLElement>('[data-action="react"]');
    (target ?? el)?.focus();
  });
  const mayModerate = store.mayModerate(room.id);
  const mayAnswer = store.mayAnswer(room.id);
  const live = view.status === 'ready' && room.info !== undefined;

  useEffect(() => {
    setEditing(null);
    setConfirming(null);
    setPicker(null);
    setAnswering(null);
    setActionError('');
  }, [room.id]);

  const run = (what: string, p: Promise<unknown>, after?: () => void) => {
    setActionError('');
    p.then(
      () => after?.(),
      (err: unknown) => setActionError(`Could not ${what}: ${err instanceof Error ? err.message : String(err)}`),
    );
  };
  const actions: Actions = {
    edit: (seq) => {
      setConfirming(null);
      setPicker(null);
      setEditing(seq);
    },
    saveEdit: (seq, body) =>
      run('save the edit', store.editMessage(room.id, seq, body), () => {
        refocus.current = { seq, action: 'edit' };
        setEditing(null);
      }),
    cancelEdit: () => {
      if (editing !== null) refocus.current = { seq: editing, action: 'edit' };
      setEditing(null);
    },
    askDelete: (seq) => {
      setEditing(null);
      setConfirming(seq);
    },
    confirmDelete: (seq) =>
      run('delete the message', store.deleteMessage(room.id, seq), () => {
        refocus.current = { seq, action: 'none' };
        setConfirming(null);
      }),
    cancelDelete: () => {
      if (confirming !== null) refocus.current = { seq: confirming, action: 'delete' };
      setConfirming(null);
    },
    togglePicker: (seq) => setPicker((p) => (p === seq ? null : seq)),
    react: (seq, emoji, on) => {
      setPicker(null);
      run('react', store.react(room.id, seq, emoji, on));
    },
    openThread: (seq) => void store.openThread(room.id, seq),
    startAnswer: (seq) => setAnswering(seq),
    pickAnswer: (seq) => {
      const q = answering;
      if (q === null) return;
      run('mark the answer', store.markAnswer(room.id, q, seq), () => setAnswering(null));
    },
  };
  const answeringEvent = answering === null ? undefined : events.find((e) => e.seq === answering);
  const answerSeqs = new Set<number>();
  for (const e of events) if (e.content.kind === 'message' && e.state?.answer !== undefined) answerSeqs.add(e.state.answer);
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
    store.markBroadcastsOpened(room.id);
  }, [store, room.id, view.status]);

  // First placement: at the divider when there is one, else at the bottom.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || view.status !== 'ready' || placed.current === room.id) return;
    placed.current = room.id;
    firstSeqSeen.current = events[0]?.seq;
    const target = view.focusSeq !== undefined ? el.querySelector<HTMLElement>(`[data-seq="${view.focusSeq}"]`) : null;
    const divider = el.querySelector<HTMLElement>('.new-divider');
    if (target) {
      el.scrollTop = Math.max(0, target.offsetTop - el.clientHeight * 0.25);
      target.focus({ preventScroll: true });
    } else if (divider) {
      el.scrollTop = Math.max(0, divider.offsetTop - el.clientHeight * 0.25);
    } else {
      el.scrollTop = el.scrollHeight;
    }
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    setSeenSeq(events[events.length - 1]?.seq ?? 0);
    checkEdges();
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
      const last = events[events.length - 1]?.seq ?? 0;
      if (last > seenSeq) setSeenSeq(last);
    }
    firstSeqSeen.current = first;
    markVisible();
  }, [events, pending.length]);

  useEffect(() => {
    const again = () => markVisible();
    globalThis.addEventListener('focus', again);
    document.addEventListener('visibilitychange', again);
    // And once a second: a trigger can be missed (the tab gains focus
    // without a focus event, the layout settles after the first placement
    // with nothing scrolled), and the read marker must then still follow
    // what is on screen. Cheap: a query of the rendered items, and nothing
    // sent unless the marker moves.
    const tick = setInterval(again, 1000);
    return () => {
      globalThis.removeEventListener('focus', again);
      document.removeEventListener('visibilitychange', again);
      clearInterval(tick);
    };
  }, [markVisible]);

  /** Where the view is: far from the bottom, the divider above it, everything below seen. */
  const checkEdges = () => {
    const el = scroller.current;
    if (!el) return;
    const gap = el.scrollHeight - el.scrollTop - el.clientHeight;
    setFarFromBottom(gap > el.clientHeight);
    const divider = el.querySelector<HTMLElement>('.new-divider');
    setUnreadAbove(!!divider && divider.getBoundingClientRect().bottom < el.getBoundingClientRect().top);
    if (gap < 40 && !newer) {
      const last = events[events.length - 1]?.seq ?? 0;
      if (last > seenSeq) setSeenSeq(last);
    }
  };
  const below = newBelow(events, seenSeq, store.me.id, store.me.username);
  const scrollToSeq = (seq: number | null, selector?: string) => {
    const el = scroller.current;
    const target = el?.querySelector<HTMLElement>(selector ?? `[data-seq="${seq}"]`);
    if (!el || !target) return;
    el.scrollTop = Math.max(0, target.offsetTop - el.clientHeight * 0.25);
    if (!selector) target.focus({ preventScroll: true });
  };
  const jumpToLatest = () => {
    const el = scroller.current;
    if (newer) void store.jumpToLatest(room.id);
    else if (el) el.scrollTop = el.scrollHeight;
    setSeenSeq(Math.max(seenSeq, room.lastSeq));
  };

  const ticking = useRef(false);
  const onScroll = () => {
    if (ticking.current) return;
    ticking.current = true;
    requestAnimationFrame(() => {
      ticking.current = false;
      const el = scroller.current;
      if (!el) return;
      atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      checkEdges();
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
  const bySeq = new Map(events.map((e) => [e.seq, e] as const));
  for (const e of events) {
    // Edits, deletes, reactions and answers change other messages; history
    // already shows their result (live application comes with the UI for them).
    if (isChange(e.content)) continue;
    if (!prev || dayKey(prev.ts) !== dayKey(e.ts)) {
      items.push(
        // A list may hold only list items: the separator role goes on the item's content.
        <li key={`day-${e.seq}`} class="day-sep">
          <span role="separator" aria-label={dayLabel(e.ts)}>
            {dayLabel(e.ts)}
          </span>
        </li>,
      );
      prev = undefined;
    }
    if (!dividerShown && e.seq === firstNew) {
      dividerShown = true;
      items.push(
        <li key="new-divider" class="new-divider" data-testid="new-divider">
          <span role="separator" aria-label="New since you were away">
            New since you were away
          </span>
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
        live={live}
        mayModerate={mayModerate}
        mayAnswer={mayAnswer}
        editing={editing === e.seq}
        confirming={confirming === e.seq}
        picker={picker === e.seq}
        answering={answering}
        isAnswer={answerSeqs.has(e.seq)}
        focused={view.focusSeq === e.seq}
        parent={e.content.kind === 'message' && e.content.thread !== undefined ? bySeq.get(e.content.thread) : undefined}
        actions={actions}
        store={store}
      />,
    );
    prev = e;
  }
  for (const p of pending) {
    items.push(<PendingItem key={`p-${p.client_id}`} item={p} store={store} />);
  }

  return (
    <div class="timeline" ref={scroller} onScroll={onScroll} tabIndex={0} role="region" aria-label="Messages">
      {answering !== null && (
        <div class="answer-banner" role="status" data-testid="answer-banner">
          <span>
            Choose the message that answers
            {answeringEvent && answeringEvent.content.kind === 'message' ? ` “${clip(answeringEvent.content.body)}”` : ' the question'}
            : use “Mark as answer” on it.
          </span>
          <button type="button" class="btn link" onClick={() => setAnswering(null)}>
            Cancel
          </button>
        </div>
      )}
      {actionError && (
        <div class="action-error" role="alert">
          <span>{actionError}</span>
          <button type="button" class="btn link" onClick={() => setActionError('')}>
            Dismiss
          </button>
        </div>
      )}
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
      <CatchUpTop unreadAbove={unreadAbove} onFirstUnread={() => scrollToSeq(null, '.new-divider')} />
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
      <CatchUpBottom
        below={below}
        awayFromBottom={farFromBottom || newer}
        onBelow={() => scrollToSeq(below.firstSeq)}
        onLatest={jumpToLatest}
      />
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

interface Actions {
  edit: (seq: number) => void;
  saveEdit: (seq: number, body: string) => void;
  cancelEdit: () => void;
  askDelete: (seq: number) => void;
  confirmDelete: (seq: number) => void;
  cancelDelete: () => void;
  togglePicker: (seq: number) => void;
  react: (seq: number, emoji: string, on: boolean) => void;
  /** Open the thread under this message (a reply: its parent's). */
  openThread: (seq: number) => void;
  startAnswer: (seq: number) => void;
  pickAnswer: (seq: number) => void;
}

interface EventProps {
  event: ChatEvent;
  grouped: boolean;
  me: string;
  myName: string;
  sent: boolean;
  /** Actions are offered (the room is mine and loaded). */
  live: boolean;
  mayModerate: boolean;
  mayAnswer: boolean;
  editing: boolean;
  confirming: boolean;
  picker: boolean;
  /** Seq of the question whose answer is being chosen, if any. */
  answering: number | null;
  /** Some question names this message as its answer. */
  isAnswer: boolean;
  /** The message a link pointed at. */
  focused: boolean;
  /** For a thread reply: the message it replies to, when loaded. */
  parent?: ChatEvent | undefined;
  actions: Actions;
  store: ChatStore;
}

function clip(s: string, n = 80): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function EventItem(p: EventProps) {
  const { event: e, grouped, me, myName, sent, actions } = p;
  if (e.content.kind === 'broadcast') {
    return <BroadcastCard event={e} mine={e.sender.id === me} onThread={p.live ? () => actions.openThread(e.seq) : undefined} />;
  }
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
  const deleted = !!e.state?.deleted;
  const mentioned = !mine && !deleted && mentions(e.content.body, myName);
  const name = e.sender.display_name || e.sender.username;
  const question = !!e.content.question;
  const answered = question && e.state?.answer !== undefined;
  // The server lists the first REACTORS_LISTED people per emoji and counts the rest.
  const reactions = Object.entries(e.state?.reactions ?? {})
    .map(([emoji, who]) => [emoji, who, who.length + (e.state?.reactions_more?.[emoji] ?? 0)] as const)
    .filter(([, , count]) => count > 0);
  // An archived room is read-only: no reactions, edits, deletes or replies.
  const canAct = p.live && !deleted && !p.store.rooms.value.get(e.room)?.info?.archived;
  const canDelete = canAct && (mine || p.mayModerate);
  const choosing = p.answering !== null && p.answering !== e.seq && canAct;
  const inThread = e.content.thread;
  const replies = e.state?.replies ?? 0;
  return (
    <li
      class={`msg${grouped ? ' grouped' : ''}${mentioned ? ' mentions-me' : ''}${mine ? ' mine' : ''}${question ? ' question' : ''}${
        p.answering === e.seq ? ' answering' : ''
      }${p.focused ? ' focused' : ''}`}
      data-seq={e.seq}
      tabIndex={p.focused ? -1 : undefined}
      onKeyDown={(ev) => {
        if (ev.key !== 'Escape' || ev.defaultPrevented) return;
        if (p.picker) {
          ev.preventDefault();
          actions.togglePicker(e.seq);
          (ev.currentTarget as HTMLElement).querySelector<HTMLElement>('[data-action="react"]')?.focus();
        } else if (p.confirming) {
          ev.preventDefault();
          actions.cancelDelete();
        }
      }}
      data-testid="message"
    >
      {grouped ? (
        <time class="gutter-time" dateTime={new Date(e.ts).toISOString()} title={fullTime(e.ts)}>
          {timeOf(e.ts)}
        </time>
      ) : (
        <Avatar user={e.sender} name={name} />
      )}
      <div class="msg-main">
        {grouped ? (
          <span class="sr-only">
            <bdi>{name}</bdi>:{' '}
          </span>
        ) : (
          <div class="msg-head">
            <PersonName user={e.sender} name={name} />
            {e.sender.role === 'leader' && (
              <span class="tag leader" data-testid="leader-tag">
                Leader
              </span>
            )}
            <TeamTag user={e.sender} />
            <time dateTime={new Date(e.ts).toISOString()} title={fullTime(e.ts)}>
              {timeOf(e.ts)}
            </time>
            {mentioned && <span class="tag mention">Mentions you</span>}
          </div>
        )}
        {(question || p.isAnswer) && !deleted && (
          <div class="msg-tags">
            {question && (
              <span class="tag question" data-testid="question-badge">
                Question
              </span>
            )}
            {answered && (
              <span class="tag answered" data-testid="answered-badge">
                Answered
              </span>
            )}
            {p.isAnswer && (
              <span class="tag answer" data-testid="answer-badge">
                Answer
              </span>
            )}
            {question && p.live && (
              <span class="q-actions">
                <VoteButton
                  store={p.store}
                  room={e.room}
                  seq={e.seq}
                  stored={e.state?.votes}
                  mine={mine}
                  open={!answered && e.state?.merged_into === undefined}
                />
                <FollowToggle store={p.store} room={e.room} seq={e.seq} />
              </span>
            )}
          </div>
        )}
        {inThread !== undefined && !deleted && <ReplyQuote parent={p.parent} />}
        {p.editing && e.content.kind === 'message' ? (
          <EditBox
            initial={e.content.body}
            onSave={(body) => actions.saveEdit(e.seq, body)}
            onCancel={actions.cancelEdit}
          />
        ) : (
          <div class="msg-text" data-testid="message-text">
            {deleted ? <span class="muted">(message deleted)</span> : <MessageText body={e.content.body} me={myName} collapsible />}
            {e.state?.edited_at && !deleted && (
              <span class="muted small" data-testid="edited-mark">
                {' '}
                (edited)
              </span>
            )}
          </div>
        )}
        {!deleted && e.content.kind === 'message' && e.content.attachments?.length ? (
          <AttachmentList token={p.store.token} attachments={e.content.attachments} />
        ) : null}
        {reactions.length > 0 && (
          <div class="reactions" role="group" aria-label="Reactions">
            {reactions.map(([emoji, who, count]) => {
              const minePressed = who.includes(me);
              return (
                <button
                  key={emoji}
                  type="button"
                  class={`reaction${minePressed ? ' mine' : ''}`}
                  aria-pressed={minePressed}
                  aria-label={`${emoji} ${count}${minePressed ? ', including you' : ''}. ${minePressed ? 'Remove' : 'Add'} reaction`}
                  disabled={!canAct}
                  onClick={() => actions.react(e.seq, emoji, !minePressed)}
                  data-testid="reaction"
                  data-emoji={emoji}
                >
                  <span aria-hidden="true">{emoji}</span>
                  <span class="count" aria-hidden="true">
                    {count}
                  </span>
                </button>
              );
            })}
          </div>
        )}
        {p.picker && canAct && (
          <div class="reaction-picker" role="group" aria-label="Pick a reaction" ref={focusFirstButton}>
            {REACTIONS.map((emoji) => {
              const on = (e.state?.reactions?.[emoji] ?? []).includes(me);
              return (
                <button
                  key={emoji}
                  type="button"
                  class={`reaction-choice${on ? ' mine' : ''}`}
                  aria-pressed={on}
                  aria-label={`React with ${emoji}`}
                  onClick={(ev) => {
                    const li = ev.currentTarget.closest('li');
                    actions.react(e.seq, emoji, !on);
                    li?.querySelector<HTMLElement>('[data-action="react"]')?.focus();
                  }}
                >
                  {emoji}
                </button>
              );
            })}
          </div>
        )}
        {p.confirming && (
          <div class="confirm-row" role="group" aria-label="Confirm deletion">
            <span>Delete this message for everyone?</span>
            <ConfirmButton onClick={() => actions.confirmDelete(e.seq)} />
            <button type="button" class="btn subtle" onClick={actions.cancelDelete}>
              Cancel
            </button>
          </div>
        )}
        {choosing && (
          <div class="answer-pick">
            <button type="button" class="btn primary" onClick={() => actions.pickAnswer(e.seq)}>
              Mark as answer
            </button>
          </div>
        )}
        {inThread !== undefined && p.live && (
          <button
            type="button"
            class="btn link small in-thread"
            data-testid="in-thread"
            aria-label="In a thread: view the thread"
            onClick={() => actions.openThread(inThread)}
          >
            In a thread · View
          </button>
        )}
        {inThread === undefined && replies > 0 && p.live && (
          <button
            type="button"
            class="btn link small thread-link"
            data-testid="thread-link"
            aria-label={`${replies} ${replies === 1 ? 'reply' : 'replies'}: open the thread`}
            onClick={() => actions.openThread(e.seq)}
          >
            {replies === 1 ? '1 reply' : `${replies} replies`}
          </button>
        )}
        {mine && sent && (
          <div class="msg-status sent" data-status="sent">
            Sent
          </div>
        )}
      </div>
      {canAct && !p.editing && (
        <div class="msg-actions" role="group" aria-label={`Actions for message from ${name}`}>
          <button
            type="button"
            class="btn subtle act"
            aria-expanded={p.picker}
            aria-label="Add reaction"
            title="Add reaction"
            data-action="react"
            onClick={() => actions.togglePicker(e.seq)}
          >
            <span aria-hidden="true">☺+</span>
          </button>
          {inThread === undefined && (
            <button type="button" class="btn subtle act" data-action="thread" onClick={() => actions.openThread(e.seq)}>
              Reply
            </button>
          )}
          {mine && (
            <button type="button" class="btn subtle act" data-action="edit" onClick={() => actions.edit(e.seq)}>
              Edit
            </button>
          )}
          {canDelete && (
            <button type="button" class="btn subtle act danger" data-action="delete" onClick={() => actions.askDelete(e.seq)}>
              Delete
            </button>
          )}
          {question && p.mayAnswer && !answered && p.answering === null && (
            <button type="button" class="btn subtle act" onClick={() => actions.startAnswer(e.seq)}>
              Mark answer…
            </button>
          )}
          {question && p.mayAnswer && !answered && p.answering === null && <FaqAnswerButton store={p.store} room={e.room} seq={e.seq} />}
          {question && answered && p.store.transformationTeam && <FaqPublishButton store={p.store} room={e.room} seq={e.seq} />}
        </div>
      )}
    </li>
  );
}

/** Move focus into a popup as it opens (a ref callback runs once per mount). */
function focusFirstButton(el: HTMLElement | null): void {
  if (el && !el.contains(document.activeElement)) el.querySelector<HTMLElement>('button')?.focus();
}

function ConfirmButton({ onClick }: { onClick: () => void }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <button ref={ref} type="button" class="btn danger" onClick={onClick}>
      Delete message
    </button>
  );
}

/** Inline editor: Enter saves, Shift+Enter is a new line, Escape cancels. */
function EditBox({ initial, onSave, onCancel }: { initial: string; onSave: (body: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const body = text.trim();
  const tooLong = utf8Length(text) > MAX_BODY_BYTES;
  const save = () => {
    if (!body || tooLong) return;
    if (body === initial) onCancel();
    else onSave(body);
  };
  return (
    <form
      class="edit-box"
      onSubmit={(ev) => {
        ev.preventDefault();
        save();
      }}
    >
      <textarea
        ref={ref}
        rows={2}
        value={text}
        aria-label="Edit message"
        data-testid="edit-box"
        onInput={(ev) => setText(ev.currentTarget.value)}
        onKeyDown={(ev) => {
          if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
            ev.preventDefault();
            save();
          } else if (ev.key === 'Escape') {
            ev.preventDefault();
            onCancel();
          }
        }}
      />
      {tooLong && (
        <p class="composer-note error" role="alert">
          This message is too long.
        </p>
      )}
      <div class="row">
        <button type="submit" class="btn primary" disabled={!body || tooLong}>
          Save
        </button>
        <button type="button" class="btn subtle" onClick={onCancel}>
          Cancel
        </button>
        <span class="muted small" aria-hidden="true">
          Enter to save · Escape to cancel
        </span>
      </div>
    </form>
  );
}

function PendingItem({ item, store }: { item: OutboxItem; store: ChatStore }) {
  const name = store.me.display_name || store.me.username;
  return (
    <li class={`msg mine pending ${item.status}`} data-testid="message" data-client-id={item.client_id}>
      <Avatar user={store.profile.me.value ?? store.me} name={name} />
      <div class="msg-main">
        <div class="msg-head">
          <bdi class="sender">{name}</bdi>
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
