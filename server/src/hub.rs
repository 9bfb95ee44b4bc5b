//! The hub: who is in which room, who is online, and live fan-out. No IO.
//!
//! The hub holds every current membership in memory (about 50 bytes each:
//! a company of 10,000 in 2,000 rooms is a few MiB) so that checking a
//! membership and finding a room's recipients never touches the disk. It
//! learns of changes only from the committer's `publish`, in position order,
//! after they are durable; so the hub's view is always "as of position
//! `published`", and registering a session reads that position under the
//! same lock. That is what makes the backlog/live hand-over exact: every
//! event at or below the registration position is in the store for the
//! backlog, every event above it is pushed to the session.

use crate::frame::SharedFrame;
use crate::idhash::{IdMap, IdSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use townhall_protocol::{Pos, RoomId, RoomRole, ServerFrame, UserId, close};

/// A timeline event on its way to a socket; `pos` lets the writer drop
/// anything at or below what the backlog already sent.
#[derive(Clone, Debug)]
pub struct EventFrame {
    pub pos: Pos,
    pub frame: SharedFrame,
}

/// Why a session is being closed from outside its own loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

impl CloseReason {
    pub const SLOW_CONSUMER: CloseReason = CloseReason {
        code: close::SLOW_CONSUMER,
        reason: "slow_consumer",
    };
    pub const LOGGED_OUT: CloseReason = CloseReason {
        code: close::LOGGED_OUT,
        reason: "logged_out",
    };
    pub const ACCOUNT_CHANGED: CloseReason = CloseReason {
        code: close::ACCOUNT_CHANGED,
        reason: "account_changed",
    };
    pub const SHUTDOWN: CloseReason = CloseReason {
        code: close::GOING_AWAY,
        reason: "shutting_down",
    };
}

/// A one-shot "close this session" switch with its reason.
#[derive(Debug, Default)]
pub struct KillSwitch {
    token: CancellationToken,
    /// Set before the token fires. The hub checks it for every session of
    /// every member on each fan-out: an atomic load, where the token's own
    /// `is_cancelled` takes a mutex (5.7 % of the server's CPU in a 1,000
    /// member fan-out at 50 msgs/s).
    killed: AtomicBool,
    /// Set once, before the token fires; read by the writer to choose its
    /// Close frame. A std Mutex: set and read in a few instructions.
    reason: Mutex<Option<CloseReason>>,
}

impl KillSwitch {
    pub fn kill(&self, reason: CloseReason) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert(reason);
        }
        self.killed.store(true, Ordering::Release);
        self.token.cancel();
    }
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Acquire)
    }
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }
    pub fn reason(&self) -> Option<CloseReason> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

/// The hub's handle on one connection.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub id: u64,
    pub user: UserId,
    /// SHA-256 of the login token it authenticated with (for logout).
    pub token_hash: [u8; 32],
    /// Timeline events, in position order. Full means a slow consumer.
    pub events: crate::outbox::Sender<EventFrame>,
    /// Everything else (replies, typing, presence, read markers): these may
    /// go out while the backlog is still streaming.
    pub frames: crate::outbox::Sender<SharedFrame>,
    pub kill: Arc<KillSwitch>,
    /// The position as of which it registered (set by [`Hub::register`]):
    /// its catch-up reads notices up to here, so a notice is pushed live
    /// only to a session registered before the notice's position.
    pub registered_at: Pos,
}

/// A membership change carried by a published event.
#[derive(Clone, Debug)]
pub enum MembershipChange {
    Joined(UserId, RoomRole),
    Left(UserId),
}

/// One durable event, ready for fan-out.
#[derive(Clone, Debug)]
pub struct Published {
    pub pos: Pos,
    pub room: RoomId,
    pub frame: SharedFrame,
    pub change: Option<MembershipChange>,
}

