//! The cluster log on NATS JetStream: appending commands, and reading the
//! log in order into this node's worker.
//!
//! **Append** ([`NatsLog`], the committer's [`Log`]): a command gets a
//! [`Stamp`] and this node's request number, is published to the stream's
//! one subject with `Nats-Msg-Id` = `{node}-{req}` (so a publish the client
//! library resends is stored once), and its reply waits in [`Waiters`]. The
//! reply comes from this node's worker once it has applied the entry, never
//! from the publish ack: the ack only says the entry is in the log, the
//! apply decides whether the command succeeds (identically on every node).
//!
//! **Read** ([`read_log`]): one ephemeral pull consumer without acks (no
//! filter: a filtered consumer replays 30× slower, see shared/STACK.md;
//! a 1 s heartbeat, see below) from the entry after
//! the last one this node's store holds. Every entry, whoever appended it,
//! becomes a [`Job`] for the worker, in stream order; a gap or an entry
//! this build cannot read stops the node (it must never skip what the
//! others applied).

use crate::command::{Entry, LOG_VERSION, Stamp};
use crate::committer::{Command, Job, Log, ReplyRx, ReplyTx};
use crate::error::{Result, ServerError};
use crate::store::Store;
use async_nats::jetstream;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The one subject of the log stream.
pub const SUBJECT: &str = "townhall.log";

/// Entries asked for per pull request.
const PULL_BATCH: usize = 1024;
/// The log reader's idle heartbeat: a consumer gone with its server is
/// noticed (and recreated) within about two of these.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How long one pull request waits for entries.
const PULL_EXPIRES: Duration = Duration::from_secs(5);

