//! Counters for `GET /metrics`, in Prometheus' text format.
//!
//! A handful of relaxed atomics, bumped on paths that already do far more
//! work (a commit, a connection), so they cost nothing measurable; written
//! out by hand so the server needs no metrics framework.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub events_committed: AtomicU64,
    pub messages_committed: AtomicU64,
    pub duplicate_sends: AtomicU64,
    pub commit_batches: AtomicU64,
    pub commit_jobs: AtomicU64,
    pub fsyncs: AtomicU64,
    pub fsync_failures: AtomicU64,
    pub fsync_micros_total: AtomicU64,
    pub connections_opened: AtomicU64,
    pub auth_failures: AtomicU64,
    pub slow_consumer_closes: AtomicU64,
    pub backlog_events_sent: AtomicU64,
    pub logins: AtomicU64,
    pub login_failures: AtomicU64,
}

/// One set of counters for the process.
pub fn get() -> &'static Metrics {
    static METRICS: std::sync::OnceLock<Metrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

pub fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The exposition text; gauges are passed in by the caller.
pub fn render(sessions: usize, published_pos: u64, store_bytes: u64) -> String {
    let m = get();
    let counters: [(&str, &str, &AtomicU64); 14] = [
        (
            "townhall_events_committed_total",
            "Timeline events made durable.",
            &m.events_committed,
        ),
        (
            "townhall_messages_committed_total",
            "Messages made durable.",
            &m.messages_committed,
        ),
        (
            "townhall_duplicate_sends_total",
            "Sends answered from an earlier client_id.",
            &m.duplicate_sends,
        ),
        (
            "townhall_commit_batches_total",
            "Group commits (one fsync each).",
            &m.commit_batches,
        ),
        (
            "townhall_commit_jobs_total",
            "Jobs handled by the committer.",
            &m.commit_jobs,
        ),
        (
            "townhall_fsyncs_total",
            "Store syncs (flush + fdatasync).",
            &m.fsyncs,
        ),
        (
            "townhall_fsync_failures_total",
            "Store syncs that failed.",
            &m.fsync_failures,
        ),
        (
            "townhall_fsync_microseconds_total",
            "Time spent in store syncs.",
            &m.fsync_micros_total,
        ),
        (
            "townhall_connections_opened_total",
            "Authenticated WebSocket connections.",
            &m.connections_opened,
        ),
        (
            "townhall_auth_failures_total",
            "WebSockets refused at hello.",
            &m.auth_failures,
        ),
        (
            "townhall_slow_consumer_closes_total",
            "Connections closed with 4008.",
            &m.slow_consumer_closes,
        ),
        (
            "townhall_backlog_events_sent_total",
            "Events sent from backlogs.",
            &m.backlog_events_sent,
        ),
        ("townhall_logins_total", "Successful logins.", &m.logins),
        (
            "townhall_login_failures_total",
            "Refused logins.",
            &m.login_failures,
        ),
    ];
    let mut out = String::with_capacity(4096);
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            value.load(Ordering::Relaxed)
        );
    }
    let gauges: [(&str, &str, u64); 3] = [
        (
            "townhall_sessions",
            "Open WebSocket sessions.",
            sessions as u64,
        ),
        (
            "townhall_published_position",
            "Last durable, published position.",
            published_pos,
        ),
        (
            "townhall_store_bytes",
            "Size of the data folder.",
            store_bytes,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    out
}
