// Invitation links in the admin page: invite a username with a role, see
// the link once (copy it), list invitations with their state, revoke.

import { useEffect, useState } from 'preact/hooks';
import type { Role } from '../protocol';
import { createInvitation, inviteLink, listInvitations, revokeInvitation, type Invitation } from '../invite';
import { fullTime } from './format';
import { adminError } from './People';

const ROLES: readonly Role[] = ['staff', 'leader', 'admin'];

/** The link, shown once with a copy button; nothing keeps it afterwards. */
function OneTimeLink({ who, link, onDone }: { who: string; link: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setCopied('yes');
    } catch {
      (document.getElementById('invite-link-value') as HTMLInputElement | null)?.select();
      setCopied('failed');
    }
  };
  return (
    <div class="notice otp" role="status" data-testid="invite-link">
      <p>
        Invitation link for <bdi>{who}</bdi>. It is shown only now and works once: send it to them; they choose their
        password when they open it.
      </p>
      <div class="row">
        <input
          id="invite-link-value"
          class="otp-value"
          readOnly
          value={link}
          aria-label={`Invitation link for ${who}`}
          data-testid="invite-link-value"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" class="btn" onClick={() => void copy()}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="btn subtle" onClick={onDone}>
          Done
        </button>
      </div>
      {copied === 'failed' && <p class="muted small">Copying is not allowed here: the link is selected, copy it.</p>}
    </div>
  );
}

function stateText(i: Invitation, now: number): string {
  if (i.state === 'used') return 'used';
  if (i.state === 'revoked') return 'revoked';
  return now >= i.expires_at ? 'expired' : `open until ${fullTime(i.expires_at)}`;
}

/** Admins: invite people by link, and the invitations made so far. */
export function InvitationsAdmin({
  token,
  refresh,
  onChange,
}: {
  token: string;
  /** Changes when the admin page reloads: the list reloads too. */
  refresh: number;
  onChange: () => void;
}) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('staff');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [shown, setShown] = useState<{ who: string; link: string } | null>(null);
  const [list, setList] = useState<readonly Invitation[] | null>(null);

  const load = () => {
    listInvitations(token).then(setList, (e: unknown) => setError(adminError(e, '')));
  };
  useEffect(load, [token, refresh]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const name = username.trim();
    if (!name) return setError('Give the person a username.');
    setBusy(true);
    setError('');
    try {
      const made = await createInvitation(token, { username: name, display_name: displayName.trim() || name, role });
      setUsername('');
      setDisplayName('');
      setRole('staff');
      const u = made.invitation.user;
      setShown({ who: `${u.display_name} (@${u.username})`, link: inviteLink(made.token) });
      onChange();
    } catch (err) {
      setError(adminError(err, name));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (i: Invitation) => {
    setError('');
    try {
      await revokeInvitation(token, i.id);
    } catch (err) {
      setError(adminError(err, i.user.username));
    }
    onChange();
  };

  const now = Date.now();
  return (
    <div data-testid="invitations">
      {shown && <OneTimeLink who={shown.who} link={shown.link} onDone={() => setShown(null)} />}
      <form class="admin-form" onSubmit={submit} aria-labelledby="invite-title" data-testid="new-invitation">
        <h3 id="invite-title" class="section-title">
          Invite by link
        </h3>
        <p class="muted small">
          The person opens the link and chooses their own password. A link works once and expires after 7 days (the
          server's <code>--invite-hours</code>).
        </p>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="admin-fields">
          <label class="field">
            <span>Username</span>
            <input value={username} onInput={(e) => setUsername(e.currentTarget.value)} autoComplete="off" required />
          </label>
          <label class="field">
            <span>Display name</span>
            <input value={displayName} onInput={(e) => setDisplayName(e.currentTarget.value)} autoComplete="off" />
          </label>
          <label class="field">
            <span>Company role</span>
            <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
        </div>
        <button type="submit" class="btn primary" disabled={busy}>
          Create invitation link
        </button>
      </form>
      {list && list.length > 0 && (
        <table class="admin-table" data-testid="invitation-list">
          <caption class="sr-only">Invitations</caption>
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => {
              const name = i.user.display_name || i.user.username;
              const open = i.state === 'pending' && now < i.expires_at;
              return (
                <tr key={i.id} data-testid="invitation" data-state={i.state}>
                  <td>
                    <bdi>{name}</bdi> <span class="muted small">@{i.user.username}</span>
                  </td>
                  <td>{i.user.role}</td>
                  <td>{stateText(i, now)}</td>
                  <td class="admin-actions">
                    {open && (
                      <button type="button" class="btn subtle" onClick={() => void revoke(i)}>
                        Revoke<span class="sr-only"> the invitation of {name}</span>
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
