//! The shared state every request handler gets: a cheap-to-clone handle.

use crate::committer::Committer;
use crate::config::Config;
use crate::error::{Result, ServerError};
use crate::hub::Hub;
use crate::store::{RoomRecord, Store, UserRecord};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use townhall_protocol::{RoomInfo, RoomKind, UserId};

/// The server's shared state, one per process, behind one `Arc`: every
/// connection, request and task holds an `App`, and a clone is then one
/// pointer and one count (the fields inline were 400 B, held several times
/// over by each idle connection's future; docs/benchmarks.md, issue 19).
#[derive(Clone)]
pub struct App(Arc<AppState>);

impl std::ops::Deref for App {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.0
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hub: Hub,
    pub committer: Committer,
    pub config: Arc<Config>,
    /// Fires on SIGTERM/Ctrl-C: sessions stop reading, finish acks, close.
    pub shutdown: CancellationToken,
    /// Every session task, so shutdown can wait for them.
    pub sessions: TaskTracker,
    /// One permit per WebSocket connection (`--max-connections`).
    pub connections: Arc<Semaphore>,
    next_session: Arc<AtomicU64>,
    /// Back-off for repeated failed logins, per account and per IP.
    pub login_guard: Arc<crate::limits::LoginGuard>,
    /// One `typing` fan-out per (user, room) per few seconds, across all of
    /// a user's connections (so it cannot live in a session).
    pub typing: Arc<crate::typing::TypingThrottle>,
    /// How many rooms each person added each other person to this hour.
    pub adds: Arc<crate::adds::AddLimiter>,
    /// How often each person changed their profile lately (each change
    /// fans out to every online session).
    pub profile_changes: Arc<crate::profile_limit::ProfileLimiter>,
    /// Open WebSocket connections per remote IP (loopback is not counted:
    /// a reverse proxy on the same host would otherwise be one "IP").
    /// A std Mutex: a map update per connect and disconnect.
    ip_connections: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    /// Cluster mode only: this node's id, how far it has applied the log,
    /// and the bus to the other nodes.
    pub cluster: Option<ClusterNode>,
    /// Message search; `None` when the index could not be opened or made
    /// (logged at start): `search` then answers `unavailable`.
    pub search: Option<crate::search::Search>,
    /// The company directory (`--ldap-url`), if configured.
    pub directory: Option<crate::auth::ldap::Directory>,
    /// Which logins are accepted (`--login-sources`).
    pub login_sources: crate::auth::LoginSources,
    /// The OpenID provider (`--oidc-issuer`) and logins in progress with it.
    pub oidc: Option<Arc<crate::auth::oidc::OidcLogins>>,
    /// Anonymous questions' secret and ask limit; `None` when this node has
    /// no secret (a cluster node started without `--anon-secret-file`):
    /// anonymous requests then answer `unavailable`.
    pub anon: Option<Arc<crate::anon::Anon>>,
    /// The file store (`None` if `<data>/files/` could not be opened:
    /// uploads answer `not_supported`).
    pub files: Option<crate::files::Files>,
}

/// What handlers need of a cluster node.
#[derive(Clone)]
pub struct ClusterNode {
    pub node: uuid::Uuid,
    pub applied: tokio::sync::watch::Receiver<u64>,
    pub bus: crate::cluster::bus::Bus,
    pub barrier: Arc<crate::cluster::barrier::Barrier>,
}

/// Releases a connection's per-IP slot when dropped.
pub struct IpSlot {
    app: App,
    ip: Option<std::net::IpAddr>,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        if let Ok(mut map) = self.app.ip_connections.lock()
            && let Some(n) = map.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }
}

impl App {
    pub fn new(
        store: Store,
        hub: Hub,
        committer: Committer,
        config: Config,
        shutdown: CancellationToken,
    ) -> App {
        let max = config.max_connections;
        App(Arc::new(AppState {
            store,
            hub,
            committer,
            config: Arc::new(config),
            shutdown,
            sessions: TaskTracker::new(),
            connections: Arc::new(Semaphore::new(max)),
            next_session: Arc::new(AtomicU64::new(1)),
            login_guard: Arc::new(crate::limits::LoginGuard::default()),
            typing: Arc::default(),
            adds: Arc::default(),
            profile_changes: Arc::default(),
            ip_connections: Arc::default(),
            cluster: None,
            search: None,
            directory: None,
            login_sources: crate::auth::LoginSources::default(),
            oidc: None,
            anon: None,
            files: None,
        }))
    }

    /// The state to change while the app is being built (before it is
    /// shared, so no copy is made).
    fn building(&mut self) -> &mut AppState {
        Arc::make_mut(&mut self.0)
    }

