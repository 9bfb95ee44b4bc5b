//! Workload 5, catch-up after login: a user is offline while K messages go
//! to R of their rooms; then they connect. Times: connect → `caught_up`
//! (the whole backlog read), and the `summary` ("what you missed") round
//! trip. Repeated; the first repetition is a discarded warm-up.

use super::secs;
use crate::load::Common;
use crate::load::conn::{self, SMALL_READ_BUFFER, Ws};
use crate::load::measure::{Hist, Report, Target as Goal, event_pos, frame_type, round3};
use crate::load::pool::Target;
use anyhow::{Context, bail};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use townhall_protocol::{Pos, RoomId, ServerFrame};

#[derive(Args, Debug)]
pub struct CatchupArgs {
    /// Rooms the absent user is in (all receive messages).
    #[arg(long, default_value_t = 20)]
    pub rooms: usize,
    /// Messages sent while the user is away.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// Logins measured (after one discarded warm-up login).
    #[arg(long, default_value_t = 10)]
    pub reps: usize,
    /// Connections sending the messages (each at most `--per-conn-rate`).
    #[arg(long, default_value_t = 100)]
    pub senders: usize,
    #[arg(long, default_value_t = super::PER_CONN_RATE)]
    pub per_conn_rate: f64,
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    /// Read buffer of the catching-up connection.
    #[arg(long, default_value_t = 64 * 1024)]
    pub read_buffer: usize,
}

pub async fn run(common: &Common, a: CatchupArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        a.rooms >= 1 && a.messages >= 1 && a.senders >= 1,
        "--rooms, --messages and --senders must be at least 1"
    );
    // User 0 is the absent one; users 1..=senders send.
    let target = Target::prepare(common, a.senders + 1, &[]).await?;
    let addr = target.addr;
    let absent = target.users[0].clone();
    // In a cluster, the absent user comes back on the last node, and the
    // messages are posted through the others (through the one node there
    // is when the run spreads over one).
    let absent_addr = *target.addrs.last().expect("a server");

    // The rooms: made by the admin (who leaves them), with the absent user
    // and every sender.
    let names = (0..a.rooms).map(|k| format!("catchup-{k}")).collect();
    let rooms = conn::create_rooms_as_admin(addr, &target.admin_token, names, 16).await?;
    let mut pairs: Vec<(RoomId, String)> = rooms
        .iter()
        .map(|room| (*room, absent.username.clone()))
        .collect();
    for s in 0..a.senders {
        for k in rooms_of_sender(s, a.senders, a.rooms) {
            pairs.push((rooms[k], target.users[s + 1].username.clone()));
        }
    }
    conn::add_members_as_admin(addr, &target.admin_token, pairs, 32).await?;
    let before = target.published_pos().await?;

    // The messages, while the absent user is offline.
    let t_send = Instant::now();
    send_all(&target, &rooms, &a).await?;
    let send_secs = t_send.elapsed().as_secs_f64();
    // Where the log stood when the last send was acked (by a node that
    // applied it); the absent user's node may still be behind it.
    let after_send = target.published_pos().await?;
    let absent_node_pos = conn::published_pos(absent_addr).await.ok();
    eprintln!(
        "catchup: {} messages into {} rooms in {:.1} s",
        a.messages, a.rooms, send_secs
    );

    let caught_up = Hist::new();
    let summary = Hist::new();
    let mut rates = Vec::new();
    let mut first_login = None;
    let mut summary_bytes = 0;
    let mut failures = Vec::new();
    for rep in 0..=a.reps {
        match login_once(absent_addr, &absent.token, before, &rooms, &a).await {
            Ok(m) => {
                if m.events != a.messages as u64 {
                    failures.push(format!(
                        "rep {rep}: {} backlog events, expected {}",
                        m.events, a.messages
                    ));
                }
                if let Some(problem) = &m.summary_problem {
                    failures.push(format!("rep {rep}: summary: {problem}"));
                }
                if rep == 0 {
                    first_login = Some(m);
                    continue;
                }
                caught_up.record(m.caught_up_us);
                summary_bytes = summary_bytes.max(m.summary_bytes);
                summary.record(m.summary_us);
                rates.push(m.events as f64 / (m.caught_up_us as f64 / 1e6));
            }
            Err(e) => failures.push(format!("rep {rep}: {e:#}")),
        }
    }
    rates.sort_by(f64::total_cmp);

    let mut r = Report::new("catchup");
    r.param("rooms", a.rooms);
    r.param("messages", a.messages);
    r.param("reps", a.reps);
    r.param("body_bytes", a.body_bytes);
    r.figure("send_all_s", round3(send_secs));
    r.figure(
        "send_msgs_per_sec",
        round3(a.messages as f64 / send_secs.max(1e-9)),
    );
    if target.cluster.is_some() {
        r.param("absent_user_node", target.addrs.len() - 1);
        r.figure(
            "absent_node_behind_at_last_ack",
            absent_node_pos.map(|p| after_send.saturating_sub(p)),
        );
    }
    r.figure("connect_to_caught_up", caught_up.summary());
    r.figure("summary_round_trip", summary.summary());
    r.figure("summary_reply_bytes", summary_bytes);
    if let Some(m) = &rates.get(rates.len() / 2) {
        r.figure("backlog_msgs_per_sec_median", round3(**m));
    }
    if let Some(f) = &first_login {
        r.figure(
            "warmup_login",
            serde_json::json!({
                "connect_to_caught_up_ms": round3(f.caught_up_us as f64 / 1000.0),
                "connect_to_welcome_ms": round3(f.welcome_us as f64 / 1000.0),
                "summary_ms": round3(f.summary_us as f64 / 1000.0),
                "events": f.events,
            }),
        );
    }
    r.check(
        "backlog_and_summary_complete",
        failures.is_empty(),
        failures.join("; "),
    );
    r.target(Goal::at_most(
        "connect_to_caught_up_p50_ms",
        caught_up.quantile_ms(0.5),
        100.0,
    ));
    r.target(Goal::at_most(
        "summary_p50_ms",
        summary.quantile_ms(0.5),
        10.0,
    ));
    target.finish().await?;
    Ok(r)
}

