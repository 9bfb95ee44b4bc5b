//! The side-by-side peers: the same workloads against other servers,
//! started by `scripts/bench.sh` on loopback.
//!
//! - `mqtt-fanout`: workload 2 through mosquitto. Every member is an MQTT
//!   client subscribed to one topic (the room); the senders publish to it.
//!   The same member count, senders, rate or window, per-connection cap
//!   and body bytes as Townhall's `fanout`; the body carries the same
//!   stamp. QoS 0 by default (mosquitto's fastest live path; it stores
//!   nothing), `--qos 1` for acknowledged delivery.
//! - `mqtt-queue`: workload 5 through mosquitto: a persistent session
//!   (clean session off) subscribed at QoS 1 to R topics goes away, K
//!   messages are published to those topics, it comes back; the time from
//!   connecting to the K-th message.
//! - `nats-fanout`: workload 2 through NATS core pub/sub (no storage), with
//!   a minimal client of the NATS text protocol (CONNECT, SUB, PUB, MSG,
//!   PING/PONG) so that the client adds as little as possible.

use super::Common;
use super::measure::{
    Hist, Report, Tally, Target as Goal, Window, payload_stamp, round3, stamp_body,
};
use super::workloads::{Count, DRAIN, PER_CONN_RATE, meter, secs};
use anyhow::{Context, bail};
use clap::Args;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, Semaphore};

/// Longest wait for a peer's handshake or subscription.
const WAIT: Duration = Duration::from_secs(60);

#[derive(Args, Debug)]
pub struct MqttFanoutArgs {
    /// The MQTT broker (host:port).
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub mqtt: String,
    #[command(flatten)]
    pub fanout: PeerFanout,
    /// QoS of the subscriptions and publishes (0 or 1).
    #[arg(long, default_value_t = 0)]
    pub qos: u8,
}

#[derive(Args, Debug)]
pub struct NatsFanoutArgs {
    /// The NATS server (host:port).
    #[arg(long, default_value = "127.0.0.1:4222")]
    pub nats: String,
    #[command(flatten)]
    pub fanout: PeerFanout,
}

/// The fan-out shape, as in Townhall's `fanout`.
#[derive(Args, Debug)]
pub struct PeerFanout {
    #[arg(long, default_value_t = 1000)]
    pub members: usize,
    #[arg(long, default_value_t = 50)]
    pub senders: usize,
    /// Messages per second from all senders together; 0 = saturated.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Saturated runs: messages not yet received by every member.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    #[arg(long, default_value_t = PER_CONN_RATE)]
    pub per_conn_rate: f64,
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
    #[arg(long, default_value_t = 2_000_000)]
    pub max_messages: usize,
}

#[derive(Args, Debug)]
pub struct MqttQueueArgs {
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub mqtt: String,
    /// Topics the away client is subscribed to (its "rooms").
    #[arg(long, default_value_t = 20)]
    pub topics: usize,
    /// Messages published while it is away.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// Returns measured (after one discarded warm-up).
    #[arg(long, default_value_t = 10)]
    pub reps: usize,
    /// Publishing clients.
    #[arg(long, default_value_t = 10)]
    pub publishers: usize,
    #[arg(long, default_value_t = 100)]
    pub body_bytes: usize,
}

/// A connection that publishes to the room.
#[derive(Clone)]
enum Publisher {
    Mqtt(AsyncClient, QoS),
    Nats(Arc<Mutex<OwnedWriteHalf>>),
}

const TOPIC: &str = "room/fanout";
const SUBJECT: &str = "room.fanout";

impl Publisher {
    async fn publish(&self, bodies: &[String]) -> bool {
        match self {
            Publisher::Mqtt(c, qos) => {
                for body in bodies {
                    if c.publish(TOPIC, *qos, false, body.as_bytes().to_vec())
                        .await
                        .is_err()
                    {
                        return false;
                    }
                }
                true
            }
            Publisher::Nats(w) => {
                let mut out = String::new();
                for body in bodies {
                    out.push_str(&format!("PUB {SUBJECT} {}\r\n{body}\r\n", body.len()));
                }
                w.lock().await.write_all(out.as_bytes()).await.is_ok()
            }
        }
    }
}

fn host_port(addr: &str) -> anyhow::Result<(String, u16)> {
    let (h, p) = addr.rsplit_once(':').context("host:port")?;
    Ok((h.to_owned(), p.parse()?))
}

