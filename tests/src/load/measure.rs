//! The clock, stamped message bodies, histograms, the shared tally of
//! deliveries, and the JSON report.
//!
//! One clock: the wall clock of this machine in microseconds. A sender puts
//! `b|<index>|<sent µs>|xxx…` in the message body and `<index>:<sent µs>` in
//! the `req_id`; a receiver finds the stamp in the raw frame text (no full
//! JSON parse on the hot path: at a million frames a second the parse would
//! cost more than the server's work) and subtracts.

use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

/// Microseconds since the Unix epoch (wall clock; every process here reads
/// the same one).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The stamp at the start of a raw message body (MQTT, NATS payloads).
pub fn payload_stamp(payload: &[u8]) -> Option<(u64, u64)> {
    let text = std::str::from_utf8(payload.get(..payload.len().min(64))?).ok()?;
    let mut parts = text.strip_prefix("b|")?.splitn(3, '|');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// A message body carrying its index and send time, padded to `len` bytes.
pub fn stamp_body(index: u64, sent_us: u64, len: usize) -> String {
    let mut body = format!("b|{index}|{sent_us}|");
    while body.len() < len {
        body.push('x');
    }
    body
}

/// The `req_id` of a stamped send: the ack echoes it.
pub fn stamp_req(index: u64, sent_us: u64) -> String {
    format!("{index}:{sent_us}")
}

/// The stamp of a stamped message event: `(index, sent µs)`.
pub fn body_stamp(frame: &str) -> Option<(u64, u64)> {
    const MARK: &str = "\"body\":\"b|";
    let at = frame.rfind(MARK)? + MARK.len();
    let mut parts = frame[at..].splitn(3, '|');
    let index = parts.next()?.parse().ok()?;
    let sent = parts.next()?.parse().ok()?;
    Some((index, sent))
}

/// The stamp in a reply's `req_id`: `(index, sent µs)`.
pub fn req_stamp(frame: &str) -> Option<(u64, u64)> {
    const MARK: &str = "\"req_id\":\"";
    let at = frame.find(MARK)? + MARK.len();
    let rest = &frame[at..];
    let end = rest.find('"')?;
    let (index, sent) = rest[..end].split_once(':')?;
    Some((index.parse().ok()?, sent.parse().ok()?))
}

/// The `pos` of an event frame, read from its first bytes (`type` then
/// `pos`, as serde writes them).
pub fn event_pos(frame: &str) -> Option<u64> {
    let rest = frame.strip_prefix("{\"type\":\"event\",\"pos\":")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// The `type` of a server frame, read from its first bytes: serde writes an
/// internally tagged enum's tag first.
pub fn frame_type(frame: &str) -> &str {
    frame
        .strip_prefix("{\"type\":\"")
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

/// A latency histogram in microseconds (1 µs to 120 s, 3 significant
/// digits), shared behind a std Mutex held for one `record` only.
pub struct Hist(Mutex<Histogram<u64>>);

impl Default for Hist {
    fn default() -> Self {
        Self::new()
    }
}

impl Hist {
    pub fn new() -> Hist {
        let h = Histogram::new_with_bounds(1, 120_000_000, 3)
            .expect("static histogram bounds are valid");
        Hist(Mutex::new(h))
    }

    pub fn record(&self, us: u64) {
        if let Ok(mut h) = self.0.lock() {
            h.saturating_record(us.max(1));
        }
    }

    /// `{count, p50_ms, p99_ms, p999_ms, max_ms, mean_ms}`.
    pub fn summary(&self) -> Value {
        let Ok(h) = self.0.lock() else {
            return Value::Null;
        };
        if h.is_empty() {
            return json!({"count": 0});
        }
        json!({
            "count": h.len(),
            "p50_ms": ms(h.value_at_quantile(0.50)),
            "p99_ms": ms(h.value_at_quantile(0.99)),
            "p999_ms": ms(h.value_at_quantile(0.999)),
            "max_ms": ms(h.max()),
            "mean_ms": round3(h.mean() / 1000.0),
        })
    }

    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let h = self.0.lock().ok()?;
        (!h.is_empty()).then(|| ms(h.value_at_quantile(q)))
    }
}

pub fn ms(us: u64) -> f64 {
    round3(us as f64 / 1000.0)
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The measured window, in the shared clock's microseconds: traffic before
/// `start` is warm-up and is not counted.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start_us: u64,
    pub end_us: u64,
}

impl Window {
    /// A window starting after `warmup` from now, lasting `duration`.
    pub fn after(warmup: Duration, duration: Duration) -> Window {
        let start_us = now_us() + warmup.as_micros() as u64;
        Window {
            start_us,
            end_us: start_us + duration.as_micros() as u64,
        }
    }
    pub fn contains(&self, us: u64) -> bool {
        (self.start_us..self.end_us).contains(&us)
    }
    pub fn secs(&self) -> f64 {
        (self.end_us - self.start_us) as f64 / 1e6
    }
}

/// What every receiving connection of a run adds to: deliveries of stamped
/// messages (with an exactly-once count per message), acks, errors, closes.
pub struct Tally {
    /// The measured window (settable once the peers' clients are ready).
    window_start_us: AtomicU64,
    window_end_us: AtomicU64,
    /// Recipients of every message (0: unknown, no per-message tracking).
    pub expected: u32,
    /// Deliveries per message index.
    counts: Vec<AtomicU32>,
    /// Message indexes handed out to senders.
    pub next_index: AtomicU64,
    pub deliveries_in_window: AtomicU64,
    pub deliveries_total: AtomicU64,
    /// Send → receipt, every delivery of a message sent in the window.
    pub latency: Hist,
    /// Send → receipt by its last recipient, messages sent in the window.
    pub last_latency: Hist,
    pub acks_in_window: AtomicU64,
    pub acks_total: AtomicU64,
    /// Send → ack, sends made in the window.
    pub ack_latency: Hist,
    pub errors: AtomicU64,
    pub slow_consumer_closes: AtomicU64,
    pub other_closes: AtomicU64,
    pub first_error: Mutex<Option<String>>,
    /// Given one permit back when a message has reached every recipient:
    /// the window of a saturated (closed-loop) run.
    pub delivered_permits: Option<std::sync::Arc<Semaphore>>,
    /// Every send gets an ack (Townhall); false for the peers' pub/sub.
    pub acks_expected: bool,
}

/// What one received frame was.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    Delivery(u64),
    Ack(u64),
    Error,
    Other,
}

impl Tally {
    pub fn new(window: Window, expected: u32, max_messages: usize) -> Tally {
        Tally {
            window_start_us: AtomicU64::new(window.start_us),
            window_end_us: AtomicU64::new(window.end_us),
            expected,
            counts: (0..max_messages).map(|_| AtomicU32::new(0)).collect(),
            next_index: AtomicU64::new(0),
            deliveries_in_window: AtomicU64::new(0),
            deliveries_total: AtomicU64::new(0),
            latency: Hist::new(),
            last_latency: Hist::new(),
            acks_in_window: AtomicU64::new(0),
            acks_total: AtomicU64::new(0),
            ack_latency: Hist::new(),
            errors: AtomicU64::new(0),
            slow_consumer_closes: AtomicU64::new(0),
            other_closes: AtomicU64::new(0),
            first_error: Mutex::new(None),
            delivered_permits: None,
            acks_expected: true,
        }
    }

    pub fn window(&self) -> Window {
        Window {
            start_us: self.window_start_us.load(Ordering::Relaxed),
            end_us: self.window_end_us.load(Ordering::Relaxed),
        }
    }

    /// Move the window (before any message is sent).
    pub fn set_window(&self, w: Window) {
        self.window_start_us.store(w.start_us, Ordering::Relaxed);
        self.window_end_us.store(w.end_us, Ordering::Relaxed);
    }

    pub fn max_messages(&self) -> u64 {
        self.counts.len() as u64
    }

    /// The next message index, or None when the cap is reached.
    pub fn take_index(&self) -> Option<u64> {
        let i = self.next_index.fetch_add(1, Ordering::Relaxed);
        if i < self.max_messages() {
            Some(i)
        } else {
            self.next_index.fetch_sub(1, Ordering::Relaxed);
            None
        }
    }

    pub fn sent(&self) -> u64 {
        self.next_index
            .load(Ordering::Relaxed)
            .min(self.max_messages())
    }

    /// Account for one received WebSocket message.
    pub fn on_message(&self, msg: &Message) -> Seen {
        match msg {
            Message::Text(t) => self.on_text(t.as_str()),
            Message::Close(c) => {
                let code = c.as_ref().map(|c| u16::from(c.code));
                if code == Some(townhall_protocol::close::SLOW_CONSUMER) {
                    self.slow_consumer_closes.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.other_closes.fetch_add(1, Ordering::Relaxed);
                }
                Seen::Other
            }
            _ => Seen::Other,
        }
    }

    pub fn on_text(&self, text: &str) -> Seen {
        match frame_type(text) {
            "event" => match body_stamp(text) {
                Some((index, sent)) => self.on_stamp(index, sent),
                None => Seen::Other,
            },
            "ack" => {
                let Some((index, sent)) = req_stamp(text) else {
                    return Seen::Other;
                };
                let now = now_us();
                self.acks_total.fetch_add(1, Ordering::Relaxed);
                if self.window().contains(now) {
                    self.acks_in_window.fetch_add(1, Ordering::Relaxed);
                }
                if self.window().contains(sent) {
                    self.ack_latency.record(now.saturating_sub(sent));
                }
                Seen::Ack(index)
            }
            "error" => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| text.chars().take(300).collect());
                }
                Seen::Error
            }
            _ => Seen::Other,
        }
    }

    /// Account for one delivery of stamped message `index` sent at `sent`
    /// (from a Townhall event, an MQTT publish or a NATS message).
    pub fn on_stamp(&self, index: u64, sent: u64) -> Seen {
        let now = now_us();
        let latency = now.saturating_sub(sent);
        self.deliveries_total.fetch_add(1, Ordering::Relaxed);
        if self.window().contains(now) {
            self.deliveries_in_window.fetch_add(1, Ordering::Relaxed);
        }
        let in_window = self.window().contains(sent);
        if in_window {
            self.latency.record(latency);
        }
        let count = self.counts.get(index as usize);
        if let (true, Some(count)) = (self.expected > 0, count) {
            let n = count.fetch_add(1, Ordering::Relaxed) + 1;
            if n == self.expected {
                if in_window {
                    self.last_latency.record(latency);
                }
                if let Some(p) = &self.delivered_permits {
                    p.add_permits(1);
                }
            }
        }
        Seen::Delivery(index)
    }

    /// Messages sent so far that have reached every recipient.
    pub fn complete(&self) -> u64 {
        let sent = self.sent() as usize;
        self.counts[..sent]
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) >= self.expected)
            .count() as u64
    }

    /// `(lost, duplicated)` deliveries over the messages sent.
    /// Deliveries of the messages sent, whenever they arrived.
    pub fn delivered_total(&self) -> u64 {
        let sent = self.sent() as usize;
        self.counts[..sent]
            .iter()
            .map(|c| u64::from(c.load(Ordering::Relaxed)))
            .sum()
    }

    pub fn lost_and_duplicated(&self) -> (u64, u64) {
        let sent = self.sent() as usize;
        let expected = u64::from(self.expected);
        let mut lost = 0;
        let mut dup = 0;
        for c in &self.counts[..sent] {
            let n = u64::from(c.load(Ordering::Relaxed));
            if n < expected {
                lost += expected - n;
            } else {
                dup += n - expected;
            }
        }
        (lost, dup)
    }

    /// Wait (bounded) until every message sent has reached every recipient
    /// and has its ack.
    pub async fn drain(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        // Every send gets an ack or an error, after its deliveries.
        let answered =
            || self.acks_total.load(Ordering::Relaxed) + self.errors.load(Ordering::Relaxed);
        while (self.complete() < self.sent() || (self.acks_expected && answered() < self.sent()))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn first_error(&self) -> Option<String> {
        self.first_error.lock().ok().and_then(|e| e.clone())
    }
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures: a busy machine (another
/// build, a browser test) makes a run's figures worse, and this shows it.
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

pub static LOADAVG_AT_START: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// One correctness check of the tool's run.
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// One target of the issue, compared with the measured figure.
pub struct Target {
    pub name: &'static str,
    pub value: Option<f64>,
    /// `<=` or `>=`.
    pub op: &'static str,
    pub limit: f64,
}

impl Target {
    pub fn at_most(name: &'static str, value: Option<f64>, limit: f64) -> Target {
        Target {
            name,
            value: value.map(round3),
            op: "<=",
            limit,
        }
    }
    pub fn at_least(name: &'static str, value: Option<f64>, limit: f64) -> Target {
        Target {
            name,
            value: value.map(round3),
            op: ">=",
            limit,
        }
    }
    fn met(&self) -> Option<bool> {
        let v = self.value?;
        Some(if self.op == "<=" {
            v <= self.limit
        } else {
            v >= self.limit
        })
    }
}

/// The one JSON line of a run.
pub struct Report {
    pub workload: &'static str,
    pub params: Map<String, Value>,
    pub figures: Map<String, Value>,
    pub targets: Vec<Target>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(workload: &'static str) -> Report {
        Report {
            workload,
            params: Map::new(),
            figures: Map::new(),
            targets: Vec::new(),
            checks: Vec::new(),
        }
    }
    pub fn param(&mut self, key: &str, value: impl Into<Value>) {
        self.params.insert(key.to_owned(), value.into());
    }
    pub fn figure(&mut self, key: &str, value: impl Into<Value>) {
        self.figures.insert(key.to_owned(), value.into());
    }
    pub fn check(&mut self, name: &'static str, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            ok,
            detail: detail.into(),
        });
    }
    pub fn target(&mut self, t: Target) {
        self.targets.push(t);
    }

    pub fn failed_checks(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{} ({})", c.name, c.detail))
            .collect()
    }

    /// The tally's standard figures and checks.
    pub fn tally(&mut self, t: &Tally) {
        let secs = t.window().secs();
        let deliveries = t.deliveries_in_window.load(Ordering::Relaxed);
        self.figure("deliveries_in_window", deliveries);
        self.figure("deliveries_per_sec", round3(deliveries as f64 / secs));
        self.figure("latency", t.latency.summary());
        if t.expected > 0 {
            self.figure("latency_last_recipient", t.last_latency.summary());
        }
        let acks = t.acks_in_window.load(Ordering::Relaxed);
        if t.acks_total.load(Ordering::Relaxed) > 0 {
            self.figure("acks_per_sec", round3(acks as f64 / secs));
            self.figure("ack_latency", t.ack_latency.summary());
        }
        let errors = t.errors.load(Ordering::Relaxed);
        let slow = t.slow_consumer_closes.load(Ordering::Relaxed);
        let closes = t.other_closes.load(Ordering::Relaxed);
        self.figure("messages_sent", t.sent());
        self.figure("error_frames", errors);
        self.figure("slow_consumer_closes", slow);
        self.figure("other_closes", closes);
        if let Some(e) = t.first_error() {
            self.figure("first_error", e);
        }
        self.check("no_error_frames", errors == 0, format!("{errors} errors"));
        self.check(
            "no_closed_connections",
            slow == 0 && closes == 0,
            format!("{slow} slow-consumer closes, {closes} other closes"),
        );
        if t.expected > 0 {
            let (lost, dup) = t.lost_and_duplicated();
            self.figure("lost_deliveries", lost);
            self.figure("duplicate_deliveries", dup);
            self.check(
                "every_message_delivered_exactly_once",
                lost == 0 && dup == 0,
                format!("{lost} lost, {dup} duplicated"),
            );
            // Whether anything flowed at all, in or after the window: on a
            // slow machine (a debug build in CI) a short window can close
            // before the first delivery, which says nothing about delivery.
            let delivered = t.delivered_total();
            self.check(
                "messages_flowed",
                t.sent() > 0 && delivered > 0,
                format!(
                    "{} sent, {delivered} delivered ({deliveries} in the window)",
                    t.sent()
                ),
            );
        }
    }

    pub fn to_json(&self, label: Option<&str>) -> String {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                json!({"name": t.name, "value": t.value, "op": t.op, "limit": t.limit, "met": t.met()})
            })
            .collect();
        let checks: Map<String, Value> = self
            .checks
            .iter()
            .map(|c| (c.name.to_owned(), json!({"ok": c.ok, "detail": c.detail})))
            .collect();
        let line = json!({
            "workload": self.workload,
            "loadavg_at_start": LOADAVG_AT_START.get().cloned(),
            "loadavg_at_end": loadavg(),
            "label": label,
            "params": self.params,
            "figures": self.figures,
            "targets": targets,
            "checks": checks,
            "ok": self.checks.iter().all(|c| c.ok),
            "unix_time": now_us() / 1_000_000,
        });
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_through_a_frame() {
        let body = stamp_body(42, 1_700_000_000_123_456, 64);
        assert_eq!(body.len(), 64);
        let frame =
            format!(r#"{{"type":"event","pos":9,"content":{{"kind":"message","body":"{body}"}}}}"#);
        assert_eq!(frame_type(&frame), "event");
        assert_eq!(body_stamp(&frame), Some((42, 1_700_000_000_123_456)));
        assert_eq!(event_pos(&frame), Some(9));
        assert_eq!(
            payload_stamp(body.as_bytes()),
            Some((42, 1_700_000_000_123_456))
        );
        let ack = format!(
            r#"{{"type":"ack","req_id":"{}","seq":3}}"#,
            stamp_req(7, 99)
        );
        assert_eq!(frame_type(&ack), "ack");
        assert_eq!(req_stamp(&ack), Some((7, 99)));
    }
}
