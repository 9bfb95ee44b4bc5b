import { useEffect, useState } from 'preact/hooks';
import { ApiError, login, loginSources } from '../api';
import type { LoginResponse } from '../protocol';

interface Props {
  onLoggedIn: (s: LoginResponse) => void;
  notice?: string;
  /** Why the last company login failed (set when the server sent us back). */
  initialError?: string;
}

export function Login({ onLoggedIn, notice, initialError }: Props) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(initialError ?? null);
  const [busy, setBusy] = useState(false);
  const [companyLogin, setCompanyLogin] = useState(false);

  useEffect(() => {
    let live = true;
    void loginSources().then((s) => live && setCompanyLogin(s.oidc));
    return () => {
      live = false;
    };
  }, []);
  useEffect(() => {
    if (initialError) setError(initialError);
  }, [initialError]);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    if (!username.trim() || !password) {
      setError('Enter your username and password.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onLoggedIn(await login(username.trim(), password));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'Login failed. Try again.');
      setBusy(false);
    }
  };

  return (
    <main class="login-page">
      <form class="login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <div class="brand" aria-hidden="true">
          <span class="brand-mark">T</span>
        </div>
        <h1 id="login-title">Sign in to Townhall</h1>
        {notice && !error && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <label class="field">
          <span>Username</span>
          <input
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
            required
            autofocus
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            required
          />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary wide" disabled={busy}>
          {busy ? 'Signing in…' : 'Log in'}
        </button>
        {companyLogin && (
          <>
            <p class="login-or" aria-hidden="true">
              or
            </p>
            {/* A plain navigation: the server sends the browser on to the company's login page. */}
            <a class="btn wide" href="/api/oidc/start">
              Log in with your company account
            </a>
          </>
        )}
      </form>
    </main>
  );
}
