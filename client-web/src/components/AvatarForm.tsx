// My profile picture on the account page (issue 13): choose an image, see
// it, keep it (`POST /api/avatar`) or remove mine (`DELETE /api/avatar`).
// The server crops and re-encodes it as a small square; everyone online
// sees the change at once (`user_updated`). Initials stay the fallback.

import { useEffect, useState } from 'preact/hooks';
import type { UserInfo } from '../protocol';
import type { ChatStore } from '../store';
import { Avatar } from './Avatar';

/** The server's limit (`MAX_AVATAR_UPLOAD_BYTES`): checked here first. */
export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;
const TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

async function send(store: ChatStore, method: 'POST' | 'DELETE', body?: Blob): Promise<UserInfo> {
  const res = await fetch('/api/avatar', { method, body, headers: { Authorization: `Bearer ${store.token}` } });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.message || `The server refused (${res.status}).`);
  return json as UserInfo;
}

export function AvatarForm({ store }: { store: ChatStore }) {
  const me = store.profile.me.value ?? store.me;
  const name = me.display_name || me.username;
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!file) return setPreview(null);
    const url = URL.createObjectURL(file);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [file]);

  const done = (user: UserInfo, said: string) => {
    store.profile.handleFrame({ type: 'user_updated', user });
    setFile(null);
    setStatus(said);
  };
  const run = async (what: () => Promise<void>) => {
    setBusy(true);
    setError('');
    setStatus('');
    try {
      await what();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const choose = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const f = input.files?.[0] ?? null;
    input.value = '';
    setStatus('');
    if (!f) return;
    if (!TYPES.includes(f.type)) return setError('Choose a PNG, JPEG, GIF or WebP image.');
    if (f.size > MAX_AVATAR_BYTES) return setError('A picture is at most 5 MB.');
    setError('');
    setFile(f);
  };

  return (
    <section class="admin-form avatar-form" aria-labelledby="avatar-title" data-testid="avatar-form">
      <h2 id="avatar-title" class="section-title">
        Profile picture
      </h2>
      <p class="muted small">Shown beside your name everywhere; without one, your initials are.</p>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {status && (
        <p class="muted small" role="status" data-testid="avatar-status">
          {status}
        </p>
      )}
      <div class="avatar-row">
        {preview ? (
          <span class="avatar large pictured" aria-hidden="true">
            <img src={preview} alt="" data-testid="avatar-preview" />
          </span>
        ) : (
          <Avatar user={me} name={name} size="large" />
        )}
        <label class="btn">
          Choose a picture…
          <input
            type="file"
            class="sr-only"
            accept={TYPES.join(',')}
            onChange={choose}
            disabled={busy}
            data-testid="avatar-file"
          />
        </label>
        {file && (
          <>
            <button
              type="button"
              class="btn primary"
              disabled={busy}
              onClick={() => run(async () => done(await send(store, 'POST', file), 'Picture saved.'))}
            >
              Use this picture
            </button>
            <button type="button" class="btn" disabled={busy} onClick={() => setFile(null)}>
              Cancel
            </button>
          </>
        )}
        {!file && me.avatar !== undefined && (
          <button
            type="button"
            class="btn"
            disabled={busy}
            onClick={() => run(async () => done(await send(store, 'DELETE'), 'Picture removed.'))}
          >
            Remove picture
          </button>
        )}
      </div>
    </section>
  );
}
