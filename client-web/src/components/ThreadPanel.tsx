import { useEffect, useRef, useState } from 'preact/hooks';
import { MAX_BODY_BYTES, type ChatEvent } from '../protocol';
import type { ChatStore } from '../store';
import { utf8Length } from '../text';
import { fullTime, timeOf } from './format';
import { SendIcon } from './Icons';
import { useMentionPicker } from './MentionPicker';
import { MessageText } from './MessageText';
import { AttachButton, AttachmentList, filesOf, PendingUploads, useFileDrop, useUploads } from './Attachments';
import { FollowToggle } from './Votes';
import { Avatar } from './Avatar';
import { PersonName } from './ProfileCard';
import { TeamTag } from './TeamTag';

/**
 * The thread under one message, beside the room: the message, its replies
 * (live), and a composer to reply or ask a question there. In an
 * announce-only room this is where everyone else talks.
 */
export function ThreadPanel({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const t = store.thread.value;
  const listRef = useRef<HTMLOListElement>(null);
  const count = t?.replies.length ?? 0;
  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count]);
  if (!t) return null;
  const pending = store.outbox.value.filter((i) => i.room === t.room && i.thread === t.seq);
  const parent = t.parent;
  const n = parent?.state?.replies ?? t.replies.length;
  return (
    <aside
      class="members-panel thread-panel"
      id="thread-panel"
      aria-labelledby="thread-title"
      data-testid="thread-panel"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !e.defaultPrevented) {
          e.preventDefault();
          onClose();
        }
      }}
    >
      <header class="panel-head">
        <h2 id="thread-title">Thread</h2>
        {parent && !parent.state?.deleted && <FollowToggle store={store} room={t.room} seq={t.seq} />}
        <button type="button" class="icon-btn" aria-label="Close thread" onClick={onClose}>
          <span aria-hidden="true">×</span>
        </button>
      </header>
      {t.status === 'loading' && <p class="muted pad">Loading…</p>}
      {t.status === 'error' && (
        <p class="form-error pad" role="alert">
          Could not load the thread: {t.error}
        </p>
      )}
      {parent && (
        <div class="thread-body">
          <div class="thread-parent" data-testid="thread-parent">
            <ThreadMessage event={parent} token={store.token} />
          </div>
          <p class="thread-count muted small" data-testid="thread-count">
            {n === 0 ? 'No replies yet' : n === 1 ? '1 reply' : `${n} replies`}
          </p>
          <ol class="thread-replies" ref={listRef} aria-label="Replies" data-testid="thread-replies">
            {t.replies.map((r) => (
              <li key={r.seq} class="thread-reply" data-testid="thread-reply" data-seq={r.seq}>
                <ThreadMessage event={r} token={store.token} />
              </li>
            ))}
            {pending.map((p) => (
              <li key={p.client_id} class="thread-reply pending" data-testid="thread-reply">
                <div class="thread-msg">
                  <bdi class="sender">{store.me.display_name || store.me.username}</bdi>
                  <div class="msg-text">
                    <MessageText body={p.body} />
                  </div>
                  {p.status === 'sending' ? (
                    <div class="msg-status" role="status">
                      Sending…
                    </div>
                  ) : (
                    <div class="msg-status failed" role="alert">
                      <span>Failed{p.error ? ` (${p.error})` : ''} — </span>
                      <button type="button" class="btn link" onClick={() => store.retry(p.client_id)}>
                        Retry
                      </button>
                      <button type="button" class="btn link" onClick={() => store.discard(p.client_id)}>
                        Discard
                      </button>
                    </div>
                  )}
                </div>
              </li>
            ))}
          </ol>
          {t.hasMore && (
            <button type="button" class="btn link" onClick={() => void store.loadMoreReplies()}>
              Load more replies
            </button>
          )}
          {!parent.state?.deleted && !store.rooms.value.get(t.room)?.info?.archived && (
            <ThreadComposer store={store} room={t.room} seq={t.seq} />
          )}
        </div>
      )}
    </aside>
  );
}

