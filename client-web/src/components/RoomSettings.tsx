// Room settings for its owner or an admin: rename, topic, archive and
// unarchive (`update_room`). Members see the change live through the
// `room_updated` event, as does this client.

import { useState } from 'preact/hooks';
import { RequestError } from '../connection';
import type { RoomInfo } from '../protocol';
import { updateRoom } from '../roomAdmin';
import type { ChatStore } from '../store';
import { messageOf } from './MembersPanel';
import { Modal } from './Modal';

export function RoomSettingsDialog({ store, info, onClose }: { store: ChatStore; info: RoomInfo; onClose: () => void }) {
  const [name, setName] = useState(info.name);
  const [topic, setTopic] = useState(info.topic);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (patch: { name?: string; topic?: string; archived?: boolean }) => {
    setBusy(true);
    setError(null);
    try {
      await updateRoom(store, info.id, patch);
      onClose();
    } catch (err) {
      setBusy(false);
      setError(
        err instanceof RequestError && err.code === 'name_taken'
          ? `A public room named “${name.trim()}” already exists (names ignore case). Choose another name.`
          : err instanceof RequestError && err.code === 'organisation_room'
            ? 'The organisation room cannot be archived.'
            : messageOf(err),
      );
    }
  };
  const save = (e: Event) => {
    e.preventDefault();
    const n = name.trim();
    if (!n) {
      setError('Give the room a name.');
      return;
    }
    const patch: { name?: string; topic?: string } = {};
    if (n !== info.name) patch.name = n;
    if (topic.trim() !== info.topic) patch.topic = topic.trim();
    if (patch.name === undefined && patch.topic === undefined) onClose();
    else void run(patch);
  };

  return (
    <Modal title="Room settings" onClose={onClose}>
      <form onSubmit={save} class="stack" data-testid="room-settings">
        <label class="field">
          <span>Name</span>
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={80} required />
        </label>
        <label class="field">
          <span>Topic</span>
          <input value={topic} onInput={(e) => setTopic(e.currentTarget.value)} maxLength={500} />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="row end">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            Save
          </button>
        </div>
        {!info.org_wide && (
          <div class="archive-box">
            <p class="muted small">
              {info.archived
                ? 'This room is archived: nobody can post, edit or react. Members still read and search it.'
                : 'Archiving makes the room read-only and takes it out of Browse rooms. Members still read and search it.'}
            </p>
            <button type="button" class="btn" disabled={busy} onClick={() => void run({ archived: !info.archived })}>
              {info.archived ? 'Unarchive room' : 'Archive room'}
            </button>
          </div>
        )}
      </form>
    </Modal>
  );
}
