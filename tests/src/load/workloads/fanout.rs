//! Workload 2, room fan-out: one room of M online members; some of them
//! send, at a fixed total rate (open loop) or saturated: a window of
//! messages that have not yet reached every member (closed loop, so the
//! run measures what the whole path sustains without any connection being
//! closed as a slow consumer).

use super::{Count, DRAIN, PER_CONN_RATE, meter, paced_sender, reader, secs, windowed_sender};
use crate::load::Common;
use crate::load::conn;
use crate::load::measure::{Report, Tally, Target as Goal, Window};
use crate::load::pool::Target;
use clap::Args;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::Semaphore;
use townhall_protocol::Pos;

#[derive(Args, Debug)]
pub struct FanoutArgs {
    /// Online members of the room (the senders are among them).
    #[arg(long, default_value_t = 1000)]
    pub members: usize,
    /// Members that send.
    #[arg(long, default_value_t = 50)]
    pub senders: usize,
    /// Messages per second from all senders together; 0 = saturated.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Saturated runs: messages in flight (sent, not yet received by every
    /// member).
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Saturated runs: most messages per second one connection sends.
    #[arg(long, default_value_t = PER_CONN_RATE)]
    pub per_conn_rate: f64,
    /// Bytes of each message body.
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    /// WebSocket read buffer of each member connection here.
    #[arg(long, default_value_t = 16 * 1024)]
    pub read_buffer: usize,
    /// Cap on the messages a saturated run sends.
    #[arg(long, default_value_t = 2_000_000)]
    pub max_messages: usize,
    /// Admin connections adding members during setup (the server allows
    /// 32 per user and about 50 requests a second on each).
    #[arg(long, default_value_t = 32)]
    pub setup_parallel: usize,
    /// Count the server's socket write calls with perf (a diagnostic: the
    /// tracepoints cost a little CPU per call).
    #[arg(long)]
    pub count_writes: bool,
}

pub async fn run(common: &Common, a: FanoutArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        a.members >= 1 && a.senders >= 1 && a.senders <= a.members,
        "need 1 <= --senders <= --members"
    );
    let target = Target::prepare(common, a.members, &[]).await?;
    let t_setup = Instant::now();

    let room = target
        .one_room("fanout", a.members, a.setup_parallel)
        .await?;
    let t_connect = Instant::now();
    let tokens = target.users.iter().map(|c| c.token.clone()).collect();
    let conns = conn::connect_all(&target.addrs, tokens, Some(Pos::MAX), a.read_buffer, 64).await?;
    let connect_secs = t_connect.elapsed().as_secs_f64();
    eprintln!(
        "fanout: room of {} ready in {:.1} s (connect {:.1} s)",
        a.members,
        t_setup.elapsed().as_secs_f64(),
        connect_secs
    );

    let saturated = a.rate <= 0.0;
    let window = Window::after(secs(common.warmup), secs(common.duration));
    let max_messages = if saturated {
        a.max_messages
    } else {
        (a.rate * (common.warmup + common.duration + 1.0)) as usize + 16
    };
    let mut tally = Tally::new(window, a.members as u32, max_messages);
    if saturated {
        tally.delivered_permits = Some(Arc::new(Semaphore::new(a.window)));
    }
    let tally = Arc::new(tally);
    let until = tokio::time::Instant::now() + secs(common.warmup + common.duration);
    let meter = tokio::spawn(meter(
        target.pid,
        target.cluster.clone(),
        target.http.clone(),
        target.base.clone(),
        window,
        if a.count_writes {
            Count::Writes
        } else {
            Count::Nothing
        },
    ));
    let mut tasks = tokio::task::JoinSet::new();
    let mut senders = tokio::task::JoinSet::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let (sink, stream) = ws.split();
        tasks.spawn(reader(stream, tally.clone(), None));
        if i < a.senders {
            let tally = tally.clone();
            if saturated {
                let permits = tally
                    .delivered_permits
                    .clone()
                    .expect("saturated runs have a window");
                senders.spawn(async move {
                    let _ = windowed_sender(
                        sink,
                        room,
                        tally,
                        permits,
                        a.per_conn_rate,
                        until,
                        a.body_bytes,
                    )
                    .await;
                });
            } else {
                let rate = a.rate / a.senders as f64;
                let phase = secs(i as f64 / a.senders as f64 / rate.max(1.0));
                senders.spawn(paced_sender(
                    sink,
                    room,
                    tally,
                    rate,
                    phase,
                    until,
                    a.body_bytes,
                ));
            }
        }
    }
    let figures = meter.await?;
    while senders.join_next().await.is_some() {}
    tally.drain(DRAIN).await;
    drop(tasks);

    let mut r = Report::new("fanout");
    r.param("members", a.members);
    r.param("senders", a.senders);
    r.param("mode", if saturated { "saturated" } else { "rate" });
    r.param("rate_msgs_per_sec", a.rate);
    if saturated {
        r.param("window_msgs", a.window);
        r.param("per_conn_rate", a.per_conn_rate);
    }
    r.param("body_bytes", a.body_bytes);
    r.param("warmup_s", common.warmup);
    r.param("duration_s", common.duration);
    r.figure("connect_all_s", crate::load::measure::round3(connect_secs));
    r.tally(&tally);
    let deliveries = tally.deliveries_in_window.load(Ordering::Relaxed);
    r.figure(
        "messages_per_sec",
        crate::load::measure::round3(
            tally.acks_in_window.load(Ordering::Relaxed) as f64 / window.secs(),
        ),
    );
    figures.add_to(&mut r, Some(deliveries));
    let per_sec = deliveries as f64 / window.secs();
    if saturated && a.members >= 5000 {
        r.target(Goal::at_least(
            "deliveries_per_sec",
            Some(per_sec),
            500_000.0,
        ));
    } else if saturated && a.members >= 1000 {
        r.target(Goal::at_least(
            "deliveries_per_sec",
            Some(per_sec),
            1_000_000.0,
        ));
    } else if a.members >= 1000 {
        r.target(Goal::at_most(
            "last_recipient_p99_ms",
            tally.last_latency.quantile_ms(0.99),
            15.0,
        ));
    } else if a.members <= 100 {
        r.target(Goal::at_most(
            "latency_p50_ms",
            tally.latency.quantile_ms(0.5),
            0.5,
        ));
        r.target(Goal::at_most(
            "latency_p99_ms",
            tally.latency.quantile_ms(0.99),
            2.0,
        ));
    }
    target.finish().await?;
    Ok(r)
}
