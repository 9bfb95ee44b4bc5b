// Anonymous questions in the web client: the "Ask anonymously" choice of the
// composer, my anonymous questions with their status, the settings (room
// owners, admins), and the transformation team's moderation queue. Nothing
// here ever has, or shows, who asked.

import { useState } from 'preact/hooks';
import type { ChatStore } from '../store';
import type { AnonQuestion, RoomId } from '../protocol';
import { statusText } from '../anon';
import { roomHref } from '../router';
import { fullTime } from './format';

export const anonymousHref = '#/anonymous';

/** The composer's choice; shown only where the room takes anonymous questions. */
export function AnonymousToggle({
  store,
  roomId,
  checked,
  onChange,
}: {
  store: ChatStore;
  roomId: RoomId;
  checked: boolean;
  onChange: (on: boolean) => void;
}) {
  if (!store.anon.allowedIn(roomId)) return null;
  return (
    <label class="question-toggle" title="Nobody, not even admins, will see that you asked. The transformation team reviews it first.">
      <input
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange(e.currentTarget.checked)}
        data-testid="ask-anonymously"
      />
      Ask anonymously
    </label>
  );
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function MyQuestion({ store, q }: { store: ChatStore; q: AnonQuestion }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(q.body);
  const [error, setError] = useState('');
  const live = q.status.state === 'pending' || q.status.state === 'approved';
  const seq =
    q.status.state === 'approved' || q.status.state === 'answered'
      ? q.status.seq
      : q.status.state === 'merged'
        ? q.status.into
        : undefined;
  return (
    <li class={`anon-item anon-${q.status.state}`} data-testid="my-anon-question">
      <div class="anon-head">
        <span class="muted small">
          {q.room_name} · {fullTime(q.asked_at)}
          {q.edited ? ' · edited' : ''}
        </span>
        <span class="anon-status" data-testid="anon-status">
          {statusText(q)}
        </span>
      </div>
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            store.anon.edit(q.id, text.trim()).then(
              () => setEditing(false),
              (err: unknown) => setError(errorText(err)),
            );
          }}
        >
          <textarea value={text} aria-label="Question" onInput={(e) => setText(e.currentTarget.value)} />
          <button type="submit" class="btn primary" disabled={!text.trim()}>
            Save
          </button>
          <button type="button" class="btn" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <p class="anon-body">{q.body || <em class="muted">(withdrawn)</em>}</p>
      )}
      <div class="anon-actions">
        {seq !== undefined && (
          <a href={roomHref(q.room, seq)} class="btn small">
            {q.status.state === 'merged' ? 'See the question it was merged into' : 'See in the room'}
          </a>
        )}
        {live && !editing && (
          <>
            <button type="button" class="btn small" onClick={() => setEditing(true)}>
              Edit
            </button>
            <button
              type="button"
              class="btn small"
              onClick={() => store.anon.withdraw(q.id).catch((err: unknown) => setError(errorText(err)))}
            >
              Withdraw
            </button>
          </>
        )}
      </div>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

function QueueItem({ store, q }: { store: ChatStore; q: AnonQuestion }) {
  const [reason, setReason] = useState('');
  const [into, setInto] = useState('');
  const [error, setError] = useState('');
  const act = (p: Promise<void>) => p.catch((err: unknown) => setError(errorText(err)));
  return (
    <li class="anon-item" data-testid="moderation-item">
      <div class="anon-head">
        <span class="muted small">
          {q.room_name} · {fullTime(q.asked_at)}
          {q.edited ? ' · edited' : ''}
        </span>
        <span class="anon-status">Anonymous</span>
      </div>
      <p class="anon-body">{q.body}</p>
      <div class="anon-actions">
        <button
          type="button"
          class="btn primary small"
          data-testid="approve"
          onClick={() => act(store.anon.moderate(q.id, { kind: 'approve' }))}
        >
          Approve
        </button>
        <input
          class="input small"
          value={reason}
          placeholder="Reason the asker will see"
          aria-label="Reason for rejecting"
          onInput={(e) => setReason(e.currentTarget.value)}
          data-testid="reject-reason"
        />
        <button
          type="button"
          class="btn small"
          disabled={!reason.trim()}
          data-testid="reject"
          onClick={() => act(store.anon.moderate(q.id, { kind: 'reject', reason: reason.trim() }))}
        >
          Reject
        </button>
        <input
          class="input small"
          value={into}
          inputMode="numeric"
          placeholder="Question #"
          aria-label="Merge into question number"
          onInput={(e) => setInto(e.currentTarget.value)}
        />
        <button
          type="button"
          class="btn small"
          disabled={!/^\d+$/.test(into)}
          onClick={() => act(store.anon.moderate(q.id, { kind: 'merge', into: Number(into) }))}
        >
          Merge
        </button>
      </div>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

function Settings({ store }: { store: ChatStore }) {
  const owned = store.roomList.value.filter((r) => r.info?.kind === 'room' && (r.info.my_role === 'owner' || store.me.role === 'admin'));
  const [error, setError] = useState('');
  if (owned.length === 0 && store.me.role !== 'admin') return null;
  const set = (room: RoomId | undefined, on: boolean) =>
    store.anon.setAllowed(room, on).catch((err: unknown) => setError(errorText(err)));
  return (
    <section class="anon-section" aria-labelledby="anon-settings">
      <h2 id="anon-settings">Where anonymous questions are allowed</h2>
      <ul class="anon-settings">
        {store.me.role === 'admin' && (
          <li>
            <label>
              <input type="checkbox" checked={store.anon.org.value} onChange={(e) => set(undefined, e.currentTarget.checked)} />{' '}
              Every room in the organisation
            </label>
          </li>
        )}
        {owned.map((r) => (
          <li key={r.info!.id}>
            <label>
              <input
                type="checkbox"
                checked={store.anon.org.value || store.anon.rooms.value.has(r.info!.id)}
                disabled={store.anon.org.value}
                onChange={(e) => set(r.info!.id, e.currentTarget.checked)}
                data-testid={`allow-anon-${r.info!.name}`}
              />{' '}
              {r.info!.name}
            </label>
          </li>
        ))}
      </ul>
      {error && (
        <p class="error small" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** `#/anonymous`: my anonymous questions, the settings, and the moderation queue. */
export function AnonymousView({ store }: { store: ChatStore }) {
  const mine = store.anon.mine.value;
  const queue = store.anon.queue.value;
  return (
    <div class="page anon-page">
      <h1>Anonymous questions</h1>
      <p class="muted">
        Nobody sees who asked an anonymous question: not the room, not leaders, not admins. The transformation team
        reviews each one before it appears in its room as “Anonymous”.
      </p>
      {store.transformationTeam && (
        <section class="anon-section" aria-labelledby="anon-queue">
          <h2 id="anon-queue">Moderation queue ({queue.length})</h2>
          {queue.length === 0 ? (
            <p class="muted">Nothing waiting.</p>
          ) : (
            <ul class="anon-list">
              {queue.map((q) => (
                <QueueItem key={q.id} store={store} q={q} />
              ))}
            </ul>
          )}
        </section>
      )}
      <section class="anon-section" aria-labelledby="anon-mine">
        <h2 id="anon-mine">My anonymous questions</h2>
        {mine.length === 0 ? (
          <p class="muted">You have not asked any. Tick “Ask anonymously” under a question in a room that allows it.</p>
        ) : (
          <ul class="anon-list">
            {mine.map((q) => (
              <MyQuestion key={`${q.id}-${q.status.state}-${q.body}`} store={store} q={q} />
            ))}
          </ul>
        )}
      </section>
      <Settings store={store} />
    </div>
  );
}
