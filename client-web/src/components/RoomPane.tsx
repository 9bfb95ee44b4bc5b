import { useEffect, useState } from 'preact/hooks';
import type { ChatStore } from '../store';
import { roomTitle } from '../store';
import { navigate } from '../router';
import { Composer } from './Composer';
import { ConfirmDialog } from './Dialogs';
import { BackIcon, HashIcon, LockIcon, PeopleIcon } from './Icons';
import { MembersPanel } from './MembersPanel';
import { RoomNotifySelect } from './Notifications';
import { PinnedAcks } from './Broadcasts';
import { ThreadPanel } from './ThreadPanel';
import { Timeline } from './Timeline';
import { RoomSettingsDialog } from './RoomSettings';
import { mayManage } from '../roomAdmin';

/** Staff stay in the organisation room (the server refuses with `organisation_room`). */
export function mayLeave(info: { org_wide?: boolean } | undefined, role: string): boolean {
  return !(info?.org_wide && role === 'staff');
}

export function RoomPane({ store, roomId, at }: { store: ChatStore; roomId: string; at?: number | undefined }) {
  const [showMembers, setShowMembers] = useState(false);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const [confirmBlock, setConfirmBlock] = useState(false);
  const [settings, setSettings] = useState(false);
  const view = store.view.value;
  const room = store.rooms.value.get(roomId);
  const info = room?.info;

  useEffect(() => {
    void store.openRoom(roomId, at);
    setShowMembers(false);
    store.closeThread();
    return () => {
      store.closeRoom(roomId);
      store.closeThread();
    };
  }, [roomId, at, store]);

  const isDmRoom = info?.kind === 'dm';
  useEffect(() => {
    // The Block / Unblock button needs to know whom I block.
    if (isDmRoom) store.loadBlocked().catch(() => {});
  }, [isDmRoom, store]);

  const threadOpen = store.thread.value?.room === roomId;
  useEffect(() => {
    if (threadOpen) setShowMembers(false);
  }, [threadOpen]);

  if (!view || view.room !== roomId) return <section class="room-pane" aria-busy="true" />;

  if (view.status === 'not_found') {
    return (
      <section class="room-pane empty-state" aria-labelledby="nf-title" data-testid="room-not-found">
        <BackLink />
        <h1 id="nf-title">Room not found</h1>
        <p class="muted">This room does not exist, or you do not have access to it.</p>
        <a class="btn" href="#/">
          Back to your conversations
        </a>
      </section>
    );
  }

  if (view.status === 'not_member') {
    const p = view.preview;
    return (
      <section class="room-pane empty-state" aria-labelledby="nm-title">
        <BackLink />
        <h1 id="nm-title">{p ? `# ${p.name}` : 'You are not in this room'}</h1>
        {p?.topic && <p>{p.topic}</p>}
        <p class="muted">
          {p ? `${p.member_count} member${p.member_count === 1 ? '' : 's'}. Join to read and post.` : 'You left this room or were removed.'}
        </p>
        {p && (
          <button
            type="button"
            class="btn primary"
            onClick={async () => {
              await store.join(roomId);
              void store.openRoom(roomId);
            }}
          >
            Join room
          </button>
        )}
      </section>
    );
  }

  if (!info || !room) {
    return (
      <section class="room-pane empty-state" aria-busy="true">
        <p class="muted">{view.status === 'error' ? `Could not open the room: ${view.error}` : 'Loading…'}</p>
      </section>
    );
  }

  const title = roomTitle(room);
  const pending = store.outbox.value.filter((i) => i.room === roomId && i.thread === undefined);
  const thread = store.thread.value;
  const showThread = !!thread && thread.room === roomId;
  const mayPost = store.mayPostTopLevel(roomId);
  const typers = [...(store.typing.value.get(roomId)?.values() ?? [])].map((t) => t.user.display_name || t.user.username);
  const isDm = info.kind === 'dm';
  const peerOnline = isDm && info.dm_peer ? store.online.value.has(info.dm_peer.id) : false;
  const peer = isDm ? info.dm_peer : undefined;
  const blocked = !!peer && store.blocked.value.has(peer.id);

  return (
    <section class={`room-pane${showMembers || showThread ? ' with-panel' : ''}`} aria-labelledby="room-title">
      <div class="room-main">
        <header class="room-head">
          <BackLink />
          <div class="room-head-text">
            <h1 id="room-title" data-testid="room-title">
              <span class="room-head-icon" aria-hidden="true">
                {isDm ? <span class={`presence-dot${peerOnline ? ' on' : ''}`} /> : info.visibility === 'private' ? <LockIcon /> : <HashIcon />}
              </span>
              <bdi>{title}</bdi>
              {isDm && <span class="sr-only">{peerOnline ? ' (online)' : ' (offline)'}</span>}
              {info.archived && (
                <span class="archived-tag" data-testid="archived-tag">
                  Archived
                </span>
              )}
            </h1>
            {(info.topic || isDm) && (
              <p class="room-topic muted small">{isDm ? (peerOnline ? 'Online' : 'Offline') : info.topic}</p>
            )}
          </div>
          <div class="room-head-actions">
            <RoomNotifySelect roomId={roomId} />
            <button
              type="button"
              class="btn subtle"
              aria-expanded={showMembers}
              aria-controls="members-panel"
              onClick={() => {
                if (!showMembers) store.closeThread();
                setShowMembers(!showMembers);
              }}
            >
              <PeopleIcon /> <span>{info.member_count}</span>
              <span class="sr-only"> {info.member_count === 1 ? 'member' : 'members'}</span>
            </button>
            {isDm && peer && (
              <button
                type="button"
                class="btn subtle"
                data-testid="block"
                onClick={() => (blocked ? void store.block(peer, false) : setConfirmBlock(true))}
              >
                {blocked ? 'Unblock' : 'Block'}
              </button>
            )}
            {mayManage(store, info) && (
              <button type="button" class="btn subtle" data-testid="room-settings-button" onClick={() => setSettings(true)}>
                Settings
              </button>
            )}
            {mayLeave(info, store.me.role) && (
              <button type="button" class="btn subtle" data-testid="leave" onClick={() => setConfirmLeave(true)}>
                {isDm ? 'Leave conversation' : 'Leave'}
              </button>
            )}
          </div>
        </header>
        <PinnedAcks store={store} room={roomId} />
        {view.status === 'loading' ? (
          <div class="timeline center muted" aria-busy="true">
            Loading messages…
          </div>
        ) : view.status === 'error' ? (
          <div class="timeline center">
            <p>Could not load messages: {view.error}</p>
            <button type="button" class="btn" onClick={() => void store.openRoom(roomId)}>
              Try again
            </button>
          </div>
        ) : (
          <Timeline store={store} room={room} view={view} pending={pending} />
        )}
        <div class="typing-line muted small" aria-live="polite" data-testid="typing">
          {typers.length === 1 ? (
            <>
              <bdi>{typers[0]}</bdi> is typing…
            </>
          ) : typers.length === 2 ? (
            <>
              <bdi>{typers[0]}</bdi> and <bdi>{typers[1]}</bdi> are typing…
            </>
          ) : typers.length > 2 ? (
            'Several people are typing…'
          ) : (
            ''
          )}
        </div>
        {info.archived ? (
          <p class="composer-note announce-note" role="note" data-testid="archived-note">
            This room is archived: it is read-only.
          </p>
        ) : mayPost ? (
          <Composer
            store={store}
            roomId={roomId}
            label={isDm ? `Message ${title}` : `Message #${title}`}
            onSent={() => {
              const r = store.rooms.value.get(roomId);
              const last = r?.timeline.run[r.timeline.run.length - 1]?.seq ?? 0;
              if (r && last < r.lastSeq) void store.jumpToLatest(roomId);
            }}
          />
        ) : (
          <p class="composer-note announce-note" role="note" data-testid="announce-only-note">
            Only leaders and moderators post here. Reply under a post, or ask a question there.
          </p>
        )}
        <div class="sr-only" aria-live="polite" aria-atomic="true">
          {store.announcement.value}
        </div>
      </div>
      {showMembers && !showThread && <MembersPanel store={store} room={info} onClose={() => setShowMembers(false)} />}
      {showThread && (
        <ThreadPanel
          store={store}
          onClose={() => {
            const seq = thread.seq;
            store.closeThread();
            // Back to the message the thread hangs under.
            document.querySelector<HTMLElement>(`.timeline [data-seq="${seq}"] [data-action="thread"], .timeline [data-seq="${seq}"] [data-testid="thread-link"]`)?.focus();
          }}
        />
      )}
      {settings && <RoomSettingsDialog store={store} info={info} onClose={() => setSettings(false)} />}
      {confirmBlock && peer && (
        <ConfirmDialog
          title={`Block ${title}?`}
          text={`${title} will no longer be able to message you here, start a conversation with you or add you to rooms. They are not told; you can unblock them here.`}
          confirm="Block"
          onClose={() => setConfirmBlock(false)}
          onConfirm={async () => {
            await store.block(peer, true);
            setConfirmBlock(false);
          }}
        />
      )}
      {confirmLeave && (
        <ConfirmDialog
          title={isDm ? `Leave the conversation with ${title}?` : `Leave ${title}?`}
          text={
            isDm
              ? `It leaves your list until ${title} writes again or you message them. Nothing is deleted.`
              : info.visibility === 'private'
                ? 'This room is private: you will need to be added again to come back.'
                : 'You can join again from Browse rooms.'
          }
          confirm={isDm ? 'Leave conversation' : 'Leave room'}
          onClose={() => setConfirmLeave(false)}
          onConfirm={async () => {
            await store.leave(roomId);
            setConfirmLeave(false);
            navigate('#/');
          }}
        />
      )}
    </section>
  );
}

function BackLink() {
  return (
    <a class="back-link icon-btn" href="#/" aria-label="Back to conversations">
      <BackIcon />
    </a>
  );
}
