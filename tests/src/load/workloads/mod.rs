//! One file per workload, and what they share: senders (paced or
//! windowed), the reader of a receiving connection, and the meter of the
//! measured window (server and load-generator CPU, fsyncs).

pub mod absent;
pub mod catchup;
pub mod durable;
pub mod fanout;
pub mod idle;
pub mod small_rooms;

use super::conn::Ws;
use super::measure::{Report, Tally, Window, now_us, round3, stamp_body, stamp_req};
use super::server::{self, CpuMeter, SyscallCounter};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use townhall_protocol::{ClientFrame, RoomId};
use uuid::Uuid;

/// Default cap on one connection's sends per second: the server refuses
/// requests past 50/s per connection (`rate_limited`), so a run that wants
/// more messages uses more sending connections, as real clients would.
pub const PER_CONN_RATE: f64 = 45.0;

/// How long a run waits, after the senders stop, for messages still in
/// flight to reach everyone.
pub const DRAIN: Duration = Duration::from_secs(10);

/// A stamped `send` of message `index`. Written by hand (this is the hot
/// path); [`check_send_shape`] proves at start that the protocol crate
/// decodes it as a `send`.
pub fn send_message(room: RoomId, index: u64, body_bytes: usize) -> Message {
    let sent = now_us();
    Message::text(send_json(
        room,
        &stamp_req(index, sent),
        Uuid::new_v4(),
        &stamp_body(index, sent, body_bytes),
    ))
}

/// The JSON of a `send` (bodies here are ASCII without quotes or escapes).
fn send_json(room: RoomId, req_id: &str, client_id: Uuid, body: &str) -> String {
    format!(
        r#"{{"type":"send","req_id":"{req_id}","room":"{room}","client_id":"{client_id}","body":"{body}"}}"#
    )
}

/// Fail early if the protocol no longer reads [`send_message`]'s frames as
/// a `send` with the same room, id and body.
pub fn check_send_shape() -> anyhow::Result<()> {
    let (room, id) = (RoomId::new(), Uuid::new_v4());
    let body = stamp_body(1, 2, 32);
    let text = send_json(room, "1:2", id, &body);
    match ClientFrame::decode(&text) {
        Ok(f @ ClientFrame::Send { .. }) => {
            let back: serde_json::Value = serde_json::to_value(&f)?;
            anyhow::ensure!(
                back["room"] == room.to_string()
                    && back["client_id"] == id.to_string()
                    && back["body"] == body.as_str()
                    && back["req_id"] == "1:2",
                "the protocol reads the load generator's send differently: {back}"
            );
            Ok(())
        }
        Ok(other) => anyhow::bail!("a send decodes as {other:?}"),
        Err(e) => anyhow::bail!(
            "the protocol refuses the load generator's send: {}",
            e.message
        ),
    }
}

