//! Workload 3, many small rooms: U users in rooms of R, each user sending
//! once per interval (the schedule spread evenly so the load is steady).

use super::{Count, DRAIN, meter, secs, send_message};
use crate::load::Common;
use crate::load::conn::{self, SMALL_READ_BUFFER, Ws};
use crate::load::measure::{Report, Tally, Target as Goal, Window, round3};
use crate::load::pool::Target;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use townhall_protocol::{Pos, RoomId};

#[derive(Args, Debug)]
pub struct SmallRoomsArgs {
    /// Users, all online (rounded down to whole rooms).
    #[arg(long, default_value_t = 10_000)]
    pub users: usize,
    /// Members per room.
    #[arg(long, default_value_t = 5)]
    pub room_size: usize,
    /// Each user sends one message per this many milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    /// Admin connections making the rooms during setup (the server allows
    /// 32 per user and about 50 requests a second on each).
    #[arg(long, default_value_t = 32)]
    pub setup_parallel: usize,
}

pub async fn run(common: &Common, a: SmallRoomsArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        a.room_size >= 2 && a.users >= a.room_size,
        "need --room-size >= 2 and --users >= --room-size"
    );
    let rooms = a.users / a.room_size;
    let users = rooms * a.room_size;
    let target = Target::prepare(common, users, &[]).await?;
    let t_setup = Instant::now();
    let room_ids = make_rooms(&target, rooms, a.room_size, a.setup_parallel).await?;
    let t_connect = Instant::now();
    let tokens = target.users.iter().map(|c| c.token.clone()).collect();
    let conns =
        conn::connect_all(&target.addrs, tokens, Some(Pos::MAX), SMALL_READ_BUFFER, 64).await?;
    let connect_secs = t_connect.elapsed().as_secs_f64();
    eprintln!(
        "small-rooms: {rooms} rooms of {} ready in {:.1} s (connect {:.1} s)",
        a.room_size,
        t_setup.elapsed().as_secs_f64(),
        connect_secs
    );

    let window = Window::after(secs(common.warmup), secs(common.duration));
    let interval = Duration::from_millis(a.interval_ms.max(1));
    let per_sec = users as f64 / interval.as_secs_f64();
    let max_messages = (per_sec * (common.warmup + common.duration + 2.0)) as usize + 16;
    let tally = Arc::new(Tally::new(window, a.room_size as u32, max_messages));
    let until = tokio::time::Instant::now() + secs(common.warmup + common.duration);
    let meter = tokio::spawn(meter(
        target.pid,
        target.cluster.clone(),
        target.http.clone(),
        target.base.clone(),
        window,
        Count::Nothing,
    ));
    let sending = Arc::new(AtomicU64::new(users as u64));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let room = room_ids[i / a.room_size];
        let phase = interval.mul_f64(i as f64 / users as f64);
        tasks.spawn(member(
            ws,
            room,
            tally.clone(),
            phase,
            interval,
            until,
            a.body_bytes,
            sending.clone(),
        ));
    }
    let figures = meter.await?;
    // Members stop sending at `until`; then wait for the last deliveries.
    let stop_wait = tokio::time::Instant::now() + Duration::from_secs(5);
    while sending.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < stop_wait {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tally.drain(DRAIN).await;
    drop(tasks);

    let mut r = Report::new("small-rooms");
    r.param("users", users);
    r.param("rooms", rooms);
    r.param("room_size", a.room_size);
    r.param("interval_ms", a.interval_ms);
    r.param("body_bytes", a.body_bytes);
    r.param("warmup_s", common.warmup);
    r.param("duration_s", common.duration);
    r.figure("connect_all_s", round3(connect_secs));
    r.tally(&tally);
    r.figure(
        "messages_per_sec",
        round3(tally.acks_in_window.load(Ordering::Relaxed) as f64 / window.secs()),
    );
    let deliveries = tally.deliveries_in_window.load(Ordering::Relaxed);
    figures.add_to(&mut r, Some(deliveries));
    r.target(Goal::at_most(
        "latency_p99_ms",
        tally.latency.quantile_ms(0.99),
        2.0,
    ));
    r.target(Goal::at_most("server_cpu_cores", figures.server_cores, 0.5));
    target.finish().await?;
    Ok(r)
}

/// `rooms` private rooms, each with `size` consecutive pool users: made by
/// the admin, who adds the members and leaves (so it receives nothing).
async fn make_rooms(
    target: &Target,
    rooms: usize,
    size: usize,
    parallel: usize,
) -> anyhow::Result<Vec<RoomId>> {
    let next = Arc::new(AtomicU64::new(0));
    let names: Arc<Vec<String>> =
        Arc::new(target.users.iter().map(|c| c.username.clone()).collect());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel.max(1) {
        let (next, names, token, addr) = (
            next.clone(),
            names.clone(),
            target.admin_token.clone(),
            target.addr,
        );
        tasks.spawn(async move {
            let (mut ws, _) =
                conn::login_caught_up(addr, &token, Some(Pos::MAX), SMALL_READ_BUFFER).await?;
            let mut made = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed) as usize;
                if k >= rooms {
                    break;
                }
                let room = conn::create_room(&mut ws, &format!("small-{k}")).await?.id;
                for name in &names[k * size..(k + 1) * size] {
                    conn::add_member(&mut ws, room, name).await?;
                }
                conn::leave(&mut ws, room).await?;
                made.push((k, room));
            }
            let _ = ws.close(None).await;
            anyhow::Ok(made)
        });
    }
    let mut all = Vec::with_capacity(rooms);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    all.sort_by_key(|(k, _)| *k);
    Ok(all.into_iter().map(|(_, room)| room).collect())
}

/// One member: send once per `interval` (from `phase`) until `until`, and
/// read everything that arrives.
#[allow(clippy::too_many_arguments)]
async fn member(
    mut ws: Ws,
    room: RoomId,
    tally: Arc<Tally>,
    phase: Duration,
    interval: Duration,
    until: tokio::time::Instant,
    body_bytes: usize,
    sending: Arc<AtomicU64>,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut active = true;
    loop {
        tokio::select! {
            now = tick.tick(), if active => {
                let index = if now < until { tally.take_index() } else { None };
                let Some(index) = index else {
                    active = false;
                    sending.fetch_sub(1, Ordering::Relaxed);
                    continue;
                };
                if ws.send(send_message(room, index, body_bytes)).await.is_err() {
                    break;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(m)) => {
                    tally.on_message(&m);
                    if m.is_close() {
                        break;
                    }
                }
                _ => break,
            },
        }
    }
    if active {
        sending.fetch_sub(1, Ordering::Relaxed);
    }
}
