// Rumour watch in the web client (transformation team): the shared watch
// list (add, remove), my alerts with their context (room, sender, snippet,
// matched phrases) and two actions each (open the message, reply in its
// thread with a link to the official answer), and the weekly counts per
// phrase as a small table with inline bars (no chart library).

import { effect } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import type { ChatStore } from '../store';
import type { WatchAlert } from '../protocol';
import { navigate, roomHref } from '../router';
import { fullTime } from './format';

export const rumoursHref = '#/rumours';

/** Mirrors the server's `MAX_WATCH_PHRASE_CHARS`. */
const MAX_PHRASE_CHARS = 100;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function WatchList({ store }: { store: ChatStore }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const phrases = store.watch.phrases.value;
  return (
    <section class="anon-section" aria-labelledby="watch-list">
      <h2 id="watch-list">Watched words and phrases ({phrases.length})</h2>
      <form
        class="watch-add"
        onSubmit={(e) => {
          e.preventDefault();
          const phrase = text.trim();
          if (!phrase) return;
          setError('');
          store.watch.add(phrase).then(
            () => setText(''),
            (err: unknown) => setError(errorText(err)),
          );
        }}
      >
        <label for="watch-phrase">Add a word or phrase</label>{' '}
        <input
          id="watch-phrase"
          data-testid="watch-phrase"
          value={text}
          maxLength={MAX_PHRASE_CHARS}
          placeholder="e.g. office closing"
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />{' '}
        <button type="submit">Watch</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {phrases.length === 0 ? (
        <p class="muted">Nothing watched yet.</p>
      ) : (
        <ul class="watch-phrases" data-testid="watch-phrases">
          {phrases.map((p) => (
            <li key={p.phrase}>
              <span class="watch-phrase">{p.phrase}</span>{' '}
              <span class="muted">
                added by {p.added_by.display_name}, {fullTime(p.added_at)}
              </span>{' '}
              <button
                type="button"
                aria-label={`Remove ${p.phrase}`}
                onClick={() => store.watch.remove(p.phrase).catch((err: unknown) => setError(errorText(err)))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Resolves once `cond` holds (read from signals), or after `ms`. */
function until(cond: () => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve) => {
    let stop = () => {};
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, ms);
    stop = effect(() => {
      if (!cond()) return;
      clearTimeout(timer);
      queueMicrotask(() => stop());
      resolve();
    });
  });
}

/**
 * Open the message's room, then its thread beside it. A public room the team
 * member reads but is not in is joined first: only members post, and the
 * answer is meant to be seen there anyway.
 */
async function replyInThread(store: ChatStore, a: WatchAlert): Promise<void> {
  if (!store.rooms.value.has(a.room)) await store.join(a.room);
  navigate(roomHref(a.room, a.seq));
  // The room pane closes any open thread when it opens a room: wait for it.
  await until(() => {
    const v = store.view.value;
    return !!v && v.room === a.room && v.status !== 'loading';
  });
  await store.openThread(a.room, a.seq);
}

function Alert({ store, a }: { store: ChatStore; a: WatchAlert }) {
  const open = () => navigate(roomHref(a.room, a.seq));
  return (
    <li class="watch-alert" data-testid="watch-alert">
      <div>
        <strong>{a.phrases.join(', ')}</strong> in <a href={roomHref(a.room, a.seq)}>#{a.room_name}</a>
        <span class="muted">
          {' '}
          · {a.sender.display_name} · {fullTime(a.ts)}
        </span>
      </div>
      {a.deleted ? (
        <p class="muted">
          <em>This message was deleted.</em>
        </p>
      ) : (
        <blockquote class="watch-snippet">{a.snippet}</blockquote>
      )}
      {!a.deleted && (
        <div class="watch-actions">
          <button type="button" onClick={open}>
            Open message
          </button>{' '}
          <button
            type="button"
            data-testid="watch-reply"
            onClick={() => void replyInThread(store, a)}
          >
            Reply in thread
          </button>
        </div>
      )}
    </li>
  );
}

function Counts({ store }: { store: ChatStore }) {
  const weeks = store.watch.weeks.value;
  const rows = store.watch.counts.value;
  const max = Math.max(1, ...rows.flatMap((r) => r.counts));
  if (rows.length === 0) return null;
  return (
    <section class="anon-section" aria-labelledby="watch-counts">
      <h2 id="watch-counts">Matches per week</h2>
      <div class="watch-table-wrap">
        <table class="watch-counts" data-testid="watch-counts">
          <caption class="muted">Room messages matching each phrase, by ISO week (UTC).</caption>
          <thead>
            <tr>
              <th scope="col">Phrase</th>
              {weeks.map((w) => (
                <th scope="col" key={w}>
                  {w.slice(5)}
                </th>
              ))}
              <th scope="col">Total</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.phrase}>
                <th scope="row">{r.phrase}</th>
                {r.counts.map((n, i) => (
                  <td key={weeks[i]} title={`${weeks[i]}: ${n}`}>
                    <span class="watch-bar" style={{ height: `${Math.round((n / max) * 24)}px` }} aria-hidden="true" />
                    <span class="watch-n">{n}</span>
                  </td>
                ))}
                <td>{r.counts.reduce((s, n) => s + n, 0)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** `#/rumours`: the watch list, my alerts and the weekly counts. */
export function RumourWatchView({ store }: { store: ChatStore }) {
  const alerts = store.watch.alerts.value;
  useEffect(() => {
    store.watch.unseen.value = 0;
  }, [store, alerts.length]);
  if (!store.transformationTeam) {
    return (
      <div class="page">
        <h1>Rumour watch</h1>
        <p class="muted">The rumour watch is for the transformation team.</p>
      </div>
    );
  }
  return (
    <div class="page anon-page">
      <h1>Rumour watch</h1>
      <p class="muted">
        Messages in rooms you can read that use a watched word or phrase (any case, any accents) raise an alert here.
        Direct messages are never watched. Answer in the thread with a link to the official answer.
      </p>
      <WatchList store={store} />
      <section class="anon-section" aria-labelledby="watch-alerts" aria-live="polite">
        <h2 id="watch-alerts">Alerts ({alerts.length})</h2>
        {alerts.length === 0 ? (
          <p class="muted">No alerts.</p>
        ) : (
          <ul class="anon-list">
            {alerts.map((a) => (
              <Alert key={`${a.pos}-${a.deleted ? 'd' : ''}`} store={store} a={a} />
            ))}
          </ul>
        )}
      </section>
      <Counts store={store} />
    </div>
  );
}
