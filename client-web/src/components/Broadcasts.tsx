// Broadcasts: the announcement card in a timeline, the pinned "please confirm"
// list, the composer for leaders and admins, and the Reach view.

import { useEffect, useState } from 'preact/hooks';
import type { ChatEvent, PendingAck, ReachCounts, ReachEntry, Reminder, RoomId } from '../protocol';
import { nextReminderAt } from '../reminder';
import type { ChatStore } from '../store';
import { roomTitle } from '../store';
import { navigate, roomHref } from '../router';
import { MessageText } from './MessageText';
import { messageOf } from './MembersPanel';
import { Modal } from './Modal';
import { dateTimeOf, fullTime, timeOf } from './format';

export const reachHref = (id: string) => `#/reach/${encodeURIComponent(id)}`;

/** May post broadcasts (the server's rule). */
export function mayBroadcast(store: ChatStore): boolean {
  return store.me.role === 'leader' || store.me.role === 'admin';
}

/** A `broadcast` event in the timeline: an announcement card. */
export function BroadcastCard({ event: e, mine, onThread }: { event: ChatEvent; mine: boolean; onThread?: (() => void) | undefined }) {
  if (e.content.kind !== 'broadcast') return null;
  const name = e.sender.display_name || e.sender.username;
  const replies = e.state?.replies ?? 0;
  return (
    <li class="broadcast-card" data-seq={e.seq} data-testid="broadcast" tabIndex={-1}>
      <article aria-label={`Broadcast from ${name}`}>
        <header class="broadcast-head">
          <span class="broadcast-tag">Broadcast</span>
          <bdi class="broadcast-sender">{name}</bdi>
          <time dateTime={new Date(e.ts).toISOString()} title={fullTime(e.ts)}>
            {timeOf(e.ts)}
          </time>
        </header>
        <div class="broadcast-body" data-testid="broadcast-text">
          <MessageText body={e.content.body} />
        </div>
        {e.content.ack_requested && <p class="muted small">Readers are asked to confirm they have read this.</p>}
        <div class="broadcast-foot">
          {onThread && (
            <button type="button" class="btn link" data-testid="thread-link" onClick={onThread}>
              {replies === 0 ? 'Reply or ask a question' : replies === 1 ? '1 reply' : `${replies} replies`}
            </button>
          )}
          {mine && (
            <a class="btn link" href={reachHref(e.content.broadcast)}>
              See reach
            </a>
          )}
        </div>
      </article>
    </li>
  );
}

/** Broadcasts waiting for my acknowledgement; `room` limits them to one room. */
export function PinnedAcks({ store, room }: { store: ChatStore; room?: RoomId }) {
  const list = store.pendingAcks.value.filter((p) => room === undefined || p.room === room);
  if (list.length === 0) return null;
  return (
    <section class="pinned-acks" aria-labelledby={`pinned-title-${room ?? 'home'}`} data-testid="pinned-acks">
      <h2 class="section-title" id={`pinned-title-${room ?? 'home'}`}>
        Please confirm you have read this
      </h2>
      <ul class="pinned-list">
        {list.map((p) => (
          <PinnedItem key={p.broadcast} store={store} item={p} showRoom={room === undefined} />
        ))}
      </ul>
    </section>
  );
}

function PinnedItem({ store, item, showRoom }: { store: ChatStore; item: PendingAck; showRoom: boolean }) {
  const name = item.sender.display_name || item.sender.username;
  const r = store.rooms.value.get(item.room);
  const reminded = store.reminders.received.value.get(item.broadcast);
  return (
    <li class={reminded ? 'pinned-item pinned-reminded' : 'pinned-item'} data-testid="pinned-ack">
      <div class="broadcast-head">
        <span class="broadcast-tag">Broadcast</span>
        <bdi class="broadcast-sender">{name}</bdi>
        <time dateTime={new Date(item.ts).toISOString()} title={fullTime(item.ts)}>
          {timeOf(item.ts)}
        </time>
        {showRoom && r?.info && (
          <a class="muted small" href={roomHref(item.room, item.seq)}>
            in <bdi>{roomTitle(r)}</bdi>
          </a>
        )}
      </div>
      <div class="broadcast-body">
        <MessageText body={item.body} />
      </div>
      {reminded && (
        <p class="reminded small" role="note" data-testid="pinned-reminded">
          Reminder from <bdi>{reminded.by.display_name || reminded.by.username}</bdi>{' '}
          <time dateTime={new Date(reminded.at).toISOString()} title={fullTime(reminded.at)}>
            {dateTimeOf(reminded.at)}
          </time>
          : please confirm you have read this.
        </p>
      )}
      <button
        type="button"
        class="btn primary"
        aria-label={`I have read this: broadcast from ${name}`}
        onClick={() => store.acknowledge(item.broadcast)}
      >
        I have read this
      </button>
    </li>
  );
}

