import { useEffect, useState } from 'preact/hooks';
import { RequestError } from '../connection';
import type { RoomInfo, UserInfo } from '../protocol';
import type { ChatStore } from '../store';
import { navigate, roomHref } from '../router';
import { plural } from '../text';
import { Avatar } from './Avatar';
import { TeamTag } from './TeamTag';

interface Props {
  store: ChatStore;
  room: RoomInfo;
  onClose: () => void;
}

export function MembersPanel({ store, room, onClose }: Props) {
  const members = store.members.value.get(room.id);
  const online = store.online.value;
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState('');
  const [users, setUsers] = useState<readonly UserInfo[]>([]);
  const [busy, setBusy] = useState(false);
  const canManage =
    room.kind === 'room' &&
    (room.my_role === 'owner' || room.my_role === 'moderator' || store.me.role === 'admin');
  const canAdd = room.kind === 'room' && (room.visibility === 'public' || canManage);
  // Moderators are made by the room's owner, or an admin (the server's rule).
  const canSetRoles = room.kind === 'room' && (room.my_role === 'owner' || store.me.role === 'admin');

  useEffect(() => {
    store.loadMembers(room.id).catch((e) => setError(messageOf(e)));
    if (canAdd) store.loadUsers().then(setUsers, () => {});
  }, [room.id]);

  const add = async (e: Event) => {
    e.preventDefault();
    const name = adding.trim().replace(/^@/, '');
    if (!name) return;
    setBusy(true);
    setError(null);
    try {
      await store.addMember(room.id, name);
      setAdding('');
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const memberIds = new Set(members?.map((m) => m.user.id));
  const candidates = users.filter((u) => !memberIds.has(u.id));
  const sorted = [...(members ?? [])].sort(
    (a, b) =>
      Number(online.has(b.user.id)) - Number(online.has(a.user.id)) ||
      (a.user.display_name || a.user.username).localeCompare(b.user.display_name || b.user.username),
  );

  return (
    <aside class="members-panel" id="members-panel" aria-labelledby="members-title">
      <header class="panel-head">
        <h2 id="members-title">Members</h2>
        <button type="button" class="icon-btn" aria-label="Close members" onClick={onClose}>
          <span aria-hidden="true">×</span>
        </button>
      </header>
      {canAdd && (
        <form class="add-member" onSubmit={add}>
          <label class="field">
            <span>Add people</span>
            <input
              list="add-member-users"
              value={adding}
              placeholder="username"
              autocomplete="off"
              onInput={(e) => setAdding(e.currentTarget.value)}
              data-testid="add-member-input"
            />
          </label>
          <datalist id="add-member-users">
            {candidates.map((u) => (
              <option key={u.id} value={u.username}>
                {u.display_name}
              </option>
            ))}
          </datalist>
          <button type="submit" class="btn" disabled={busy || !adding.trim()}>
            Add
          </button>
        </form>
      )}
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {!members ? (
        <p class="muted pad">Loading…</p>
      ) : (
        <ul class="member-list" aria-label={plural(members.length, 'member')}>
          {sorted.map((m) => {
            const on = online.has(m.user.id);
            const name = m.user.display_name || m.user.username;
            const isMe = m.user.id === store.me.id;
            return (
              <li key={m.user.id} class="member">
                <Avatar user={m.user} name={name} size="small">
                  <span class={`presence-dot overlay-dot${on ? ' on' : ''}`} />
                </Avatar>
                <span class="member-text">
                  <span class="member-name">
                    <bdi>{name}</bdi>
                    {isMe && <span class="muted"> (you)</span>}
                    {m.user.role === 'leader' && (
                      <span class="tag leader" data-testid="leader-tag">
                        Leader
                      </span>
                    )}
                    <TeamTag user={m.user} />
                  </span>
                  <span class="muted small">
                    @{m.user.username} · {on ? 'online' : 'offline'}
                    {m.role !== 'member' && (
                      <>
                        {' · '}
                        <span class={`tag role-${m.role}`} data-testid="member-role">
                          {m.role}
                        </span>
                      </>
                    )}
                  </span>
                </span>
                {!isMe && (
                  <span class="member-actions">
                    <button
                      type="button"
                      class="btn link"
                      aria-label={`Message ${name}`}
                      onClick={async () => {
                        try {
                          const dm = await store.openDm(m.user.username);
                          navigate(roomHref(dm.id));
                        } catch (err) {
                          setError(messageOf(err));
                        }
                      }}
                    >
                      Message
                    </button>
                    {(m.user.role === 'leader' || m.user.role === 'admin') && (
                      <FollowButton store={store} user={m.user} name={name} onError={setError} />
                    )}
                    {canSetRoles && m.role !== 'owner' && (
                      <button
                        type="button"
                        class="btn link"
                        aria-label={m.role === 'moderator' ? `Make ${name} a member again` : `Make ${name} a moderator`}
                        data-testid="set-room-role"
                        onClick={async () => {
                          setError(null);
                          try {
                            await store.setRoomRole(room.id, m.user.username, m.role === 'moderator' ? 'member' : 'moderator');
                            await store.loadMembers(room.id);
                          } catch (err) {
                            setError(messageOf(err));
                          }
                        }}
                      >
                        {m.role === 'moderator' ? 'Make member' : 'Make moderator'}
                      </button>
                    )}
                    {canManage && m.role !== 'owner' && (
                      <button
                        type="button"
                        class="btn link danger"
                        aria-label={`Remove ${name} from the room`}
                        onClick={async () => {
                          try {
                            await store.removeMember(room.id, m.user.username);
                          } catch (err) {
                            setError(messageOf(err));
                          }
                        }}
                      >
                        Remove
                      </button>
                    )}
                  </span>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </aside>
  );
}

export function messageOf(e: unknown): string {
  if (e instanceof RequestError) {
    switch (e.code) {
      case 'not_found':
        return 'No such person or room.';
      case 'already_member':
        return 'Already a member.';
      case 'forbidden':
        return 'You are not allowed to do that here.';
      case 'name_taken':
        return 'That name is taken.';
      case 'disconnected':
      case 'timeout':
        return 'Not connected. Try again in a moment.';
      default:
        return e.message || e.code;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

/** Follow a leader: their broadcasts then reach me in rooms I am not in. */
function FollowButton(p: { store: ChatStore; user: UserInfo; name: string; onError: (m: string) => void }) {
  const following = p.store.following.value.has(p.user.id);
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      class="btn link"
      aria-pressed={following}
      aria-label={`Follow ${p.name}`}
      data-testid="follow"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await p.store.follow(p.user, !following);
        } catch (err) {
          p.onError(messageOf(err));
        }
        setBusy(false);
      }}
    >
      {following ? 'Following' : 'Follow'}
    </button>
  );
}