/// Pause between attempts to publish an entry the log did not confirm.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Replies waiting for their entry to be applied on this node, by request
/// number. A std Mutex: held only for one map operation, never across an
/// await; taken by appenders, the reader and the once-a-second sweep.
#[derive(Default)]
pub struct Waiters {
    map: Mutex<HashMap<u64, (ReplyTx, Instant)>>,
}

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (ReplyTx, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, req: u64, tx: ReplyTx, deadline: Instant) {
        self.lock().insert(req, (tx, deadline));
    }

    pub fn take(&self, req: u64) -> Option<ReplyTx> {
        self.lock().remove(&req).map(|(tx, _)| tx)
    }

    /// Answer `unavailable` to every reply past its deadline.
    fn sweep(&self, now: Instant) {
        let expired: Vec<ReplyTx> = {
            let mut map = self.lock();
            let late: Vec<u64> = map
                .iter()
                .filter(|(_, (_, d))| *d <= now)
                .map(|(k, _)| *k)
                .collect();
            late.into_iter()
                .filter_map(|k| map.remove(&k).map(|(tx, _)| tx))
                .collect()
        };
        for tx in expired {
            let _ = tx.send(Err(ServerError::Unavailable(
                "written to the cluster log, but this node has not applied it in time; retrying with the same client_id is safe".into(),
            )));
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// This node's way into the log.
pub struct NatsLog {
    js: jetstream::Context,
    node: Uuid,
    next_req: AtomicU64,
    waiters: Arc<Waiters>,
    /// For the free-space check: a replica cannot refuse an entry at apply,
    /// so a node short of disk refuses to append instead.
    store: Store,
    min_free: u64,
    write_timeout: Duration,
}

impl NatsLog {
    pub fn new(
        js: jetstream::Context,
        node: Uuid,
        waiters: Arc<Waiters>,
        store: Store,
        min_free: u64,
        write_timeout: Duration,
    ) -> NatsLog {
        NatsLog {
            js,
            node,
            next_req: AtomicU64::new(1),
            waiters,
            store,
            min_free,
            write_timeout,
        }
    }

    fn entry(&self, cmd: Command) -> (u64, Entry) {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            v: LOG_VERSION,
            node: self.node,
            req,
            stamp: Stamp::now(),
            cmd,
        };
        (req, entry)
    }

    fn msg_id(&self, req: u64) -> String {
        format!("{}-{req}", self.node)
    }

    /// Publish an entry; returns the future of its publish ack.
    async fn publish(
        &self,
        req: u64,
        payload: bytes::Bytes,
    ) -> Result<jetstream::context::PublishAckFuture> {
        let msg = jetstream::message::PublishMessage::build()
            .payload(payload)
            .message_id(self.msg_id(req));
        self.js.send_publish(SUBJECT, msg).await.map_err(|e| {
            tracing::warn!(error = %e, "cannot publish to the cluster log");
            ServerError::Unavailable("the cluster log is not reachable; retry".into())
        })
    }

    fn check_disk(&self) -> Result<()> {
        let free = self.store.free_space();
        if free < self.min_free {
            return Err(ServerError::Store(crate::store::StoreError::DiskFull {
                free_mb: free >> 20,
                min_mb: self.min_free >> 20,
            }));
        }
        Ok(())
    }
}

impl Log for NatsLog {
    fn append(
        &self,
        cmd: Command,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<ReplyRx>> + Send + '_>> {
        Box::pin(async move {
            self.check_disk()?;
            let (req, entry) = self.entry(cmd);
            let (tx, rx) = oneshot::channel();
            // Registered before the publish: the entry may be applied
            // before the publish ack arrives.
            self.waiters
                .insert(req, tx, Instant::now() + self.write_timeout);
            // Encoded once: the same bytes go out again on a retry.
            let payload = bytes::Bytes::from(entry.encode());
            let ack = match self.publish(req, payload.clone()).await {
                Ok(ack) => ack,
                Err(e) => {
                    self.waiters.take(req);
                    return Err(e);
                }
            };
            // The outcome of the publish: retried with the same
            // `Nats-Msg-Id` (stored once) while the stream has no leader
            // (an election answers "no responders" for 4 to 9 s), until the
            // write timeout; then the writer is told `unavailable`.
            let waiters = self.waiters.clone();
            let (js, id) = (self.js.clone(), self.msg_id(req));
            let deadline = tokio::time::Instant::now() + self.write_timeout;
            tokio::spawn(async move {
                let mut ack = Some(ack);
                loop {
                    let failed = match ack.take() {
                        Some(ack) => match ack.await {
                            Ok(_) => return,
                            Err(e) => e.to_string(),
                        },
                        None => "not sent".to_owned(),
                    };
                    if tokio::time::Instant::now() >= deadline {
                        tracing::warn!(error = %failed, req, "the cluster log did not confirm a write");
                        if let Some(tx) = waiters.take(req) {
                            let _ = tx.send(Err(ServerError::Unavailable(
                                "the cluster log did not confirm this write in time; retrying with the same client_id is safe".into(),
                            )));
                        }
                        return;
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                    let msg = jetstream::message::PublishMessage::build()
                        .payload(payload.clone())
                        .message_id(id.clone());
                    ack = js.send_publish(SUBJECT, msg).await.ok();
                }
            });
            Ok(rx)
        })
    }

    fn append_detached(&self, cmd: Command) {
        if self.check_disk().is_err() {
            return;
        }
        let (req, entry) = self.entry(cmd);
        let js = self.js.clone();
        let id = self.msg_id(req);
        tokio::spawn(async move {
            let msg = jetstream::message::PublishMessage::build()
                .payload(entry.encode().into())
                .message_id(id);
            if let Ok(ack) = js.send_publish(SUBJECT, msg).await {
                let _ = ack.await;
            }
        });
    }
}

/// Answer `unavailable` to writes whose entry this node has not applied
/// within the write timeout; once a second until `shutdown`.
pub async fn sweep_waiters(waiters: Arc<Waiters>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => waiters.sweep(Instant::now()),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Why the reader stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "the log has no entry {expected} any more (the stream begins at {found}): this node's data folder is older than the stream's retention; bootstrap it from a snapshot (docs/operations.md)"
    )]
    Gap { expected: u64, found: u64 },
    #[error("log entry {seq}: {source}")]
    Entry {
        seq: u64,
        source: crate::command::EntryError,
    },
}

