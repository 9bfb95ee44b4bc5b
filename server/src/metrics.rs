//! What `GET /metrics` shows, in Prometheus' text format: a thin wrapper
//! over the `metrics` crate and `metrics-exporter-prometheus` (issue 18).
//!
//! The rest of the server keeps one call-site API: `get()` for the set of
//! counters, then `inc(&m.field)` / `add(&m.field, n)`, plus `record_*` for
//! histograms. Each field is a `metrics::Counter` registered once with the
//! exporter's recorder, so a bump is one atomic add behind a handle (as
//! cheap as the relaxed atomics this module used to write out by hand); the
//! exporter owns the text format, including histogram buckets, which are
//! what the operations issue asks for (ack, fan-out, fsync, catch-up
//! latencies).
//!
//! The recorder is also installed as the process's global one (if nothing
//! else was first), so new code may use `metrics::histogram!("townhall_…")`
//! and the result shows up here too; histograms get [`SECONDS_BUCKETS`]
//! unless given their own below.
//!
//! The exporter is built without its default features: those add an HTTP
//! listener, a push-gateway client and a TLS stack; we render into our own
//! axum route (`http.rs`) and need none of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, SharedString,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use rustc_hash::FxHashMap;

/// The counters, one field per metric; names and help texts are in
/// [`COUNTERS`]. Field names are part of the call-site API: keep them.
pub struct Metrics {
    pub events_committed: Counter,
    pub messages_committed: Counter,
    pub duplicate_sends: Counter,
    pub commit_batches: Counter,
    pub commit_jobs: Counter,
    pub fsyncs: Counter,
    pub fsync_failures: Counter,
    pub fsync_micros_total: Counter,
    pub connections_opened: Counter,
    pub auth_failures: Counter,
    pub slow_consumer_closes: Counter,
    pub backlog_events_sent: Counter,
    pub logins: Counter,
    pub login_failures: Counter,
    pub cluster_barriers: Counter,
    pub cluster_barrier_timeouts: Counter,
    pub cluster_barriers_refused: Counter,
}

/// (metric name, help): the names are what dashboards and the black-box
/// tests (tests/tests/operations.rs) read; they never change.
const COUNTERS: [(&str, &str); 17] = [
    (
        "townhall_events_committed_total",
        "Timeline events made durable.",
    ),
    (
        "townhall_messages_committed_total",
        "Messages made durable.",
    ),
    (
        "townhall_duplicate_sends_total",
        "Sends answered from an earlier client_id.",
    ),
    (
        "townhall_commit_batches_total",
        "Group commits (one fsync each).",
    ),
    (
        "townhall_commit_jobs_total",
        "Jobs handled by the committer.",
    ),
    ("townhall_fsyncs_total", "Store syncs (flush + fdatasync)."),
    ("townhall_fsync_failures_total", "Store syncs that failed."),
    (
        "townhall_fsync_microseconds_total",
        "Time spent in store syncs.",
    ),
    (
        "townhall_connections_opened_total",
        "Authenticated WebSocket connections.",
    ),
    (
        "townhall_auth_failures_total",
        "WebSockets refused at hello.",
    ),
    (
        "townhall_slow_consumer_closes_total",
        "Connections closed with 4008.",
    ),
    (
        "townhall_backlog_events_sent_total",
        "Events sent from backlogs.",
    ),
    ("townhall_logins_total", "Successful logins."),
    ("townhall_login_failures_total", "Refused logins."),
    (
        "townhall_cluster_barriers_total",
        "Cluster: reads, logins and session opens that waited for this node to apply the log as it stood.",
    ),
    (
        "townhall_cluster_barrier_timeouts_total",
        "Cluster: such waits that gave up (NATS unreachable or node lagging).",
    ),
    (
        "townhall_cluster_barriers_refused_total",
        "Cluster: reads answered at once because 1,024 barriers were already waiting.",
    ),
];

