// Administration of people (admins only): create accounts, change a person's
// company role, disable and re-enable, reset a password, the transformation
// team. Everything goes through the HTTP admin API with the session's token.

import { useEffect, useState } from 'preact/hooks';
import { ApiError, createUser, updateUser, type AdminUser, type UserPatch } from '../api';
import { generatePassword, passwordProblem } from '../password';
import type { Role } from '../protocol';
import { ConfirmDialog } from './Dialogs';

const ROLES: readonly Role[] = ['staff', 'leader', 'admin'];

/** An admin API error in words, for the person it concerns. */
export function adminError(e: unknown, username: string): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'name_taken':
        return `The username “${username}” is taken (usernames ignore case).`;
      case 'not_found':
        return `There is no person @${username} any more. Refresh the list.`;
      case 'bad_token':
        return 'Your session has ended. Log in again.';
      case 'forbidden':
        return 'Only admins can do this.';
      default:
        return e.message;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

/** A password shown once, with a copy button; nothing keeps it afterwards. */
export function OneTimePassword({ who, password, onDone }: { who: string; password: string; onDone: () => void }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(password);
      setCopied('yes');
    } catch {
      // No clipboard permission (an insecure origin): select it instead.
      (document.getElementById('otp-value') as HTMLInputElement | null)?.select();
      setCopied('failed');
    }
  };
  return (
    <div class="notice otp" role="status" data-testid="one-time-password">
      <p>
        One-time password for <bdi>{who}</bdi>. It is shown only now: give it to them, and they change it on their
        Account page after logging in.
      </p>
      <div class="row">
        <input
          id="otp-value"
          class="otp-value"
          readOnly
          value={password}
          aria-label={`One-time password for ${who}`}
          data-testid="otp-value"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" class="btn" onClick={() => void copy()}>
          {copied === 'yes' ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="btn subtle" onClick={onDone}>
          Done
        </button>
      </div>
      {copied === 'failed' && <p class="muted small">Copying is not allowed here: the password is selected, copy it.</p>}
    </div>
  );
}