/// The rooms sender `s` is in and sends to: room `s % rooms`, and every
/// room `k` with `k % senders == s` (so every room has a sender). A sender
/// is in few rooms so that what it hears stays small.
fn rooms_of_sender(s: usize, senders: usize, rooms: usize) -> Vec<usize> {
    let mut mine: Vec<usize> = (0..rooms).filter(|k| k % senders == s).collect();
    if !mine.contains(&(s % rooms)) {
        mine.push(s % rooms);
    }
    mine
}

/// Send `messages` spread over the senders, each sending round-robin to
/// its rooms at most `per_conn_rate` a second, and wait for every ack.
async fn send_all(target: &Target, rooms: &[RoomId], a: &CatchupArgs) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    // Every node but the last (the absent user's) when there are several.
    let posting = target.addrs.len().saturating_sub(1).max(1);
    for s in 0..a.senders {
        let count = a.messages / a.senders + usize::from(s < a.messages % a.senders);
        let token = target.users[s + 1].token.clone();
        let mine: Vec<RoomId> = rooms_of_sender(s, a.senders, a.rooms)
            .into_iter()
            .map(|k| rooms[k])
            .collect();
        let (addr, body_bytes, rate) = (target.addr_of(s % posting), a.body_bytes, a.per_conn_rate);
        tasks.spawn(async move {
            let (ws, _) =
                conn::login_caught_up(addr, &token, Some(Pos::MAX), SMALL_READ_BUFFER).await?;
            send_acked(ws, &mine, count, body_bytes, rate).await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

/// Send `count` messages at `rate` while reading (the sender hears its
/// rooms' events, which must not pile up), until every ack is in.
async fn send_acked(
    ws: Ws,
    rooms: &[RoomId],
    count: usize,
    body_bytes: usize,
    rate: f64,
) -> anyhow::Result<()> {
    let (mut sink, mut stream) = ws.split();
    let send = async {
        let gap = secs(1.0 / rate.max(1.0));
        let mut next = tokio::time::Instant::now();
        for k in 0..count {
            tokio::time::sleep_until(next).await;
            // A sender that fell behind (this process's core is busy
            // reading what the rooms hear) goes on from now rather than
            // bursting to catch up: a burst would pass the server's
            // per-connection request rate (`rate_limited`).
            next = next.max(tokio::time::Instant::now()) + gap;
            let room = rooms[k % rooms.len()];
            sink.send(super::send_message(room, k as u64, body_bytes))
                .await?;
        }
        anyhow::Ok(())
    };
    let read = async {
        let mut acks = 0;
        while acks < count {
            let msg = tokio::time::timeout(conn::WAIT, stream.next())
                .await
                .context("no ack within the timeout")?
                .context("connection ended")??;
            let Message::Text(text) = msg else { continue };
            match frame_type(text.as_str()) {
                "ack" => acks += 1,
                "error" => bail!("a send failed: {}", text.as_str()),
                _ => {}
            }
        }
        anyhow::Ok(())
    };
    let (sent, read) = tokio::join!(send, read);
    sent?;
    read?;
    Ok(())
}

struct Login {
    welcome_us: u64,
    caught_up_us: u64,
    summary_us: u64,
    summary_bytes: usize,
    events: u64,
    summary_problem: Option<String>,
}

/// A login resuming from `resume`, read to `caught_up`: (µs to welcome,
/// µs to caught_up, events), with the connection. The events' positions
/// must rise (read from the frame's first bytes: a full parse here would
/// cost more than the server's work).
pub async fn timed_backlog(
    addr: std::net::SocketAddr,
    token: &str,
    resume: Pos,
    read_buffer: usize,
) -> anyhow::Result<(u64, u64, u64, Ws)> {
    let t0 = Instant::now();
    let mut ws = conn::login(addr, token, Some(resume), read_buffer).await?;
    let welcome_us = t0.elapsed().as_micros() as u64;
    let mut events = 0u64;
    let mut last_pos = resume;
    loop {
        let msg = tokio::time::timeout(conn::WAIT, ws.next())
            .await
            .context("backlog stalled")?
            .context("connection ended")??;
        let Message::Text(text) = msg else { continue };
        match frame_type(text.as_str()) {
            "event" => {
                events += 1;
                let pos = event_pos(text.as_str()).context("an event without pos")?;
                if pos <= last_pos {
                    bail!("backlog out of order: {pos} after {last_pos}");
                }
                last_pos = pos;
            }
            "caught_up" => break,
            _ => {}
        }
    }
    Ok((welcome_us, t0.elapsed().as_micros() as u64, events, ws))
}

/// One login of the absent user resuming from `before`: time to welcome,
/// to caught_up, then a summary round trip.
async fn login_once(
    addr: std::net::SocketAddr,
    token: &str,
    before: Pos,
    mine: &[RoomId],
    a: &CatchupArgs,
) -> anyhow::Result<Login> {
    let (welcome_us, caught_up_us, events, mut ws) =
        timed_backlog(addr, token, before, a.read_buffer).await?;
    let t1 = Instant::now();
    // A large summary comes in parts sharing the req_id (`more: true` on
    // all but the last); the time is to the last part.
    let id = conn::req_id();
    let (mut reply, mut summary_bytes) =
        conn::request_sized(&mut ws, &id, json!({"type": "summary"})).await?;
    let mut rooms_seen = Vec::new();
    let needle = format!("\"req_id\":\"{id}\"");
    let summary_problem = loop {
        match reply {
            ServerFrame::Summary { rooms, more, .. } => {
                rooms_seen.extend(rooms);
                if !more {
                    break None;
                }
            }
            other => break Some(format!("unexpected reply {other:?}")),
        }
        let text = loop {
            let text = conn::next_text(&mut ws).await?;
            if text.contains(&needle) {
                break text;
            }
        };
        summary_bytes += text.len();
        reply = serde_json::from_str::<ServerFrame>(&text)?;
    };
    let summary_us = t1.elapsed().as_micros() as u64;
    // Only this run's rooms: the server may add others (e.g. an
    // organisation-wide room every user is in).
    let summary_problem = summary_problem.or_else(|| {
        let ours: Vec<_> = rooms_seen
            .iter()
            .filter(|s| mine.contains(&s.room.id))
            .collect();
        let unread: u64 = ours.iter().map(|s| s.unread).sum();
        (ours.len() != a.rooms || unread != a.messages as u64).then(|| {
            format!(
                "{} of our rooms, {unread} unread; expected {} and {}",
                ours.len(),
                a.rooms,
                a.messages
            )
        })
    });
    let _ = ws.close(None).await;
    Ok(Login {
        welcome_us,
        caught_up_us,
        summary_us,
        summary_bytes,
        events,
        summary_problem,
    })
}
