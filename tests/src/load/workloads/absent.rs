//! Workload 6, broadcast to the absent: a room of M members of whom only
//! O are online.
//!
//! 1. Latency phase (warm-up + window): a few online members send, each
//!    waiting for its ack before the next send, at a rate the fan-out to
//!    the online members sustains; figure: send → durable ack.
//! 2. Store phase: the other online members leave; `--store-senders`
//!    send `--store-messages` more; figure: growth of the data folder per
//!    message and per absent member (sled grows its file in 512 KiB
//!    segments, so this phase sends enough to span several).
//! 3. One absent member comes back: time to `caught_up` over everything
//!    both phases sent.

use super::{Count, DRAIN, meter, reader, reader_until, secs, windowed_sender};
use crate::load::Common;
use crate::load::conn;
use crate::load::measure::{Report, Tally, Target as Goal, Window, round3};
use crate::load::pool::Target;
use clap::Args;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use townhall_protocol::Pos;

#[derive(Args, Debug)]
pub struct AbsentArgs {
    /// Members of the room.
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Members online during the latency phase (the senders among them).
    #[arg(long, default_value_t = 1_000)]
    pub online: usize,
    /// Latency phase: sending members, each waiting for its ack.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Latency phase: most sends per second per sender.
    #[arg(long, default_value_t = 10.0)]
    pub per_conn_rate: f64,
    /// Latency phase: start every sender at once, so that they send in
    /// step (a burst of `--senders` broadcasts each period) rather than
    /// spread over it.
    #[arg(long)]
    pub lockstep: bool,
    /// Store phase: members that stay online and send.
    #[arg(long, default_value_t = 50)]
    pub store_senders: usize,
    /// Store phase: messages sent.
    #[arg(long, default_value_t = 10_000)]
    pub store_messages: usize,
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    /// Read buffer of the absent member's catch-up connection.
    #[arg(long, default_value_t = 64 * 1024)]
    pub read_buffer: usize,
    /// Admin connections adding members during setup (the server allows
    /// 32 per user and about 50 requests a second on each).
    #[arg(long, default_value_t = 32)]
    pub setup_parallel: usize,
}