fn mqtt_client(id: &str, addr: &str, clean: bool) -> anyhow::Result<(AsyncClient, EventLoop)> {
    let (host, port) = host_port(addr)?;
    let mut o = MqttOptions::new(id, host, port);
    o.set_keep_alive(Duration::from_secs(60))
        .set_clean_session(clean)
        .set_max_packet_size(64 * 1024, 64 * 1024)
        .set_inflight(1000);
    let (client, mut el) = AsyncClient::new(o, 1024);
    let mut net = el.network_options();
    net.set_tcp_nodelay(true);
    el.set_network_options(net);
    Ok((client, el))
}

fn qos_of(q: u8) -> QoS {
    if q == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

/// One MQTT member: subscribe, say when subscribed, count what arrives.
async fn mqtt_member(
    client: AsyncClient,
    mut el: EventLoop,
    qos: QoS,
    tally: Arc<Tally>,
    ready: Arc<AtomicU64>,
) {
    if client.subscribe(TOPIC, qos).await.is_err() {
        return;
    }
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                ready.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if let Some((index, sent)) = payload_stamp(&p.payload) {
                    tally.on_stamp(index, sent);
                }
            }
            Ok(_) => {}
            Err(_) => {
                tally.other_closes.fetch_add(1, Ordering::Relaxed);
                break;
            }
        }
    }
}

/// Connect to NATS, subscribe to the room's subject, and wait for the
/// server to confirm (PING → PONG after the SUB).
async fn nats_connect(addr: &str) -> anyhow::Result<(BufReader<OwnedReadHalf>, OwnedWriteHalf)> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (rd, mut wr) = tcp.into_split();
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let mut line = String::new();
    rd.read_line(&mut line).await?;
    if !line.starts_with("INFO") {
        bail!("NATS said {line:?} instead of INFO");
    }
    wr.write_all(
        format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":true,\"name\":\"townhall-load\"}}\r\nSUB {SUBJECT} 1\r\nPING\r\n"
        )
        .as_bytes(),
    )
    .await?;
    loop {
        line.clear();
        if rd.read_line(&mut line).await? == 0 {
            bail!("NATS closed the connection");
        }
        if line.starts_with("PONG") {
            return Ok((rd, wr));
        }
        if line.starts_with("-ERR") {
            bail!("NATS: {line}");
        }
    }
}

