// My display name on the account page (issue 13): what others see beside
// my messages from now on. Checked here with the server's rules first, then
// by the server (its refusal is shown as it says it).

import { useState } from 'preact/hooks';
import { displayNameProblem, MAX_DISPLAY_NAME_CHARS } from '../profile';
import type { ChatStore } from '../store';

export function DisplayNameForm({ store }: { store: ChatStore }) {
  const me = store.profile.me.value ?? store.me;
  const [name, setName] = useState(me.display_name);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const problem = displayNameProblem(name);
    if (problem) return setError(problem);
    setBusy(true);
    setError('');
    try {
      const user = await store.profile.setDisplayName(name);
      setName(user.display_name);
      setSaved(true);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="admin-form" onSubmit={submit} aria-labelledby="name-title" data-testid="display-name-form">
      <h2 id="name-title" class="section-title">
        Your display name
      </h2>
      <p class="muted small">Shown beside your messages from now on; earlier messages keep the name they were sent with.</p>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {saved && (
        <p class="muted small" role="status" data-testid="display-name-saved">
          Saved.
        </p>
      )}
      <label class="field">
        <span>Display name</span>
        <input
          type="text"
          value={name}
          maxLength={MAX_DISPLAY_NAME_CHARS * 2}
          onInput={(e) => {
            setName(e.currentTarget.value);
            setSaved(false);
          }}
          autoComplete="name"
        />
      </label>
      <button type="submit" class="btn primary" disabled={busy}>
        Save name
      </button>
    </form>
  );
}
