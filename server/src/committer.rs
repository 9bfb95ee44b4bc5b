//! The committer: the single writer. Every change to the store passes
//! through here, in order, with group commit.
//!
//! One task owns the write path. It takes a job, then drains whatever else
//! is already waiting (up to [`MAX_BATCH`]), applies each job as its own
//! atomic batch (assigning positions and room sequence numbers in order),
//! makes them all durable with **one** flush + fdatasync, and only then
//! publishes the events to the hub and answers the callers. So:
//! - an ack always follows the fsync that covers its message;
//! - events become visible (live or in history) in position order, never
//!   before every lower position is durable;
//! - concurrent senders share one fsync (the batch forms while the previous
//!   fsync runs).
//!
//! Validation that depends on the store's current state (membership, roles,
//! idempotency) happens here too, against the latest applied state, so two
//! racing requests cannot both pass a check that only one should.

use crate::error::{Result, ServerError};
use crate::frame::{SharedFrame, shared};
use crate::hub::{Hub, MembershipChange, Published};
use crate::idhash::IdMap;
use crate::store::{self, AckRecord, Batch, MemberRecord, RoomRecord, Store, UserRecord};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use townhall_protocol::{
    Content, Event, MemberAction, Millis, Pos, RoomId, RoomKind, RoomRole, RoomSeq, ServerFrame,
    UserId, UserInfo, Visibility,
};
use uuid::Uuid;

mod accounts;
mod anon;
mod avatar;
mod broadcasts;
mod contacts;
mod directory;
mod export;
mod faq;
mod files;
mod invite;
mod messages;
mod org;
mod profile;
mod pulse;
mod questions;
mod reminders;
mod retention;
mod room_admin;
mod rooms;
mod syncer;
mod watch;
pub use crate::command::{Command, Reply, Stamp};
pub use accounts::AccountOp;
pub use anon::{AnonOp, MAX_PENDING_PER_ASKER};
pub use avatar::{AvatarOp, MAX_AVATAR_PNG_BYTES};
pub use contacts::ContactOp;
pub use directory::{DirectoryOp, DirectoryState, same_entry};
pub use export::ExportOp;
pub use faq::{FaqOp, check_faq_tags};
pub use files::{FileOp, check_file_quota, quota_error};
pub use invite::{InviteOp, refusal as invite_refusal};
pub use messages::MessageOp;
pub use profile::ProfileOp;
pub use questions::QuestionOp;
pub use retention::{MAX_EXPIRED_PER_ENTRY, RetentionOp, check_days, check_reason};
pub use room_admin::RoomAdminOp;
use syncer::Syncer;
pub use watch::{WatchOp, check_phrase};

/// Jobs waiting for the committer. Bounded so that a flood of writers waits
/// (backpressure) instead of growing memory; 4096 is several group commits'
/// worth at full speed.
pub const QUEUE_CAPACITY: usize = 4096;

/// Most jobs in one group commit: bounds the latency a job can add to the
/// others in its batch, while one fsync (~0.2 ms) is shared by up to 1024.
pub const MAX_BATCH: usize = 1024;

type JobResult = (
    Option<oneshot::Sender<Result<Reply>>>,
    Option<AckTo>,
    Result<Reply>,
);

/// Write the acks of a durable group's sends, in job order from `next`, up
/// to the first whose event lies beyond `published` (the position just
/// published: an ack never comes before its event is visible, so a request
/// sent after it reads the message). Jobs without an ack to write are
/// passed over; `next` is where the next call goes on.
fn deliver_acks(results: &mut [JobResult], next: &mut usize, published: Pos) {
    while let Some((_, ack_to, outcome)) = results.get_mut(*next) {
        if let (Some(_), Ok(Reply::Ack { ack, .. })) = (&ack_to, &outcome)
            && ack.pos > published
        {
            return;
        }
        if let Some(to) = ack_to.take() {
            let done = std::mem::replace(outcome, Ok(Reply::Delivered));
            *outcome = to.deliver(done);
        }
        *next += 1;
    }
}

/// Answer every job of a group whose writes did not become durable: those
/// that had succeeded get the storage error, the rest keep their own.
fn refuse_all(results: Vec<JobResult>, e: &crate::store::StoreError) {
    for (reply, _, outcome) in results {
        if let Some(reply) = reply {
            let refused = match outcome {
                Ok(_) => Err(ServerError::Store(crate::store::StoreError::Backend(
                    e.to_string(),
                ))),
                Err(err) => Err(err),
            };
            let _ = reply.send(refused);
        }
    }
}

/// One command on its way to the worker.
pub struct Job {
    pub cmd: Command,
    pub stamp: Stamp,
    pub reply: Option<oneshot::Sender<Result<Reply>>>,
    /// The cluster log's sequence of this command; `None` when embedded.
    pub log_seq: Option<u64>,
    /// A `send`'s connection, for the worker to write its `ack` into.
    pub ack_to: Option<AckTo>,
}

