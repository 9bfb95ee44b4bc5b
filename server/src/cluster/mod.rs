//! Cluster mode: several Townhall nodes, one NATS JetStream log.
//!
//! Every node applies the same log, in the same order, to its own sled
//! folder with the same worker the embedded node uses (`committer.rs`), so
//! every node computes the same positions, seqs and state; any node serves
//! any user. The pieces:
//! - [`log`]: appending commands (with their stamp) and reading the log
//!   into the worker;
//! - [`bus`]: typing and presence between nodes over core NATS;
//! - [`barrier`]: read-your-writes when a request lands on another node;
//! - [`blobs`]: the object store file bytes are shared through, and
//!   [`strays`]: finding the chunks in it that no object names;
//! - here: connecting, checking the servers and the stream before serving
//!   ([`connect`]), making the stream (`townhall cluster init`, [`init`]),
//!   and starting a replica ([`start`]).
//!
//! See docs/architecture.md ("Cluster mode") for why nodes cannot diverge
//! and docs/operations.md ("A cluster") for deployment.

pub mod barrier;
pub mod blobs;
pub mod bus;
pub mod log;
pub mod strays;

use crate::committer::Committer;
use crate::config::ClusterConfig;
use crate::hub::Hub;
use crate::store::Store;
use async_nats::jetstream;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use townhall_protocol::Pos;
use uuid::Uuid;

/// The oldest nats-server with the JetStream behaviour we rely on
/// (`sync_interval: always`, per-message dedupe with `Nats-Msg-Id`).
pub const MIN_SERVER: (u64, u64) = (2, 10);

/// The bound on one JetStream request or publish-ack wait.
pub const ATTEMPT: Duration = Duration::from_secs(2);

/// How long the stream remembers a `Nats-Msg-Id` (JetStream's default).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Why a node will not start in cluster mode. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot connect to NATS at {urls}: {detail}")]
    Connect { urls: String, detail: String },
    #[error(
        "nats-server {found} is too old: cluster mode needs {}.{} or newer (Debian's 2.9 ignores settings the log relies on)",
        MIN_SERVER.0,
        MIN_SERVER.1
    )]
    OldServer { found: String },
    #[error(
        "no JetStream stream {stream}: make it once with `townhall cluster init --cluster URLS`"
    )]
    NoStream { stream: String },
    #[error("stream {stream} is not fit for the log: {problem}")]
    BadStream { stream: String, problem: String },
    #[error("{0}")]
    DataFolder(String),
    #[error("NATS request failed: {0}")]
    Nats(String),
}

/// A connection with its JetStream context.
pub struct Connected {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
}

/// Connect to the NATS servers and check their version.
pub async fn connect(cfg: &ClusterConfig) -> Result<Connected, ClusterError> {
    let urls = cfg.nats.join(",");
    // async-nats takes a list; a comma-separated string would be one URL.
    let addrs = cfg
        .nats
        .iter()
        .map(|u| u.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ClusterError::Connect {
            urls: urls.clone(),
            detail: e.to_string(),
        })?;
    let client = async_nats::ConnectOptions::new()
        .name("townhall")
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None)
        .connect(addrs)
        .await
        .map_err(|e| ClusterError::Connect {
            urls: urls.clone(),
            detail: e.to_string(),
        })?;
    let version = client.server_info().version;
    if !version_at_least(&version, MIN_SERVER) {
        return Err(ClusterError::OldServer { found: version });
    }
    // Every JetStream request and each publish's ack wait is bounded by
    // ATTEMPT: a publish sent to a stream leader that just died never gets
    // its ack, and waiting out the whole write timeout for it would stall
    // the write. `cluster/log.rs` retries (same `Nats-Msg-Id`) until the
    // write timeout, so an election (4 to 9 s) pauses writes, never fails them.
    let js = jetstream::ContextBuilder::new()
        .timeout(ATTEMPT)
        .build(client.clone());
    Ok(Connected { client, js })
}

fn version_at_least(version: &str, min: (u64, u64)) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split(['.', '-'])
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= min
}

/// The stream's configuration for the log.
fn stream_config(cfg: &ClusterConfig) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: cfg.stream.clone(),
        subjects: vec![log::SUBJECT.into()],
        storage: jetstream::stream::StorageType::File,
        num_replicas: cfg.replicas,
        retention: jetstream::stream::RetentionPolicy::Limits,
        discard: jetstream::stream::DiscardPolicy::Old,
        duplicate_window: DUPLICATE_WINDOW,
        // Retention: snapshots make old entries unnecessary (see
        // docs/operations.md); by default the log keeps everything.
        max_messages: if cfg.retain_entries == 0 {
            -1
        } else {
            i64::try_from(cfg.retain_entries).unwrap_or(i64::MAX)
        },
        max_age: Duration::from_secs(cfg.retain_days.saturating_mul(86_400)),
        // Entries are the log: nobody may delete or purge one.
        deny_delete: true,
        deny_purge: true,
        ..Default::default()
    }
}