function NewPersonForm({ token, onCreated }: { token: string; onCreated: (who: string, password: string) => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('staff');
  const [choose, setChoose] = useState(false);
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const name = username.trim();
    if (!name) return setError('Give the person a username.');
    const pw = choose ? password : generatePassword();
    const problem = passwordProblem(pw);
    if (problem) return setError(problem);
    setBusy(true);
    setError('');
    try {
      const user = await createUser(token, {
        username: name,
        display_name: displayName.trim() || name,
        password: pw,
        role,
      });
      setUsername('');
      setDisplayName('');
      setPassword('');
      setRole('staff');
      onCreated(`${user.display_name} (@${user.username})`, pw);
    } catch (err) {
      setError(adminError(err, name));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="admin-form" onSubmit={submit} aria-labelledby="new-person-title" data-testid="new-person">
      <h3 id="new-person-title" class="section-title">
        New person
      </h3>
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
      <label class="radio">
        <input type="checkbox" checked={choose} onChange={(e) => setChoose(e.currentTarget.checked)} />
        Choose the password myself (otherwise one is generated)
      </label>
      {choose && (
        <label class="field">
          <span>Password (at least 8 characters)</span>
          <input
            type="text"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            autoComplete="off"
          />
        </label>
      )}
      <button type="submit" class="btn primary" disabled={busy}>
        Create account
      </button>
    </form>
  );
}

/** The people table and the new-person form. `reload` fetches the server's state again. */
export function PeopleAdmin({
  token,
  myId,
  users,
  reload,
}: {
  token: string;
  myId: string;
  users: readonly AdminUser[];
  reload: () => void;
}) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [shown, setShown] = useState<{ who: string; password: string } | null>(null);
  const [confirm, setConfirm] = useState<{ kind: 'reset' | 'disable'; u: AdminUser } | null>(null);
  /** Changes shown at once; the reload after the call shows the server's state. */
  const [local, setLocal] = useState<ReadonlyMap<string, UserPatch>>(new Map());
  // Until the reloaded list arrives: clearing earlier would flip a control
  // back for a moment.
  useEffect(() => setLocal(new Map()), [users]);

  const change = async (u: AdminUser, patch: UserPatch): Promise<boolean> => {
    setBusy(u.user.username);
    setError('');
    setLocal((m) => new Map(m).set(u.user.id, { ...m.get(u.user.id), ...patch }));
    try {
      await updateUser(token, u.user.username, patch);
      return true;
    } catch (e) {
      setError(`Could not change @${u.user.username}: ${adminError(e, u.user.username)}`);
      return false;
    } finally {
      reload();
      setBusy(null);
    }
  };

  const resetPassword = async (u: AdminUser) => {
    const pw = generatePassword();
    if (await change(u, { password: pw })) setShown({ who: `${u.user.display_name} (@${u.user.username})`, password: pw });
  };

  return (
    <>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {shown && <OneTimePassword who={shown.who} password={shown.password} onDone={() => setShown(null)} />}
      <table class="admin-table" data-testid="admin-users">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Transformation team</th>
            <th scope="col">Account</th>
          </tr>
        </thead>
        <tbody>
          {users.map((raw) => {
            const o = local.get(raw.user.id);
            const u: AdminUser = {
              user: { ...raw.user, role: o?.role ?? raw.user.role },
              disabled: o?.disabled ?? raw.disabled,
              transformation_team: o?.transformation_team ?? raw.transformation_team ?? false,
            };
            const name = u.user.display_name;
            const me = u.user.id === myId;
            return (
              <tr key={u.user.id} data-testid="admin-user" data-username={u.user.username}>
                <th scope="row">
                  <bdi>{name}</bdi> <span class="muted small">@{u.user.username}</span>
                  {u.disabled && <span class="muted small"> (disabled)</span>}
                </th>
                <td>
                  <select
                    value={u.user.role}
                    aria-label={`Company role of ${name}`}
                    disabled={busy !== null || me}
                    title={me ? 'Another admin can change your role' : undefined}
                    onChange={(e) => void change(u, { role: e.currentTarget.value as Role })}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {r}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <label class="question-toggle">
                    <input
                      type="checkbox"
                      checked={!!u.transformation_team}
                      disabled={busy !== null || u.disabled}
                      onChange={(e) => void change(u, { transformation_team: e.currentTarget.checked })}
                      data-testid="team-toggle"
                    />
                    <span class="sr-only">{name} is on the transformation team</span>
                    <span aria-hidden="true">{u.transformation_team ? 'Member' : '—'}</span>
                  </label>
                </td>
                <td class="admin-actions">
                  {!me &&
                    (u.disabled ? (
                      <button
                        type="button"
                        class="btn subtle"
                        disabled={busy !== null}
                        onClick={() => void change(u, { disabled: false })}
                      >
                        Enable<span class="sr-only"> {name}</span>
                      </button>
                    ) : (
                      <button
                        type="button"
                        class="btn subtle"
                        disabled={busy !== null}
                        onClick={() => setConfirm({ kind: 'disable', u })}
                      >
                        Disable<span class="sr-only"> {name}</span>
                      </button>
                    ))}
                  {!me && (
                    <button
                      type="button"
                      class="btn subtle"
                      disabled={busy !== null}
                      onClick={() => setConfirm({ kind: 'reset', u })}
                    >
                      Reset password<span class="sr-only"> of {name}</span>
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <NewPersonForm
        token={token}
        onCreated={(who, password) => {
          setShown({ who, password });
          reload();
        }}
      />
      {confirm && (
        <ConfirmDialog
          title={
            confirm.kind === 'reset'
              ? `Reset the password of ${confirm.u.user.display_name}?`
              : `Disable ${confirm.u.user.display_name}?`
          }
          text={
            confirm.kind === 'reset'
              ? 'Their current password stops working and all their sessions end. You get a one-time password to give them.'
              : 'They are logged out everywhere and cannot log in until you enable them again. Their messages stay.'
          }
          confirm={confirm.kind === 'reset' ? 'Reset password' : 'Disable'}
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            const { kind, u } = confirm;
            setConfirm(null);
            if (kind === 'reset') await resetPassword(u);
            else await change(u, { disabled: true });
          }}
        />
      )}
    </>
  );
}