const SESSIONS: &str = "townhall_sessions";
const PUBLISHED_POSITION: &str = "townhall_published_position";
const STORE_BYTES: &str = "townhall_store_bytes";
const SEARCH_LAG_SECONDS: &str = "townhall_search_index_lag_seconds";
const SEARCH_DOCS: &str = "townhall_search_documents";
const SEARCH_ROUND_LAG_SECONDS: &str = "townhall_search_lag_seconds";
const FSYNC_SECONDS: &str = "townhall_fsync_seconds";
const COMMIT_GROUP_JOBS: &str = "townhall_commit_group_jobs";
const ACK_SECONDS: &str = "townhall_ack_seconds";
const FANOUT_SECONDS: &str = "townhall_fanout_seconds";
const CATCH_UP_SECONDS: &str = "townhall_catch_up_seconds";
const REQUEST_SECONDS: &str = "townhall_request_seconds";
const BACKLOG_EVENTS: &str = "townhall_backlog_events";
const ONLINE_USERS: &str = "townhall_online_users";
const COMMITTER_QUEUE: &str = "townhall_committer_queue_jobs";
const SEARCH_QUEUE: &str = "townhall_search_queue_positions";
const RETENTION_EXPIRED: &str = "townhall_retention_expired_messages";
const RETENTION_LAST_RUN: &str = "townhall_retention_last_run_timestamp_seconds";

/// Latency buckets, in seconds: one fdatasync here is about 0.2 ms and a
/// group commit under load a few ms, while a stalled disk takes seconds;
/// 100 µs to 10 s in 1-2.5-5 steps covers both ends at 16 buckets (each
/// bucket is one line per scrape).
pub const SECONDS_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Jobs per group commit: powers of two up to 4,096 (the durable benchmark
/// reaches about 830 acks per fdatasync with 2,000 senders).
const GROUP_BUCKETS: [f64; 13] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Events in one connection's backlog: 0 (nothing missed) up to a million
/// (a long absence in a busy company) in steps of 4, 12 buckets.
const BACKLOG_BUCKETS: [f64; 12] = [
    0.0, 1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0,
];

/// The exporter keeps each histogram sample until a scrape (or an upkeep)
/// folds it into the buckets: with nobody scraping, samples would pile up.
/// Fold them every this many samples: at a few hundred fsyncs a second
/// that is every few seconds, and it bounds the pile to 32 KiB a histogram.
const UPKEEP_EVERY: u64 = 4096;

struct Registry {
    metrics: Metrics,
    sessions: Gauge,
    published_position: Gauge,
    store_bytes: Gauge,
    search_lag_seconds: Gauge,
    search_docs: Gauge,
    search_round_lag_seconds: Histogram,
    fsync_seconds: Histogram,
    commit_group_jobs: Histogram,
    ack_seconds: Histogram,
    fanout_seconds: Histogram,
    catch_up_seconds: Histogram,
    backlog_events: Histogram,
    online_users: Gauge,
    committer_queue: Gauge,
    search_queue: Gauge,
    retention_expired: Gauge,
    retention_last_run: Gauge,
    /// `townhall_request_seconds{type=…}`, one per request type, made at
    /// first use. The types are the protocol's frame names (a fixed set
    /// of a few dozen, see `handlers::request_type`), never client text,
    /// so this map and the exporter's series stay bounded.
    request_seconds: RwLock<FxHashMap<&'static str, Histogram>>,
    /// Kept to register the per-type request histograms; the same
    /// recorder is the process's global one.
    recorder: Arc<PrometheusRecorder>,
    /// Samples recorded since start, for [`UPKEEP_EVERY`]; relaxed: only a
    /// rough cadence depends on it.
    samples: AtomicU64,
    handle: PrometheusHandle,
}

/// One set of counters for the process.
pub fn get() -> &'static Metrics {
    &registry().metrics
}

pub fn inc(counter: &Counter) {
    counter.increment(1);
}

pub fn add(counter: &Counter, n: u64) {
    counter.increment(n);
}

/// One store sync (flush + fdatasync) took `took`: `townhall_fsync_seconds`.
/// Called by `Store::sync`, so it covers the committer's syncs and the
/// ones at start and shutdown.
pub fn record_fsync(took: Duration) {
    let r = registry();
    r.fsync_seconds.record(took.as_secs_f64());
    r.sampled();
}