pub async fn run(common: &Common, a: AbsentArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        a.senders >= 1
            && a.senders <= a.store_senders
            && a.store_senders <= a.online
            && a.online < a.members,
        "need 1 <= --senders <= --store-senders <= --online < --members"
    );
    let target = Target::prepare(common, a.members, &[]).await?;
    let addr = target.addr;
    let t_setup = Instant::now();
    let room = target
        .one_room("all-hands", a.members, a.setup_parallel)
        .await?;
    let tokens = target.users[..a.online]
        .iter()
        .map(|c| c.token.clone())
        .collect();
    let conns = conn::connect_all(&target.addrs, tokens, Some(Pos::MAX), 16 * 1024, 64).await?;
    let before = target.published_pos().await?;
    let size_before = target.data_bytes();
    eprintln!(
        "absent-broadcast: room of {} ({} online) ready in {:.1} s",
        a.members,
        a.online,
        t_setup.elapsed().as_secs_f64()
    );

    // 1. Latency phase.
    let window = Window::after(secs(common.warmup), secs(common.duration));
    let max_messages =
        (a.per_conn_rate * a.senders as f64 * (common.warmup + common.duration + 1.0)) as usize
            + 16;
    let tally = Arc::new(Tally::new(window, a.online as u32, max_messages));
    let until = tokio::time::Instant::now() + secs(common.warmup + common.duration);
    let meter = tokio::spawn(meter(
        target.pid,
        target.cluster.clone(),
        target.http.clone(),
        target.base.clone(),
        window,
        Count::Fsyncs,
    ));
    // The first `store_senders` connections stay for the store phase: their
    // readers hand the stream back when phase 1 ends.
    let mut kept = Vec::new();
    let mut leaving = tokio::task::JoinSet::new();
    let mut senders = tokio::task::JoinSet::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let (sink, stream) = ws.split();
        if i < a.store_senders {
            let permits = Arc::new(Semaphore::new(1));
            let (stop, stopped) = tokio::sync::oneshot::channel();
            let read = tokio::spawn(reader_until(
                stream,
                tally.clone(),
                Some(permits.clone()),
                stopped,
            ));
            let sink = if i < a.senders {
                let (tally, rate, body) = (tally.clone(), a.per_conn_rate, a.body_bytes);
                // Spread over the sending period, as people are: started
                // together, the senders kept in step and every tick brought
                // a burst of `--senders` broadcasts at once (`--lockstep`).
                let phase = if a.lockstep || rate <= 0.0 {
                    Duration::ZERO
                } else {
                    secs(i as f64 / a.senders as f64 / rate)
                };
                senders.spawn(async move {
                    tokio::time::sleep_until(until.min(tokio::time::Instant::now() + phase)).await;
                    (
                        i,
                        windowed_sender(sink, room, tally, permits, rate, until, body).await,
                    )
                });
                None
            } else {
                Some(sink)
            };
            kept.push((i, sink, stop, read));
        } else {
            leaving.spawn(reader(stream, tally.clone(), None));
            drop(sink);
        }
    }
    let figures = meter.await?;
    let mut sent_sinks = std::collections::HashMap::new();
    while let Some(r) = senders.join_next().await {
        let (i, sink) = r?;
        sent_sinks.insert(i, sink);
    }
    tally.drain(DRAIN).await;
    let phase1_acked = tally.acks_total.load(Ordering::Relaxed);

    // 2. Store phase: only the store senders stay online.
    drop(leaving);
    let store = Arc::new(Tally::new(
        Window::after(Duration::ZERO, Duration::from_secs(3600)),
        a.store_senders as u32,
        a.store_messages,
    ));
    let mut store_readers = tokio::task::JoinSet::new();
    let mut store_sending = tokio::task::JoinSet::new();
    let store_until = tokio::time::Instant::now() + Duration::from_secs(120);
    let mut pairs = Vec::new();
    for (i, sink, stop, read) in kept {
        let _ = stop.send(());
        let stream = read.await?;
        let sink = match sink.or_else(|| sent_sinks.remove(&i)) {
            Some(s) => s,
            None => continue,
        };
        pairs.push((sink, stream));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let size_store_start = target.data_bytes();
    let t_store = Instant::now();
    for (sink, stream) in pairs {
        let permits = Arc::new(Semaphore::new(1));
        store_readers.spawn(reader(stream, store.clone(), Some(permits.clone())));
        let (store, body) = (store.clone(), a.body_bytes);
        store_sending.spawn(async move {
            let _ = windowed_sender(
                sink,
                room,
                store,
                permits,
                super::PER_CONN_RATE,
                store_until,
                body,
            )
            .await;
        });
    }
    while store_sending.join_next().await.is_some() {}
    store.drain(DRAIN).await;
    let store_secs = t_store.elapsed().as_secs_f64();
    let store_acked = store.acks_total.load(Ordering::Relaxed);
    drop(store_readers);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let size_end = target.data_bytes();

    // 3. One absent member comes back.
    let absent = &target.users[a.members - 1];
    let catchup = super::catchup::timed_backlog(addr, &absent.token, before, a.read_buffer).await;

    let mut r = Report::new("absent-broadcast");
    r.param("members", a.members);
    r.param("online", a.online);
    r.param("absent", a.members - a.online);
    r.param("senders", a.senders);
    r.param("per_conn_rate", a.per_conn_rate);
    r.param("lockstep", a.lockstep);
    r.param("store_senders", a.store_senders);
    r.param("store_messages", a.store_messages);
    r.param("body_bytes", a.body_bytes);
    r.param("warmup_s", common.warmup);
    r.param("duration_s", common.duration);
    r.tally(&tally);
    figures.add_to(&mut r, None);
    let (store_lost, store_dup) = store.lost_and_duplicated();
    r.figure("store_phase_messages", store_acked);
    r.figure("store_phase_s", round3(store_secs));
    r.check(
        "store_phase_delivered_exactly_once",
        store_lost == 0 && store_dup == 0 && store_acked == store.sent(),
        format!(
            "{store_acked} acked of {} sent, {store_lost} lost, {store_dup} duplicated",
            store.sent()
        ),
    );
    let absent_in_store_phase = (a.members - a.store_senders) as f64;
    let mut per_absent = None;
    if let (Some(s0), Some(s1), true) = (size_store_start, size_end, store_acked > 0) {
        let growth = s1.saturating_sub(s0);
        let per_msg = growth as f64 / store_acked as f64;
        r.figure("store_bytes_growth", growth);
        r.figure("store_bytes_per_message", round3(per_msg));
        per_absent = Some(per_msg / absent_in_store_phase);
        r.figure(
            "store_bytes_per_message_per_absent_member",
            per_absent.map(round3),
        );
    }
    if let (Some(s0), Some(s1)) = (size_before, size_end) {
        r.figure("store_bytes_growth_whole_run", s1.saturating_sub(s0));
    }
    let total = phase1_acked + store_acked;
    match &catchup {
        Ok((welcome_us, caught_up_us, events, _)) => {
            r.figure(
                "absent_member_catchup",
                serde_json::json!({
                    "events": events,
                    "connect_to_welcome_ms": round3(*welcome_us as f64 / 1000.0),
                    "connect_to_caught_up_ms": round3(*caught_up_us as f64 / 1000.0),
                }),
            );
            r.check(
                "absent_member_gets_every_message",
                *events == total,
                format!("{events} backlog events for {total} acked messages"),
            );
        }
        Err(e) => r.check("absent_member_gets_every_message", false, format!("{e:#}")),
    }
    r.target(Goal::at_most(
        "ack_latency_p99_ms",
        tally.ack_latency.quantile_ms(0.99),
        10.0,
    ));
    r.target(Goal::at_most(
        "store_bytes_per_absent_member",
        per_absent,
        64.0,
    ));
    target.finish().await?;
    Ok(r)
}
