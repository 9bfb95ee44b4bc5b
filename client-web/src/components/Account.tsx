// My account: my display name (DisplayNameForm.tsx); my picture (AvatarForm.tsx); change my own password. The server then ends all my sessions
// (this one too), so a success ends in the login page with a notice.

import { useState } from 'preact/hooks';
import { AppearanceSettings } from './AppearanceSettings';
import { AvatarForm } from './AvatarForm';
import { DisplayNameForm } from './DisplayNameForm';
import { ApiError } from '../api';
import { passwordProblem } from '../password';
import type { ChatStore } from '../store';

export function AccountView({
  store,
  changePassword,
}: {
  store: ChatStore;
  /** Resolves once the password is changed (the session is then over). */
  changePassword: (oldPassword: string, newPassword: string) => Promise<void>;
}) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const me = store.profile.me.value ?? store.me;

  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = !current
      ? 'Enter your current password.'
      : passwordProblem(next) ?? (next !== again ? 'The two new passwords differ.' : null);
    if (problem) return setError(problem);
    if (next === current) return setError('The new password is the same as the current one.');
    setBusy(true);
    setError('');
    try {
      await changePassword(current, next);
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  return (
    <section class="questions-page account-page" aria-labelledby="account-title" data-testid="account-view">
      <h1 id="account-title">Your account</h1>
      <p>
        <bdi>{me.display_name || me.username}</bdi> <span class="muted">@{me.username}</span> ·{' '}
        <span class="muted">{me.role}</span>
      </p>
      <DisplayNameForm store={store} />
      <AvatarForm store={store} />
      <form class="admin-form" onSubmit={submit} aria-labelledby="pw-title">
        <h2 id="pw-title" class="section-title">
          Change your password
        </h2>
        <p class="muted small">Afterwards you are logged out everywhere, this window too: log in with the new one.</p>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <label class="field">
          <span>Current password</span>
          <input
            type="password"
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
            autoComplete="current-password"
          />
        </label>
        <label class="field">
          <span>New password (at least 8 characters)</span>
          <input type="password" value={next} onInput={(e) => setNext(e.currentTarget.value)} autoComplete="new-password" />
        </label>
        <label class="field">
          <span>New password again</span>
          <input
            type="password"
            value={again}
            onInput={(e) => setAgain(e.currentTarget.value)}
            autoComplete="new-password"
          />
        </label>
        <button type="submit" class="btn primary" disabled={busy}>
          Change password
        </button>
      </form>
      <AppearanceSettings />
    </section>
  );
}
