//! Anonymous questions: the secret that turns a person into an opaque
//! asker key, and where live frames about anonymous questions go.
//!
//! The asker of an anonymous question is never written down as a user id:
//! not in the log entry (every cluster node and the NATS stream keep it),
//! not in the store (snapshots, backups), not in a frame to anyone else,
//! not in the audit log. The receiving node computes the asker's
//! [`OwnerKey`] = HMAC-SHA256(secret, "townhall anonymous asker v1" ‖ user
//! id) and the command and the store carry only that. To act as the asker
//! (edit, withdraw, list "my anonymous questions") the server computes the
//! key again for the authenticated caller and compares. See
//! docs/architecture.md, "Anonymous questions: where the asker is kept",
//! for who could recover an asker (anyone holding both the secret and the
//! store, by trying every user id).
//!
//! - [`secret`]: the key file and HMAC-SHA256.
//! - [`Routes`]: which online users a live frame about an anonymous
//!   question goes to (the asker's sessions by key; the transformation
//!   team's), in memory only.

pub mod secret;

pub use secret::{OwnerKey, Secret};

use crate::idhash::IdMap;
use std::collections::HashMap;
use std::sync::Mutex;
use townhall_protocol::UserId;

/// Online users by the keys live frames are addressed to. Memory only, on
/// each node, for its own sessions: this map is the one place a key and a
/// user id sit side by side, and it is never written to disk, the log or
/// the log output.
#[derive(Default)]
pub struct Routes {
    /// A std Mutex, never held across an await: one map update per session
    /// start and end, one lookup per anonymous-question change.
    inner: Mutex<RoutesInner>,
}

#[derive(Default)]
struct RoutesInner {
    /// Asker key → (user, that user's sessions on this node).
    owners: HashMap<OwnerKey, (UserId, usize)>,
    /// Transformation team members online here → their sessions.
    team: IdMap<UserId, usize>,
}

impl Routes {
    fn lock(&self) -> std::sync::MutexGuard<'_, RoutesInner> {
        // Map updates only: a panic inside is a bug; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session of `user` started (its asker key, if anonymous questions
    /// are enabled on this node; whether they are on the team).
    pub fn online(&self, user: UserId, owner: Option<OwnerKey>, team: bool) {
        let mut r = self.lock();
        if let Some(key) = owner {
            r.owners.entry(key).or_insert((user, 0)).1 += 1;
        }
        if team {
            *r.team.entry(user).or_default() += 1;
        }
    }

    /// That session ended.
    pub fn offline(&self, owner: Option<OwnerKey>, user: UserId, team: bool) {
        let mut r = self.lock();
        if let Some(key) = owner
            && let Some(entry) = r.owners.get_mut(&key)
        {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                r.owners.remove(&key);
            }
        }
        if team && let Some(n) = r.team.get_mut(&user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                r.team.remove(&user);
            }
        }
    }

    /// The online user whose asker key is `key`, if any.
    pub fn owner(&self, key: &OwnerKey) -> Option<UserId> {
        self.lock().owners.get(key).map(|(u, _)| *u)
    }

    /// The transformation team's members online on this node.
    pub fn team(&self) -> Vec<UserId> {
        self.lock().team.keys().copied().collect()
    }
}

/// Anonymous questions asked per person per window at one node: the
/// per-user limit that still applies (the log cannot check it: it does not
/// know who asked). Far above an honest person's questions in an hour.
pub const ASKS_PER_HOUR: u32 = 10;

/// The window of [`ASKS_PER_HOUR`].
const ASK_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

/// People tracked at most by the ask limiter; when full, expired windows
/// are dropped first and, if still full, asking is refused (for everyone
/// new, never resetting anyone's count).
const MAX_ASKERS_TRACKED: usize = 100_000;

/// What the receiving node needs to act for an anonymous asker: the
/// secret and the per-person ask limit. Lives in `App`, only when the
/// secret is available.
pub struct Anon {
    pub secret: Secret,
    /// user → (window start, asks in it). A std Mutex: one lookup per
    /// `ask_anonymously`, never held across an await. Memory only, like
    /// `Routes`.
    asks: Mutex<IdMap<UserId, (std::time::Instant, u32)>>,
}

impl Anon {
    pub fn new(secret: Secret) -> Anon {
        Anon {
            secret,
            asks: Mutex::default(),
        }
    }

    /// May `user` ask one more anonymous question now? Counts it if so.
    pub fn allow_ask(&self, user: UserId) -> bool {
        let now = std::time::Instant::now();
        let mut asks = self.asks.lock().unwrap_or_else(|p| p.into_inner());
        if asks.len() >= MAX_ASKERS_TRACKED && !asks.contains_key(&user) {
            asks.retain(|_, (start, _)| now.duration_since(*start) < ASK_WINDOW);
            if asks.len() >= MAX_ASKERS_TRACKED {
                return false;
            }
        }
        let entry = asks.entry(user).or_insert((now, 0));
        if now.duration_since(entry.0) >= ASK_WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= ASKS_PER_HOUR {
            return false;
        }
        entry.1 += 1;
        true
    }

    pub fn owner(&self, user: UserId) -> OwnerKey {
        self.secret.owner(user)
    }
}

/// A session's entry in [`Routes`] for as long as the session lives
/// (taken after the hub registered it, dropped on every way out).
pub struct RouteGuard {
    hub: crate::hub::Hub,
    user: UserId,
    owner: Option<OwnerKey>,
    team: bool,
}

impl RouteGuard {
    pub fn new(app: &crate::app::App, user: &crate::store::UserRecord) -> RouteGuard {
        let owner = app.anon.as_ref().map(|a| a.owner(user.id));
        let team = user.transformation_team;
        app.hub.anon().online(user.id, owner, team);
        RouteGuard {
            hub: app.hub.clone(),
            user: user.id,
            owner,
            team,
        }
    }
}

impl Drop for RouteGuard {
    fn drop(&mut self) {
        self.hub.anon().offline(self.owner, self.user, self.team);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ask_limit_counts_per_person() {
        let anon = Anon::new(Secret::from_bytes([3; 32]));
        let (a, b) = (UserId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
        for _ in 0..ASKS_PER_HOUR {
            assert!(anon.allow_ask(a));
        }
        assert!(!anon.allow_ask(a));
        assert!(anon.allow_ask(b));
    }

    #[test]
    fn routes_find_an_online_asker_until_their_last_session_ends() {
        let r = Routes::default();
        let u = UserId::from_bytes([1; 16]);
        let k = OwnerKey([5; 32]);
        r.online(u, Some(k), true);
        r.online(u, Some(k), true);
        assert_eq!(r.owner(&k), Some(u));
        assert_eq!(r.team(), [u]);
        r.offline(Some(k), u, true);
        assert_eq!(r.owner(&k), Some(u));
        r.offline(Some(k), u, true);
        assert_eq!(r.owner(&k), None);
        assert!(r.team().is_empty());
    }
}
