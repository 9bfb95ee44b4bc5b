import { anonymousHref } from './Anonymous';
import { rumoursHref } from './RumourWatch';
import { mayViewPulse, pulseHref } from '../pulse';
import { mayListSent } from '../sent';
import { faqHref } from '../faq';
import { mayBroadcast } from './Broadcasts';
import type { ChatStore, RoomState } from '../store';
import { roomTitle } from '../store';
import {
  accountHref,
  adminHref,
  mentionsHref,
  myQuestionsHref,
  pastBroadcastsHref,
  sentBroadcastsHref,
  questionsHref,
  roomHref,
  runSearch,
} from '../router';
import { markAllRead } from '../roomAdmin';
import { ConnectionBadge } from './ConnectionBadge';
import { ThemeToggle } from './ThemeToggle';
import { NoticeList } from './Votes';
import { HashIcon, LockIcon, MegaphoneIcon, PenIcon, PeopleIcon, PlusIcon, QuestionIcon, SearchIcon } from './Icons';
import { Avatar } from './Avatar';

interface Props {
  store: ChatStore;
  activeRoom: string | null;
  /** The query on screen, if the search view is open. */
  searchQuery?: string;
  questionsActive?: boolean;
  adminActive?: boolean;
  accountActive?: boolean;
  mentionsActive?: boolean;
  onBrowse: () => void;
  onCreate: () => void;
  onBroadcast?: () => void;
  onNewDm: () => void;
  onLogout: () => void;
}

export function Sidebar({ store, activeRoom, searchQuery, questionsActive, adminActive, accountActive, mentionsActive, onBrowse, onCreate, onNewDm, onBroadcast, onLogout }: Props) {
  const rooms = store.roomList.value;
  const online = store.online.value;
  return (
    <aside class="sidebar" aria-label="Sidebar">
      <header class="sidebar-head">
        <a class="app-name" href="#/">
          <span class="brand-mark small" aria-hidden="true">
            T
          </span>
          Townhall
        </a>
        <ThemeToggle />
        <ConnectionBadge state={store.connState.value} />
      </header>
      <form
        class="search-box"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const q = (new FormData(e.currentTarget).get('q') ?? '').toString().trim();
          if (q) runSearch(q);
        }}
      >
        <input
          key={searchQuery ?? ''}
          name="q"
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          defaultValue={searchQuery ?? ''}
          maxLength={512}
        />
      </form>
      <div class="sidebar-actions">
        <button type="button" class="side-action" onClick={onBrowse}>
          <SearchIcon /> Browse rooms
        </button>
        <button type="button" class="side-action" onClick={onCreate}>
          <PlusIcon /> New room
        </button>
        <button type="button" class="side-action" onClick={onNewDm}>
          <PenIcon /> New message
        </button>
        {mayBroadcast(store) && onBroadcast && (
          <button type="button" class="side-action" onClick={onBroadcast}>
            <MegaphoneIcon /> Broadcast
          </button>
        )}
        <a
          class={`side-action${questionsActive ? ' active' : ''}`}
          href={questionsHref}
          aria-current={questionsActive ? 'page' : undefined}
          data-testid="questions-link"
        >
          <QuestionIcon /> Questions
        </a>
        <a class="side-action" href={myQuestionsHref} data-testid="my-questions-link">
          <QuestionIcon /> My questions
        </a>
        <a
          class={`side-action${mentionsActive ? ' active' : ''}`}
          href={mentionsHref}
          aria-current={mentionsActive ? 'page' : undefined}
          data-testid="mentions-link"
        >
          <span aria-hidden="true">@</span> Mentions
        </a>
        <a class="side-action" href={pastBroadcastsHref} data-testid="past-broadcasts-link">
          <MegaphoneIcon /> Past broadcasts
        </a>
        {mayListSent(store.me.role) && (
          <a class="side-action" href={sentBroadcastsHref} data-testid="sent-broadcasts-link">
            <MegaphoneIcon /> Your broadcasts
          </a>
        )}
        <a class="side-action" href={anonymousHref} data-testid="anonymous-link">
          <QuestionIcon /> Anonymous questions
        </a>
        {store.transformationTeam && (
          <a class="side-action" href={rumoursHref} data-testid="rumours-link">
            <QuestionIcon /> Rumour watch
            {store.watch.unseen.value > 0 && (
              <span class="badge" aria-label={`${store.watch.unseen.value} new alerts`}>
                {store.watch.unseen.value}
              </span>
            )}
          </a>
        )}
        <a class="side-action" href={faqHref} data-testid="faq-link">
          <QuestionIcon /> FAQ
        </a>
        {mayViewPulse(store.me.role, store.transformationTeam) && (
          <a class="side-action" href={pulseHref} data-testid="pulse-link">
            <QuestionIcon /> Pulse
          </a>
        )}
        <NoticeList store={store} />
        {store.me.role === 'admin' && (
          <a
            class={`side-action${adminActive ? ' active' : ''}`}
            href={adminHref}
            aria-current={adminActive ? 'page' : undefined}
            data-testid="admin-link"
          >
            <PeopleIcon /> Administration
          </a>
        )}
      </div>
      <nav class="room-nav" aria-label="Conversations">
        <div class="nav-head">
          <h2 class="nav-title">Conversations</h2>
          {store.totalUnread.value > 0 && (
            <button type="button" class="btn subtle small" data-testid="mark-all-read" onClick={() => markAllRead(store)}>
              Mark all as read
            </button>
          )}
        </div>
        {!store.loaded.value ? (
          <p class="muted pad">Loading conversations…</p>
        ) : rooms.length === 0 ? (
          <p class="muted pad">You are not in any room yet. Browse rooms or start a conversation.</p>
        ) : (
          <ul class="room-list">
            {rooms.map((r) => (
              <RoomItem key={r.id} room={r} active={r.id === activeRoom} online={online} />
            ))}
          </ul>
        )}
      </nav>
      <footer class="sidebar-foot">
        <Avatar
          user={store.profile.me.value ?? store.me}
          name={(store.profile.me.value ?? store.me).display_name || store.me.username}
          size="small"
        />
        <span class="me">
          <bdi class="me-name">{(store.profile.me.value ?? store.me).display_name || store.me.username}</bdi>
          <span class="muted small">@{store.me.username}</span>
        </span>
        <a
          class="btn subtle"
          href={accountHref}
          aria-current={accountActive ? 'page' : undefined}
          data-testid="account-link"
        >
          Account
        </a>
        <button type="button" class="btn subtle" onClick={onLogout}>
          Log out
        </button>
      </footer>
    </aside>
  );
}

