import { signal } from '@preact/signals';
import { useState } from 'preact/hooks';
import { Avatar } from './Avatar';
import { ANONYMOUS_ID, type UserInfo } from '../protocol';
import { navigate, roomHref } from '../router';
import type { ChatStore } from '../store';
import { Modal } from './Modal';

/**
 * A person's card, opened by clicking their name (timeline, thread): who
 * they are (name, username, company role, online), and a "Message" button
 * that opens the DM. One card at a time, held in a module signal so any
 * name anywhere can open it without threading callbacks through the tree.
 */
export const profileOf = signal<UserInfo | null>(null);

const ROLE_LABEL: Record<UserInfo['role'], string> = {
  staff: 'Staff',
  leader: 'Leader',
  admin: 'Administrator',
};

/** A person's name that opens their card. */
export function PersonName({ user, name }: { user: UserInfo; name: string }) {
  // An anonymous question's sender is nobody: there is no card to show.
  if (user.id === ANONYMOUS_ID) return <bdi class="sender">{name}</bdi>;
  return (
    <button type="button" class="sender-btn" onClick={() => (profileOf.value = user)} data-testid="person-name">
      <bdi class="sender">{name}</bdi>
    </button>
  );
}

export function ProfileCard({ store }: { store: ChatStore }) {
  const user = profileOf.value;
  const [error, setError] = useState<string | null>(null);
  if (!user) return null;
  const name = user.display_name || user.username;
  const me = user.id === store.me.id;
  const online = store.online.value.has(user.id);
  const close = () => {
    setError(null);
    profileOf.value = null;
  };
  const message = async () => {
    try {
      const room = await store.openDm(user.username);
      close();
      navigate(roomHref(room.id));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <Modal title={name} onClose={close}>
      <div class="profile-card" data-testid="profile-card">
        <Avatar user={user} name={name} size="large" />
        <dl class="profile-facts">
          <dt>Username</dt>
          <dd>@{user.username}</dd>
          <dt>Role</dt>
          <dd data-testid="profile-role">{ROLE_LABEL[user.role]}</dd>
          {user.transformation_team && (
            <>
              <dt>Team</dt>
              <dd data-testid="profile-team">Transformation team</dd>
            </>
          )}
          <dt>Status</dt>
          <dd>{me ? 'This is you' : online ? 'Online' : 'Offline'}</dd>
        </dl>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      <div class="row end">
        <button type="button" class="btn" onClick={close}>
          Close
        </button>
        {!me && (
          <button type="button" class="btn primary" onClick={() => void message()}>
            Message
          </button>
        )}
      </div>
    </Modal>
  );
}