function ThreadMessage({ event: e, token }: { event: ChatEvent; token?: string }) {
  const name = e.sender.display_name || e.sender.username;
  const c = e.content;
  const body = c.kind === 'message' || c.kind === 'broadcast' ? c.body : '';
  const deleted = !!e.state?.deleted;
  const question = c.kind === 'message' && !!c.question;
  const answered = question && e.state?.answer !== undefined;
  return (
    <div class="thread-msg">
      <div class="msg-head">
        <Avatar user={e.sender} name={name} size="small" />
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
        {c.kind === 'broadcast' && <span class="broadcast-tag">Broadcast</span>}
        {question && !deleted && <span class="tag question">Question</span>}
        {answered && !deleted && <span class="tag answered">Answered</span>}
      </div>
      <div class="msg-text" data-testid="thread-text">
        {deleted ? <span class="muted">(message deleted)</span> : <MessageText body={body} />}
        {e.state?.edited_at && !deleted && <span class="muted small"> (edited)</span>}
      </div>
      {token && !deleted && c.kind === 'message' && c.attachments?.length ? (
        <AttachmentList token={token} attachments={c.attachments} />
      ) : null}
    </div>
  );
}

/** Reply in the thread; Enter sends, Shift+Enter is a new line. Files come
 * by button, drag-and-drop or paste, as in the room's composer. */
function ThreadComposer({ store, room, seq }: { store: ChatStore; room: string; seq: number }) {
  const [text, setText] = useState('');
  const [question, setQuestion] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const uploads = useUploads(store.token);
  const drop = useFileDrop(uploads);
  const files = uploads.ready;
  useEffect(() => {
    setText('');
    setQuestion(false);
    uploads.clear();
    ref.current?.focus();
  }, [room, seq]);
  const tooLong = utf8Length(text) > MAX_BODY_BYTES;
  const mention = useMentionPicker(store, room, ref, setText);
  const empty = !text.trim() && files.length === 0;
  const submit = () => {
    const body = text.trim();
    if (empty || tooLong || uploads.busy) return;
    store.sendMessage(room, body, {
      thread: seq,
      ...(question ? { question: true } : {}),
      ...(files.length ? { attachments: files } : {}),
    });
    setText('');
    setQuestion(false);
    uploads.clear();
  };
  return (
    <form
      class={`composer thread-composer${drop.dragging ? ' dragging' : ''}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      {...drop.handlers}
    >
      <PendingUploads uploads={uploads} />
      {tooLong && (
        <p class="composer-note error" role="alert">
          This reply is too long to send.
        </p>
      )}
      <div class="composer-row">
        {mention.popup}
        <AttachButton onFiles={uploads.add} />
        <textarea
          {...mention.inputProps}
          ref={ref}
          rows={2}
          value={text}
          aria-label="Reply in thread"
          placeholder="Reply in thread"
          data-testid="thread-composer"
          onInput={(e) => {
            setText(e.currentTarget.value);
            mention.update();
            if (e.currentTarget.value.trim()) store.notifyTyping(room);
          }}
          onKeyDown={(e) => {
            if (mention.onKeyDown(e)) return;
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
          onPaste={(e) => {
            const pasted = filesOf(e.clipboardData);
            if (pasted.length === 0) return;
            e.preventDefault();
            uploads.add(pasted);
          }}
        />
        <button
          type="submit"
          class="btn primary send"
          aria-label={question ? 'Send question' : 'Send reply'}
          disabled={empty || tooLong || uploads.busy}
        >
          <SendIcon />
        </button>
      </div>
      <label class="question-toggle">
        <input type="checkbox" checked={question} onChange={(e) => setQuestion(e.currentTarget.checked)} data-testid="thread-ask-question" />
        Ask as a question
      </label>
    </form>
  );
}