impl Published {
    /// A position no timeline event carries (a broadcast reminder's, whose
    /// copies are notices): publishing it reaches nobody and only moves
    /// `published` past it, so a session registering afterwards reads the
    /// notices stored there in its catch-up instead of missing them.
    pub fn marker(pos: Pos) -> Published {
        Published {
            pos,
            room: RoomId(uuid::Uuid::nil()),
            frame: SharedFrame::from(String::new()),
            change: None,
        }
    }

    fn is_marker(&self) -> bool {
        self.room.0.is_nil()
    }
}

#[derive(Default)]
struct UserEntry {
    rooms: IdSet<RoomId>,
    sessions: Vec<SessionHandle>,
}

#[derive(Default)]
struct State {
    /// room → its current members and their room roles.
    rooms: IdMap<RoomId, IdMap<UserId, RoomRole>>,
    /// user → rooms and online sessions (entries exist while either is non-empty).
    users: IdMap<UserId, UserEntry>,
    published: Pos,
    /// Cluster mode: on how many other nodes each user is online (from
    /// `cluster/bus.rs`); a user is online if here or there.
    remote: IdMap<UserId, u32>,
}

/// Presence is pushed only through rooms up to this size: telling 10,000
/// people each time one of them connects would cost more than it is worth;
/// clients of bigger rooms ask with `online`.
const PRESENCE_ROOM_LIMIT: usize = 500;

#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// All membership and session state. A std Mutex, never held across an
    /// await: every critical section is a map update or a loop of
    /// non-blocking `try_send`s.
    state: Mutex<State>,
    /// Copy of `State::published` readable without the lock, for store reads.
    published: AtomicU64,
    /// `published` again, for those who wait for a position (a client
    /// resuming on a cluster node that has not applied that far yet).
    /// Updated once per published group, not per event.
    published_watch: std::sync::OnceLock<tokio::sync::watch::Sender<Pos>>,
    /// Cluster mode: where this node's presence changes go (user, online),
    /// for the other nodes. Bounded (see `cluster/bus.rs`); a change that
    /// does not fit is corrected by the next heartbeat.
    presence_out: std::sync::OnceLock<mpsc::Sender<(UserId, bool)>>,
    /// Rooms with events published since the search indexer last took them
    /// (`search/indexer.rs`). A std Mutex of its own, taken once per
    /// published group and once per indexer round; at most one entry per
    /// room, so it is bounded by the number of rooms. With the rooms, when
    /// the set last became non-empty (ms since the epoch): the publish time
    /// of the oldest event not yet taken, for the index lag.
    search_dirty: Mutex<(IdSet<RoomId>, u64)>,
    /// Where live frames about anonymous questions go (`anon/mod.rs`).
    anon: crate::anon::Routes,
}

impl Hub {
    pub fn new(
        published: Pos,
        memberships: impl IntoIterator<Item = (RoomId, UserId, RoomRole)>,
    ) -> Hub {
        let hub = Hub::default();
        {
            let mut s = hub.lock();
            s.published = published;
            for (room, user, role) in memberships {
                s.rooms.entry(room).or_default().insert(user, role);
                s.users.entry(user).or_default().rooms.insert(room);
            }
        }
        hub.inner.published.store(published, Ordering::Release);
        let _ = hub
            .inner
            .published_watch
            .set(tokio::sync::watch::Sender::new(published));
        hub
    }

    /// Online askers by key and the online transformation team.
    pub fn anon(&self) -> &crate::anon::Routes {
        &self.inner.anon
    }

    /// Cluster mode: send this node's presence changes to `out`.
    pub fn set_presence_out(&self, out: mpsc::Sender<(UserId, bool)>) {
        let _ = self.inner.presence_out.set(out);
    }

    fn presence_changed(&self, user: UserId, online: bool) {
        if let Some(out) = self.inner.presence_out.get() {
            let _ = out.try_send((user, online));
        }
    }

