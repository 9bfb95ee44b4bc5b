// The FAQ view (`#/faq`, issue 15) and the two FAQ actions on a question in
// a timeline: "Publish to FAQ" (transformation team, answered questions) and
// "Answer with FAQ…" (whoever may answer, open questions). Publishing copies
// the question and its answer for the whole organisation to read; the
// dialog says so before anything is sent.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ChatStore } from '../store';
import type { FaqEntry, RoomId, RoomSeq } from '../protocol';
import { FaqData, answerWithFaq, faqEntryHref, parseTags, publishToFaq } from '../faq';
import { roomHref, route } from '../router';
import { MessageText } from './MessageText';
import { Modal } from './Modal';
import { fullTime } from './format';

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function FaqView({ store }: { store: ChatStore }) {
  const data = useMemo(() => new FaqData((f) => store.conn.request(f)), [store]);
  const [q, setQ] = useState('');
  const [tag, setTag] = useState<string | null>(null);
  const r = route.value;
  const focusId = r.name === 'faq' ? r.id : undefined;
  useEffect(() => {
    const t = setTimeout(() => void data.load(q, tag), q ? 200 : 0);
    return () => clearTimeout(t);
  }, [data, q, tag]);
  useEffect(() => {
    if (focusId === undefined) return;
    document.getElementById(`faq-${focusId}`)?.scrollIntoView({ block: 'center' });
  }, [focusId, data.entries.value]);
  const entries = data.entries.value;
  return (
    <section class="page faq-view" aria-labelledby="faq-title">
      <h1 id="faq-title">FAQ</h1>
      <p class="muted">Answered questions the transformation team published for everyone.</p>
      <form class="faq-search" role="search" onSubmit={(e) => e.preventDefault()}>
        <label for="faq-q">Search the FAQ</label>{' '}
        <input
          id="faq-q"
          type="search"
          data-testid="faq-search"
          value={q}
          maxLength={200}
          placeholder="e.g. bonus 2027"
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </form>
      {data.tags.value.length > 0 && (
        <div class="faq-tags" role="group" aria-label="Topics">
          {data.tags.value.map((t) => (
            <button
              key={t.tag}
              type="button"
              class={`chip${tag === t.tag ? ' active' : ''}`}
              aria-pressed={tag === t.tag}
              data-testid="faq-tag"
              onClick={() => setTag(tag === t.tag ? null : t.tag)}
            >
              {t.tag} <span class="muted">({t.count})</span>
            </button>
          ))}
        </div>
      )}
      {data.error.value && (
        <p class="form-error" role="alert">
          {data.error.value}
        </p>
      )}
      <p class="muted" aria-live="polite" data-testid="faq-count">
        {data.loading.value ? 'Searching…' : `${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}`}
      </p>
      <ul class="faq-entries" data-testid="faq-entries">
        {entries.map((e) => (
          <FaqItem key={e.id} entry={e} data={data} store={store} focused={e.id === focusId} />
        ))}
      </ul>
    </section>
  );
}

