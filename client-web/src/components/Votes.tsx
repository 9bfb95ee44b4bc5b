// Questions at all-hands scale: the vote button ("I want to know too"), the
// follow toggle, and the list of notices about what I asked, voted for or
// follow.

import { useState } from 'preact/hooks';
import { voteKey, type ChatStore } from '../store';
import type { RoomId, RoomSeq } from '../protocol';
import { roomHref } from '../router';

/** The vote count shown: the live one when a `question_votes` came, else the stored state. */
export function voteCount(store: ChatStore, room: RoomId, seq: RoomSeq, stored: number | undefined): number {
  return store.voteCounts.value.get(voteKey(room, seq)) ?? stored ?? 0;
}

/** "▲ 3": vote for a question, or take the vote back. The asker sees the count only. */
export function VoteButton(props: {
  store: ChatStore;
  room: RoomId;
  seq: RoomSeq;
  stored: number | undefined;
  mine: boolean;
  open: boolean;
}) {
  const { store, room, seq } = props;
  const [error, setError] = useState('');
  const count = voteCount(store, room, seq, props.stored);
  const voted = store.myVotes.value.has(voteKey(room, seq));
  if (props.mine || (!props.open && !voted)) {
    return (
      <span class="vote-count" data-testid="vote-count" aria-label={`${count} ${count === 1 ? 'vote' : 'votes'}`}>
        ▲ {count}
      </span>
    );
  }
  const toggle = async () => {
    setError('');
    try {
      await store.vote(room, seq, !voted);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <>
      <button
        type="button"
        class={`vote${voted ? ' mine' : ''}`}
        aria-pressed={voted}
        aria-label={`I want to know too: ${count} ${count === 1 ? 'vote' : 'votes'}${voted ? ', including yours' : ''}`}
        title={voted ? 'Take my vote back' : 'I want to know too'}
        onClick={() => void toggle()}
        data-testid="vote-button"
      >
        ▲ <span data-testid="vote-count">{count}</span>
      </button>
      {error && (
        <span class="form-error small" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

/** Follow or stop following a question or thread (notices of answers and replies). */
export function FollowToggle(props: { store: ChatStore; room: RoomId; seq: RoomSeq }) {
  const { store, room, seq } = props;
  const following = store.myFollows.value.has(voteKey(room, seq));
  return (
    <button
      type="button"
      class={`btn subtle small follow${following ? ' on' : ''}`}
      aria-pressed={following}
      onClick={() => void store.followThread(room, seq, !following).catch(() => undefined)}
      data-testid="follow-toggle"
    >
      {following ? 'Following' : 'Follow'}
    </button>
  );
}

/** Notices, newest first; opening the list marks them seen. */
export function NoticeList({ store }: { store: ChatStore }) {
  const notices = store.notices.value;
  const unseen = store.unseenNotices.value;
  const [open, setOpen] = useState(false);
  if (notices.length === 0) return null;
  return (
    <div class="notices" data-testid="notices">
      <button
        type="button"
        class="side-action"
        aria-expanded={open}
        onClick={() => {
          setOpen(!open);
          store.unseenNotices.value = 0;
        }}
        data-testid="notices-toggle"
      >
        Notifications
        {unseen > 0 && (
          <span class="badge" data-testid="notices-unseen">
            {unseen}
          </span>
        )}
      </button>
      {open && (
        <ul class="notice-list">
          {[...notices].reverse().map((n) => (
            <li key={`${n.room}-${n.pos}-${n.seq}`}>
              <a href={roomHref(n.room, n.kind === 'answered' ? n.seq : n.event_seq)} data-testid="notice">
                <bdi>{n.by.display_name || n.by.username}</bdi>{' '}
                {n.kind === 'answered' ? 'answered a question you follow' : 'replied in a thread you follow'} in #
                <bdi>{n.room_name}</bdi>
              </a>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