/// Read a NATS connection: count stamped messages, answer pings.
async fn nats_reader(
    mut rd: BufReader<OwnedReadHalf>,
    wr: Arc<Mutex<OwnedWriteHalf>>,
    tally: Arc<Tally>,
) {
    let mut line = Vec::with_capacity(128);
    let mut payload = Vec::new();
    loop {
        line.clear();
        match rd.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => {
                tally.other_closes.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(_) => {}
        }
        if line.starts_with(b"MSG ") {
            // MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n
            let len = std::str::from_utf8(&line)
                .ok()
                .and_then(|l| l.split_whitespace().last())
                .and_then(|n| n.parse::<usize>().ok());
            let Some(len) = len else { return };
            payload.resize(len + 2, 0);
            if rd.read_exact(&mut payload).await.is_err() {
                return;
            }
            if let Some((index, sent)) = payload_stamp(&payload[..len]) {
                tally.on_stamp(index, sent);
            }
        } else if line.starts_with(b"PING") {
            if wr.lock().await.write_all(b"PONG\r\n").await.is_err() {
                return;
            }
        } else if line.starts_with(b"-ERR") {
            tally.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub async fn fanout(common: &Common, a: MqttFanoutArgs) -> anyhow::Result<Report> {
    run_fanout(common, &a.fanout, Peer::Mqtt(a.mqtt.clone(), a.qos)).await
}

pub async fn nats_fanout(common: &Common, a: NatsFanoutArgs) -> anyhow::Result<Report> {
    run_fanout(common, &a.fanout, Peer::Nats(a.nats.clone())).await
}

enum Peer {
    Mqtt(String, u8),
    Nats(String),
}

async fn run_fanout(common: &Common, a: &PeerFanout, peer: Peer) -> anyhow::Result<Report> {
    anyhow::ensure!(
        a.members >= 1 && a.senders >= 1 && a.senders <= a.members,
        "need 1 <= --senders <= --members"
    );
    let saturated = a.rate <= 0.0;
    let max_messages = if saturated {
        a.max_messages
    } else {
        (a.rate * (common.warmup + common.duration + 1.0)) as usize + 16
    };
    let t_connect = Instant::now();
    let ready = Arc::new(AtomicU64::new(0));
    let mut members = tokio::task::JoinSet::new();
    let mut publishers = Vec::new();
    let mut pending = Vec::new();
    let name = match &peer {
        Peer::Mqtt(..) => "mqtt-fanout",
        Peer::Nats(_) => "nats-fanout",
    };
    let run_id = super::measure::now_us();
    // Connect everyone first (their tasks need the final tally), holding
    // the connections until the tally exists.
    match &peer {
        Peer::Mqtt(addr, q) => {
            for i in 0..a.members {
                let (client, el) = mqtt_client(&format!("load-{run_id}-{i}"), addr, true)?;
                if i < a.senders {
                    publishers.push(Publisher::Mqtt(client.clone(), qos_of(*q)));
                }
                pending.push(PendingMember::Mqtt(client, Box::new(el)));
            }
        }
        Peer::Nats(addr) => {
            let limit = Arc::new(Semaphore::new(64));
            let mut connecting = tokio::task::JoinSet::new();
            for i in 0..a.members {
                let (addr, limit) = (addr.clone(), limit.clone());
                connecting.spawn(async move {
                    let _p = limit.acquire_owned().await?;
                    let c = tokio::time::timeout(WAIT, nats_connect(&addr))
                        .await
                        .context("NATS connect timed out")??;
                    anyhow::Ok((i, c))
                });
            }
            let mut conns = Vec::new();
            while let Some(r) = connecting.join_next().await {
                conns.push(r??);
            }
            conns.sort_by_key(|(i, _)| *i);
            for (i, (rd, wr)) in conns {
                let wr = Arc::new(Mutex::new(wr));
                if i < a.senders {
                    publishers.push(Publisher::Nats(wr.clone()));
                }
                pending.push(PendingMember::Nats(rd, wr));
            }
        }
    }
    // MQTT clients connect and subscribe when their event loops first run;
    // the window is set once every member is subscribed, before any send.
    let not_yet = Window::after(Duration::from_secs(3600), secs(common.duration));
    let mut tally = Tally::new(not_yet, a.members as u32, max_messages);
    tally.acks_expected = false;
    if saturated {
        tally.delivered_permits = Some(Arc::new(Semaphore::new(a.window)));
    }
    let tally = Arc::new(tally);
    for m in pending {
        match m {
            PendingMember::Mqtt(client, el) => {
                let q = match &peer {
                    Peer::Mqtt(_, q) => qos_of(*q),
                    Peer::Nats(_) => QoS::AtMostOnce,
                };
                members.spawn(mqtt_member(client, *el, q, tally.clone(), ready.clone()));
            }
            PendingMember::Nats(rd, wr) => {
                ready.fetch_add(1, Ordering::Relaxed);
                members.spawn(nats_reader(rd, wr, tally.clone()));
            }
        }
    }
    let deadline = Instant::now() + WAIT;
    while ready.load(Ordering::Relaxed) < a.members as u64 {
        if Instant::now() > deadline {
            bail!(
                "only {} of {} members subscribed in time",
                ready.load(Ordering::Relaxed),
                a.members
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let connect_secs = t_connect.elapsed().as_secs_f64();
    let window = Window::after(secs(common.warmup), secs(common.duration));
    tally.set_window(window);
    eprintln!(
        "{name}: {} members subscribed in {connect_secs:.1} s",
        a.members
    );
    let until = super::workloads::instant_at(window.end_us);
    let meter = tokio::spawn(meter(
        common.server_pid,
        None,
        reqwest::Client::new(),
        String::from("http://127.0.0.1:1"),
        window,
        Count::Nothing,
    ));
    let mut senders = tokio::task::JoinSet::new();
    let n = publishers.len();
    for (i, p) in publishers.into_iter().enumerate() {
        let tally = tally.clone();
        if saturated {
            let permits = tally
                .delivered_permits
                .clone()
                .expect("saturated runs have a window");
            senders.spawn(peer_windowed(
                p,
                tally,
                permits,
                a.per_conn_rate,
                until,
                a.body_bytes,
            ));
        } else {
            let rate = a.rate / n as f64;
            let phase = secs(i as f64 / n as f64 / rate.max(1.0));
            senders.spawn(peer_paced(p, tally, rate, phase, until, a.body_bytes));
        }
    }
    let figures = meter.await?;
    while senders.join_next().await.is_some() {}
    tally.drain(DRAIN).await;
    drop(members);

    let mut r = Report::new(name);
    r.param("members", a.members);
    r.param("senders", a.senders);
    r.param("mode", if saturated { "saturated" } else { "rate" });
    r.param("rate_msgs_per_sec", a.rate);
    if saturated {
        r.param("window_msgs", a.window);
        r.param("per_conn_rate", a.per_conn_rate);
    }
    r.param("body_bytes", a.body_bytes);
    if let Peer::Mqtt(_, q) = &peer {
        r.param("qos", *q);
    }
    r.param("warmup_s", common.warmup);
    r.param("duration_s", common.duration);
    r.figure("connect_all_s", round3(connect_secs));
    r.tally(&tally);
    let deliveries = tally.deliveries_in_window.load(Ordering::Relaxed);
    figures.add_to(&mut r, Some(deliveries));
    if a.members >= 1000 && !saturated {
        r.target(Goal::at_most(
            "last_recipient_p99_ms",
            tally.last_latency.quantile_ms(0.99),
            15.0,
        ));
    }
    Ok(r)
}

enum PendingMember {
    Mqtt(AsyncClient, Box<EventLoop>),
    Nats(BufReader<OwnedReadHalf>, Arc<Mutex<OwnedWriteHalf>>),
}

fn stamped(tally: &Tally, body_bytes: usize) -> Option<String> {
    let index = tally.take_index()?;
    Some(stamp_body(index, super::measure::now_us(), body_bytes))
}

async fn peer_paced(
    p: Publisher,
    tally: Arc<Tally>,
    rate: f64,
    phase: Duration,
    until: tokio::time::Instant,
    body_bytes: usize,
) {
    let period = Duration::from_secs_f64((1.0 / rate.max(1e-3)).max(0.001));
    let start = tokio::time::Instant::now() + phase;
    let mut tick = tokio::time::interval_at(start, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sent = 0u64;
    loop {
        let now = tokio::select! {
            t = tick.tick() => t,
            _ = tokio::time::sleep_until(until) => return,
        };
        if now >= until {
            return;
        }
        let due = ((now - start).as_secs_f64() * rate) as u64 + 1;
        let mut bodies = Vec::new();
        while sent < due {
            let Some(body) = stamped(&tally, body_bytes) else {
                break;
            };
            bodies.push(body);
            sent += 1;
        }
        if bodies.is_empty() && sent < due {
            return;
        }
        if !p.publish(&bodies).await {
            return;
        }
    }
}

async fn peer_windowed(
    p: Publisher,
    tally: Arc<Tally>,
    permits: Arc<Semaphore>,
    cap: f64,
    until: tokio::time::Instant,
    body_bytes: usize,
) {
    let gap = Duration::from_secs_f64(if cap > 0.0 { 1.0 / cap } else { 0.0 });
    let mut next_allowed = tokio::time::Instant::now();
    loop {
        let permit = tokio::select! {
            p = permits.acquire() => p,
            _ = tokio::time::sleep_until(until) => return,
        };
        match permit {
            Ok(p) => p.forget(),
            Err(_) => return,
        }
        if !gap.is_zero() {
            if next_allowed > until {
                return;
            }
            tokio::time::sleep_until(next_allowed).await;
            next_allowed = tokio::time::Instant::now() + gap;
        }
        let Some(body) = stamped(&tally, body_bytes) else {
            return;
        };
        if !p.publish(&[body]).await {
            return;
        }
    }
}

/// Workload 5 through MQTT: a persistent session away while K messages are
/// published to its topics at QoS 1, then back.
pub async fn queue(_common: &Common, a: MqttQueueArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        a.topics >= 1 && a.messages >= 1 && a.publishers >= 1,
        "--topics, --messages and --publishers must be at least 1"
    );
    let run_id = super::measure::now_us();
    let away_id = format!("load-away-{run_id}");
    let topics: Vec<String> = (0..a.topics).map(|k| format!("room/{k}")).collect();

    // The away client's persistent session and its subscriptions.
    {
        let (client, mut el) = mqtt_client(&away_id, &a.mqtt, false)?;
        for t in &topics {
            client.subscribe(t.clone(), QoS::AtLeastOnce).await?;
        }
        let mut acked = 0;
        tokio::time::timeout(WAIT, async {
            while acked < a.topics {
                if let Event::Incoming(Packet::SubAck(_)) = el.poll().await? {
                    acked += 1;
                }
            }
            anyhow::Ok(())
        })
        .await
        .context("subscribing timed out")??;
        disconnect(client, el).await;
    }

    // Publishers: connected once; their event loops count PUBACKs.
    let pubacks = Arc::new(AtomicU64::new(0));
    let mut loops = tokio::task::JoinSet::new();
    let mut pubs = Vec::new();
    for p in 0..a.publishers {
        let (client, mut el) = mqtt_client(&format!("load-pub-{run_id}-{p}"), &a.mqtt, true)?;
        let pubacks = pubacks.clone();
        loops.spawn(async move {
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        pubacks.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        pubs.push(client);
    }

    let back = Hist::new();
    let mut rates = Vec::new();
    let mut failures = Vec::new();
    let mut first = None;
    let mut publish_secs = Vec::new();
    for rep in 0..=a.reps {
        // Away: publish K messages, every one PUBACKed (the broker has it).
        let t_pub = Instant::now();
        let target_acks = (rep as u64 + 1) * a.messages as u64;
        for k in 0..a.messages {
            let client = &pubs[k % a.publishers];
            let body = stamp_body(k as u64, super::measure::now_us(), a.body_bytes);
            client
                .publish(
                    topics[k % a.topics].clone(),
                    QoS::AtLeastOnce,
                    false,
                    body.into_bytes(),
                )
                .await?;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while pubacks.load(Ordering::Relaxed) < target_acks {
            if Instant::now() > deadline {
                bail!("PUBACKs missing after 120 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        publish_secs.push(t_pub.elapsed().as_secs_f64());

        // Back: connect the persistent session and count the queue.
        let t0 = Instant::now();
        let (client, mut el) = mqtt_client(&away_id, &a.mqtt, false)?;
        let mut got = 0usize;
        let received = tokio::time::timeout(WAIT, async {
            while got < a.messages {
                if let Event::Incoming(Packet::Publish(p)) = el.poll().await?
                    && payload_stamp(&p.payload).is_some()
                {
                    got += 1;
                }
            }
            anyhow::Ok(())
        })
        .await;
        let us = t0.elapsed().as_micros() as u64;
        disconnect(client, el).await;
        match received {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("rep {rep}: {e:#}")),
            Err(_) => failures.push(format!("rep {rep}: {got} of {} arrived", a.messages)),
        }
        if rep == 0 {
            first = Some(us);
            continue;
        }
        back.record(us);
        rates.push(a.messages as f64 / (us as f64 / 1e6));
    }
    for c in &pubs {
        let _ = c.disconnect().await;
    }
    drop(loops);
    rates.sort_by(f64::total_cmp);

    let mut r = Report::new("mqtt-queue");
    r.param("topics", a.topics);
    r.param("messages", a.messages);
    r.param("reps", a.reps);
    r.param("publishers", a.publishers);
    r.param("body_bytes", a.body_bytes);
    r.param("qos", 1);
    r.figure("connect_to_all_received", back.summary());
    if let Some(m) = rates.get(rates.len() / 2) {
        r.figure("queue_msgs_per_sec_median", round3(*m));
    }
    if let Some(us) = first {
        r.figure("warmup_return_ms", round3(us as f64 / 1000.0));
    }
    publish_secs.sort_by(f64::total_cmp);
    if let Some(s) = publish_secs.get(publish_secs.len() / 2) {
        r.figure("publish_all_acked_s_median", round3(*s));
    }
    r.check(
        "every_queued_message_arrived",
        failures.is_empty(),
        failures.join("; "),
    );
    r.target(Goal::at_most(
        "connect_to_all_received_p50_ms",
        back.quantile_ms(0.5),
        100.0,
    ));
    Ok(r)
}

/// Send DISCONNECT and let the event loop write it (bounded).
async fn disconnect(client: AsyncClient, mut el: EventLoop) {
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match el.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}