/// Where the worker writes a `send`'s `ack` frame itself, once its group is
/// durable and its event published: straight into the connection's queue
/// of replies, before the writers of the event's other recipients are
/// woken (`Hub::publish`): the ack's writer is woken ahead of them. (Through
/// the submitter, the ack waited for that task to be woken and then for its
/// writer, behind every writer task the group's publish woke: a 1,000-member
/// room, milliseconds; docs/benchmarks.md findings 11 and 13.) The reply
/// then says
/// [`Reply::Delivered`]; if the queue is full or closed, the reply carries
/// the ack as before and the submitter writes it (waiting for room).
pub struct AckTo {
    pub frames: crate::outbox::Sender<crate::frame::SharedFrame>,
    pub req_id: Option<String>,
    pub client_id: uuid::Uuid,
    /// When the send reached the worker's queue: the ack latency metric.
    pub queued: std::time::Instant,
}

impl AckTo {
    /// Write the ack of a durable `send` (any other outcome is returned
    /// as it is).
    fn deliver(self, outcome: Result<Reply>) -> Result<Reply> {
        let Ok(Reply::Ack { ack, duplicate }) = &outcome else {
            return outcome;
        };
        let frame = townhall_protocol::ServerFrame::Ack {
            req_id: self.req_id,
            client_id: self.client_id,
            room: ack.room,
            seq: ack.seq,
            pos: ack.pos,
            ts: ack.ts,
            duplicate: *duplicate,
        };
        match self.frames.try_send(crate::frame::shared(&frame)) {
            Ok(()) => {
                crate::metrics::record_ack(self.queued.elapsed());
                Ok(Reply::Delivered)
            }
            Err(_) => outcome,
        }
    }
}

/// The replies a command's submitter waits for.
pub type ReplyRx = oneshot::Receiver<Result<Reply>>;
pub type ReplyTx = oneshot::Sender<Result<Reply>>;

/// Where submitted commands go in cluster mode: the replicated log, which
/// every node (this one included) applies in order. Implemented by
/// `cluster/log.rs`; the committer itself knows nothing of NATS.
pub trait Log: Send + Sync + 'static {
    /// Append `cmd` and return the receiver of its reply, which this
    /// node's worker sends once it has applied the entry (or the log sends
    /// `unavailable` if the append failed). Entries appended by one caller
    /// are applied in the order of its calls.
    fn append(
        &self,
        cmd: Command,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<ReplyRx>> + Send + '_>>;
    /// Append with nobody waiting; best effort.
    fn append_detached(&self, cmd: Command);
}

/// How the worker makes a group durable.
enum Mode {
    /// The embedded single node: the worker's own sled batch + fsync is the
    /// durable point; refuse writes when the disk is nearly full.
    Embedded { min_free: u64 },
    /// A cluster replica: the log is durable before a command reaches the
    /// worker, so a group is applied without an fsync (a node that loses
    /// its last groups in a crash applies them again from the log), and no
    /// entry may ever be skipped: a failure to apply stops this node
    /// (`fatal` fires) rather than let it diverge.
    Replica {
        applied: tokio::sync::watch::Sender<u64>,
        fatal: CancellationToken,
    },
}

/// A cheap handle for submitting commands.
#[derive(Clone)]
pub struct Committer {
    route: Route,
    /// Requests to pause the worker (snapshots). Capacity 4: a few
    /// snapshots at once queue; more wait for room.
    pause: mpsc::Sender<Pause>,
}

/// "Stop applying, tell me when you have, and wait until I say so."
struct Pause {
    paused: oneshot::Sender<()>,
    resume: oneshot::Receiver<()>,
}

#[derive(Clone)]
enum Route {
    Local(mpsc::Sender<Job>),
    Log(std::sync::Arc<dyn Log>),
}

impl Committer {
    /// Start the committer task. It ends when `shutdown` fires, after
    /// finishing every job already queued, with a last sync.
    /// `min_free` is the free-space watermark in bytes below which writes are refused.
    pub fn start(
        store: Store,
        hub: Hub,
        last_pos: Pos,
        min_free: u64,
        shutdown: CancellationToken,
    ) -> (Committer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let (pause, pauses) = mpsc::channel(4);
        let worker = Worker::new(store, hub, last_pos, Mode::Embedded { min_free });
        let handle = tokio::spawn(worker.run(rx, pauses, shutdown));
        (
            Committer {
                route: Route::Local(tx),
                pause,
            },
            handle,
        )
    }

    /// Start the worker of a cluster replica. Commands submitted through
    /// the returned handle go to `log`; the log's reader feeds the entries
    /// it reads, in log order, to the returned job sender. `applied` follows
    /// the last log sequence applied and stored; `fatal` fires if this node
    /// cannot apply an entry.
    pub fn start_replica(
        store: Store,
        hub: Hub,
        last_pos: Pos,
        log: std::sync::Arc<dyn Log>,
        applied: tokio::sync::watch::Sender<u64>,
        fatal: CancellationToken,
        shutdown: CancellationToken,
    ) -> (Committer, mpsc::Sender<Job>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let (pause, pauses) = mpsc::channel(4);
        let worker = Worker::new(store, hub, last_pos, Mode::Replica { applied, fatal });
        let handle = tokio::spawn(worker.run(rx, pauses, shutdown));
        (
            Committer {
                route: Route::Log(log),
                pause,
            },
            tx,
            handle,
        )
    }

