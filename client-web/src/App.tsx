import { signal } from '@preact/signals';
import { showFaviconCount } from './favicon';
import { useEffect, useState } from 'preact/hooks';
import * as api from './api';
import type { LoginResponse } from './protocol';
import { navigate, roomHref, route, searchAgain } from './router';
import { stepRoom, useGlobalKeys } from './keys';
import * as storage from './storage';
import { ChatStore } from './store';
import { clearFileUrls } from './upload';
import { setAvatarSession } from './avatar';
import { BrowseDialog, CreateRoomDialog, NewDmDialog } from './components/Dialogs';
import { Home } from './components/Home';
import { BroadcastDialog, ReachView } from './components/Broadcasts';
import { QuestionsView } from './components/Questions';
import { AnonymousView } from './components/Anonymous';
import { RumourWatchView } from './components/RumourWatch';
import { FaqView } from './components/Faq';
import { lazyView } from './lazy';
import { mayListSent } from './sent';
import { Login } from './components/Login';
import { RoomPane } from './components/RoomPane';
import { Sidebar } from './components/Sidebar';
import { SearchView } from './components/SearchView';
import { QuickSwitcher } from './components/QuickSwitcher';
import { ShortcutHelp } from './components/ShortcutHelp';
import { NotifyOffer, useNotifications } from './components/Notifications';
import { ProfileCard, profileOf } from './components/ProfileCard';

const AdminView = lazyView(() => import('./components/Admin').then((m) => m.AdminView));
const PulseView = lazyView(() => import('./components/Pulse').then((m) => m.PulseView));
const InvitePage = lazyView(() => import('./components/InvitePage').then((m) => m.InvitePage));
const SentBroadcasts = lazyView(() => import('./components/SentBroadcasts').then((m) => m.SentBroadcasts));
const PastBroadcasts = lazyView(() => import('./components/PastBroadcasts').then((m) => m.PastBroadcasts));
const MyQuestionsView = lazyView(() => import('./MyQuestions').then((m) => m.MyQuestionsView));
const AccountView = lazyView(() => import('./components/Account').then((m) => m.AccountView));

/** The running session: one store per logged-in user. */
const current = signal<ChatStore | null>(null);
const loginNotice = signal<string | undefined>(undefined);
let expiryTimer: ReturnType<typeof setTimeout> | null = null;
const PASSWORD_CHANGED = 'Your password was changed, and you were logged out everywhere. Log in with your new password.';
/**
 * While my own password change is in flight: the server ends all my sessions
 * when it succeeds, and the socket's close (4003) may arrive before the HTTP
 * answer; it then means "password changed", not "logged out".
 */
let changingPassword = false;

function startSession(s: LoginResponse): void {
  storage.saveSession(s);
  setAvatarSession(s.token);
  const store = new ChatStore({
    session: s,
    onAuthLost: (why) =>
      endSession(
        changingPassword
          ? PASSWORD_CHANGED
          : why === 'logged_out'
            ? 'You were logged out.'
            : 'Your session has ended. Please log in again.',
      ),
  });
  current.value = store;
  store.start();
  if (expiryTimer) clearTimeout(expiryTimer);
  const left = s.expires_at - Date.now();
  // setTimeout holds at most ~24.8 days; a longer session is checked on reload.
  if (left < 2 ** 31 - 1) expiryTimer = setTimeout(() => endSession('Your session expired. Please log in again.'), left);
}

function endSession(notice?: string): void {
  const store = current.value;
  store?.stop();
  clearFileUrls();
  setAvatarSession(null);
  storage.saveSession(null);
  current.value = null;
  // Nothing of this session stays on screen for the next person.
  profileOf.value = null;
  showFaviconCount(0);
  document.title = 'Townhall';
  loginNotice.value = notice;
  if (expiryTimer) clearTimeout(expiryTimer);
  expiryTimer = null;
}

async function logout(): Promise<void> {
  const store = current.value;
  if (!store) return;
  const token = store.token;
  endSession();
  await api.logout(token);
}

/** Change my password; on success the session is over and the login page says why. */
async function changePassword(oldPassword: string, newPassword: string): Promise<void> {
  const store = current.value;
  if (!store) return;
  changingPassword = true;
  try {
    await api.changePassword(store.token, oldPassword, newPassword);
  } finally {
    changingPassword = false;
  }
  endSession(PASSWORD_CHANGED);
  navigate('#/');
}

/** A company login (OpenID Connect) that ended in an error, for the login page. */
const loginError = signal<string | undefined>(undefined);

/**
 * Resume a saved session on load, or finish a company login: the server
 * sent the browser back with a one-time code in the fragment, which is
 * taken out of the address at once and traded for the session.
 */
export function boot(): void {
  const oidc = api.takeOidcResult();
  if (oidc?.code) {
    void api.oidcExchange(oidc.code).then(
      (s) => {
        if (current.value) endSession();
        startSession(s);
      },
      (e: unknown) => {
        loginError.value = e instanceof api.ApiError ? e.message : 'Login failed. Try again.';
      },
    );
    return;
  }
  if (oidc?.error) loginError.value = api.oidcMessage(oidc.error);
  const s = storage.loadSession();
  if (s) startSession(s);
}