/** The broadcast composer (leaders and admins). */
export function BroadcastDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [body, setBody] = useState('');
  const [everyone, setEveryone] = useState(true);
  const [chosen, setChosen] = useState<ReadonlySet<RoomId>>(new Set());
  const [ack, setAck] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const rooms = store.roomList.value.filter((r) => r.info?.kind === 'room');
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!body.trim()) {
      setError('Write the announcement first.');
      return;
    }
    if (!everyone && chosen.size === 0) {
      setError('Choose at least one room, or send it to everyone.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await store.postBroadcast(body.trim(), everyone ? [] : [...chosen], ack);
      onClose();
      navigate(reachHref(r.broadcast));
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };
  return (
    <Modal title="New broadcast" onClose={onClose}>
      <form onSubmit={submit} class="stack">
        <label class="field">
          <span>Announcement</span>
          <textarea value={body} rows={5} onInput={(e) => setBody(e.currentTarget.value)} required />
        </label>
        <fieldset class="field radio-group">
          <legend>Audience</legend>
          <label class="radio">
            <input type="radio" name="audience" checked={everyone} onChange={() => setEveryone(true)} />
            <span>
              <strong>Everyone</strong>
            </span>
          </label>
          <label class="radio">
            <input type="radio" name="audience" checked={!everyone} onChange={() => setEveryone(false)} />
            <span>
              <strong>Chosen rooms</strong>
            </span>
          </label>
          {!everyone && (
            <ul class="room-choices" aria-label="Rooms">
              {rooms.map((r) => (
                <li key={r.id}>
                  <label class="checkbox">
                    <input
                      type="checkbox"
                      checked={chosen.has(r.id)}
                      onChange={(ev) => {
                        const next = new Set(chosen);
                        if (ev.currentTarget.checked) next.add(r.id);
                        else next.delete(r.id);
                        setChosen(next);
                      }}
                    />
                    <bdi>{roomTitle(r)}</bdi>
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
        <label class="checkbox">
          <input type="checkbox" checked={ack} onChange={(e) => setAck(e.currentTarget.checked)} />
          <span>Ask readers to confirm</span>
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
            Send broadcast
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Who a broadcast reached: counts (live) and the readers, not-yet-acknowledged first. */
export function ReachView({ store, id }: { store: ChatStore; id: string }) {
  const [readers, setReaders] = useState<readonly ReachEntry[] | null>(null);
  const [reminders, setReminders] = useState<readonly Reminder[]>([]);
  const [askAck, setAskAck] = useState(false);
  const [reloads, setReloads] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const counts: ReachCounts | undefined = store.reachCounts.value.get(id);
  const sent = findBroadcast(store, id);
  // Load, and reload the list whenever the counts move (a reach_update).
  const key = counts ? `${counts.delivered}/${counts.opened}/${counts.acknowledged}` : '';
  useEffect(() => {
    let stale = false;
    store.loadReach(id).then(
      (r) => {
        if (stale) return;
        setReaders(r.readers);
        setReminders(r.reminders ?? []);
        setAskAck(r.ack_requested === true);
      },
      (e) => {
        if (!stale) setError(messageOf(e));
      },
    );
    return () => {
      stale = true;
    };
  }, [id, key, reloads]);
  return (
    <section class="reach" aria-labelledby="reach-title" data-testid="reach">
      <h1 id="reach-title">Reach</h1>
      {sent && sent.content.kind === 'broadcast' && (
        <>
          <p class="muted small" data-testid="reach-sent">
            Sent{' '}
            <time dateTime={new Date(sent.ts).toISOString()} title={fullTime(sent.ts)}>
              {dateTimeOf(sent.ts)}
            </time>
          </p>
          <blockquote class="broadcast-body reach-quote" data-testid="reach-body">
            <MessageText body={sent.content.body} />
          </blockquote>
        </>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {counts && (
        <dl class="reach-counts" aria-live="polite" aria-atomic="true">
          <Count label="Delivered" n={counts.delivered} of={counts.audience} id="delivered" />
          <Count label="Opened" n={counts.opened} of={counts.audience} id="opened" />
          <Count label="Acknowledged" n={counts.acknowledged} of={counts.audience} id="acknowledged" />
        </dl>
      )}
      {askAck && counts && (
        <RemindButton
          store={store}
          id={id}
          waiting={counts.audience - counts.acknowledged}
          reminders={reminders}
          onSent={() => setReloads((n) => n + 1)}
        />
      )}
      {reminders.length > 0 && (
        <ul class="reminders muted small" aria-label="Reminders sent" data-testid="reminders">
          {reminders.map((r) => (
            <li key={r.at} data-testid="reminder">
              Reminded at{' '}
              <time dateTime={new Date(r.at).toISOString()} title={fullTime(r.at)}>
                {dateTimeOf(r.at)}
              </time>{' '}
              ({r.reminded === 1 ? '1 person' : `${r.reminded} people`})
            </li>
          ))}
        </ul>
      )}
      {!readers ? (
        !error && <p class="muted">Loading…</p>
      ) : readers.length === 0 ? (
        <p class="muted">Nobody is in the audience.</p>
      ) : (
        <table class="reach-table">
          <caption class="sr-only">Readers</caption>
          <thead>
            <tr>
              <th scope="col">Reader</th>
              <th scope="col">Delivered</th>
              <th scope="col">Opened</th>
              <th scope="col">Acknowledged</th>
            </tr>
          </thead>
          <tbody>
            {readers.map((r) => (
              <tr key={r.user.id} data-testid="reader">
                <th scope="row">
                  <bdi>{r.user.display_name || r.user.username}</bdi>
                </th>
                <td>
                  <When ts={r.delivered_at} />
                </td>
                <td>
                  <When ts={r.opened_at} />
                </td>
                <td>
                  <When ts={r.acknowledged_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * "Remind those who haven't acknowledged (N)": N is the audience minus those
 * who acknowledged (the server also leaves out people who left or were
 * disabled, and says how many it reminded). Disabled, with the reason, while
 * the hourly limit holds or when nobody is waiting.
 */
function RemindButton({
  store,
  id,
  waiting,
  reminders,
  onSent,
}: {
  store: ChatStore;
  id: string;
  waiting: number;
  reminders: readonly Reminder[];
  onSent: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const next = nextReminderAt(reminders);
  // Re-render when the hour is up, so the button comes back by itself.
  useEffect(() => {
    if (next <= now) return;
    const t = setTimeout(() => setNow(Date.now()), Math.min(next - now + 50, 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [next, now]);
  const tooSoon = next > now;
  const reason =
    waiting <= 0 ? 'Everyone has acknowledged.' : tooSoon ? `One reminder an hour: the next is possible at ${timeOf(next)}.` : null;
  const send = async () => {
    setBusy(true);
    setResult(null);
    try {
      const r = await store.reminders.remind(id);
      setResult(r.reminded === 0 ? 'Nobody was left to remind.' : r.reminded === 1 ? 'Reminded 1 person.' : `Reminded ${r.reminded} people.`);
      setNow(Date.now());
      onSent();
    } catch (e) {
      setResult(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="remind" data-testid="remind">
      <button
        type="button"
        class="btn"
        disabled={busy || reason !== null}
        aria-describedby={reason ? 'remind-why' : undefined}
        onClick={() => void send()}
      >
        Remind those who haven't acknowledged ({Math.max(waiting, 0)})
      </button>
      {reason && (
        <span class="muted small" id="remind-why" data-testid="remind-why">
          {' '}
          {reason}
        </span>
      )}
      {result && (
        <p class="small" role="status" data-testid="remind-result">
          {result}
        </p>
      )}
    </div>
  );
}

function Count({ label, n, of, id }: { label: string; n: number; of: number; id: string }) {
  return (
    <div class="reach-count">
      <dt>{label}</dt>
      <dd data-testid={`reach-${id}`}>
        {n} <span class="muted">of {of}</span>
      </dd>
    </div>
  );
}

/** A reader's moment with its day (reach is read days later), or a dash. */
function When({ ts }: { ts: number }) {
  if (!ts) return <span aria-label="not yet">—</span>;
  return (
    <time dateTime={new Date(ts).toISOString()} title={fullTime(ts)}>
      {dateTimeOf(ts)}
    </time>
  );
}

/** The broadcast's event in a loaded timeline, if any (for showing its text). */
function findBroadcast(store: ChatStore, id: string): ChatEvent | undefined {
  for (const r of store.rooms.value.values()) {
    const e = r.timeline.run.find((x) => x.content.kind === 'broadcast' && x.content.broadcast === id);
    if (e) return e;
  }
  return undefined;
}
