//! Workload 4, durable sends: many senders, each in a room of its own (so
//! the fan-out is one delivery, to the sender itself), every message acked
//! only after the fsync that covers it. Saturated (a window of un-acked
//! sends per connection) or at a fixed total rate.

use super::{Count, DRAIN, PER_CONN_RATE, meter, paced_sender, reader, secs, windowed_sender};
use crate::load::Common;
use crate::load::conn::{self, SMALL_READ_BUFFER};
use crate::load::measure::{Report, Tally, Target as Goal, Window, round3};
use crate::load::pool::Target;
use clap::Args;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::Semaphore;
use townhall_protocol::Pos;

#[derive(Args, Debug)]
pub struct DurableArgs {
    /// Sending connections (one user and one room each).
    #[arg(long, default_value_t = 1000)]
    pub senders: usize,
    /// Total messages per second; 0 = saturated (each connection keeps
    /// `--window` sends waiting for their ack).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Saturated runs: un-acked sends per connection.
    #[arg(long, default_value_t = 4)]
    pub window: usize,
    /// Saturated runs: most sends per second per connection.
    #[arg(long, default_value_t = PER_CONN_RATE)]
    pub per_conn_rate: f64,
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    #[arg(long, default_value_t = 5_000_000)]
    pub max_messages: usize,
}

pub async fn run(common: &Common, a: DurableArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(a.senders >= 1, "--senders must be at least 1");
    let target = Target::prepare(common, a.senders, &[]).await?;
    let t_setup = Instant::now();
    let tokens = target.users.iter().map(|c| c.token.clone()).collect();
    let mut conns =
        conn::connect_all(&target.addrs, tokens, Some(Pos::MAX), SMALL_READ_BUFFER, 64).await?;
    // Each sender makes its own room, all at once (group commit).
    let mut making = tokio::task::JoinSet::new();
    for (i, mut ws) in conns.drain(..).enumerate() {
        making.spawn(async move {
            let room = conn::create_room(&mut ws, &format!("durable-{i}"))
                .await?
                .id;
            anyhow::Ok((i, ws, room))
        });
    }
    let mut senders = Vec::with_capacity(a.senders);
    while let Some(r) = making.join_next().await {
        senders.push(r??);
    }
    senders.sort_by_key(|(i, _, _)| *i);
    eprintln!(
        "durable: {} senders ready in {:.1} s",
        a.senders,
        t_setup.elapsed().as_secs_f64()
    );

    let saturated = a.rate <= 0.0;
    let window = Window::after(secs(common.warmup), secs(common.duration));
    let max_messages = if saturated {
        a.max_messages
    } else {
        (a.rate * (common.warmup + common.duration + 1.0)) as usize + 16
    };
    // Expected recipients: 1, the sender's own session (every message is
    // also delivered as an event to its sender's devices).
    let tally = Arc::new(Tally::new(window, 1, max_messages));
    let until = tokio::time::Instant::now() + secs(common.warmup + common.duration);
    let meter = tokio::spawn(meter(
        target.pid,
        target.cluster.clone(),
        target.http.clone(),
        target.base.clone(),
        window,
        Count::Fsyncs,
    ));
    let mut readers = tokio::task::JoinSet::new();
    let mut sending = tokio::task::JoinSet::new();
    let n = senders.len();
    for (i, ws, room) in senders {
        let (sink, stream) = ws.split();
        if saturated {
            let permits = Arc::new(Semaphore::new(a.window));
            readers.spawn(reader(stream, tally.clone(), Some(permits.clone())));
            let (tally, cap, body) = (tally.clone(), a.per_conn_rate, a.body_bytes);
            sending.spawn(async move {
                let _ = windowed_sender(sink, room, tally, permits, cap, until, body).await;
            });
        } else {
            readers.spawn(reader(stream, tally.clone(), None));
            let rate = a.rate / n as f64;
            let phase = secs(i as f64 / n as f64 / rate.max(1e-3));
            sending.spawn(paced_sender(
                sink,
                room,
                tally.clone(),
                rate,
                phase,
                until,
                a.body_bytes,
            ));
        }
    }
    let figures = meter.await?;
    while sending.join_next().await.is_some() {}
    tally.drain(DRAIN).await;
    drop(readers);

    let mut r = Report::new("durable");
    r.param("senders", a.senders);
    r.param("mode", if saturated { "saturated" } else { "rate" });
    r.param("rate_msgs_per_sec", a.rate);
    if saturated {
        r.param("window_per_conn", a.window);
        r.param("per_conn_rate", a.per_conn_rate);
    }
    r.param("body_bytes", a.body_bytes);
    r.param("warmup_s", common.warmup);
    r.param("duration_s", common.duration);
    r.tally(&tally);
    let acks = tally.acks_in_window.load(Ordering::Relaxed);
    figures.add_to(&mut r, None);
    if let Some((fsyncs, fsecs)) = figures.fsyncs.filter(|(f, _)| *f > 0) {
        let acked_per_sec = acks as f64 / window.secs();
        r.figure(
            "acks_per_fsync",
            round3(acked_per_sec / (fsyncs as f64 / fsecs)),
        );
    }
    if let Some((n, secs)) = figures.log_syncs.filter(|_| acks > 0) {
        r.figure(
            "sync_file_range_per_ack",
            round3(n as f64 / secs / (acks as f64 / window.secs())),
        );
    }
    let acks_per_sec = acks as f64 / window.secs();
    r.check(
        "acks_received",
        // Every send acked, in or after the window (a short window on a slow
        // machine can close before the first ack; that is not a lost ack).
        tally.sent() > 0 && tally.acks_total.load(Ordering::Relaxed) == tally.sent(),
        format!(
            "{} acks for {} sends",
            tally.acks_total.load(Ordering::Relaxed),
            tally.sent()
        ),
    );
    if saturated {
        r.target(Goal::at_least("acks_per_sec", Some(acks_per_sec), 50_000.0));
    }
    r.target(Goal::at_most(
        "ack_latency_p99_ms",
        tally.ack_latency.quantile_ms(0.99),
        5.0,
    ));
    target.finish().await?;
    Ok(r)
}