type DialogName = 'browse' | 'create' | 'dm' | 'broadcast' | 'switcher' | 'help' | null;

export function App() {
  const store = current.value;
  const r = route.value;
  // An invitation link wins over a session open in this browser: the
  // person holding it is about to become someone else.
  if (r.name === 'invite') {
    return (
      <InvitePage
        token={r.token}
        onLoggedIn={(s) => {
          if (current.value) endSession();
          loginNotice.value = undefined;
          loginError.value = undefined;
          startSession(s);
          navigate('#/');
        }}
      />
    );
  }
  if (!store) {
    return (
      <Login
        notice={loginNotice.value}
        initialError={loginError.value}
        onLoggedIn={(s) => {
          loginNotice.value = undefined;
          loginError.value = undefined;
          startSession(s);
        }}
      />
    );
  }
  return <Shell store={store} />;
}

function Shell({ store }: { store: ChatStore }) {
  const [dialog, setDialog] = useState<DialogName>(null);
  const r = route.value;
  const roomId = r.name === 'room' ? r.id : null;
  useNotifications(store, roomId);
  useGlobalKeys({
    switcher: () => setDialog('switcher'),
    help: () => setDialog('help'),
    room: (step, unread) => {
      const ids = store.roomList.value.map((x) => x.id);
      const next = stepRoom(ids, roomId, step, unread ? (id) => (store.rooms.value.get(id)?.unread ?? 0) > 0 : undefined);
      if (next) navigate(roomHref(next));
    },
  });

  // Tab title and icon show the unread total, so a background (or pinned)
  // tab says "something new".
  const total = store.totalUnread.value;
  useEffect(() => {
    document.title = total > 0 ? `(${total}) Townhall` : 'Townhall';
    showFaviconCount(total);
  }, [total]);

  return (
    <div class={`shell${roomId ? ' has-room' : ''}`}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <Sidebar
        store={store}
        activeRoom={roomId}
        searchQuery={r.name === 'search' ? r.q : ''}
        questionsActive={r.name === 'questions'}
        adminActive={r.name === 'admin'}
        accountActive={r.name === 'account'}
        mentionsActive={r.name === 'mentions'}
        onBrowse={() => setDialog('browse')}
        onCreate={() => setDialog('create')}
        onNewDm={() => setDialog('dm')}
        onBroadcast={() => setDialog('broadcast')}
        onLogout={() => {
          void logout();
          navigate('#/');
        }}
      />
      <main id="main" class="main" tabIndex={-1}>
        {roomId ? (
          <RoomPane key={roomId} store={store} roomId={roomId} at={r.name === 'room' ? r.at : undefined} />
        ) : r.name === 'questions' ? (
          <QuestionsView store={store} />
        ) : r.name === 'my-questions' ? (
          <MyQuestionsView store={store} />
        ) : r.name === 'anonymous' ? (
          <AnonymousView store={store} />
        ) : r.name === 'rumours' ? (
          <RumourWatchView store={store} />
        ) : r.name === 'pulse' ? (
          <PulseView store={store} />
        ) : r.name === 'faq' ? (
          <FaqView store={store} />
        ) : r.name === 'admin' ? (
          <AdminView store={store} />
        ) : r.name === 'account' ? (
          <AccountView store={store} changePassword={changePassword} />
        ) : r.name === 'broadcasts' ? (
          <PastBroadcasts store={store} />
        ) : r.name === 'mentions' ? (
          <SearchView key="mentions" store={store} query="mentions:me" title="Mentions" />
        ) : r.name === 'search' ? (
          <SearchView key={r.q} store={store} query={r.q} again={searchAgain.value} />
        ) : r.name === 'reach' ? (
          <>
            <ReachView key={r.id} store={store} id={r.id} />
            {mayListSent(store.me.role) && <SentBroadcasts key={`sent-${r.id}`} store={store} nested />}
          </>
        ) : r.name === 'sent' ? (
          <SentBroadcasts store={store} />
        ) : (
          <Home store={store} onCreateRoom={() => setDialog('create')} />
        )}
      </main>
      {dialog === 'browse' && <BrowseDialog store={store} onClose={() => setDialog(null)} />}
      {dialog === 'create' && <CreateRoomDialog store={store} onClose={() => setDialog(null)} />}
      {dialog === 'dm' && <NewDmDialog store={store} onClose={() => setDialog(null)} />}
      {dialog === 'broadcast' && <BroadcastDialog store={store} onClose={() => setDialog(null)} />}
      {dialog === 'switcher' && <QuickSwitcher store={store} onClose={() => setDialog(null)} />}
      {dialog === 'help' && <ShortcutHelp onClose={() => setDialog(null)} />}
      <ProfileCard store={store} />
      <NotifyOffer />
    </div>
  );
}