    /// Run `f` on a blocking thread while the worker applies nothing (and
    /// every group before is in the store): a consistent view of the whole
    /// store, e.g. for a snapshot. Writes wait meanwhile; reads go on.
    pub async fn paused<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (paused, is_paused) = oneshot::channel();
        let (resume, resumed) = oneshot::channel();
        self.pause
            .send(Pause {
                paused,
                resume: resumed,
            })
            .await
            .map_err(|_| ServerError::ShuttingDown)?;
        is_paused.await.map_err(|_| ServerError::ShuttingDown)?;
        let out = tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| ServerError::Internal(e.to_string()));
        let _ = resume.send(());
        out
    }

    /// Submit a command and wait until it is durable (or refused).
    pub async fn submit(&self, cmd: Command) -> Result<Reply> {
        let rx = self.enqueue(cmd).await?;
        rx.await.map_err(|_| ServerError::ShuttingDown)?
    }

    /// Queue a command in order and return the receiver of its reply, so a
    /// caller can queue several in order before waiting for any.
    pub async fn enqueue(&self, cmd: Command) -> Result<ReplyRx> {
        self.enqueue_acked(cmd, None).await
    }

    /// [`enqueue`](Self::enqueue) a `send` whose ack the worker writes into
    /// the connection itself when it can ([`AckTo`]); embedded mode only (a
    /// cluster's entries are answered through the log's waiters).
    pub async fn enqueue_acked(&self, cmd: Command, ack_to: Option<AckTo>) -> Result<ReplyRx> {
        match &self.route {
            Route::Local(tx) => {
                let (reply, rx) = oneshot::channel();
                tx.send(Job {
                    cmd,
                    stamp: Stamp::now(),
                    reply: Some(reply),
                    log_seq: None,
                    ack_to,
                })
                .await
                .map_err(|_| ServerError::ShuttingDown)?;
                Ok(rx)
            }
            Route::Log(log) => log.append(cmd).await,
        }
    }

    /// Jobs waiting in the queue (for `/metrics`); `None` in cluster mode,
    /// where writes wait in the log instead.
    pub fn queue_depth(&self) -> Option<usize> {
        match &self.route {
            Route::Local(tx) => Some(tx.max_capacity() - tx.capacity()),
            Route::Log(_) => None,
        }
    }

    /// Queue a command nobody waits for; dropped if the queue is full
    /// (used for device positions, which are only an optimisation).
    pub fn fire_and_forget(&self, cmd: Command) {
        match &self.route {
            Route::Local(tx) => {
                let _ = tx.try_send(Job {
                    cmd,
                    stamp: Stamp::now(),
                    reply: None,
                    log_seq: None,
                    ack_to: None,
                });
            }
            Route::Log(log) => log.append_detached(cmd),
        }
    }
}

/// Cached tail of a room: its last seq and message ordinal.
#[derive(Clone, Copy)]
struct RoomTail {
    seq: RoomSeq,
    ordinal: u64,
}

struct Worker {
    /// The store as the committer sees it: the base store plus this
    /// group's writes, not yet applied (see `store/overlay_kv.rs`).
    store: Store,
    /// The store everyone else reads; a group's writes reach it in one batch.
    base: Store,
    overlay: std::sync::Arc<crate::store::OverlayKv>,
    hub: Hub,
    last_pos: Pos,
    rooms: IdMap<RoomId, RoomTail>,
    /// Events applied but not yet published because a sync failed; they go
    /// out after the next successful sync so live delivery has no gap.
    unpublished: Vec<Published>,
    mode: Mode,
    /// Whether the last check was below the watermark (to log transitions once).
    disk_full: bool,
    syncer: Syncer,
    /// The stamp of the command being applied (see `command.rs`).
    stamp: Stamp,
    /// The time commands are applied under: the largest stamp seen so far,
    /// so times never go back along the order of application.
    clock: Millis,
    /// Ids made so far under the current stamp.
    ids_made: u64,
    /// The watch list, ready to match (`committer/watch.rs`); `None` until
    /// needed after a change. Derived from the store only.
    watch: Option<watch::WatchCache>,
    /// The transformation team's ids, for rumour alerts; `None` until
    /// needed after an account or directory change.
    watch_team: Option<std::sync::Arc<Vec<UserId>>>,
    /// The pulse counters, counted in memory and written every few
    /// seconds of apply time (`committer/pulse.rs`).
    pulse: pulse::PulseRows,
}

impl Worker {
    fn new(store: Store, hub: Hub, last_pos: Pos, mode: Mode) -> Worker {
        let (overlay_store, overlay) = store.with_overlay();
        // A store that cannot say its clock is unreadable: `init` would
        // have failed first, so 0 (time starts from the next stamp) is safe.
        let clock = store.apply_clock().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the apply clock; starting from the next command's time");
            0
        });
        let mut worker = Worker {
            store: overlay_store,
            base: store.clone(),
            overlay,
            hub,
            last_pos,
            rooms: IdMap::default(),
            unpublished: Vec::new(),
            mode,
            disk_full: false,
            syncer: Syncer::start(store),
            stamp: Stamp { now: 0, seed: 0 },
            clock,
            ids_made: 0,
            watch: None,
            watch_team: None,
            pulse: pulse::PulseRows::new(0),
        };
        worker.pulse_start();
        worker
    }
}