/// One group commit carried `jobs` jobs: `townhall_commit_group_jobs`.
///
/// Called by the committer once per group.
pub fn record_commit_group(jobs: usize) {
    let r = registry();
    r.commit_group_jobs.record(jobs as f64);
    r.sampled();
}

/// A send was acknowledged `took` after it reached the committer's queue
/// (durable, published, the ack ready for the connection's writer):
/// `townhall_ack_seconds`. Refused sends are not counted.
pub fn record_ack(took: Duration) {
    let r = registry();
    r.ack_seconds.record(took.as_secs_f64());
    r.sampled();
}

/// Publishing one durable group to the online sessions (the hub's
/// fan-out into every recipient's queue) took `took`:
/// `townhall_fanout_seconds`.
pub fn record_fanout(took: Duration) {
    let r = registry();
    r.fanout_seconds.record(took.as_secs_f64());
    r.sampled();
}

/// A connection took `took` from its `welcome` to its `caught_up` (the
/// whole backlog written to the socket): `townhall_catch_up_seconds`.
pub fn record_catch_up(took: Duration) {
    let r = registry();
    r.catch_up_seconds.record(took.as_secs_f64());
    r.sampled();
}

/// A connection's backlog (the events it missed, sent before
/// `caught_up`) held `events` events: `townhall_backlog_events`.
pub fn record_backlog(events: u64) {
    let r = registry();
    // f64 holds integers exactly up to 2^53.
    r.backlog_events.record(events as f64);
    r.sampled();
}

/// The gauges read at scrape time (`GET /metrics`), so the hot path pays
/// nothing for them: distinct users online (this node's sessions, and in
/// a cluster the other nodes' too), jobs waiting in the committer's queue
/// (`None` in cluster mode, where writes wait in the log instead), and
/// positions published but not yet searchable (`None` without search).
pub fn set_scrape_gauges(
    online_users: usize,
    committer_queue: Option<usize>,
    search_queue: Option<u64>,
) {
    let r = registry();
    r.online_users.set(online_users as f64);
    r.committer_queue.set(committer_queue.unwrap_or(0) as f64);
    r.search_queue.set(search_queue.unwrap_or(0) as f64);
}

/// Retention, read from the store at scrape time: messages expired since
/// the data folder was made, and when the last run was applied (Unix
/// seconds; 0 if never). Alert if the last run is older than a few
/// intervals while a policy is set.
pub fn set_retention_gauges(expired_total: u64, last_run_secs: u64) {
    let r = registry();
    r.retention_expired.set(expired_total as f64);
    r.retention_last_run.set(last_run_secs as f64);
}

/// Handling one client request of type `kind` (a protocol frame name)
/// took `took`: `townhall_request_seconds{type="kind"}`. For a `send` that
/// is until it is queued for the committer; its ack is [`record_ack`].
pub fn record_request(kind: &'static str, took: Duration) {
    let r = registry();
    let known = r
        .request_seconds
        .read()
        .ok()
        .and_then(|m| m.get(kind).cloned());
    let histogram = match known {
        Some(h) => h,
        None => {
            let key = Key::from_parts(REQUEST_SECONDS, vec![Label::new("type", kind)]);
            let h = r.recorder.register_histogram(&key, &meta());
            if let Ok(mut m) = r.request_seconds.write() {
                m.insert(kind, h.clone());
            }
            h
        }
    };
    histogram.record(took.as_secs_f64());
    r.sampled();
}

/// The exposition text; gauges are passed in by the caller.
pub fn render(sessions: usize, published_pos: u64, store_bytes: u64) -> String {
    let r = registry();
    // f64 holds integers exactly up to 2^53: far above any of these.
    r.sessions.set(sessions as f64);
    r.published_position.set(published_pos as f64);
    r.store_bytes.set(store_bytes as f64);
    r.handle.render()
}

