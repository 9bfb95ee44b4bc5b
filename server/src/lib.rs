//! # Townhall server
//!
//! A WebSocket chat hub with durable, gap-free delivery: every message is
//! acknowledged only once fsynced, and every member gets it, live or on
//! their next login, in order, once.
//!
//! ## Layout
//! Dependencies point one way: `main` → [`run`] → [`listener`] → [`http`] → [`session`] →
//! [`handlers`] → {[`hub`], [`committer`], [`store`], [`auth`]}.
//! - [`config`]: flags and environment; [`config_file`]: the TOML config
//!   file under them. [`console`]: the lines for the operator on stdout.
//! - [`app`]: the shared handle every handler gets.
//! - [`listener`]: the accept loop (hyper with a header timeout, TCP_NODELAY).
//! - [`http`]: HTTP routes (login, logout, admin, health), the WebSocket
//!   upgrade with its Origin check. [`assets`]: the embedded web client.
//! - [`session`]: one connection's life (auth, register, read loop, close).
//! - [`writer`]: the task that owns a socket's sink (backlog, caught-up,
//!   live frames, pings, close). [`outbox`]: the bounded queues that feed
//!   it (sized to what waits, not to their capacity).
//! - [`handlers`]: one file per family of client requests.
//! - [`hub`]: memberships and online sessions in memory; live fan-out. No IO.
//! - [`committer`]: the single writer; group commit; positions and seqs.
//! - [`store`]: the `Kv` trait (sled and in-memory) and the typed layer;
//!   `store/keys.rs` has every key layout.
//! - [`auth`]: argon2id passwords and hashed session tokens; `auth/ldap.rs`
//!   asks the company directory (LDAP / Active Directory); `auth/oidc/`
//!   speaks OpenID Connect to the company's provider (discovery, PKCE, ID
//!   token verification) for `http/oidc.rs`.
//! - [`directory_sync`]: the periodic look-up of directory accounts
//!   (disabled or gone there: disabled here).
//! - [`error`]: `ServerError` and its mapping to wire codes.
//! - [`limits`]: request rate limits and the login guard.
//! - [`security`]: security headers on every response; `/api/*` is JSON only.
//! - [`anon`]: anonymous questions: the asker-key secret and where live
//!   frames about them go (the asker is never stored as a user id).
//! - [`adds`]: how many rooms one person may add another to per hour.
//! - [`names`]: what a new username, display name or room name may be.
//! - [`typing`]: the typing throttle (per user and room, none in huge rooms).
//! - [`frame`]: serialized frames shared across sockets.
//! - [`reply`]: replies that always fit the socket (split into parts, or
//!   paged by bytes).
//! - [`backup`]: `townhall backup` (a running server's snapshot, checked
//!   and gzipped) and the reader `townhall restore` uses.
//! - [`export`]: data-protection exports (a room, or everything one user
//!   wrote and received) as a tar stream of JSON Lines and attachments;
//!   the route is `http/export.rs`, its audit entry `committer/export.rs`.
//! - [`search`]: full-text message search: the query language, the
//!   tantivy index in `<data>/search/`, the indexer that follows the store.
//! - [`files`]: file attachments' bytes in `<data>/files/` by content
//!   hash (sniffing, thumbnails, the sweep); the routes are in `http/files.rs`,
//!   the metadata in `store/files.rs` and `committer/files.rs`.
//! - [`watch`]: rumour watch's folding and matcher (the list is in
//!   `store/watch.rs`, applied by `committer/watch.rs`, served by
//!   `handlers/watch.rs`).
//! - [`retention`]: the timer that submits expiry runs (policies and
//!   holds: `store/retention.rs`, `committer/retention.rs`,
//!   `handlers/retention.rs`).
//! - [`metrics`]: counters and histograms for `/metrics` (over the
//!   `metrics` crate and its Prometheus exporter).

pub mod adds;
pub mod anon;
pub mod app;
pub mod assets;
pub mod auth;
pub mod backup;
pub mod cluster;
pub mod command;
pub mod committer;
pub mod config;
pub mod config_file;
pub mod console;
pub mod directory_sync;
pub mod error;
pub mod export;
pub mod files;
pub mod frame;
pub mod handlers;
pub mod http;
pub mod hub;
pub mod idhash;
pub mod limits;
pub mod listener;
pub mod mentions;
pub mod metrics;
pub mod names;
pub mod outbox;
pub mod profile_limit;
pub mod reply;
pub mod retention;
pub mod search;
pub mod security;
pub mod session;
pub mod store;
pub mod typing;
pub mod watch;
pub mod writer;