/// What executing one job produced, before the sync.
struct Pending {
    events: Vec<Published>,
    frames_to_user: Vec<(UserId, SharedFrame)>,
    /// Frames for a room's online members (vote counts).
    frames_to_room: Vec<(RoomId, SharedFrame)>,
    /// Notices, each stored at the position it is pushed with (see
    /// `Hub::send_notice`).
    notices: Vec<(UserId, Pos, SharedFrame)>,
    /// Frames about anonymous questions, addressed by asker key or to the
    /// transformation team (`committer/anon.rs`).
    anon: Vec<(anon::AnonTo, SharedFrame)>,
    /// Sessions to close once the group is durable (on every node, since
    /// every node applies the same commands).
    kicks: Vec<Kick>,
    /// Frames for every online session (a changed display name).
    frames_to_everyone: Vec<SharedFrame>,
}

/// Sessions a command ends.
#[derive(Debug)]
enum Kick {
    /// One session (logout).
    Token([u8; 32], crate::hub::CloseReason),
    /// Every session of a user (password change, disabled, role changed).
    User(UserId, crate::hub::CloseReason),
}

impl Worker {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Job>,
        mut pauses: mpsc::Receiver<Pause>,
        shutdown: CancellationToken,
    ) {
        loop {
            let first = tokio::select! {
                Some(pause) = pauses.recv() => {
                    // Between groups: everything applied is in the base store.
                    if pause.paused.send(()).is_ok() {
                        let _ = pause.resume.await;
                    }
                    continue;
                }
                job = rx.recv() => job,
                _ = shutdown.cancelled() => {
                    // Refuse new jobs, finish the ones already queued.
                    rx.close();
                    rx.recv().await
                }
            };
            let Some(first) = first else { break };
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.commit(jobs).await;
            if self.stopped() {
                break;
            }
        }
        if let Err(e) = self.syncer.sync().await {
            tracing::error!(error = %e, "final sync at shutdown failed");
        }
        tracing::info!("committer stopped");
    }

    /// Refuse the whole batch while the disk is nearly full (see
    /// `--min-free-mb`); returns the jobs back when there is room.
    fn refuse_if_disk_full(&mut self, jobs: Vec<Job>) -> Option<Vec<Job>> {
        let Mode::Embedded { min_free } = self.mode else {
            // A replica must apply every entry; its writers check the disk
            // before appending instead (see `cluster/log.rs`).
            return Some(jobs);
        };
        let free = self.store.free_space();
        let full = free < min_free;
        if full != self.disk_full {
            self.disk_full = full;
            if full {
                tracing::error!(
                    free_mb = free >> 20,
                    min_mb = min_free >> 20,
                    "disk nearly full: refusing writes"
                );
            } else {
                tracing::info!(free_mb = free >> 20, "disk space back: accepting writes");
            }
        }
        if !full {
            return Some(jobs);
        }
        for job in jobs {
            if let Some(reply) = job.reply {
                let e = crate::store::StoreError::DiskFull {
                    free_mb: free >> 20,
                    min_mb: min_free >> 20,
                };
                let _ = reply.send(Err(ServerError::Store(e)));
            }
        }
        None
    }

    async fn commit(&mut self, jobs: Vec<Job>) {
        let Some(jobs) = self.refuse_if_disk_full(jobs) else {
            return;
        };
        let mut results = Vec::with_capacity(jobs.len());
        let mut pending = Pending {
            events: std::mem::take(&mut self.unpublished),
            frames_to_user: Vec::new(),
            frames_to_room: Vec::new(),
            notices: Vec::new(),
            anon: Vec::new(),
            kicks: Vec::new(),
            frames_to_everyone: Vec::new(),
        };
        let group_start_pos = self.last_pos;
        let carried = pending.events.len();
        let mut wrote = !pending.events.is_empty();
        let mut log_seq = None;
        for job in jobs {
            log_seq = job.log_seq.or(log_seq);
            let before_pos = self.last_pos;
            let before_events = pending.events.len();
            let mut batch = Batch::default();
            self.pulse.begin_job();
            let outcome = self.execute(job.cmd, job.stamp, &mut batch, &mut pending);
            if outcome.is_ok() {
                self.pulse
                    .write_if_due(&mut batch, self.last_pos, self.clock);
            }
            let outcome = match outcome {
                Ok(reply) if batch.is_empty() => Ok(reply),
                Ok(reply) => match self.store.apply(&batch) {
                    Ok(()) => {
                        wrote = true;
                        Ok(reply)
                    }
                    Err(e) => Err(ServerError::Store(e)),
                },
                Err(e) => Err(e),
            };
            if let (Err(ServerError::Store(e)), Mode::Replica { .. }) = (&outcome, &self.mode) {
                // Not a property of the command: another node may have
                // applied it. Stop rather than diverge.
                let e = e.to_string();
                let _ = self.overlay.discard();
                self.pulse.group_failed();
                return self.stop_replica(&e);
            }
            if outcome.is_err() {
                // Nothing of this job was applied: forget what it assigned.
                self.pulse.undo_job();
                self.last_pos = before_pos;
                for ev in pending.events.drain(before_events..) {
                    self.rooms.remove(&ev.room);
                }
            }
            results.push((job.reply, job.ack_to, outcome));
        }
        let m = crate::metrics::get();
        crate::metrics::inc(&m.commit_batches);
        crate::metrics::add(&m.commit_jobs, results.len() as u64);
        crate::metrics::record_commit_group(results.len());
        // Every job's writes reach the store now, as one batch: one sled
        // log write for the group instead of one per job. The clock and, in
        // a cluster, the log sequence go in the same batch, so a restarted
        // node resumes from exactly what its store holds.
        // (The clock goes with every stored log sequence, even of a group
        // that wrote nothing else: how entries fall into groups differs
        // between nodes, the stored state at a sequence must not.)
        let group = self.overlay.take_batch().map(|mut group| {
            if let Some(seq) = log_seq {
                store::put_log_seq(&mut group, seq);
            }
            if !group.is_empty() {
                store::put_apply_clock(&mut group, self.clock);
            }
            group
        });
        let applied = match group {
            Ok(group) if group.is_empty() => {
                self.pulse.group_applied();
                Ok(())
            }
            Ok(group) => self.base.apply(&group).map(|()| {
                self.overlay.applied(&group);
                self.pulse.group_applied();
            }),
            Err(e) => Err(e),
        };
        if let (Err(e), Mode::Replica { .. }) = (&applied, &self.mode) {
            let e = e.to_string();
            let _ = self.overlay.discard();
            self.pulse.group_failed();
            return self.stop_replica(&e);
        }
        if let Err(e) = applied {
            tracing::error!(error = %e, "applying the group failed; nothing in it is acknowledged");
            let _ = self.overlay.discard();
            self.pulse.group_failed();
            // Forget what this group assigned; earlier unpublished events stay.
            self.last_pos = group_start_pos;
            self.rooms.clear();
            self.forget_watch();
            pending.events.truncate(carried);
            self.unpublished = pending.events;
            refuse_all(results, &e);
            return;
        }
        let synced = if wrote && matches!(self.mode, Mode::Embedded { .. }) {
            let started = std::time::Instant::now();
            let r = self.sync().await;
            crate::metrics::inc(&m.fsyncs);
            crate::metrics::add(&m.fsync_micros_total, started.elapsed().as_micros() as u64);
            if r.is_err() {
                crate::metrics::inc(&m.fsync_failures);
            }
            r
        } else {
            Ok(())
        };
        match synced {
            Ok(()) => {
                self.pulse.group_synced(self.base.pulse_unflushed());
                crate::metrics::add(&m.events_committed, pending.events.len() as u64);
                // Each send's ack goes out as soon as its event is
                // published, before the room's other writers are woken.
                let mut acked = 0;
                if !pending.events.is_empty() {
                    let started = std::time::Instant::now();
                    self.hub.publish(&pending.events, |pos| {
                        deliver_acks(&mut results, &mut acked, pos);
                    });
                    crate::metrics::record_fanout(started.elapsed());
                }
                deliver_acks(&mut results, &mut acked, Pos::MAX);
                for (user, frame) in pending.frames_to_user {
                    self.hub.send_to_user(user, frame);
                }
                for (room, frame) in pending.frames_to_room {
                    self.hub.send_to_room(room, frame);
                }
                for frame in pending.frames_to_everyone {
                    self.hub.send_to_everyone(frame);
                }
                // After `publish`: a session registering now reads these
                // from the store, one registered before gets them here.
                for (user, pos, frame) in pending.notices {
                    self.hub.send_notice(user, pos, frame);
                }
                self.deliver_anon(pending.anon);
                for kick in pending.kicks {
                    match kick {
                        Kick::Token(hash, why) => self.hub.kick_token(&hash, why),
                        Kick::User(user, why) => self.hub.kick_user(user, why),
                    }
                }
                for (reply, _, outcome) in results {
                    if let Some(reply) = reply {
                        let _ = reply.send(outcome);
                    }
                }
                if let (Some(seq), Mode::Replica { applied, .. }) = (log_seq, &self.mode) {
                    applied.send_replace(seq);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "sync failed; nothing in this batch is acknowledged");
                self.unpublished = pending.events;
                refuse_all(results, &e);
            }
        }
    }

    /// A replica that cannot apply an entry stops applying: the process
    /// exits (see `lib.rs`) and, restarted, replays from its store's last
    /// log sequence. Nobody in this group is answered.
    fn stop_replica(&mut self, e: &str) {
        tracing::error!(error = %e, "cannot apply the cluster log; this node stops");
        if let Mode::Replica { fatal, .. } = &self.mode {
            fatal.cancel();
        }
    }

    /// Flush + fdatasync of the store, on the fsync thread. (The writers
    /// run on a runtime of their own, `writer::use_runtime`, so the fsync
    /// thread's wakeup of the committer no longer queues behind the writer
    /// tasks of the last publish: the committer's own sync in
    /// `block_in_place` that worked around it is gone.)
    async fn sync(&self) -> Result<(), crate::store::StoreError> {
        self.syncer.sync().await
    }

    fn stopped(&self) -> bool {
        matches!(&self.mode, Mode::Replica { fatal, .. } if fatal.is_cancelled())
    }

    /// The time the current command is applied under.
    fn now(&self) -> Millis {
        self.clock
    }

    /// A new time-ordered id, made from the current stamp (the same on
    /// every node that applies this command).
    fn new_id(&mut self) -> Uuid {
        self.ids_made += 1;
        let mut x = self.stamp.seed ^ self.ids_made.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut random = [0u8; 10];
        for chunk in random.chunks_mut(8) {
            // splitmix64: spreads a seed and a counter over the id's random bits.
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_be_bytes()[..chunk.len()]);
        }
        uuid::Builder::from_unix_timestamp_millis(self.clock, &random).into_uuid()
    }

    /// Apply one command under its stamp.
    fn execute(
        &mut self,
        cmd: Command,
        stamp: Stamp,
        b: &mut Batch,
        p: &mut Pending,
    ) -> Result<Reply> {
        self.stamp = stamp;
        self.clock = self.clock.max(stamp.now);
        self.ids_made = 0;
        let cmd = self.with_current_roles(cmd)?;
        self.refuse_if_archived(&cmd)?;
        match &cmd {
            // The list may change: rebuild the matcher when next needed.
            Command::Watch(_) => self.watch = None,
            // The team may change (a team flag, a disable, a new account,
            // a directory's verdict): re-read it at the next match. Logins,
            // logouts and password changes leave it as it is.
            Command::Account(
                AccountOp::Create { .. } | AccountOp::Update { .. } | AccountOp::FirstAdmin { .. },
            )
            | Command::Directory(_) => self.watch_team = None,
            _ => {}
        }
        match cmd {
            Command::Post {
                user,
                room,
                client_id,
                body,
                thread,
                question,
                attachments,
            } => {
                if let Some(ack) = self.store.ack(user.id, client_id)? {
                    crate::metrics::inc(&crate::metrics::get().duplicate_sends);
                    return Ok(Reply::Ack {
                        ack,
                        duplicate: true,
                    });
                }
                let m = self.store.membership(room, user.id)?;
                if !m.as_ref().is_some_and(MemberRecord::is_current) {
                    return Err(ServerError::NotFound);
                }
                let kind = self.check_may_post(room, &user, thread.is_none())?;
                if let Some(parent) = thread {
                    self.count_reply(b, room, parent)?;
                }
                let mentions = self.store.resolve_mentions(user.id, &body)?;
                let files = self.check_attachments(user.id, &attachments)?;
                let content = Content::Message {
                    body,
                    thread,
                    question,
                    attachments: files.iter().map(|f| f.attachment()).collect(),
                };
                let ev = self.append(b, p, room, user.clone(), Some(client_id), content, None)?;
                self.read_own(b, p, user.id, room, ev.seq)?;
                self.bind_attachments(b, files, room, ev.seq);
                if let Some(record) = mentions {
                    store::put_mentions(b, room, ev.seq, &record);
                }
                if let Some(parent) = thread {
                    store::put_thread_reply(b, room, parent, ev.seq);
                    self.notify_reply(b, p, parent, &ev)?;
                }
                if question {
                    store::put_open_question(b, room, ev.seq, ev.ts);
                    store::put_asked(b, user.id, ev.pos, room, ev.seq);
                    self.follow_own_question(b, room, ev.seq, user.id)?;
                }
                self.watch_message(b, p, &ev)?;
                self.pulse_message(kind, room, ev.ts, question)?;
                let ack = AckRecord {
                    room,
                    seq: ev.seq,
                    pos: ev.pos,
                    ts: ev.ts,
                    broadcast: None,
                };
                store::put_ack(b, user.id, client_id, &ack);
                crate::metrics::inc(&crate::metrics::get().messages_committed);
                Ok(Reply::Ack {
                    ack,
                    duplicate: false,
                })
            }
            Command::CreateRoom {
                user,
                name,
                topic,
                visibility,
                announce_only,
            } => {
                // Two public rooms "General" and "general" side by side
                // cannot be told apart in the directory. A store read only:
                // every replica decides the same.
                if visibility == Visibility::Public
                    && self.store.public_room_named(&name)?.is_some()
                {
                    return Err(ServerError::NameTaken);
                }
                let record = RoomRecord {
                    id: RoomId(self.new_id()),
                    name,
                    topic,
                    visibility,
                    kind: RoomKind::Room,
                    created_by: user.id,
                    created_at: self.now(),
                    announce_only,
                    org_wide: false,
                    archived: false,
                };
                self.create_room(
                    b,
                    p,
                    &record,
                    &user,
                    &[(user.clone(), RoomRole::Owner, MemberAction::Joined)],
                )?;
                Ok(Reply::Room(record))
            }
            Command::OpenDm { user, peer } => self.open_dm(b, p, user, peer),
            Command::Join {
                user,
                server_role,
                room,
            } => self.join(b, p, user, server_role, room),
            Command::Leave { user, room } => self.leave(b, p, user, room),
            Command::AddMember {
                actor,
                actor_role,
                room,
                target,
            } => self.add_member(b, p, actor, actor_role, room, target),
            Command::RemoveMember {
                actor,
                actor_role,
                room,
                target,
            } => self.remove_member(b, p, actor, actor_role, room, target),
            Command::MarkRead { user, room, seq } => {
                let current = self.store.read_marker(user, room)?;
                if seq <= current {
                    return Ok(Reply::ReadMarker(current));
                }
                let last = self.tail(room)?.seq;
                let seq = seq.min(last);
                if seq <= current {
                    return Ok(Reply::ReadMarker(current));
                }
                store::put_read_marker(b, user, room, seq);
                p.frames_to_user
                    .push((user, shared(&ServerFrame::ReadMarker { room, seq })));
                Ok(Reply::ReadMarker(seq))
            }
            Command::DevicePos { user, device, pos } => {
                let current = self.store.device_pos(user, &device)?.unwrap_or(0);
                if pos > current && pos <= self.last_pos {
                    store::put_device_pos(b, user, &device, pos);
                }
                Ok(Reply::Done(0))
            }
            Command::Message(op) => self.message_op(b, p, op),
            Command::Question(op) => self.question_op(b, p, op),
            Command::RoomAdmin(op) => self.room_admin_op(b, p, op),
            Command::Anon(op) => self.anon_op(b, p, op),
            Command::Watch(op) => self.watch_op(b, p, op),
            Command::Faq(op) => self.faq_op(b, p, op),
            Command::Retention(op) => self.retention_op(b, p, op),
            Command::Invite(op) => self.invite_op(b, op),
            Command::Account(op) => self.account_op(b, p, op),
            Command::Contact(op) => self.contact_op(b, op),
            Command::Profile(op) => self.profile_op(b, p, op),
            Command::Avatar(op) => self.avatar_op(b, p, op),
            Command::Directory(op) => self.directory_op(b, p, op),
            Command::File(op) => self.file_op(b, op),
            Command::Export(op) => self.export_op(b, op),
            Command::EnsureOrgRoom { creator, members } => {
                self.ensure_org_room(b, p, creator, members)
            }
            Command::SetRoomRole {
                actor,
                actor_role,
                room,
                target,
                role,
            } => self.set_room_role(b, p, actor, actor_role, room, target, role),
            Command::Broadcast {
                user,
                client_id,
                body,
                rooms,
                ack_requested,
            } => self.broadcast(b, p, user, client_id, body, rooms, ack_requested),
            Command::Receipt {
                user,
                broadcast,
                kind,
            } => self.receipt(b, p, user, broadcast, kind),
            Command::Follow { user, leader, on } => self.follow(b, p, user, leader, on),
            Command::Remind { user, broadcast } => self.remind(b, p, user, broadcast),
            Command::TouchSession { token_hash, at } => {
                if let Some(mut s) = self.store.session(&token_hash)? {
                    s.last_seen = s.last_seen.max(at);
                    store::put_session(b, &token_hash, &s);
                }
                Ok(Reply::Done(0))
            }
        }
    }

    /// (never back), and tell my other devices.
    fn read_own(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: UserId,
        room: RoomId,
        seq: RoomSeq,
    ) -> Result<()> {
        if self.store.read_marker(user, room)? < seq {
            store::put_read_marker(b, user, room, seq);
            p.frames_to_user
                .push((user, shared(&ServerFrame::ReadMarker { room, seq })));
        }
        Ok(())
    }

    /// Record a moderation or admin action in the audit log.
    fn audit(
        &mut self,
        b: &mut Batch,
        actor: &UserInfo,
        action: &str,
        room: Option<RoomId>,
        target: Option<UserInfo>,
        seq: Option<RoomSeq>,
    ) {
        // Tells apart audit entries of the same millisecond, identically on
        // every node.
        let nonce = self.new_id().as_u64_pair().1;
        let entry = townhall_protocol::http::AuditEntry {
            at: self.now(),
            actor: actor.clone(),
            action: action.into(),
            room,
            target,
            seq,
        };
        store::put_audit(b, nonce, &entry);
    }

    fn tail(&mut self, room: RoomId) -> Result<RoomTail> {
        if let Some(t) = self.rooms.get(&room) {
            return Ok(*t);
        }
        let t = match self.store.last_event_any(room)? {
            Some(e) => RoomTail {
                seq: e.seq,
                ordinal: e.ordinal,
            },
            None => RoomTail { seq: 0, ordinal: 0 },
        };
        self.rooms.insert(room, t);
        Ok(t)
    }

    /// Give the next position and seq to a new event and write it.
    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        room: RoomId,
        sender: UserInfo,
        client_id: Option<Uuid>,
        content: Content,
        change: Option<MembershipChange>,
    ) -> Result<Event> {
        let tail = self.tail(room)?;
        let is_message = matches!(content, Content::Message { .. } | Content::Broadcast { .. });
        let next = RoomTail {
            seq: tail.seq + 1,
            ordinal: tail.ordinal + u64::from(is_message),
        };
        self.last_pos += 1;
        let event = Event {
            pos: self.last_pos,
            room,
            seq: next.seq,
            ts: self.now(),
            sender,
            client_id,
            content,
            state: Default::default(),
        };
        let json = ServerFrame::Event(event.clone()).to_json();
        store::put_event(b, room, next.seq, event.pos, next.ordinal, json.as_bytes());
        store::put_last_pos(b, event.pos);
        self.rooms.insert(room, next);
        p.events.push(Published {
            pos: event.pos,
            room,
            frame: SharedFrame::from(json),
            change,
        });
        Ok(event)
    }
}

pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Make a user record durable outside the server (CLI, first start).
pub fn user_record_batch(user: &UserRecord) -> Batch {
    let mut b = Batch::default();
    store::put_user(&mut b, user);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AckRecord;
    use townhall_protocol::RoomId;

    fn acked() -> Result<Reply> {
        Ok(Reply::Ack {
            ack: AckRecord {
                room: RoomId::new(),
                seq: 7,
                pos: 42,
                ts: 1_000,
                broadcast: None,
            },
            duplicate: false,
        })
    }

    fn to(frames: &crate::outbox::Sender<crate::frame::SharedFrame>) -> AckTo {
        AckTo {
            frames: frames.clone(),
            req_id: Some("r1".into()),
            client_id: uuid::Uuid::nil(),
            queued: std::time::Instant::now(),
        }
    }

    #[test]
    fn the_worker_writes_a_durable_sends_ack_into_the_connection() {
        let (tx, mut rx) = crate::outbox::channel(4);
        let out = to(&tx).deliver(acked());
        assert!(matches!(out, Ok(Reply::Delivered)), "{out:?}");
        let frame = rx.try_recv().expect("the ack is queued");
        let text = frame.as_str();
        assert!(text.contains(r#""type":"ack""#), "{text}");
        assert!(text.contains(r#""req_id":"r1""#), "{text}");
        assert!(
            text.contains(r#""seq":7"#) && text.contains(r#""pos":42"#),
            "{text}"
        );
    }

    fn acked_at(pos: Pos) -> Result<Reply> {
        let mut r = acked();
        if let Ok(Reply::Ack { ack, .. }) = &mut r {
            ack.pos = pos;
        }
        r
    }

    fn queued_acks(rx: &mut crate::outbox::Receiver<SharedFrame>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok())
            .map(|f| f.as_str().to_owned())
            .collect()
    }

    /// Each ack goes out once its own event is published (so the request
    /// a client sends after it finds the message), never earlier, in job
    /// order; jobs without an ack to write are passed over.
    #[test]
    fn acks_go_out_as_their_events_are_published_and_not_before() {
        let (tx, mut rx) = crate::outbox::channel(8);
        let mut results: Vec<JobResult> = vec![
            (None, Some(to(&tx)), acked_at(5)),
            (None, Some(to(&tx)), acked_at(7)),
            (None, None, Ok(Reply::Done(8))),
            (None, Some(to(&tx)), Err(ServerError::NotFound)),
            (None, Some(to(&tx)), acked_at(9)),
        ];
        let mut next = 0;
        deliver_acks(&mut results, &mut next, 4);
        assert_eq!(next, 0, "nothing is published up to 4");
        assert!(queued_acks(&mut rx).is_empty());
        deliver_acks(&mut results, &mut next, 7);
        let out = queued_acks(&mut rx);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].contains(r#""pos":5"#) && out[1].contains(r#""pos":7"#));
        assert_eq!(next, 4, "stops at the ack of position 9");
        deliver_acks(&mut results, &mut next, Pos::MAX);
        let out = queued_acks(&mut rx);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].contains(r#""pos":9"#));
        assert!(matches!(results[0].2, Ok(Reply::Delivered)));
        assert!(matches!(results[2].2, Ok(Reply::Done(8))));
        assert!(matches!(results[3].2, Err(ServerError::NotFound)));
        assert!(matches!(results[4].2, Ok(Reply::Delivered)));
    }

    #[test]
    fn a_full_or_closed_queue_leaves_the_ack_to_the_submitter_and_errors_pass_through() {
        let (tx, mut rx) = crate::outbox::channel(1);
        tx.try_send(crate::frame::shared(
            &townhall_protocol::ServerFrame::Pong { req_id: None },
        ))
        .expect("room for one");
        let out = to(&tx).deliver(acked());
        assert!(matches!(out, Ok(Reply::Ack { .. })), "full: {out:?}");
        rx.try_recv().expect("the frame queued before");
        assert!(rx.try_recv().is_err(), "nothing else was queued");

        let refused = to(&tx).deliver(Err(ServerError::NotFound));
        assert!(matches!(refused, Err(ServerError::NotFound)), "{refused:?}");
        assert!(
            rx.try_recv().is_err(),
            "an error is the submitter's to write"
        );

        drop(rx);
        let out = to(&tx).deliver(acked());
        assert!(matches!(out, Ok(Reply::Ack { .. })), "closed: {out:?}");
    }
}