function FaqItem({ entry: e, data, store, focused }: { entry: FaqEntry; data: FaqData; store: ChatStore; focused: boolean }) {
  const [error, setError] = useState('');
  const [editing, setEditing] = useState(false);
  const [tagsText, setTagsText] = useState(e.tags.join(', '));
  const team = store.transformationTeam;
  return (
    <li id={`faq-${e.id}`} class={`faq-entry${focused ? ' focused' : ''}`} data-testid="faq-entry">
      <h2 class="faq-question">
        <a href={faqEntryHref(e.id)}>FAQ #{e.id}</a> {e.question}
      </h2>
      <div class="faq-answer">
        <MessageText body={e.answer} me={store.me.username} />
      </div>
      {e.tags.length > 0 && (
        <ul class="faq-entry-tags" aria-label="Topics">
          {e.tags.map((t) => (
            <li key={t} class="chip small">
              {t}
            </li>
          ))}
        </ul>
      )}
      <p class="muted small">
        Published by {e.published_by.display_name} · {fullTime(e.published_at)}
        {e.room && e.room_name && (
          <>
            {' '}
            · from <a href={roomHref(e.room, e.seq)}>#{e.room_name}</a>
          </>
        )}
      </p>
      {team && !editing && (
        <div class="row">
          <button type="button" class="btn subtle" onClick={() => setEditing(true)}>
            Edit topics
          </button>
          <button
            type="button"
            class="btn subtle danger"
            onClick={() => data.unpublish(e.id).catch((err: unknown) => setError(errorText(err)))}
          >
            Unpublish
          </button>
        </div>
      )}
      {team && editing && (
        <form
          class="row"
          onSubmit={(ev) => {
            ev.preventDefault();
            const parsed = parseTags(tagsText);
            if (parsed.error) return setError(parsed.error);
            data.retag(e.id, parsed.tags).then(
              () => {
                setEditing(false);
                setError('');
              },
              (err: unknown) => setError(errorText(err)),
            );
          }}
        >
          <label class="field">
            <span>Topics (comma-separated)</span>
            <input value={tagsText} onInput={(ev) => setTagsText(ev.currentTarget.value)} />
          </label>
          <button type="submit" class="btn primary">
            Save
          </button>
          <button type="button" class="btn" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

/** "Publish to FAQ" on an answered question (transformation team). */
export function FaqPublishButton({ store, room, seq }: { store: ChatStore; room: RoomId; seq: RoomSeq }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="btn subtle act" data-action="faq-publish" onClick={() => setOpen(true)}>
        Publish to FAQ
      </button>
      {open && <PublishDialog store={store} room={room} seq={seq} onClose={() => setOpen(false)} />}
    </>
  );
}

function PublishDialog({ store, room, seq, onClose }: { store: ChatStore; room: RoomId; seq: RoomSeq; onClose: () => void }) {
  const [tagsText, setTagsText] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<FaqEntry | null>(null);
  return (
    <Modal title="Publish to the FAQ" onClose={onClose}>
      {done ? (
        <div class="stack">
          <p role="status" data-testid="faq-published">
            Published as <a href={faqEntryHref(done.id)}>FAQ #{done.id}</a>.
          </p>
          <div class="row end">
            <button type="button" class="btn primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form
          class="stack"
          onSubmit={(e) => {
            e.preventDefault();
            const parsed = parseTags(tagsText);
            if (parsed.error) return setError(parsed.error);
            setBusy(true);
            publishToFaq((f) => store.conn.request(f), room, seq, parsed.tags).then(
              (entry) => setDone(entry),
              (err: unknown) => {
                setError(errorText(err));
                setBusy(false);
              },
            );
          }}
        >
          <p>
            The question and its answer are copied to the FAQ, where <strong>everyone in the organisation</strong> can read
            them. The asker is not named.
          </p>
          <label class="field">
            <span>Topics (comma-separated, optional)</span>
            <input
              data-testid="faq-tags-input"
              value={tagsText}
              placeholder="e.g. pay, office move"
              onInput={(e) => setTagsText(e.currentTarget.value)}
            />
          </label>
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          <div class="row end">
            <button type="button" class="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" class="btn primary" disabled={busy}>
              Publish
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}

/** "Answer with FAQ…" on an open question (whoever may answer it). */
export function FaqAnswerButton({ store, room, seq }: { store: ChatStore; room: RoomId; seq: RoomSeq }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="btn subtle act" data-action="faq-answer" onClick={() => setOpen(true)}>
        Answer with FAQ…
      </button>
      {open && <AnswerDialog store={store} room={room} seq={seq} onClose={() => setOpen(false)} />}
    </>
  );
}

function AnswerDialog({ store, room, seq, onClose }: { store: ChatStore; room: RoomId; seq: RoomSeq; onClose: () => void }) {
  const data = useMemo(() => new FaqData((f) => store.conn.request(f)), [store]);
  const [q, setQ] = useState('');
  const [error, setError] = useState('');
  useEffect(() => {
    const t = setTimeout(() => void data.load(q, null), q ? 200 : 0);
    return () => clearTimeout(t);
  }, [data, q]);
  return (
    <Modal title="Answer with an FAQ entry" onClose={onClose}>
      <label class="field">
        <span>Find the entry</span>
        <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      </label>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <ul class="faq-pick">
        {data.entries.value.slice(0, 20).map((e) => (
          <li key={e.id}>
            <button
              type="button"
              class="btn"
              onClick={() =>
                answerWithFaq((f) => store.conn.request(f), room, seq, e.id).then(onClose, (err: unknown) =>
                  setError(errorText(err)),
                )
              }
            >
              FAQ #{e.id}: {e.question}
            </button>
          </li>
        ))}
      </ul>
    </Modal>
  );
}