function RoomItem({ room, active, online }: { room: RoomState; active: boolean; online: ReadonlySet<string> }) {
  const info = room.info!;
  const title = roomTitle(room);
  const isDm = info.kind === 'dm';
  const peerOnline = isDm && info.dm_peer ? online.has(info.dm_peer.id) : false;
  // The link's accessible name is its content, a visually hidden sentence
  // ("Room general, 3 unread") beside the visible parts (hidden from
  // assistive tech), never an aria-label: the spoken name always contains
  // the shown one (WCAG 2.5.3, axe's label-content-name-mismatch). One
  // span, because an out-of-flow span next to the name makes Chromium put
  // a space before the comma.
  const parts = [isDm ? `Direct message with ${title}` : `Room ${title}`];
  if (isDm) parts.push(peerOnline ? 'online' : 'offline');
  if (room.unread) parts.push(`${room.unread} unread`);
  if (room.mentions) parts.push(`${room.mentions} mentioning you`);
  return (
    <li>
      <a
        class={`room-item${active ? ' active' : ''}${room.unread ? ' unread' : ''}${room.mentions ? ' mentioned' : ''}`}
        href={roomHref(room.id)}
        aria-current={active ? 'page' : undefined}
        data-room-id={room.id}
      >
        <span class="sr-only">{parts.join(', ')}</span>
        <span class="room-icon" aria-hidden="true">
          {isDm ? <span class={`presence-dot${peerOnline ? ' on' : ''}`} /> : info.visibility === 'private' ? <LockIcon /> : <HashIcon />}
        </span>
        <bdi class="room-name" aria-hidden="true">
          {title}
        </bdi>
        {room.mentions > 0 && (
          <span class="badge mention" aria-hidden="true" data-testid="mention-badge">
            @{room.mentions > 1 ? room.mentions : ''}
          </span>
        )}
        {room.unread > 0 && (
          <span class="badge" aria-hidden="true" data-testid="unread-badge">
            {room.unread > 9999 ? '9999+' : room.unread}
          </span>
        )}
      </a>
    </li>
  );
}