/// Read a connection until it ends, adding what arrives to the tally; an
/// ack (or an error, which replaces one) gives a permit back to the
/// connection's sender when it sends in a window.
pub async fn reader(
    mut stream: SplitStream<Ws>,
    tally: Arc<Tally>,
    ack_permits: Option<Arc<Semaphore>>,
) {
    while let Some(Ok(msg)) = stream.next().await {
        let seen = tally.on_message(&msg);
        if let (Some(p), super::measure::Seen::Ack(_) | super::measure::Seen::Error) =
            (&ack_permits, seen)
        {
            p.add_permits(1);
        }
        if msg.is_close() {
            return;
        }
    }
    // The connection ended without a Close frame (a reset, or the server
    // process gone, e.g. a cluster node that stopped): a close all the same.
    // (Readers still running when a run ends are dropped, not ended.)
    tally
        .other_closes
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Like [`reader`], until `stop` fires; then hands the stream back so the
/// connection can be read on in another phase.
pub async fn reader_until(
    mut stream: SplitStream<Ws>,
    tally: Arc<Tally>,
    ack_permits: Option<Arc<Semaphore>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> SplitStream<Ws> {
    loop {
        let msg = tokio::select! {
            _ = &mut stop => return stream,
            m = stream.next() => m,
        };
        let Some(Ok(msg)) = msg else {
            return stream;
        };
        let seen = tally.on_message(&msg);
        if let (Some(p), super::measure::Seen::Ack(_) | super::measure::Seen::Error) =
            (&ack_permits, seen)
        {
            p.add_permits(1);
        }
        if msg.is_close() {
            return stream;
        }
    }
}

/// Send at `rate` messages per second until `until` (open loop: the
/// schedule does not wait for replies), starting after `phase`.
pub async fn paced_sender(
    mut sink: SplitSink<Ws, Message>,
    room: RoomId,
    tally: Arc<Tally>,
    rate: f64,
    phase: Duration,
    until: Instant,
    body_bytes: usize,
) {
    // One wake-up per message at low rates; at most one per millisecond,
    // sending what fell due, at high ones.
    let period = Duration::from_secs_f64((1.0 / rate.max(1e-3)).max(0.001));
    let start = Instant::now() + phase;
    let mut tick = tokio::time::interval_at(start, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0u64;
    loop {
        // Bounded by `until` even when the first tick lies beyond it.
        let now = tokio::select! {
            t = tick.tick() => t,
            _ = tokio::time::sleep_until(until) => break,
        };
        if now >= until {
            break;
        }
        let due = ((now - start).as_secs_f64() * rate) as u64 + 1;
        let mut fed = false;
        while sent < due {
            let Some(index) = tally.take_index() else {
                return;
            };
            if sink
                .feed(send_message(room, index, body_bytes))
                .await
                .is_err()
            {
                return;
            }
            sent += 1;
            fed = true;
        }
        if fed && sink.flush().await.is_err() {
            return;
        }
    }
}

/// Send whenever `permits` has one (closed loop), at most `cap` per second
/// on this connection, until `until`. Returns the sink for later use.
pub async fn windowed_sender(
    mut sink: SplitSink<Ws, Message>,
    room: RoomId,
    tally: Arc<Tally>,
    permits: Arc<Semaphore>,
    cap: f64,
    until: Instant,
    body_bytes: usize,
) -> SplitSink<Ws, Message> {
    let gap = Duration::from_secs_f64(if cap > 0.0 { 1.0 / cap } else { 0.0 });
    let mut next_allowed = Instant::now();
    loop {
        let permit = tokio::select! {
            p = permits.acquire() => p,
            _ = tokio::time::sleep_until(until) => return sink,
        };
        match permit {
            Ok(p) => p.forget(),
            Err(_) => return sink,
        }
        if !gap.is_zero() {
            if next_allowed > until {
                return sink;
            }
            tokio::time::sleep_until(next_allowed).await;
            next_allowed = Instant::now() + gap;
        }
        let Some(index) = tally.take_index() else {
            return sink;
        };
        if sink
            .send(send_message(room, index, body_bytes))
            .await
            .is_err()
        {
            return sink;
        }
    }
}

/// The `Instant` at which the shared clock reads `us`.
pub fn instant_at(us: u64) -> Instant {
    let now = now_us();
    if us > now {
        Instant::now() + Duration::from_micros(us - now)
    } else {
        Instant::now()
    }
}

/// What the meter saw over the measured window.
#[derive(Default)]
pub struct WindowFigures {
    pub server_cpu_secs: Option<f64>,
    pub server_cores: Option<f64>,
    pub loadgen_cores: Option<f64>,
    /// fdatasync + fsync calls of the server (perf), and over how long.
    pub fsyncs: Option<(u64, f64)>,
    /// Socket write calls of the server (perf), and over how long.
    pub writes: Option<(u64, f64)>,
    /// `sync_file_range` calls of the server (sled writing its log out and
    /// waiting for it), and over how long.
    pub log_syncs: Option<(u64, f64)>,
    /// The server's own counters over the window, when it has `/metrics`.
    pub commit_batches: Option<f64>,
    pub metric_fsyncs: Option<f64>,
    /// Time the server spent in store syncs over the window, µs (`/metrics`).
    pub metric_sync_us: Option<f64>,
    /// Of those syncs, the committer's own (`block_in_place`, after a large
    /// publish): only servers of `0954d47` up to the writers' own runtime
    /// had it, kept to compare against them (absent otherwise).
    pub metric_syncs_in_place: Option<f64>,
    pub window_secs: f64,
    /// Cluster mode: every townhall node's CPU together, in cores.
    pub nodes_cores: Option<f64>,
    /// Cluster mode: the three nats-servers' CPU together, in cores.
    pub nats_cores: Option<f64>,
    /// Cluster mode: the nats-servers' fsync + fdatasync calls (perf).
    pub nats_fsyncs: Option<(u64, f64)>,
    /// The search indexer's rounds in the window and the bucket bounds
    /// (s) of their p50 and p99 lag (`townhall_search_lag_seconds`).
    pub search_lag: Option<(f64, f64, f64)>,
}

impl WindowFigures {
    pub fn add_to(&self, r: &mut Report, deliveries: Option<u64>) {
        r.figure("server_cpu_cores", self.server_cores.map(round3));
        r.figure("loadgen_cpu_cores", self.loadgen_cores.map(round3));
        if let Some(c) = self.nodes_cores {
            r.figure("cluster_nodes_cpu_cores", round3(c));
        }
        if let Some(c) = self.nats_cores {
            r.figure("nats_cpu_cores", round3(c));
        }
        if let Some((n, secs)) = self.nats_fsyncs {
            r.figure("nats_fsyncs_per_sec", round3(n as f64 / secs));
        }
        if let (Some(cpu), Some(d)) = (self.server_cpu_secs, deliveries.filter(|d| *d > 0)) {
            r.figure("server_cpu_us_per_delivery", round3(cpu * 1e6 / d as f64));
        }
        if let Some((n, secs)) = self.fsyncs {
            r.figure("fsyncs_per_sec", round3(n as f64 / secs));
        }
        if let Some((n, secs)) = self.log_syncs {
            r.figure("sync_file_range_per_sec", round3(n as f64 / secs));
        }
        if let Some((n, secs)) = self.writes {
            r.figure("server_write_calls_per_sec", round3(n as f64 / secs));
            if let Some(d) = deliveries.filter(|d| *d > 0) {
                r.figure("server_write_calls", n);
                r.figure(
                    "server_write_calls_per_delivery",
                    round3(n as f64 / secs * self.window_secs / d as f64),
                );
            }
        }
        if let Some(b) = self.commit_batches {
            r.figure("commit_batches_in_window", b);
        }
        if let Some((rounds, p50, p99)) = self.search_lag {
            r.figure("search_rounds_in_window", rounds);
            r.figure("search_lag_p50_ms_at_most", round3(p50 * 1000.0));
            r.figure("search_lag_p99_ms_at_most", round3(p99 * 1000.0));
        }
        if let Some(f) = self.metric_fsyncs {
            r.figure("server_counted_fsyncs_in_window", f);
            if let (Some(us), true) = (self.metric_sync_us, f > 0.0) {
                r.figure("server_mean_store_sync_ms", round3(us / f / 1000.0));
            }
            if let Some(n) = self.metric_syncs_in_place {
                r.figure("server_syncs_in_place_in_window", n);
            }
        }
    }
}

/// What the meter counts with perf besides CPU time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Nothing,
    Fsyncs,
    Writes,
}

/// Measure the server's and this process's CPU (and the server's fsyncs or
/// socket writes) over `window`; returns when the window ends.
pub async fn meter(
    pid: Option<u32>,
    cluster: Option<super::pool::ClusterPids>,
    http: reqwest::Client,
    base: String,
    window: Window,
    count: Count,
) -> WindowFigures {
    tokio::time::sleep_until(instant_at(window.start_us)).await;
    let server = CpuMeter::start(pid);
    let cluster = cluster.unwrap_or_default();
    let nodes = server::GroupCpuMeter::start(&cluster.nodes);
    let nats = server::GroupCpuMeter::start(&cluster.nats);
    let nats_counter = (count == Count::Fsyncs)
        .then(|| SyscallCounter::start_pids(&cluster.nats, server::FSYNC_CALLS, perf_out_nats()))
        .flatten();
    let own = CpuMeter::start(Some(std::process::id()));
    let perf_out = std::env::temp_dir().join(format!("townhall-load-perf-{}.txt", now_us()));
    let calls = match count {
        Count::Nothing => None,
        Count::Fsyncs => Some(server::FSYNC_CALLS),
        Count::Writes => Some(server::WRITE_CALLS),
    };
    let counter = calls.and_then(|c| SyscallCounter::start(pid, c, perf_out.clone()));
    let log_counter = (count == Count::Fsyncs)
        .then(|| SyscallCounter::start(pid, &["sync_file_range"], perf_out.with_extension("sfr")))
        .flatten();
    let m0 = server::metrics(&http, &base).await;
    tokio::time::sleep_until(instant_at(window.end_us)).await;
    let m1 = server::metrics(&http, &base).await;
    let server_cpu = server.stop();
    let nodes_cores = nodes.stop();
    let nats_cores = nats.stop();
    let nats_fsyncs = nats_counter.and_then(SyscallCounter::stop);
    let own_cpu = own.stop();
    let counted = counter.and_then(SyscallCounter::stop);
    let log_syncs = log_counter.and_then(SyscallCounter::stop);
    let delta = |name: &str| Some(server::metric(&m1, name)? - server::metric(&m0, name)?);
    WindowFigures {
        server_cpu_secs: server_cpu.map(|c| c.0),
        server_cores: server_cpu.map(|c| c.1),
        loadgen_cores: own_cpu.map(|c| c.1),
        fsyncs: counted.filter(|_| count == Count::Fsyncs),
        writes: counted.filter(|_| count == Count::Writes),
        log_syncs,
        commit_batches: delta("townhall_commit_batches_total"),
        metric_fsyncs: delta("townhall_fsyncs_total"),
        metric_sync_us: delta("townhall_fsync_microseconds_total"),
        metric_syncs_in_place: delta("townhall_fsyncs_in_place_total"),
        window_secs: window.secs(),
        nodes_cores,
        nats_cores,
        nats_fsyncs,
        search_lag: histogram_quantiles(&m0, &m1, "townhall_search_lag_seconds"),
    }
}

/// (samples, p50 bound, p99 bound) of a Prometheus histogram over the
/// window between two scrapes: the upper bound of the bucket where each
/// quantile falls. None without samples.
fn histogram_quantiles(
    m0: &Option<Vec<(String, f64)>>,
    m1: &Option<Vec<(String, f64)>>,
    name: &str,
) -> Option<(f64, f64, f64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    let mut buckets: Vec<(f64, f64)> = m1
        .as_ref()?
        .iter()
        .filter_map(|(n, v1)| {
            let le = n.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            let le: f64 = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            let v0 = server::metric(m0, n).unwrap_or(0.0);
            Some((le, v1 - v0))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let at = |q: f64| {
        buckets
            .iter()
            .find(|(_, c)| *c >= q * total)
            .map_or(f64::INFINITY, |(le, _)| *le)
    };
    Some((total, at(0.5), at(0.99)))
}

fn perf_out_nats() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("townhall-load-perf-nats-{}.txt", now_us()))
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}
