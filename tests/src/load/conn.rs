//! A lean client connection: connect, `hello`, requests, the backlog.
//!
//! Unlike the test harness's `Client`, nothing here keeps the frames it
//! saw: a run holds up to 19,000 of these, and a fan-out run reads a
//! million frames a second.

use super::measure::frame_type;
use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use townhall_protocol::{
    ClientFrame, ErrorCode, PROTOCOL_VERSION, Pos, RoomId, RoomInfo, ServerFrame,
};

pub type Ws = WebSocketStream<TcpStream>;

/// Longest wait for any one reply during setup. Generous: setup of a
/// 10,000-member room queues thousands of commits.
pub const WAIT: Duration = Duration::from_secs(60);

/// Read buffer of an idle connection: tungstenite's default (128 KiB)
/// times 19,000 connections would be 2.4 GiB in this process alone.
pub const SMALL_READ_BUFFER: usize = 4 * 1024;

/// Set in cluster mode (`--cluster-nodes`): `resume: Pos::MAX` ("from now
/// on") becomes the node's own published position, read from its
/// `/healthz` just before the `hello`. A single node answers a resume past
/// its position with a reset to "now"; a cluster node takes it for a
/// position it has not applied yet and waits for it (up to
/// `--cluster-resume-wait-secs`, then `unavailable`), so the sentinel must
/// not reach it.
pub static RESUME_NOW_FROM_HEALTHZ: AtomicBool = AtomicBool::new(false);

/// A node's published position (`GET /healthz`).
pub async fn published_pos(addr: SocketAddr) -> anyhow::Result<Pos> {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let http = HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(WAIT)
            .build()
            .expect("an HTTP client")
    });
    let v: serde_json::Value = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await?
        .json()
        .await?;
    v["published_pos"]
        .as_u64()
        .context("healthz without published_pos")
}

/// Open a WebSocket to the server (TCP_NODELAY: every send is a message).
pub async fn open(addr: SocketAddr, read_buffer: usize) -> anyhow::Result<Ws> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{addr}/ws"), tcp, Some(config))
            .await?;
    Ok(ws)
}

/// Open and authenticate; returns after `welcome` (the backlog follows).
pub async fn login(
    addr: SocketAddr,
    token: &str,
    resume: Option<Pos>,
    read_buffer: usize,
) -> anyhow::Result<Ws> {
    let resume = match resume {
        Some(Pos::MAX) if RESUME_NOW_FROM_HEALTHZ.load(Ordering::Relaxed) => {
            Some(published_pos(addr).await?)
        }
        other => other,
    };
    let mut ws = tokio::time::timeout(WAIT, open(addr, read_buffer))
        .await
        .context("connect timed out")??;
    let hello = client_frame(json!({
        "type": "hello",
        "version": PROTOCOL_VERSION,
        "token": token,
        "resume": resume,
    }))?;
    ws.send(Message::text(hello)).await?;
    loop {
        let text = next_text(&mut ws).await?;
        match frame_type(&text) {
            "welcome" => return Ok(ws),
            "presence" | "typing" => continue,
            _ => bail!("expected welcome, got {}", clip(&text)),
        }
    }
}

/// Open, authenticate and read the backlog; returns the connection and the
/// number of events before `caught_up`.
pub async fn login_caught_up(
    addr: SocketAddr,
    token: &str,
    resume: Option<Pos>,
    read_buffer: usize,
) -> anyhow::Result<(Ws, u64)> {
    let mut ws = login(addr, token, resume, read_buffer).await?;
    let (events, _) = until_caught_up(&mut ws).await?;
    Ok((ws, events))
}

/// Read until `caught_up`: (events before it, its position).
pub async fn until_caught_up(ws: &mut Ws) -> anyhow::Result<(u64, Pos)> {
    let mut events = 0;
    loop {
        let text = next_text(ws).await?;
        match frame_type(&text) {
            "event" => events += 1,
            "caught_up" => {
                let pos = match serde_json::from_str(&text)? {
                    ServerFrame::CaughtUp { pos, .. } => pos,
                    _ => 0,
                };
                return Ok((events, pos));
            }
            "presence" | "typing" | "read_marker" => {}
            _ => bail!("unexpected before caught_up: {}", clip(&text)),
        }
    }
}

/// The next text message, with the setup timeout.
pub async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .context("no frame within the timeout")?;
        match msg {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(c))) => bail!("the server closed the connection: {c:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the connection ended"),
        }
    }
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

static NEXT_REQ: AtomicU64 = AtomicU64::new(1);

/// A fresh request id (distinct from the `index:µs` stamps of sends).
pub fn req_id() -> String {
    format!("setup-{}", NEXT_REQ.fetch_add(1, Ordering::Relaxed))
}

/// A client frame as JSON text, checked against the protocol crate's
/// [`ClientFrame`] (so a wire change shows here as an error) without
/// naming every field: fields the protocol adds later keep their defaults.
pub fn client_frame(value: serde_json::Value) -> anyhow::Result<String> {
    let text = value.to_string();
    ClientFrame::decode(&text).map_err(|e| anyhow::anyhow!("{}: {text}", e.message))?;
    Ok(text)
}

/// Send a request (a JSON object; its `req_id` is set to `id`) and wait
/// for its reply, skipping every other frame. An `error` reply is an error.
pub async fn request(
    ws: &mut Ws,
    id: &str,
    frame: serde_json::Value,
) -> anyhow::Result<ServerFrame> {
    Ok(request_sized(ws, id, frame).await?.0)
}

