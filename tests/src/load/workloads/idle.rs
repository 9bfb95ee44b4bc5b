//! Workload 1, idle connections: N authenticated connections held open.
//! Figures: connections held, server RSS and RSS per connection, time to
//! connect all, and the server's CPU while the only traffic is its pings.
//!
//! RSS per connection is reported two ways. From the start: (RSS at the
//! end − RSS before the first connection) / N, which depends on how warm
//! the process was when it started (a cold 31 MB start and a warm 260 MB
//! one gave 12.7 KB and 5.1 KB on the same code). **Marginal** (the target's
//! measure): connect `--warm-connections` first, measure, connect the rest,
//! measure again: (RSS₂ − RSS₁) / (N − warm), the cost of one more
//! connection on a server already holding many.

use super::secs;
use crate::load::Common;
use crate::load::conn::{self, SMALL_READ_BUFFER};
use crate::load::measure::{Report, Target as Goal, round3};
use crate::load::pool::Target;
use crate::load::server::CpuMeter;
use clap::Args;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;
use townhall_protocol::Pos;

#[derive(Args, Debug)]
pub struct IdleArgs {
    /// Connections to open and hold (one process here may hold 20,000 files).
    #[arg(long, default_value_t = 19_000)]
    pub connections: usize,
    /// Distinct users; connections beyond it are further devices of the
    /// same users (the server allows 32 per user).
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Connections opened first, before the first of the two RSS readings
    /// of the marginal figure (default: half of `--connections`).
    #[arg(long)]
    pub warm_connections: Option<usize>,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 256)]
    pub parallel: usize,
    /// Seconds to hold every connection while measuring CPU.
    #[arg(long, default_value_t = 20.0)]
    pub hold: f64,
    /// The started server's ping interval (its default is 30 s): a short one
    /// measures several ping rounds within `--hold`.
    #[arg(long, default_value_t = 5)]
    pub ping_secs: u64,
}

pub async fn run(common: &Common, a: IdleArgs) -> anyhow::Result<Report> {
    let users = a.users.min(a.connections).max(1);
    let args = vec!["--ping-secs".to_owned(), a.ping_secs.to_string()];
    let target = Target::prepare(common, users, &args).await?;
    let addr = target.addr;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = target.rss();

    let handshakes = Arc::new(Semaphore::new(a.parallel.max(1)));
    let connected = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let alive = Arc::new(AtomicU64::new(0));
    let pings = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let warm = a
        .warm_connections
        .unwrap_or(a.connections / 2)
        .min(a.connections);
    let mut rss_warm = None;
    for (from, to) in [(0, warm), (warm, a.connections)] {
        for i in from..to {
            let token = target.users[i % users].token.clone();
            let (handshakes, connected, failed, alive, pings, first_error) = (
                handshakes.clone(),
                connected.clone(),
                failed.clone(),
                alive.clone(),
                pings.clone(),
                first_error.clone(),
            );
            tasks.spawn(async move {
                let permit = handshakes.acquire_owned().await;
                let ws =
                    conn::login_caught_up(addr, &token, Some(Pos::MAX), SMALL_READ_BUFFER).await;
                drop(permit);
                let (mut ws, _) = match ws {
                    Ok(ws) => ws,
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert_with(|| format!("{e:#}"));
                        }
                        return;
                    }
                };
                connected.fetch_add(1, Ordering::Relaxed);
                alive.fetch_add(1, Ordering::Relaxed);
                // Reading answers the server's pings (tungstenite queues the
                // pong and writes it on the next read).
                while let Some(Ok(msg)) = ws.next().await {
                    match msg {
                        Message::Ping(_) => {
                            pings.fetch_add(1, Ordering::Relaxed);
                        }
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
                alive.fetch_sub(1, Ordering::Relaxed);
            });
        }
        // Bounded: every handshake has its own timeout (conn::WAIT).
        let deadline = Instant::now() + Duration::from_secs(600);
        while connected.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < to as u64
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to == warm {
            tokio::time::sleep(Duration::from_secs(1)).await;
            rss_warm = target.rss().map(|r| (r, alive.load(Ordering::Relaxed)));
        }
    }
    let connect_secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "idle: {} connected, {} failed in {connect_secs:.1} s",
        connected.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = target.rss();

    let pings_before = pings.load(Ordering::Relaxed);
    let cpu = CpuMeter::start(target.pid);
    tokio::time::sleep(secs(a.hold)).await;
    let held_cpu = cpu.stop();
    let pings_in_hold = pings.load(Ordering::Relaxed) - pings_before;
    let rss_end = target.rss();
    let held = alive.load(Ordering::Relaxed);
    let (_, sessions) = target.health().await?;
    drop(tasks);

    let mut r = Report::new("idle");
    r.param("connections", a.connections);
    r.param("users", users);
    r.param("hold_s", a.hold);
    r.param("ping_secs", a.ping_secs);
    r.figure("connections_held", held);
    r.figure("server_sessions", sessions);
    r.figure("failed_connections", failed.load(Ordering::Relaxed));
    if let Some(e) = first_error.lock().ok().and_then(|e| e.clone()) {
        r.figure("first_error", e);
    }
    r.figure("connect_all_s", round3(connect_secs));
    r.figure(
        "connects_per_sec",
        round3(connected.load(Ordering::Relaxed) as f64 / connect_secs),
    );
    r.figure("server_rss_before_bytes", rss_before);
    r.figure("server_rss_after_bytes", rss_after);
    r.figure("server_rss_end_of_hold_bytes", rss_end);
    let per_conn = match (rss_before, rss_end) {
        (Some(b), Some(e)) if held > 0 => Some(round3(e.saturating_sub(b) as f64 / held as f64)),
        _ => None,
    };
    r.figure("server_rss_bytes_per_connection_from_start", per_conn);
    // The marginal cost between two warm counts (see the module header).
    let marginal = match (rss_warm, rss_end) {
        (Some((rss1, n1)), Some(rss2)) if held > n1 => {
            r.figure("warm_connections", n1);
            r.figure("server_rss_at_warm_bytes", rss1);
            Some(round3(
                rss2.saturating_sub(rss1) as f64 / (held - n1) as f64,
            ))
        }
        _ => None,
    };
    r.figure("server_rss_bytes_per_connection_marginal", marginal);
    r.figure("pings_answered_in_hold", pings_in_hold);
    let ping_cost = held_cpu.map(|(_, cores)| {
        // CPU while idle is the pings' (and timers'): scale to the
        // default interval of 30 s.
        round3(cores * 100.0 * a.ping_secs as f64 / 30.0)
    });
    if let Some((secs_used, cores)) = held_cpu {
        r.figure("server_cpu_secs_in_hold", round3(secs_used));
        r.figure("server_cpu_pct_of_core_in_hold", round3(cores * 100.0));
    }
    r.figure("server_cpu_pct_of_core_at_30s_pings", ping_cost);
    r.check(
        "every_connection_held",
        held == a.connections as u64 && sessions >= held,
        format!("{held} held of {}, server counts {sessions}", a.connections),
    );
    r.check(
        "pings_answered",
        a.hold < a.ping_secs as f64 * 1.5 || pings_in_hold >= held,
        format!("{pings_in_hold} pings in {} s", a.hold),
    );
    r.target(Goal::at_least(
        "connections_held",
        Some(held as f64),
        19_000.0,
    ));
    r.target(Goal::at_most(
        "server_rss_bytes_per_connection_marginal",
        marginal,
        8.0 * 1024.0,
    ));
    r.target(Goal::at_most("ping_cpu_pct_of_core", ping_cost, 2.0));
    target.finish().await?;
    Ok(r)
}