/// What is wrong with a stream for the log, if anything.
fn check_stream(cfg: &ClusterConfig, c: &jetstream::stream::Config) -> Result<(), ClusterError> {
    let bad = |problem: String| ClusterError::BadStream {
        stream: cfg.stream.clone(),
        problem,
    };
    if c.num_replicas < cfg.replicas {
        return Err(bad(format!(
            "it has {} replica(s), this node expects {} (--cluster-replicas)",
            c.num_replicas, cfg.replicas
        )));
    }
    if c.storage != jetstream::stream::StorageType::File {
        return Err(bad("its storage is memory; the log must be on disk".into()));
    }
    if c.persist_mode == Some(jetstream::stream::PersistenceMode::Async) {
        return Err(bad(
            "its persist_mode is async: acks would come before the write is stored".into(),
        ));
    }
    if !c.subjects.iter().any(|s| s == log::SUBJECT) {
        return Err(bad(format!("its subjects do not include {}", log::SUBJECT)));
    }
    if c.retention != jetstream::stream::RetentionPolicy::Limits {
        return Err(bad(
            "its retention is not `limits` (work-queue or interest retention would delete entries other nodes still need)".into(),
        ));
    }
    Ok(())
}

/// How long a starting node (or `cluster init`) waits for the log's stream
/// to answer. Right after the stream is made, or while NATS elects a new
/// leader for it, a lookup times out or answers "no leader" for a few
/// seconds (elections take 4 to 9 s): that is waited out, not reported as a
/// missing stream. A stream NATS says does not exist is never waited for.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// The log's stream as it stands now, or `None` if NATS says there is no
/// such stream; other errors are retried until [`STARTUP_WAIT`].
async fn find_stream(
    js: &jetstream::Context,
    name: &str,
) -> Result<Option<(jetstream::stream::Stream, jetstream::stream::Info)>, ClusterError> {
    use jetstream::context::GetStreamErrorKind;
    let deadline = tokio::time::Instant::now() + STARTUP_WAIT;
    loop {
        let why = match js.get_stream(name).await {
            Ok(stream) => {
                let info = stream.cached_info().clone();
                return Ok(Some((stream, info)));
            }
            Err(e) => match e.kind() {
                GetStreamErrorKind::JetStream(j)
                    if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    return Ok(None);
                }
                GetStreamErrorKind::EmptyName | GetStreamErrorKind::InvalidStreamName => {
                    return Err(ClusterError::Nats(format!("stream {name:?}: {e}")));
                }
                _ => e.to_string(),
            },
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(ClusterError::Nats(format!(
                "stream {name} did not answer for {} s: {why}",
                STARTUP_WAIT.as_secs()
            )));
        }
        tracing::warn!(stream = name, error = %why, "the log's stream does not answer yet; asking again");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `townhall cluster init`: make the log's stream, or check the one there.
pub async fn init(cfg: &ClusterConfig) -> Result<String, ClusterError> {
    let c = connect(cfg).await?;
    match find_stream(&c.js, &cfg.stream).await? {
        Some((_, info)) => {
            check_stream(cfg, &info.config)?;
            Ok(format!(
                "stream {} exists ({} replicas, {} entries); nothing to do",
                cfg.stream, info.config.num_replicas, info.state.messages
            ))
        }
        None => {
            // A new stream may answer "no responders" until its leader is
            // elected; creating is retried briefly.
            let mut last = String::new();
            for _ in 0..20 {
                match c.js.create_stream(stream_config(cfg)).await {
                    Ok(_) => {
                        return Ok(format!(
                            "made stream {} ({} replicas, file storage)",
                            cfg.stream, cfg.replicas
                        ));
                    }
                    Err(e) => last = e.to_string(),
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(ClusterError::Nats(last))
        }
    }
}

/// A running replica: what `lib.rs` keeps to serve and to stop.
pub struct Replica {
    pub committer: Committer,
    pub bus: bus::Bus,
    pub node: Uuid,
    /// The last log sequence applied and stored on this node.
    pub applied: watch::Receiver<u64>,
    pub barrier: Arc<barrier::Barrier>,
    /// The file store every node shares (`blobs.rs`); `None` if it could
    /// not be opened (uploads are then refused, the rest serves).
    pub blobs: Option<Arc<dyn crate::files::shared::SharedBlobs>>,
    /// Fires if this node cannot go on applying the log.
    pub fatal: CancellationToken,
    pub worker: tokio::task::JoinHandle<()>,
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Start this node as a replica of the log: check the stream, start the
/// worker and the log reader from the entry after the last one the store
/// holds, and wait until the node has applied the log as it stood when
/// it started (so it never serves a state older than at its start).
pub async fn start(
    cfg: &ClusterConfig,
    store: &Store,
    hub: &Hub,
    last_pos: Pos,
    min_free: u64,
    shutdown: CancellationToken,
) -> Result<Replica, ClusterError> {
    let c = connect(cfg).await?;
    let (stream, info) =
        find_stream(&c.js, &cfg.stream)
            .await?
            .ok_or_else(|| ClusterError::NoStream {
                stream: cfg.stream.clone(),
            })?;
    check_stream(cfg, &info.config)?;
    let applied_seq = store
        .log_seq()
        .map_err(|e| ClusterError::DataFolder(e.to_string()))?;
    if applied_seq == 0 && last_pos > 0 {
        return Err(ClusterError::DataFolder(
            "this data folder was written by an embedded (single) node; a cluster node starts from an empty folder or a snapshot".into(),
        ));
    }
    if applied_seq > info.state.last_sequence {
        return Err(ClusterError::DataFolder(format!(
            "this data folder has applied the log to entry {applied_seq}, but stream {} ends at {}: wrong stream, or the stream was remade",
            cfg.stream, info.state.last_sequence
        )));
    }
    if info.state.messages > 0 && applied_seq + 1 < info.state.first_sequence {
        return Err(ClusterError::DataFolder(format!(
            "the log begins at entry {} but this data folder has applied only up to {applied_seq}: bootstrap it from a snapshot (docs/operations.md)",
            info.state.first_sequence
        )));
    }

    let node = Uuid::now_v7();
    let waiters = Arc::new(log::Waiters::default());
    let nats_log = log::NatsLog::new(
        c.js.clone(),
        node,
        waiters.clone(),
        store.clone(),
        min_free,
        Duration::from_secs(cfg.write_timeout_secs.max(1)),
    );
    let (applied_tx, applied) = watch::channel(applied_seq);
    let fatal = CancellationToken::new();
    let (committer, jobs, worker) = Committer::start_replica(
        store.clone(),
        hub.clone(),
        last_pos,
        Arc::new(nats_log),
        applied_tx,
        fatal.clone(),
        shutdown.clone(),
    );
    let mut tasks = Vec::new();
    {
        let (fatal, shutdown) = (fatal.clone(), shutdown.clone());
        let waiters = waiters.clone();
        tasks.push(tokio::spawn(async move {
            let read = log::read_log(stream, applied_seq + 1, node, waiters, jobs, shutdown);
            if let Err(e) = read.await {
                tracing::error!(error = %e, "this node stops applying the log");
                fatal.cancel();
            }
        }));
    }
    tasks.push(tokio::spawn(log::sweep_waiters(waiters, shutdown.clone())));
    let bus = bus::Bus::new(c.client.clone(), node);
    let (presence_tx, presence_rx) = tokio::sync::mpsc::channel(bus::PRESENCE_QUEUE);
    hub.set_presence_out(presence_tx);
    tasks.push(tokio::spawn(bus::run(
        bus.clone(),
        hub.clone(),
        presence_rx,
        shutdown.clone(),
    )));

    let target = info.state.last_sequence;
    tracing::info!(%node, applied_seq, target, stream = %cfg.stream, "cluster node catching up with the log");
    let mut rx = applied.clone();
    tokio::select! {
        r = rx.wait_for(|a| *a >= target) => {
            if r.is_err() {
                return Err(ClusterError::DataFolder("the worker stopped while catching up".into()));
            }
        }
        _ = fatal.cancelled() => {
            return Err(ClusterError::DataFolder("cannot apply the log (see the error above)".into()));
        }
    }
    tracing::info!(%node, applied = target, "caught up with the log");
    let blobs = match blobs::NatsBlobs::open(&c.js, &cfg.stream, cfg.replicas).await {
        Ok(b) => Some(Arc::new(b) as Arc<dyn crate::files::shared::SharedBlobs>),
        Err(e) => {
            tracing::error!(error = %e, "file attachments are off on this node");
            None
        }
    };
    let barrier = Arc::new(barrier::Barrier::new(
        c.js.clone(),
        cfg.stream.clone(),
        applied.clone(),
    ));
    Ok(Replica {
        committer,
        bus,
        node,
        barrier,
        blobs,
        applied,
        fatal,
        worker,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_versions_compare_by_major_and_minor() {
        assert!(version_at_least("2.10.0", MIN_SERVER));
        assert!(version_at_least("2.15.1", MIN_SERVER));
        assert!(version_at_least("v3.0.0-beta", MIN_SERVER));
        assert!(!version_at_least("2.9.10", MIN_SERVER));
        assert!(!version_at_least("", MIN_SERVER));
    }

    #[test]
    fn the_stream_check_refuses_what_would_lose_entries() {
        let cfg = ClusterConfig {
            nats: vec!["nats://127.0.0.1:4222".into()],
            stream: "T".into(),
            replicas: 3,
            write_timeout_secs: 15,
            resume_wait_secs: 10,
            retain_entries: 0,
            retain_days: 0,
        };
        let good = stream_config(&cfg);
        assert!(check_stream(&cfg, &good).is_ok());
        let mut one = good.clone();
        one.num_replicas = 1;
        assert!(check_stream(&cfg, &one).is_err());
        let mut memory = good.clone();
        memory.storage = jetstream::stream::StorageType::Memory;
        assert!(check_stream(&cfg, &memory).is_err());
        let mut work = good.clone();
        work.retention = jetstream::stream::RetentionPolicy::WorkQueue;
        assert!(check_stream(&cfg, &work).is_err());
        let mut lazy = good;
        lazy.persist_mode = Some(jetstream::stream::PersistenceMode::Async);
        assert!(check_stream(&cfg, &lazy).is_err());
    }
}
