// "Your broadcasts": the broadcasts I sent (leaders and admins), newest
// first, each with its date, a one-line snippet, its reach counts and a
// link to its reach page. A page of 20 at a time from `sent_broadcasts`;
// "Load more" goes on. Shown at `#/reach` and under a broadcast's reach.

import { useEffect, useState } from 'preact/hooks';
import type { SentBroadcast, ServerFrame } from '../protocol';
import type { ChatStore } from '../store';
import { reachLine, snippet } from '../sent';
import { dateTimeOf, fullTime } from './format';
import { reachHref } from './Broadcasts';

type Page = Extract<ServerFrame, { type: 'sent_broadcasts' }>;


export function SentBroadcasts({ store, nested = false }: { store: ChatStore; nested?: boolean }) {
  const [items, setItems] = useState<readonly SentBroadcast[] | null>(null);
  const [before, setBefore] = useState<string | undefined>(undefined);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const load = async (from?: string) => {
    setBusy(true);
    setError('');
    try {
      const r = await store.conn.request<Page>({ type: 'sent_broadcasts', ...(from ? { before: from } : {}) });
      setItems((old) => (from && old ? [...old, ...r.broadcasts] : r.broadcasts));
      setBefore(r.before);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void load();
  }, [store]);

  const Heading = nested ? 'h2' : 'h1';
  return (
    <section class="questions-page" aria-labelledby="sent-broadcasts-title" data-testid="sent-broadcasts">
      <Heading id="sent-broadcasts-title">Your broadcasts</Heading>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!items ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 && !before ? (
        <p class="muted">You have not sent a broadcast yet.</p>
      ) : (
        <ul class="pinned-list">
          {items.map((b) => (
            <li key={b.broadcast} class="pinned-item" data-testid="sent-broadcast">
              <div class="broadcast-head">
                <time dateTime={new Date(b.sent_at).toISOString()} title={fullTime(b.sent_at)}>
                  {dateTimeOf(b.sent_at)}
                </time>
                {b.rooms.length > 0 && (
                  <span class="muted small">
                    to <bdi>{b.rooms.map((r) => r.name || 'a removed room').join(', ')}</bdi>
                  </span>
                )}
              </div>
              <p class="broadcast-body" data-testid="sent-snippet">
                {b.deleted || b.text === undefined ? <em class="muted">Deleted</em> : <bdi>{snippet(b.text)}</bdi>}
              </p>
              <p class="muted small" data-testid="sent-counts">
                {reachLine(b)}
              </p>
              <a class="btn link" href={reachHref(b.broadcast)} data-testid="sent-reach-link">
                See reach<span class="sr-only">: broadcast of {fullTime(b.sent_at)}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {before && (
        <button type="button" class="btn subtle" disabled={busy} onClick={() => void load(before)}>
          Load more
        </button>
      )}
    </section>
  );
}