use crate::app::App;
use crate::committer::Committer;
use crate::config::Config;
use crate::hub::Hub;
use crate::store::{Store, StoreError, UserRecord};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use townhall_protocol::Role;

/// How long shutdown waits for sessions to close before giving up on them.
const SESSION_DRAIN: Duration = Duration::from_secs(8);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Open the store, make the first admin if there are no users, and serve
/// until `shutdown` fires; then stop accepting, finish in-flight acks,
/// close every socket with a Close frame and sync the store.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    // A directory configuration that cannot work stops the start, before
    // anything is opened.
    let directory = auth::ldap::Directory::from_config(&config.ldap).map_err(StartError::Other)?;
    let oidc = auth::oidc::Oidc::from_config(&config.oidc, config.public_origin.as_deref())
        .map_err(StartError::Other)?;
    let login_sources = auth::LoginSources::from_config(
        &config.ldap.login_sources,
        directory.is_some(),
        oidc.is_some(),
    )
    .map_err(StartError::Other)?;
    let store = {
        let (path, cache) = (config.data.clone(), config.cache_mb * 1024 * 1024);
        tokio::task::spawn_blocking(move || Store::open_sled(&path, cache))
            .await
            .map_err(|e| StartError::Other(e.to_string()))??
    };
    let last_pos = store.init()?;
    for same in store.duplicate_public_names()? {
        let names: Vec<String> = same
            .iter()
            .map(|r| format!("{} ({})", r.name, r.id))
            .collect();
        tracing::warn!(
            rooms = %names.join(", "),
            "public rooms share a name (made before names were unique): rename all but one in Room settings"
        );
    }
    let cluster = config.cluster.enabled();
    if !cluster {
        ensure_first_admin(&store, config.admin_password.as_deref())?;
    }
    let memberships = store
        .current_memberships()?
        .into_iter()
        .map(|(room, user, m)| (room, user, m.role));
    let hub = Hub::new(last_pos, memberships);
    let committer_stop = CancellationToken::new();
    let (committer, committer_task, replica) = if cluster {
        let min_free = config.min_free_mb * 1024 * 1024;
        let r = cluster::start(
            &config.cluster,
            &store,
            &hub,
            last_pos,
            min_free,
            committer_stop.clone(),
        )
        .await
        .map_err(|e| StartError::Other(format!("cluster: {e}")))?;
        // A node that cannot apply the log stops serving.
        let (fatal, stop) = (r.fatal.clone(), shutdown.clone());
        tokio::spawn(async move {
            fatal.cancelled().await;
            stop.cancel();
        });
        let node = app::ClusterNode {
            node: r.node,
            applied: r.applied.clone(),
            bus: r.bus.clone(),
            barrier: r.barrier.clone(),
        };
        ensure_first_admin_in_log(&store, &r.committer, config.admin_password.as_deref()).await?;
        (
            r.committer.clone(),
            r.worker,
            Some((r.fatal, r.tasks, node, r.blobs)),
        )
    } else {
        let (committer, task) = Committer::start(
            store.clone(),
            hub.clone(),
            last_pos,
            config.min_free_mb * 1024 * 1024,
            committer_stop.clone(),
        );
        (committer, task, None)
    };
    ensure_org_room(&store, &committer).await?;
    let mut app = App::new(
        store,
        hub.clone(),
        committer,
        config.clone(),
        shutdown.clone(),
    )
    .with_directory(directory.clone(), login_sources)
    .with_oidc(oidc);
    if let Some(anon) = anon_secret(&config, cluster)? {
        app = app.with_anon(anon);
    }
    // Directory accounts are looked up again periodically, even while
    // directory logins are switched off (a person who left must not keep
    // their open sockets).
    let sync_stop = CancellationToken::new();
    let sync_task = directory.map(|d| {
        directory_sync::start(
            d,
            app.store.clone(),
            app.committer.clone(),
            sync_stop.clone(),
        )
    });
    // The search index: opened (or made new) here, filled and kept up to
    // date by the indexer from the store, off the ack path. A failure to
    // open it never stops the server: search answers `unavailable`.
    let search_stop = CancellationToken::new();
    let mut search_task = None;
    let search = if config.no_search {
        None
    } else {
        let data = config.data.clone();
        Some(tokio::task::spawn_blocking(move || search::Search::open(&data)).await)
    };
    match search {
        None => tracing::info!("search is off (--no-search)"),
        Some(Ok(Ok(search))) => {
            search_task = Some(search::indexer::start(
                search.clone(),
                app.store.clone(),
                hub.clone(),
                search_stop.clone(),
            ));
            app = app.with_search(search);
        }
        Some(Ok(Err(e))) => {
            tracing::error!(error = %e, "search index unavailable; serving without search")
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "search index unavailable; serving without search")
        }
    }
    // The file store, and its sweep. A cluster node keeps its copy of the
    // bytes in the same folder and shares them through the object store
    // (`cluster/blobs.rs`); without that store it serves no files.
    let files_stop = CancellationToken::new();
    let mut files_task = None;
    let shared = replica.as_ref().map(|(_, _, _, blobs)| blobs.clone());
    let files = match shared {
        Some(None) => None,
        shared => {
            let (data, cfg) = (config.data.clone(), config.files.clone());
            let shared = shared.flatten();
            Some(tokio::task::spawn_blocking(move || files::Files::open(&data, cfg, shared)).await)
        }
    };
    match files {
        Some(Ok(Ok(files))) => {
            // A cluster node's sweep waits for the log before it decides
            // that bytes are unreferenced (see `files/sweep.rs`).
            let catch_up = replica.as_ref().map(|(_, _, node, _)| {
                let barrier = node.barrier.clone();
                std::sync::Arc::new(move || {
                    let barrier = barrier.clone();
                    Box::pin(async move { barrier.wait().await })
                        as files::shared::BoxFuture<'static, bool>
                }) as files::sweep::CatchUp
            });
            files_task = Some(files::sweep::start(
                files.clone(),
                app.store.clone(),
                app.committer.clone(),
                catch_up,
                files_stop.clone(),
            ));
            app = app.with_files(files);
        }
        None => {}
        Some(Ok(Err(e))) => {
            tracing::error!(error = %e, "file store unavailable; serving without files")
        }
        Some(Err(e)) => {
            tracing::error!(error = %e, "file store unavailable; serving without files")
        }
    }
    // Expiry is submitted like any command; every node may submit it.
    let retention_stop = CancellationToken::new();
    let retention_task = retention::start(
        app.committer.clone(),
        config.retention.clone(),
        retention_stop.clone(),
    );
    let mut fatal = None;
    let mut cluster_tasks = Vec::new();
    if let Some((f, tasks, node, _)) = replica {
        app = app.with_cluster(node);
        fatal = Some(f);
        cluster_tasks = tasks;
    }

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    // Tests and scripts wait for this exact line.
    console::say(&format!("listening on http://{addr}"));
    tracing::info!(%addr, data = %config.data.display(), last_pos, "townhall started");

    let header_timeout = Duration::from_secs(config.header_timeout_secs.max(1));
    listener::serve(
        listener,
        http::router(app.clone()),
        shutdown.clone(),
        header_timeout,
    )
    .await;
    // Sessions see `shutdown` too: they stop reading, wait for their acks,
    // and close with 1001.
    app.sessions.close();
    if tokio::time::timeout(SESSION_DRAIN, app.sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            left = app.sessions.len(),
            "sessions still open after the drain timeout"
        );
        hub.kick_all(hub::CloseReason::SHUTDOWN);
    }
    sync_stop.cancel();
    if let Some(task) = sync_task {
        let _ = task.await;
    }
    search_stop.cancel();
    if let Some(task) = search_task {
        let _ = task.await;
    }
    files_stop.cancel();
    if let Some(task) = files_task {
        let _ = task.await;
    }
    retention_stop.cancel();
    let _ = retention_task.await;
    committer_stop.cancel();
    if let Err(e) = committer_task.await {
        tracing::error!(error = %e, "committer task failed");
    }
    for task in cluster_tasks {
        let _ = task.await;
    }
    if fatal.is_some_and(|f| f.is_cancelled()) {
        return Err(StartError::Other(
            "stopped: this node could not go on applying the cluster log (see the error above); restarted, it replays from its store's last entry".into(),
        ));
    }
    tracing::info!("townhall stopped");
    Ok(())
}

