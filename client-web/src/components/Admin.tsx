import { useEffect, useState } from 'preact/hooks';
import { auditLog, listUsers, type AdminUser } from '../api';
import type { AuditEntry } from '../protocol';
import type { ChatStore } from '../store';
import { fullTime } from './format';
import { InvitationsAdmin } from './Invitations';
import { PeopleAdmin } from './People';

/** What an audit action means, in words (http.rs `AuditEntry::action`). */
export function describeAction(action: string): string {
  switch (action) {
    case 'create_user':
      return 'created user';
    case 'update_user':
      return 'changed user';
    case 'disable_user':
      return 'disabled user';
    case 'reset_password':
      return 'reset the password of';
    case 'add_member':
      return 'added to a room';
    case 'remove_member':
      return 'removed from a room';
    case 'set_room_role':
      return 'changed the room role of';
    case 'delete_message':
      return 'deleted a message of';
    case 'mark_answer':
      return 'marked an answer';
    case 'create_invitation':
      return 'invited';
    case 'revoke_invitation':
      return 'revoked the invitation of';
    case 'redeem_invitation':
      return 'joined by invitation';
    default:
      return action.replace(/_/g, ' ');
  }
}

/** Admins: people (accounts, roles, the transformation team), and the audit log. */
export function AdminView({ store }: { store: ChatStore }) {
  const [users, setUsers] = useState<readonly AdminUser[] | null>(null);
  const [audit, setAudit] = useState<readonly AuditEntry[] | null>(null);
  const [error, setError] = useState('');
  /** Public rooms by id, to name rooms the admin is not in. */
  const [directory, setDirectory] = useState<ReadonlyMap<string, string>>(new Map());
  const rooms = store.rooms.value;
  const roomName = (id: string) => rooms.get(id)?.info?.name ?? directory.get(id);

  /** Counts reloads, so that the invitation list reloads with the rest. */
  const [loads, setLoads] = useState(0);
  const load = () => {
    setError('');
    setLoads((n) => n + 1);
    Promise.all([listUsers(store.token), auditLog(store.token, 200)]).then(
      ([u, a]) => {
        setUsers(u);
        setAudit(a);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
    store.directory().then(
      (list) => setDirectory(new Map(list.map((r) => [r.id, r.name]))),
      () => undefined,
    );
  };
  useEffect(load, [store]);

  if (store.me.role !== 'admin') {
    return (
      <section class="questions-page" aria-labelledby="admin-title">
        <h1 id="admin-title">Administration</h1>
        <p class="muted">Only admins can see this page.</p>
      </section>
    );
  }

  return (
    <section class="questions-page admin-page" aria-labelledby="admin-title" data-testid="admin-view">
      <div class="row">
        <h1 id="admin-title">Administration</h1>
        <button type="button" class="btn subtle" onClick={load}>
          Refresh
        </button>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <h2 class="section-title">People</h2>
      <p class="muted small">
        The transformation team answers and merges questions in every room they are in. A change takes effect at once:
        the person's open windows reconnect by themselves; disabling someone or resetting their password logs them out.
      </p>
      {!users ? (
        <p class="muted">Loading…</p>
      ) : (
        <PeopleAdmin token={store.token} myId={store.me.id} users={users} reload={load} />
      )}
      <InvitationsAdmin token={store.token} refresh={loads} onChange={load} />
      <h2 class="section-title">Audit log</h2>
      {!audit ? (
        <p class="muted">Loading…</p>
      ) : audit.length === 0 ? (
        <p class="muted">No moderation or admin actions yet.</p>
      ) : (
        <table class="admin-table" data-testid="audit-log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Whom / where</th>
            </tr>
          </thead>
          <tbody>
            {audit.map((a, i) => {
              const room = a.room ? roomName(a.room) : undefined;
              return (
                <tr key={`${a.at}-${i}`} data-testid="audit-entry" data-action={a.action}>
                  <td>
                    <time dateTime={new Date(a.at).toISOString()}>{fullTime(a.at)}</time>
                  </td>
                  <td>
                    <bdi>{a.actor.display_name || a.actor.username}</bdi>
                  </td>
                  <td>{describeAction(a.action)}</td>
                  <td>
                    {a.target ? <bdi>{a.target.display_name || a.target.username}</bdi> : ''}
                    {a.room ? (
                      room ? (
                        <>
                          {' in #'}
                          <bdi>{room}</bdi>
                        </>
                      ) : (
                        ' in a room'
                      )
                    ) : (
                      ''
                    )}
                    {a.seq !== undefined ? ` (message ${a.seq})` : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