    pub fn with_search(mut self, search: crate::search::Search) -> App {
        self.building().search = Some(search);
        self
    }

    pub fn with_directory(
        mut self,
        directory: Option<crate::auth::ldap::Directory>,
        sources: crate::auth::LoginSources,
    ) -> App {
        self.building().directory = directory;
        self.building().login_sources = sources;
        self
    }

    pub fn with_oidc(mut self, oidc: Option<crate::auth::oidc::Oidc>) -> App {
        self.building().oidc = oidc.map(|o| Arc::new(crate::auth::oidc::OidcLogins::new(o)));
        self
    }

    pub fn with_anon(mut self, anon: crate::anon::Anon) -> App {
        self.building().anon = Some(Arc::new(anon));
        self
    }

    pub fn with_files(mut self, files: crate::files::Files) -> App {
        self.building().files = Some(files);
        self
    }

    pub fn with_cluster(mut self, node: ClusterNode) -> App {
        self.building().cluster = Some(node);
        self
    }

    /// Take a connection slot for `ip`, or `None` when it has too many.
    pub fn ip_slot(&self, ip: std::net::IpAddr) -> Option<IpSlot> {
        if ip.is_loopback() {
            return Some(IpSlot {
                app: self.clone(),
                ip: None,
            });
        }
        let mut map = self.ip_connections.lock().ok()?;
        let n = map.entry(ip).or_insert(0);
        if *n >= self.config.max_connections_per_ip {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            app: self.clone(),
            ip: Some(ip),
        })
    }

    pub fn next_session_id(&self) -> u64 {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }

    /// Run a blocking store read off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| ServerError::Internal(format!("read task: {e}")))?
    }

    /// A room as `viewer` sees it.
    pub fn room_info(&self, record: &RoomRecord, viewer: UserId) -> Result<RoomInfo> {
        let dm_peer = if record.kind == RoomKind::Dm {
            let members = self.store.room_members(record.id)?;
            let peer = members.iter().map(|(u, _)| *u).find(|u| *u != viewer);
            match peer {
                Some(p) => self.store.user(p)?.map(|u| u.info()),
                None => None,
            }
        } else {
            None
        };
        Ok(record.info(
            self.hub.member_count(record.id),
            self.hub.role_in(record.id, viewer),
            dm_peer,
        ))
    }

    /// The active user behind a token, or `BadToken` (unknown, revoked,
    /// past its absolute expiry, idle too long, or its user disabled).
    /// In a cluster, wait until this node has applied every write
    /// acknowledged anywhere before now (see `cluster/barrier.rs`); `false`
    /// on an embedded node (nothing to wait for) or if that failed.
    pub async fn catch_up_reads(&self) -> bool {
        match &self.cluster {
            Some(c) => c.barrier.wait().await,
            None => false,
        }
    }

    /// [`App::authenticate`] off the async threads. In a cluster, a token
    /// this node does not know yet may have been issued a moment ago by
    /// another node: wait for this node to catch up and look once more.
    pub async fn authenticate_async(&self, token: String) -> Result<(UserRecord, [u8; 32])> {
        let first = self.authenticate_blocking(token.clone()).await;
        if matches!(first, Err(ServerError::BadToken)) && self.catch_up_reads().await {
            return self.authenticate_blocking(token).await;
        }
        first
    }

    async fn authenticate_blocking(&self, token: String) -> Result<(UserRecord, [u8; 32])> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || app.authenticate(&token))
            .await
            .map_err(|e| ServerError::Internal(e.to_string()))?
    }

    pub fn authenticate(&self, token: &str) -> Result<(UserRecord, [u8; 32])> {
        let hash = crate::auth::hash_token(token);
        let session = self.store.session(&hash)?.ok_or(ServerError::BadToken)?;
        let now = crate::committer::now_millis();
        let idle_ms = (self.config.session_idle_hours * 3_600_000.0) as u64;
        let seen = session.last_seen.max(session.created_at);
        if session.expires_at <= now || now.saturating_sub(seen) > idle_ms {
            return Err(ServerError::BadToken);
        }
        // Refresh the idle clock, but write at most once a minute (or a
        // quarter of the idle limit, if that is shorter).
        if now.saturating_sub(seen) > (idle_ms / 4).min(60_000) {
            self.committer
                .fire_and_forget(crate::committer::Command::TouchSession {
                    token_hash: hash,
                    at: now,
                });
        }
        let user = self
            .store
            .user(session.user)?
            .ok_or(ServerError::BadToken)?;
        if user.disabled || session.created_at < user.sessions_valid_after {
            return Err(ServerError::BadToken);
        }
        Ok((user, hash))
    }
}