/// The organisation-wide room exists and every active user is in it
/// (accounts made offline with `townhall user add` join it here).
async fn ensure_org_room(store: &Store, committer: &Committer) -> Result<(), StartError> {
    let mut users = store.users()?;
    users.sort_by_key(|u| u.created_at);
    let Some(creator) = users.iter().find(|u| u.role == Role::Admin && !u.disabled) else {
        return Err(StartError::Other(
            "no active admin account to own the organisation room".into(),
        ));
    };
    let creator = creator.info();
    let members = users
        .iter()
        .filter(|u| !u.disabled)
        .map(|u| u.info())
        .collect();
    committer
        .submit(committer::Command::EnsureOrgRoom { creator, members })
        .await
        .map_err(|e| StartError::Other(format!("organisation room: {e}")))?;
    Ok(())
}

/// The first admin's record, with the given password or a random one
/// (`true`: generated, to be printed once).
fn first_admin(password: Option<&str>) -> Result<(UserRecord, String, bool), StartError> {
    let (password, generated) = match password {
        Some(p) if !p.is_empty() => (p.to_owned(), false),
        _ => (auth::random_password(), true),
    };
    let record = http::new_user_record("admin", Some("Administrator"), &password, Role::Admin)
        .map_err(|e| StartError::Other(format!("first admin: {e}")))?;
    Ok((record, password, generated))
}