    /// Wait until `pos` is published, at most `timeout`; whether it is.
    pub async fn wait_published(&self, pos: Pos, timeout: std::time::Duration) -> bool {
        let Some(watch) = self.inner.published_watch.get() else {
            return self.published() >= pos;
        };
        let mut rx = watch.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|p| *p >= pos))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Cluster mode: `user` came online (`delta` 1) or went offline (-1) on
    /// another node; tells the local members sharing a room when that
    /// changes whether the user is online anywhere.
    pub fn remote_presence(&self, user: UserId, delta: i32) {
        let mut s = self.lock();
        let before = s.remote.get(&user).copied().unwrap_or(0);
        let after = before.saturating_add_signed(delta);
        if after == 0 {
            s.remote.remove(&user);
        } else {
            s.remote.insert(user, after);
        }
        let here = s.users.get(&user).is_some_and(|e| !e.sessions.is_empty());
        if !here && (before == 0) != (after == 0) {
            notify_presence(&s, user, after > 0);
        }
    }

    /// Users with a session on this node.
    pub fn local_online_users(&self) -> Vec<UserId> {
        self.lock()
            .users
            .iter()
            .filter(|(_, e)| !e.sessions.is_empty())
            .map(|(u, _)| *u)
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock would be a bug in a few lines of
        // map code; keep serving rather than poison every later request.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The last durable, published position: reads of timelines stop here.
    pub fn published(&self) -> Pos {
        self.inner.published.load(Ordering::Acquire)
    }

    /// Register a connection. Returns the position as of which it is
    /// registered: the backlog must cover everything up to it, and every
    /// later event will be pushed to `session.events`. `None` when the user
    /// already has `max_sessions` connections.
    pub fn register(&self, mut session: SessionHandle, max_sessions: usize) -> Option<Pos> {
        let mut s = self.lock();
        session.registered_at = s.published;
        let user = session.user;
        let entry = s.users.entry(user).or_default();
        if entry.sessions.len() >= max_sessions {
            return None;
        }
        let first = entry.sessions.is_empty();
        entry.sessions.push(session);
        if first {
            if !s.remote.contains_key(&user) {
                notify_presence(&s, user, true);
            }
            self.presence_changed(user, true);
        }
        Some(s.published)
    }

    pub fn unregister(&self, user: UserId, session_id: u64) {
        let mut s = self.lock();
        let Some(entry) = s.users.get_mut(&user) else {
            return;
        };
        entry.sessions.retain(|h| h.id != session_id);
        if entry.sessions.is_empty() {
            let now_empty = entry.rooms.is_empty();
            if !s.remote.contains_key(&user) {
                notify_presence(&s, user, false);
            }
            self.presence_changed(user, false);
            if now_empty {
                s.users.remove(&user);
            }
        }
    }

    /// Fan out durable events, in position order, applying membership changes.
    ///
    /// The lock is taken per event, not for the whole group: a registration
    /// or a membership check waits for at most one event's fan-out (a 10,000
    /// member room: about a millisecond), and `published` moves past each
    /// event as soon as every session registered before it has it, so a
    /// session registering between two events gets the first from its
    /// backlog and the second live.
    ///
    /// The writers an event is queued to are woken after the lock is let
    /// go, and after `first(pos)`: the committer writes there the acks of
    /// the sends that event completes, so the writers that carry them are
    /// woken before the room's other writers (a runtime's run queue is
    /// FIFO: behind a 1,000-member room's writers, an ack waited for all
    /// of them; docs/benchmarks.md finding 13).
    pub fn publish(&self, events: &[Published], mut first: impl FnMut(Pos)) {
        // Poisoning would mean a panic inside `extend`/`take`: keep going.
        if !events.is_empty() {
            let mut dirty = self
                .inner
                .search_dirty
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if dirty.0.is_empty() {
                // Wall-clock ms, as the indexer's own clock (a later
                // clock step only skews one lag sample).
                dirty.1 = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
            }
            dirty
                .0
                .extend(events.iter().filter(|ev| !ev.is_marker()).map(|ev| ev.room));
        }
        for ev in events {
            let mut wakers = Wakers(Vec::new());
            {
                let mut s = self.lock();
                publish_one(&mut s, ev, &mut wakers.0);
                s.published = ev.pos;
                self.inner.published.store(ev.pos, Ordering::Release);
            }
            first(ev.pos);
            drop(wakers);
        }
        if let (Some(last), Some(watch)) = (events.last(), self.inner.published_watch.get()) {
            watch.send_if_modified(|p| {
                let moved = *p < last.pos;
                *p = last.pos.max(*p);
                moved
            });
        }
    }

    /// The rooms that had events published since the last call (for the
    /// search indexer).
    pub fn take_search_dirty(&self) -> (IdSet<RoomId>, u64) {
        std::mem::take(
            &mut *self
                .inner
                .search_dirty
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// A receiver that sees `published` move (once per published group).
    pub fn watch_published(&self) -> Option<tokio::sync::watch::Receiver<Pos>> {
        self.inner.published_watch.get().map(|w| w.subscribe())
    }

    /// The caller's role in a room, if a current member.
    pub fn role_in(&self, room: RoomId, user: UserId) -> Option<RoomRole> {
        self.lock()
            .rooms
            .get(&room)
            .and_then(|m| m.get(&user).copied())
    }

    pub fn member_count(&self, room: RoomId) -> u64 {
        self.lock().rooms.get(&room).map_or(0, |m| m.len() as u64)
    }

    pub fn members(&self, room: RoomId) -> Vec<(UserId, RoomRole)> {
        self.lock()
            .rooms
            .get(&room)
            .map(|m| m.iter().map(|(u, r)| (*u, *r)).collect())
            .unwrap_or_default()
    }

    pub fn rooms_of(&self, user: UserId) -> Vec<RoomId> {
        self.lock()
            .users
            .get(&user)
            .map(|e| e.rooms.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Send a frame to every session of a user (read-marker sync).
    pub fn send_to_user(&self, user: UserId, frame: SharedFrame) {
        let s = self.lock();
        if let Some(entry) = s.users.get(&user) {
            for h in &entry.sessions {
                let _ = h.frames.try_send(frame.clone());
            }
        }
    }

    /// Send a `notice` (stored at `pos` in the user's notices) to every
    /// session of the user that registered before `pos`; a session
    /// registered at or after it reads the notice in its catch-up instead,
    /// so each session gets it once.
    pub fn send_notice(&self, user: UserId, pos: Pos, frame: SharedFrame) {
        let s = self.lock();
        if let Some(entry) = s.users.get(&user) {
            for h in entry.sessions.iter().filter(|h| h.registered_at < pos) {
                let _ = h.frames.try_send(frame.clone());
            }
        }
    }

    /// Send a frame to every online member of a room (vote counts).
    pub fn send_to_room(&self, room: RoomId, frame: SharedFrame) {
        let s = self.lock();
        let Some(members) = s.rooms.get(&room) else {
            return;
        };
        for user in members.keys() {
            if let Some(entry) = s.users.get(user) {
                for h in &entry.sessions {
                    // A count that is soon out of date anyway: dropping it
                    // for a full client is harmless (history has the count).
                    let _ = h.frames.try_send(frame.clone());
                }
            }
        }
    }

    /// Send a frame to every online session (a person's new display name:
    /// anyone may see anyone's name in the users list). Like the other
    /// ephemeral frames, a full client misses it and reads the name at its
    /// next `users` or `members`.
    pub fn send_to_everyone(&self, frame: SharedFrame) {
        let s = self.lock();
        for entry in s.users.values() {
            for h in &entry.sessions {
                let _ = h.frames.try_send(frame.clone());
            }
        }
    }

    /// Send an ephemeral frame to a room's online members except `from`.
    pub fn send_to_room_except(&self, room: RoomId, from: UserId, frame: SharedFrame) {
        let s = self.lock();
        let Some(members) = s.rooms.get(&room) else {
            return;
        };
        for user in members.keys().filter(|u| **u != from) {
            if let Some(entry) = s.users.get(user) {
                for h in &entry.sessions {
                    // Ephemeral: dropping it for a full client is harmless.
                    let _ = h.frames.try_send(frame.clone());
                }
            }
        }
    }

    /// Users online on this node or (cluster mode) on another one.
    pub fn online_users(&self) -> Vec<UserId> {
        let s = self.lock();
        let mut users: Vec<UserId> = s
            .users
            .iter()
            .filter(|(_, e)| !e.sessions.is_empty())
            .map(|(u, _)| *u)
            .collect();
        users.extend(
            s.remote
                .keys()
                .filter(|u| s.users.get(u).is_none_or(|e| e.sessions.is_empty())),
        );
        users
    }

    /// How many users [`Hub::online_users`] would list, without the list.
    pub fn online_user_count(&self) -> usize {
        let s = self.lock();
        let local = s.users.values().filter(|e| !e.sessions.is_empty()).count();
        let remote_only = s
            .remote
            .keys()
            .filter(|u| s.users.get(u).is_none_or(|e| e.sessions.is_empty()))
            .count();
        local + remote_only
    }

    pub fn session_count(&self) -> usize {
        self.lock().users.values().map(|e| e.sessions.len()).sum()
    }

    /// Close every session opened with this token (logout).
    pub fn kick_token(&self, token_hash: &[u8; 32], reason: CloseReason) {
        let s = self.lock();
        for entry in s.users.values() {
            for h in entry
                .sessions
                .iter()
                .filter(|h| &h.token_hash == token_hash)
            {
                h.kill.kill(reason.clone());
            }
        }
    }

    /// Close every session of a user (disabled, password reset).
    pub fn kick_user(&self, user: UserId, reason: CloseReason) {
        let s = self.lock();
        if let Some(entry) = s.users.get(&user) {
            for h in &entry.sessions {
                h.kill.kill(reason.clone());
            }
        }
    }

    pub fn kick_all(&self, reason: CloseReason) {
        let s = self.lock();
        for entry in s.users.values() {
            for h in &entry.sessions {
                h.kill.kill(reason.clone());
            }
        }
    }
}

/// Writers to wake, woken when this is dropped: after the lock is let go,
/// and even if something between panics (a waker taken from a queue and
/// never called would leave its writer asleep on queued events).
struct Wakers(Vec<std::task::Waker>);

impl Drop for Wakers {
    fn drop(&mut self) {
        for w in self.0.drain(..) {
            w.wake();
        }
    }
}

/// One event to every online session of the room's members, with its
/// membership change applied (a joiner gets their own join event; a leaver
/// gets their own leave event and nothing after it). The wakers of the
/// writers to wake go to `wakers` (the caller wakes them, after letting the
/// lock go).
fn publish_one(s: &mut State, ev: &Published, wakers: &mut Vec<std::task::Waker>) {
    let mut slow: Vec<(UserId, u64)> = Vec::new();
    if let Some(MembershipChange::Joined(user, role)) = &ev.change {
        s.rooms.entry(ev.room).or_default().insert(*user, *role);
        s.users.entry(*user).or_default().rooms.insert(ev.room);
    }
    if let Some(members) = s.rooms.get(&ev.room) {
        for user in members.keys() {
            let Some(entry) = s.users.get(user) else {
                continue;
            };
            for h in &entry.sessions {
                // Once a session missed an event it must get no later
                // one (it would resume past the gap): skip it.
                if h.kill.is_killed() {
                    continue;
                }
                let item = EventFrame {
                    pos: ev.pos,
                    frame: ev.frame.clone(),
                };
                match h.events.try_send_deferred(item) {
                    Ok(Some(waker)) => wakers.push(waker),
                    Ok(None) => {}
                    Err(_) => {
                        // Full: the client is not keeping up. Its events
                        // stay in the store; it resumes from its position.
                        h.kill.kill(CloseReason::SLOW_CONSUMER);
                        crate::metrics::inc(&crate::metrics::get().slow_consumer_closes);
                        slow.push((*user, h.id));
                    }
                }
            }
        }
    }
    if let Some(MembershipChange::Left(user)) = &ev.change {
        let room_empty = match s.rooms.get_mut(&ev.room) {
            Some(members) => {
                members.remove(user);
                members.is_empty()
            }
            None => false,
        };
        if room_empty {
            s.rooms.remove(&ev.room);
        }
        if let Some(entry) = s.users.get_mut(user) {
            entry.rooms.remove(&ev.room);
            if entry.rooms.is_empty() && entry.sessions.is_empty() {
                s.users.remove(user);
            }
        }
    }
    for (user, id) in slow {
        if let Some(entry) = s.users.get_mut(&user) {
            entry.sessions.retain(|h| h.id != id);
        }
    }
}

fn notify_presence(s: &State, user: UserId, online: bool) {
    let Some(entry) = s.users.get(&user) else {
        return;
    };
    let frame = SharedFrame::from(ServerFrame::Presence { user, online }.to_json());
    let mut told: IdSet<UserId> = IdSet::default();
    for room in &entry.rooms {
        let Some(members) = s.rooms.get(room) else {
            continue;
        };
        if members.len() > PRESENCE_ROOM_LIMIT {
            continue;
        }
        for other in members.keys() {
            if *other == user || !told.insert(*other) {
                continue;
            }
            if let Some(e) = s.users.get(other) {
                for h in &e.sessions {
                    let _ = h.frames.try_send(frame.clone());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Wake, Waker};

    /// Counts its wakes.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    struct Online {
        events: crate::outbox::Receiver<EventFrame>,
        woken: Arc<Counter>,
    }

    /// Register a session of `user` whose writer waits on its events (a
    /// first poll leaves the counting waker in the queue).
    fn online(hub: &Hub, user: UserId, id: u64) -> Online {
        let (events, mut events_rx) = crate::outbox::channel(16);
        let (frames, _frames_rx) = crate::outbox::channel(16);
        let handle = SessionHandle {
            id,
            user,
            token_hash: [0; 32],
            events,
            frames,
            kill: Arc::new(KillSwitch::default()),
            registered_at: 0,
        };
        assert!(hub.register(handle, 4).is_some());
        let woken = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(woken.clone());
        let mut recv = Box::pin(events_rx.recv());
        let polled = recv.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "nothing queued yet");
        drop(recv);
        Online {
            events: events_rx,
            woken,
        }
    }

    /// What `first` sees when it is called for an event: the event is
    /// visible (`published`) and queued to every member's session, and no
    /// member's writer has been woken yet; after the call they all are,
    /// once.
    #[test]
    fn publish_calls_first_once_an_event_is_queued_and_before_any_writer_wakes() {
        let room = RoomId::new();
        let (a, b) = (UserId::new(), UserId::new());
        let hub = Hub::new(
            10,
            [(room, a, RoomRole::Member), (room, b, RoomRole::Member)],
        );
        let mut sessions = [online(&hub, a, 1), online(&hub, b, 2)];
        let events: Vec<Published> = (11..=12)
            .map(|pos| Published {
                pos,
                room,
                frame: SharedFrame::from(format!("{{\"pos\":{pos}}}")),
                change: None,
            })
            .collect();
        let mut seen = Vec::new();
        hub.publish(&events, |pos| {
            for s in sessions.iter_mut() {
                // Taken out here: the queue held exactly this event.
                let queued: Vec<Pos> = std::iter::from_fn(|| s.events.try_recv().ok())
                    .map(|e| e.pos)
                    .collect();
                let wakes = s.woken.0.load(Ordering::SeqCst);
                seen.push((pos, hub.published(), queued, wakes));
            }
        });
        // Event 11 woke both writers; at event 12 they had not looked at
        // their queues again, so there was nobody left to wake.
        assert_eq!(
            seen,
            vec![
                (11, 11, vec![11], 0),
                (11, 11, vec![11], 0),
                (12, 12, vec![12], 1),
                (12, 12, vec![12], 1),
            ],
            "(pos, published, queued, wakes so far) per session at each call"
        );
        for s in &sessions {
            assert_eq!(s.woken.0.load(Ordering::SeqCst), 1);
        }
    }
}