/// [`request`], also giving the size in bytes of the reply's text.
pub async fn request_sized(
    ws: &mut Ws,
    id: &str,
    mut frame: serde_json::Value,
) -> anyhow::Result<(ServerFrame, usize)> {
    frame["req_id"] = serde_json::Value::from(id);
    let text = client_frame(frame)?;
    let needle = format!("\"req_id\":\"{id}\"");
    // The server limits requests per connection (`rate_limited`): setup
    // sends many in a row, so a refused one waits and goes again.
    for _ in 0..RATE_LIMIT_RETRIES {
        ws.send(Message::text(text.clone())).await?;
        let (reply, bytes) = loop {
            let text = next_text(ws).await?;
            if text.contains(&needle) {
                break (serde_json::from_str::<ServerFrame>(&text)?, text.len());
            }
        };
        match &reply {
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                ..
            } => tokio::time::sleep(RATE_LIMIT_PAUSE).await,
            ServerFrame::Error { code, message, .. } => {
                bail!("request {id} failed: {code}: {message}")
            }
            _ => return Ok((reply, bytes)),
        }
    }
    bail!("request {id} still rate-limited after {RATE_LIMIT_RETRIES} tries")
}

/// Retries of a rate-limited setup request, and the pause before each:
/// together longer than any refill of the server's per-connection bucket.
const RATE_LIMIT_RETRIES: usize = 60;
const RATE_LIMIT_PAUSE: Duration = Duration::from_millis(250);

pub async fn create_room(ws: &mut Ws, name: &str) -> anyhow::Result<RoomInfo> {
    let frame = json!({"type": "create_room", "name": name, "visibility": "private"});
    match request(ws, &req_id(), frame).await? {
        ServerFrame::Room { room, .. } => Ok(room),
        other => bail!("create_room: unexpected {other:?}"),
    }
}

pub async fn add_member(ws: &mut Ws, room: RoomId, username: &str) -> anyhow::Result<Pos> {
    let frame = json!({"type": "add_member", "room": room, "user": username});
    match request(ws, &req_id(), frame).await? {
        ServerFrame::Ok { pos, .. } => Ok(pos),
        other => bail!("add_member: unexpected {other:?}"),
    }
}

pub async fn leave(ws: &mut Ws, room: RoomId) -> anyhow::Result<Pos> {
    let frame = json!({"type": "leave", "room": room});
    match request(ws, &req_id(), frame).await? {
        ServerFrame::Ok { pos, .. } => Ok(pos),
        other => bail!("leave: unexpected {other:?}"),
    }
}

/// Add every `(room, username)` pair using `parallel` admin connections
/// (the admin may add anyone to any room without being a member, so these
/// connections receive none of the rooms' events).
pub async fn add_members_as_admin(
    addr: SocketAddr,
    admin_token: &str,
    pairs: Vec<(RoomId, String)>,
    parallel: usize,
) -> anyhow::Result<()> {
    let pairs = std::sync::Arc::new(pairs);
    let next = std::sync::Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel.max(1) {
        let (pairs, next, token) = (pairs.clone(), next.clone(), admin_token.to_owned());
        tasks.spawn(async move {
            let mut ws = login(addr, &token, Some(Pos::MAX), SMALL_READ_BUFFER).await?;
            until_caught_up(&mut ws).await?;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((room, user)) = pairs.get(i) else {
                    break;
                };
                add_member(&mut ws, *room, user).await?;
            }
            let _ = ws.close(None).await;
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

/// Make one private room per name as the admin, `parallel` connections at
/// a time, and leave each (so the admin hears none of their traffic); the
/// rooms in the order of `names`.
pub async fn create_rooms_as_admin(
    addr: SocketAddr,
    admin_token: &str,
    names: Vec<String>,
    parallel: usize,
) -> anyhow::Result<Vec<RoomId>> {
    let names = std::sync::Arc::new(names);
    let next = std::sync::Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..parallel.max(1) {
        let (names, next, token) = (names.clone(), next.clone(), admin_token.to_owned());
        tasks.spawn(async move {
            let mut ws = login(addr, &token, Some(Pos::MAX), SMALL_READ_BUFFER).await?;
            until_caught_up(&mut ws).await?;
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(name) = names.get(i) else {
                    break;
                };
                let room = create_room(&mut ws, name).await?.id;
                leave(&mut ws, room).await?;
                made.push((i, room));
            }
            let _ = ws.close(None).await;
            anyhow::Ok(made)
        });
    }
    let mut rooms = vec![None; names.len()];
    while let Some(r) = tasks.join_next().await {
        for (i, room) in r?? {
            rooms[i] = Some(room);
        }
    }
    rooms
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.with_context(|| format!("room {i} was not made")))
        .collect()
}

/// Connect every token with `resume` (no backlog when it is the current
/// position), `parallel` handshakes at a time; in the order given. Token
/// `i` connects to `addrs[i % addrs.len()]` (round-robin over a cluster's
/// nodes; one address for a single server).
pub async fn connect_all(
    addrs: &[SocketAddr],
    tokens: Vec<String>,
    resume: Option<Pos>,
    read_buffer: usize,
    parallel: usize,
) -> anyhow::Result<Vec<Ws>> {
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    anyhow::ensure!(!addrs.is_empty(), "no server to connect to");
    for (i, token) in tokens.into_iter().enumerate() {
        let limit = limit.clone();
        let addr = addrs[i % addrs.len()];
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            let (ws, _) = login_caught_up(addr, &token, resume, read_buffer).await?;
            anyhow::Ok((i, ws))
        });
    }
    let mut out = Vec::with_capacity(tasks.len());
    while let Some(r) = tasks.join_next().await {
        out.push(r??);
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, ws)| ws).collect())
}
