// The page an invitation link opens (`#/invite/<token>`): who it is for,
// then a password (twice); the account is made and the person logged in.

import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { invitationInfo, redeemInvitation, type InvitationInfo } from '../invite';
import { passwordProblem } from '../password';
import type { LoginResponse } from '../protocol';

export function InvitePage({ token, onLoggedIn }: { token: string; onLoggedIn: (s: LoginResponse) => void }) {
  const [info, setInfo] = useState<InvitationInfo | null>(null);
  const [fatal, setFatal] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    invitationInfo(token).then(
      (i) => live && setInfo(i),
      (e: unknown) => live && setFatal(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [token]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    const problem = passwordProblem(password);
    if (problem) return setError(problem);
    if (password !== again) return setError('The two passwords differ.');
    setBusy(true);
    setError('');
    try {
      onLoggedIn(await redeemInvitation(token, password));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A link that stopped working is final; a bad password is not.
      if (err instanceof ApiError && (err.code.startsWith('invite_') || err.code === 'name_taken')) setFatal(message);
      else setError(message);
      setBusy(false);
    }
  };

  return (
    <main class="login-page">
      <form class="login-card" onSubmit={submit} aria-labelledby="invite-page-title" noValidate data-testid="invite-page">
        <div class="brand" aria-hidden="true">
          <span class="brand-mark">T</span>
        </div>
        <h1 id="invite-page-title">Welcome to Townhall</h1>
        {fatal ? (
          <>
            <p class="form-error" role="alert">
              {fatal}
            </p>
            <a class="btn wide" href="#/">
              Go to the login page
            </a>
          </>
        ) : !info ? (
          <p class="muted">Checking your invitation…</p>
        ) : (
          <>
            <p>
              You were invited as <bdi>{info.display_name}</bdi> (username <strong>@{info.username}</strong>). Choose a
              password to finish.
            </p>
            <label class="field">
              <span>Password (at least 8 characters)</span>
              <input
                name="new-password"
                type="password"
                autocomplete="new-password"
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
                required
                autofocus
              />
            </label>
            <label class="field">
              <span>The same password again</span>
              <input
                name="confirm-password"
                type="password"
                autocomplete="new-password"
                value={again}
                onInput={(e) => setAgain(e.currentTarget.value)}
                required
              />
            </label>
            {error && (
              <p class="form-error" role="alert">
                {error}
              </p>
            )}
            <button type="submit" class="btn primary wide" disabled={busy}>
              {busy ? 'Creating your account…' : 'Create my account'}
            </button>
          </>
        )}
      </form>
    </main>
  );
}