fn print_first_admin(password: &str, generated: bool, change_with: &str) {
    if generated {
        console::say(&format!(
            "first start: created user 'admin' with password {password}"
        ));
        console::say(&format!("(shown once; change it with {change_with})"));
    } else {
        console::say(
            "first start: created user 'admin' with the password from TOWNHALL_ADMIN_PASSWORD",
        );
    }
}

/// Cluster mode: on an empty log, the first admin is made through the log
/// (so every node has the same one); when several nodes start at once, the
/// first entry wins and the others' are no-ops.
async fn ensure_first_admin_in_log(
    store: &Store,
    committer: &Committer,
    password: Option<&str>,
) -> Result<(), StartError> {
    if !store.users()?.is_empty() {
        return Ok(());
    }
    let (record, password, generated) = first_admin(password)?;
    let op = committer::AccountOp::FirstAdmin { record };
    match committer.submit(committer::Command::Account(op)).await {
        Ok(committer::Reply::User(_)) => print_first_admin(
            &password,
            generated,
            "the account page, or POST /api/password",
        ),
        Ok(_) => console::say("first start: another node made the first admin"),
        Err(e) => return Err(StartError::Other(format!("first admin: {e}"))),
    }
    Ok(())
}

/// On an empty data folder, create `admin` with the given password or a
/// random one printed once.
pub fn ensure_first_admin(store: &Store, password: Option<&str>) -> Result<(), StartError> {
    if !store.users()?.is_empty() {
        return Ok(());
    }
    let (record, password, generated) = first_admin(password)?;
    store.apply(&committer::user_record_batch(&record))?;
    store.sync()?;
    print_first_admin(&password, generated, "`townhall user reset-password admin`");
    Ok(())
}

/// The anonymous-question secret: `--anon-secret-file` (which must exist in
/// a cluster: every node needs the same one), or `<data>/anon-secret` made
/// at first start on a single node. `None`: a cluster node without the
/// flag, where anonymous requests answer `unavailable`.
fn anon_secret(config: &Config, cluster: bool) -> Result<Option<anon::Anon>, StartError> {
    let (path, create) = match (&config.anon_secret_file, cluster) {
        (Some(path), _) => (path.clone(), !cluster),
        (None, false) => (config.data.join("anon-secret"), true),
        (None, true) => {
            tracing::warn!(
                "no --anon-secret-file: anonymous questions are off on this cluster node"
            );
            return Ok(None);
        }
    };
    let secret = anon::Secret::load(&path, create).map_err(|e| StartError::Other(e.to_string()))?;
    Ok(Some(anon::Anon::new(secret)))
}