/// Read the log from `from` (a stream sequence, ≥ 1) on, in order, into the
/// worker's queue, until `shutdown`. Transient consumer errors (a server or
/// the stream leader gone) recreate the consumer at the next expected
/// entry; a gap or an unreadable entry ends the reader with an error.
pub async fn read_log(
    mut stream: jetstream::stream::Stream,
    from: u64,
    node: Uuid,
    waiters: Arc<Waiters>,
    jobs: mpsc::Sender<Job>,
    shutdown: CancellationToken,
) -> Result<(), ReadError> {
    let mut expected = from.max(1);
    let mut first = true;
    'consumer: loop {
        if !std::mem::take(&mut first) {
            // Recreating: not in a tight loop, and only if the log still
            // holds the next entry (retention may have dropped it).
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = shutdown.cancelled() => return Ok(()),
            }
            if let Ok(info) = stream.info().await
                && info.state.messages > 0
                && info.state.first_sequence > expected
            {
                return Err(ReadError::Gap {
                    expected,
                    found: info.state.first_sequence,
                });
            }
        }
        // A plain ephemeral pull consumer with no acks, not the library's
        // "ordered" one: that one notices a consumer lost with its server
        // only after two missed 15 s heartbeats (writes stalled ~30 s when
        // the stream leader was killed). Here a heartbeat every second; a
        // missed one, or any error, recreates the consumer at `expected`,
        // and the sequence checks below keep the order exact.
        let config = jetstream::consumer::pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence {
                start_sequence: expected,
            },
            ack_policy: jetstream::consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(30),
            memory_storage: true,
            num_replicas: 1,
            ..Default::default()
        };
        let messages = async {
            let consumer = stream.create_consumer(config).await?;
            consumer
                .stream()
                .max_messages_per_batch(PULL_BATCH)
                .heartbeat(HEARTBEAT)
                .expires(PULL_EXPIRES)
                .messages()
                .await
                .map_err(async_nats::Error::from)
        };
        let mut messages = tokio::select! {
            m = messages => match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, expected, "cannot open the log consumer; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => continue 'consumer,
                        _ = shutdown.cancelled() => return Ok(()),
                    }
                }
            },
            _ = shutdown.cancelled() => return Ok(()),
        };
        loop {
            let next = tokio::select! {
                m = messages.next() => m,
                _ = shutdown.cancelled() => return Ok(()),
            };
            let msg = match next {
                Some(Ok(msg)) => msg,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, expected, "log consumer error; recreating it");
                    continue 'consumer;
                }
                None => continue 'consumer,
            };
            let seq = match msg.info() {
                Ok(info) => info.stream_sequence,
                Err(e) => {
                    tracing::warn!(error = %e, "log message without its sequence; recreating the consumer");
                    continue 'consumer;
                }
            };
            if seq < expected {
                continue; // delivered again after a consumer was recreated
            }
            if seq > expected {
                // Seen after a stream leader change: the consumer skipped
                // entries the stream holds. Read again from `expected`.
                tracing::warn!(
                    expected,
                    got = seq,
                    "the log consumer skipped entries; recreating it"
                );
                continue 'consumer;
            }
            let entry =
                Entry::decode(&msg.payload).map_err(|source| ReadError::Entry { seq, source })?;
            let reply = if entry.node == node {
                waiters.take(entry.req)
            } else {
                None
            };
            let job = Job {
                cmd: entry.cmd,
                stamp: entry.stamp,
                reply,
                log_seq: Some(seq),
                ack_to: None,
            };
            if jobs.send(job).await.is_err() {
                return Ok(()); // the worker stopped
            }
            expected = seq + 1;
        }
    }
}
