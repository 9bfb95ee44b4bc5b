import { useEffect, useState } from 'preact/hooks';
import type { RoomInfo, UserInfo, Visibility } from '../protocol';
import type { ChatStore } from '../store';
import { RequestError } from '../connection';
import { navigate, roomHref } from '../router';
import { messageOf } from './MembersPanel';
import { Modal } from './Modal';
import { Avatar } from './Avatar';

export function BrowseDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [rooms, setRooms] = useState<readonly RoomInfo[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    store.directory().then(setRooms, (e) => setError(messageOf(e)));
  }, []);
  const mine = store.rooms.value;
  const f = filter.trim().toLowerCase();
  const shown = (rooms ?? []).filter((r) => !f || r.name.toLowerCase().includes(f) || r.topic.toLowerCase().includes(f));
  return (
    <Modal title="Browse rooms" onClose={onClose}>
      <label class="field">
        <span>Search</span>
        <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </label>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!rooms ? (
        <p class="muted">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="muted">No public rooms{f ? ' match' : ' yet'}.</p>
      ) : (
        <ul class="dir-list">
          {shown.map((r) => {
            const joined = !!mine.get(r.id)?.info;
            return (
              <li key={r.id} class="dir-item">
                <span class="dir-text">
                  <span class="dir-name"># {r.name}</span>
                  <span class="muted small">
                    {r.member_count} member{r.member_count === 1 ? '' : 's'}
                    {r.topic ? ` · ${r.topic}` : ''}
                  </span>
                </span>
                {joined ? (
                  <a class="btn" href={roomHref(r.id)} onClick={onClose}>
                    Open
                  </a>
                ) : (
                  <button
                    type="button"
                    class="btn primary"
                    aria-label={`Join ${r.name}`}
                    onClick={async () => {
                      try {
                        await store.join(r.id);
                        onClose();
                        navigate(roomHref(r.id));
                      } catch (e) {
                        setError(messageOf(e));
                      }
                    }}
                  >
                    Join
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </Modal>
  );
}

export function CreateRoomDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('public');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) {
      setError('Give the room a name.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const room = await store.createRoom(name.trim(), topic.trim(), visibility);
      onClose();
      navigate(roomHref(room.id));
    } catch (err) {
      setError(
        err instanceof RequestError && err.code === 'name_taken'
          ? `A public room named “${name.trim()}” already exists (names ignore case). Browse rooms to join it, or choose another name.`
          : messageOf(err),
      );
      setBusy(false);
    }
  };
  return (
    <Modal title="New room" onClose={onClose}>
      <form onSubmit={submit} class="stack">
        <label class="field">
          <span>Name</span>
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={80} required />
        </label>
        <label class="field">
          <span>Topic (optional)</span>
          <input value={topic} onInput={(e) => setTopic(e.currentTarget.value)} maxLength={200} />
        </label>
        <fieldset class="field radio-group">
          <legend>Who can join</legend>
          <label class="radio">
            <input
              type="radio"
              name="visibility"
              value="public"
              checked={visibility === 'public'}
              onChange={() => setVisibility('public')}
            />
            <span>
              <strong>Public</strong> <span class="muted">— anyone can find and join it</span>
            </span>
          </label>
          <label class="radio">
            <input
              type="radio"
              name="visibility"
              value="private"
              checked={visibility === 'private'}
              onChange={() => setVisibility('private')}
            />
            <span>
              <strong>Private</strong> <span class="muted">— only people you add</span>
            </span>
          </label>
        </fieldset>
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
            Create room
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function NewDmDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const [users, setUsers] = useState<readonly UserInfo[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const online = store.online.value;
  useEffect(() => {
    store.loadUsers().then(setUsers, (e) => setError(messageOf(e)));
  }, []);
  const f = filter.trim().toLowerCase().replace(/^@/, '');
  const shown = (users ?? []).filter(
    (u) =>
      u.id !== store.me.id && (!f || u.username.toLowerCase().includes(f) || u.display_name.toLowerCase().includes(f)),
  );
  const open = async (u: UserInfo) => {
    try {
      const room = await store.openDm(u.username);
      onClose();
      navigate(roomHref(room.id));
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <Modal title="New message" onClose={onClose}>
      <label class="field">
        <span>Find a person</span>
        <input type="search" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      </label>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!users ? (
        <p class="muted">Loading…</p>
      ) : shown.length === 0 ? (
        <p class="muted">Nobody matches.</p>
      ) : (
        <ul class="dir-list">
          {shown.map((u) => (
            <li key={u.id} class="dir-item">
              <Avatar user={u} name={u.display_name || u.username} size="small">
                <span class={`presence-dot overlay-dot${online.has(u.id) ? ' on' : ''}`} />
              </Avatar>
              <span class="dir-text">
                <bdi class="dir-name">{u.display_name || u.username}</bdi>
                <span class="muted small">
                  @{u.username} · {online.has(u.id) ? 'online' : 'offline'}
                </span>
              </span>
              <button type="button" class="btn" aria-label={`Message ${u.display_name || u.username}`} onClick={() => open(u)}>
                Message
              </button>
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}

export function ConfirmDialog(props: {
  title: string;
  text: string;
  confirm: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal title={props.title} onClose={props.onClose} initialFocus=".btn.danger">
      <p>{props.text}</p>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="row end">
        <button type="button" class="btn" onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          class="btn danger"
          onClick={async () => {
            try {
              await props.onConfirm();
            } catch (e) {
              setError(messageOf(e));
            }
          }}
        >
          {props.confirm}
        </button>
      </div>
    </Modal>
  );
}
