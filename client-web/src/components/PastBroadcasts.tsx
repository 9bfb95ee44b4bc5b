// "Past broadcasts": the broadcasts I received, newest first, with where I
// stand with each (confirmed, or a button when the sender asked for it).
// A page of 20 at a time from `received_broadcasts`; "Show older" goes on.

import { useEffect, useState } from 'preact/hooks';
import type { ReceivedBroadcast, ServerFrame } from '../protocol';
import type { ChatStore } from '../store';
import { roomTitle } from '../store';
import { roomHref } from '../router';
import { MessageText } from './MessageText';
import { dateTimeOf, fullTime } from './format';

type Page = Extract<ServerFrame, { type: 'received_broadcasts' }>;

export function PastBroadcasts({ store }: { store: ChatStore }) {
  const [items, setItems] = useState<readonly ReceivedBroadcast[] | null>(null);
  const [before, setBefore] = useState<string | undefined>(undefined);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const load = async (from?: string) => {
    setBusy(true);
    setError('');
    try {
      const r = await store.conn.request<Page>({ type: 'received_broadcasts', ...(from ? { before: from } : {}) });
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

  const acknowledge = (id: string) => {
    store.acknowledge(id);
    const now = Date.now();
    setItems((old) => old?.map((b) => (b.broadcast === id ? { ...b, acknowledged_at: now } : b)) ?? null);
  };

  return (
    <section class="questions-page" aria-labelledby="past-broadcasts-title" data-testid="past-broadcasts">
      <h1 id="past-broadcasts-title">Past broadcasts</h1>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!items ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 && !before ? (
        <p class="muted">No broadcasts yet.</p>
      ) : (
        <ul class="pinned-list">
          {items.map((b) => (
            <PastItem key={b.broadcast} store={store} item={b} onAcknowledge={acknowledge} />
          ))}
        </ul>
      )}
      {before && (
        <button type="button" class="btn subtle" disabled={busy} onClick={() => void load(before)}>
          Show older
        </button>
      )}
    </section>
  );
}

function PastItem({
  store,
  item,
  onAcknowledge,
}: {
  store: ChatStore;
  item: ReceivedBroadcast;
  onAcknowledge: (id: string) => void;
}) {
  const name = item.sender.display_name || item.sender.username;
  const r = store.rooms.value.get(item.room);
  const state = !item.ack_requested ? 'info' : item.acknowledged_at ? 'acknowledged' : 'pending';
  // A reminder received for it (live or in a catch-up), while it still waits.
  const reminded = store.reminders.received.value.get(item.broadcast);
  return (
    <li class="pinned-item" data-testid="past-broadcast" data-state={state}>
      <div class="broadcast-head">
        <span class="broadcast-tag">Broadcast</span>
        <bdi class="broadcast-sender">{name}</bdi>
        <time dateTime={new Date(item.ts).toISOString()} title={fullTime(item.ts)}>
          {dateTimeOf(item.ts)}
        </time>
        {r?.info && (
          <a class="muted small" href={roomHref(item.room, item.seq)}>
            in <bdi>{roomTitle(r)}</bdi>
          </a>
        )}
      </div>
      <div class="broadcast-body">
        <MessageText body={item.body} />
      </div>
      {state === 'acknowledged' ? (
        <p class="muted small">
          You confirmed reading this{' '}
          <time dateTime={new Date(item.acknowledged_at).toISOString()}>{dateTimeOf(item.acknowledged_at)}</time>.
        </p>
      ) : state === 'pending' ? (
        <>
          {reminded && (
            <p class="reminded small" role="note" data-testid="past-reminded">
              Reminder from <bdi>{reminded.by.display_name || reminded.by.username}</bdi>{' '}
              <time dateTime={new Date(reminded.at).toISOString()} title={fullTime(reminded.at)}>
                {dateTimeOf(reminded.at)}
              </time>
              .
            </p>
          )}
          <button
            type="button"
            class="btn primary"
            aria-label={`I have read this: broadcast from ${name}`}
            onClick={() => onAcknowledge(item.broadcast)}
          >
            I have read this
          </button>
        </>
      ) : null}
    </li>
  );
}