/// The search indexer's state after each of its rounds (`search/indexer.rs`).
pub fn set_search_index(lag: Duration, docs: u64) {
    let r = registry();
    r.search_lag_seconds.set(lag.as_secs_f64());
    r.search_docs.set(docs as f64);
}

/// One indexing round made searchable messages whose oldest was published
/// `lag` before: `townhall_search_lag_seconds` (one sample per round, the
/// worst lag in it, so its quantiles bound every message's).
pub fn record_search_round(lag: Duration) {
    let r = registry();
    r.search_round_lag_seconds.record(lag.as_secs_f64());
    r.sampled();
}

impl Registry {
    fn sampled(&self) {
        if self.samples.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(build)
}

fn meta() -> Metadata<'static> {
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()))
}

fn build() -> Registry {
    let recorder = Arc::new(builder().build_recorder());
    let handle = recorder.handle();
    let meta = meta();
    let counter = |i: usize| {
        let (name, help) = COUNTERS[i];
        recorder.describe_counter(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
        recorder.register_counter(&Key::from_static_name(name), &meta)
    };
    let metrics = Metrics {
        events_committed: counter(0),
        messages_committed: counter(1),
        duplicate_sends: counter(2),
        commit_batches: counter(3),
        commit_jobs: counter(4),
        fsyncs: counter(5),
        fsync_failures: counter(6),
        fsync_micros_total: counter(7),
        connections_opened: counter(8),
        auth_failures: counter(9),
        slow_consumer_closes: counter(10),
        backlog_events_sent: counter(11),
        logins: counter(12),
        login_failures: counter(13),
        cluster_barriers: counter(14),
        cluster_barrier_timeouts: counter(15),
        cluster_barriers_refused: counter(16),
    };
    let gauge = |name: &'static str, help: &'static str| {
        recorder.describe_gauge(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
        recorder.register_gauge(&Key::from_static_name(name), &meta)
    };
    let histogram = |name: &'static str, help: &'static str| {
        recorder.describe_histogram(
            KeyName::from_const_str(name),
            None,
            SharedString::const_str(help),
        );
        recorder.register_histogram(&Key::from_static_name(name), &meta)
    };
    let registry = Registry {
        metrics,
        sessions: gauge(SESSIONS, "Open WebSocket sessions."),
        published_position: gauge(PUBLISHED_POSITION, "Last durable, published position."),
        store_bytes: gauge(STORE_BYTES, "Size of the data folder."),
        search_lag_seconds: gauge(
            SEARCH_LAG_SECONDS,
            "How long the search index has been behind the published position (0: caught up), seconds.",
        ),
        search_docs: gauge(SEARCH_DOCS, "Messages in the search index."),
        search_round_lag_seconds: histogram(
            SEARCH_ROUND_LAG_SECONDS,
            "Per indexing round: from the first message it indexed being published to it being searchable, seconds.",
        ),
        fsync_seconds: histogram(FSYNC_SECONDS, "Store syncs (flush + fdatasync), seconds."),
        commit_group_jobs: histogram(COMMIT_GROUP_JOBS, "Jobs per group commit."),
        ack_seconds: histogram(
            ACK_SECONDS,
            "From a send reaching the committer to its ack being ready, seconds.",
        ),
        fanout_seconds: histogram(
            FANOUT_SECONDS,
            "Publishing one committed group to online sessions, seconds.",
        ),
        catch_up_seconds: histogram(
            CATCH_UP_SECONDS,
            "From a connection's welcome to its caught_up (backlog sent), seconds.",
        ),
        backlog_events: histogram(
            BACKLOG_EVENTS,
            "Events in a connection's backlog at connect (sent before caught_up).",
        ),
        online_users: gauge(
            ONLINE_USERS,
            "Distinct users with at least one open session.",
        ),
        committer_queue: gauge(
            COMMITTER_QUEUE,
            "Jobs waiting in the committer's queue (embedded mode; 0 in cluster mode).",
        ),
        search_queue: gauge(
            SEARCH_QUEUE,
            "Positions published but not yet in the search index (0 without search).",
        ),
        retention_expired: gauge(
            RETENTION_EXPIRED,
            "Messages deleted by retention since the data folder was made.",
        ),
        retention_last_run: gauge(
            RETENTION_LAST_RUN,
            "When the last retention run was applied, Unix seconds (0: never).",
        ),
        request_seconds: RwLock::new(FxHashMap::default()),
        recorder: recorder.clone(),
        samples: AtomicU64::new(0),
        handle,
    };
    recorder.describe_histogram(
        KeyName::from_const_str(REQUEST_SECONDS),
        None,
        SharedString::const_str("Handling one client request, by frame type, seconds."),
    );
    // Failing means another recorder was installed first (a test harness,
    // say): our own handles above still work; only `metrics::*!` macros
    // elsewhere would report to that one instead.
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::debug!("a global metrics recorder was already installed");
    }
    registry
}

/// Histograms as Prometheus histograms (buckets), not the exporter's
/// default summaries: buckets can be summed across servers and over time.
fn builder() -> PrometheusBuilder {
    let configured = PrometheusBuilder::new()
        .set_buckets(&SECONDS_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(COMMIT_GROUP_JOBS.into()), &GROUP_BUCKETS)
        })
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(BACKLOG_EVENTS.into()), &BACKLOG_BUCKETS)
        });
    // The only error is an empty bucket list, which the constants are not;
    // summaries would still be a working /metrics.
    configured.unwrap_or_else(|_| PrometheusBuilder::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, name: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
    }

    #[test]
    fn counters_gauges_and_histograms_keep_their_names() {
        let m = get();
        inc(&m.logins);
        add(&m.backlog_events_sent, 3);
        record_fsync(Duration::from_micros(300));
        record_commit_group(40);
        record_ack(Duration::from_millis(2));
        record_fanout(Duration::from_micros(50));
        record_catch_up(Duration::from_millis(30));
        record_request("history", Duration::from_micros(700));
        record_request("history", Duration::from_micros(900));
        record_backlog(300);
        set_scrape_gauges(5, Some(3), Some(11));
        let text = render(7, 42, 1234);
        for (name, _) in COUNTERS {
            assert!(
                text.contains(&format!("# TYPE {name} counter")),
                "{name}:\n{text}"
            );
            assert!(value(&text, name).is_some(), "{name} value:\n{text}");
        }
        // Other tests in this process bump the same counters: at least.
        assert!(value(&text, "townhall_logins_total").unwrap_or(0.0) >= 1.0);
        assert!(value(&text, "townhall_backlog_events_sent_total").unwrap_or(0.0) >= 3.0);
        assert_eq!(value(&text, SESSIONS), Some(7.0), "{text}");
        assert_eq!(value(&text, PUBLISHED_POSITION), Some(42.0));
        assert_eq!(value(&text, STORE_BYTES), Some(1234.0));
        assert_eq!(value(&text, ONLINE_USERS), Some(5.0), "{text}");
        assert_eq!(value(&text, COMMITTER_QUEUE), Some(3.0), "{text}");
        assert_eq!(value(&text, SEARCH_QUEUE), Some(11.0), "{text}");
        assert!(
            text.contains("townhall_backlog_events_bucket{le=\"1024\"}"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE townhall_fsync_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains("townhall_fsync_seconds_bucket{le=\"0.0005\"}"),
            "{text}"
        );
        assert!(
            text.contains("townhall_commit_group_jobs_bucket{le=\"64\"}"),
            "{text}"
        );
        for name in [
            ACK_SECONDS,
            FANOUT_SECONDS,
            CATCH_UP_SECONDS,
            REQUEST_SECONDS,
            BACKLOG_EVENTS,
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} histogram")),
                "{name}:\n{text}"
            );
        }
        assert!(
            text.contains("townhall_request_seconds_bucket{type=\"history\",le=\"0.001\"}"),
            "{text}"
        );
        // Integers, not floats: the black-box tests parse them as u64.
        let line = text
            .lines()
            .find(|l| l.starts_with("townhall_store_bytes "))
            .unwrap_or_default();
        assert_eq!(line, "townhall_store_bytes 1234");
    }
}
