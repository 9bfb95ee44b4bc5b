//! # Black-box test harness
//!
//! [`TestServer`] runs the real `townhall` binary on `127.0.0.1:0` with a
//! fresh sled folder in a temporary directory; [`Client`] is a real
//! WebSocket client (tokio-tungstenite) speaking the `townhall-protocol`
//! frames. Every wait has a timeout and, on failure, prints what was seen.
//!
//! The binary is found at `$TOWNHALL_BIN`, or next to the test executable's
//! target folder (`target/debug/townhall`); `scripts/test.sh` builds it first.

pub mod cluster;
pub mod nats;

use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use townhall_protocol::http::LoginResponse;
use townhall_protocol::{
    ClientFrame, Content, ErrorCode, Event, PROTOCOL_VERSION, Pos, RoomId, RoomInfo, RoomSeq,
    ServerFrame, UserInfo, Visibility,
};
use uuid::Uuid;

/// How long any single expected frame may take. Generous: CI runs on two
/// busy cores; a correct server answers in milliseconds.
pub const WAIT: Duration = Duration::from_secs(15);

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("TOWNHALL_BIN") {
        return PathBuf::from(p);
    }
    // target/debug/deps/<test> → target/debug/townhall
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("townhall");
    assert!(
        bin.exists(),
        "{} not found: build it first (`cargo build -p townhall-server --bin townhall`) or set TOWNHALL_BIN",
        bin.display()
    );
    bin
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    pub admin_token: String,
    extra_args: Vec<String>,
}

/// Apparent size of every file under `path`, bytes (benches report data
/// folder and index sizes with it).
pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A log's lines without the frames of its backtraces: a frame
/// (`  12: some::function`, `      at src/file.rs:10:5`) is dropped only
/// after a `Stack backtrace:` (anyhow) or `stack backtrace:` (a panic)
/// header and until the next line that is not one, so an error's numbered
/// causes above the header (`    0: cannot listen`) stay.
fn without_backtraces(text: &str) -> Vec<&str> {
    let mut in_trace = false;
    text.lines()
        .filter(|line| {
            let t = line.trim_start();
            if t == "Stack backtrace:" || t == "stack backtrace:" {
                in_trace = true;
                return true;
            }
            let frame = t.len() != line.len()
                && (t.starts_with("at ")
                    || t.split_once(": ").is_some_and(|(n, _)| {
                        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                    }));
            in_trace &= frame;
            !in_trace
        })
        .collect()
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra_args: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let mut s = TestServer {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data,
            _dir: Some(dir),
            child: None,
            admin_token: String::new(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        s.spawn(0).await;
        s.admin_token = s.login("admin", ADMIN_PASSWORD).await.token;
        s
    }

    /// Start on a given data folder (which may not exist yet).
    pub async fn start_in(data: &Path, extra_args: &[&str]) -> TestServer {
        let mut s = TestServer {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: data.to_path_buf(),
            _dir: None,
            child: None,
            admin_token: String::new(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        s.spawn(0).await;
        s.admin_token = s.login("admin", ADMIN_PASSWORD).await.token;
        s
    }

    async fn spawn(&mut self, port: u16) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data.with_extension("log"))
            .expect("log file");
        let mut child = Command::new(binary())
            .arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(&self.data)
            // Tests pipeline thousands of requests; the rate-limit test sets its own.
            .args(self.default_rate_limit())
            .args(&self.extra_args)
            .env("TOWNHALL_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn townhall");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    return rest.parse::<SocketAddr>().expect("address");
                }
            }
            // The data folder is a temporary one, gone after the panic:
            // the log's last lines go into the message, without the frames
            // of a backtrace (with RUST_BACKTRACE set, as in CI, they filled
            // the whole tail and hid the error above them: "only 0 MiB
            // free" on a full disk).
            let log = self.data.with_extension("log");
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines = without_backtraces(&text);
            let tail = &lines[lines.len().saturating_sub(30)..];
            panic!(
                "townhall exited before listening; {}:\n{}",
                log.display(),
                tail.join("\n")
            );
        })
        .await
        .expect("townhall did not start in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.addr = addr;
        self.child = Some(child);
    }

    fn default_rate_limit(&self) -> Vec<&'static str> {
        if self.extra_args.iter().any(|a| a == "--requests-per-sec") {
            Vec::new()
        } else {
            vec!["--requests-per-sec", "1000000"]
        }
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(|c| c.id()).expect("running")
    }

    /// Wait for the process to exit by itself; its exit code.
    pub async fn wait_exit(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        c.wait().await.ok().and_then(|s| s.code())
    }

    /// SIGKILL: no shutdown, no final flush.
    pub async fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
            let _ = c.wait().await;
        }
    }

    /// SIGTERM and wait for exit; returns the exit status code.
    pub async fn stop(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let pid = c.id()?;
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        let status = tokio::time::timeout(Duration::from_secs(20), c.wait())
            .await
            .expect("townhall did not exit within 20 s of SIGTERM")
            .expect("wait");
        status.code()
    }

    /// Start again on the same data folder and port.
    pub async fn restart(&mut self) {
        let port = self.addr.port();
        self.spawn(port).await;
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn login(&self, username: &str, password: &str) -> LoginResponse {
        let resp = reqwest::Client::new()
            .post(self.http("/api/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request");
        assert!(
            resp.status().is_success(),
            "login of {username} failed: {}",
            resp.status()
        );
        resp.json().await.expect("login body")
    }

    /// Create a staff user (password = username + "-password") and log in.
    pub async fn user(&self, username: &str) -> (UserInfo, String) {
        self.user_with_role(username, "staff").await
    }

    pub async fn user_with_role(&self, username: &str, role: &str) -> (UserInfo, String) {
        let password = format!("{username}-password");
        let resp = reqwest::Client::new()
            .post(self.http("/api/admin/users"))
            .bearer_auth(&self.admin_token)
            .json(&serde_json::json!({"username": username, "password": password, "role": role}))
            .send()
            .await
            .expect("create user");
        assert_eq!(
            resp.status().as_u16(),
            201,
            "create {username}: {}",
            resp.text().await.unwrap_or_default()
        );
        let login = self.login(username, &password).await;
        (login.user, login.token)
    }

    /// An admin puts `username` in the transformation team.
    pub async fn make_team(&self, username: &str) {
        let r = reqwest::Client::new()
            .patch(self.http(&format!("/api/admin/users/{username}")))
            .bearer_auth(&self.admin_token)
            .json(&serde_json::json!({"transformation_team": true}))
            .send()
            .await
            .expect("patch");
        assert_eq!(r.status().as_u16(), 200, "make {username} a team member");
    }

    /// The admin's entry for one account (`GET /api/admin/users`), if any.
    pub async fn admin_user_entry(&self, username: &str) -> Option<serde_json::Value> {
        let users: Vec<serde_json::Value> = reqwest::Client::new()
            .get(self.http("/api/admin/users"))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .expect("list users")
            .json()
            .await
            .expect("users json");
        users
            .into_iter()
            .find(|u| u["user"]["username"] == username)
    }

    /// Connect and authenticate; returns after `welcome`.
    pub async fn connect(&self, token: &str) -> Client {
        self.connect_from(token, None, None).await
    }

    pub async fn connect_from(
        &self,
        token: &str,
        resume: Option<Pos>,
        device: Option<&str>,
    ) -> Client {
        let mut c = Client::open(&self.ws_url()).await;
        c.send(&ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            token: token.to_owned(),
            resume,
            device: device.map(str::to_owned),
        })
        .await;
        match c.next().await {
            ServerFrame::Welcome { .. } => c,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Connect and read the whole backlog up to `caught_up`.
    pub async fn connect_caught_up(
        &self,
        token: &str,
        resume: Option<Pos>,
        device: Option<&str>,
    ) -> (Client, Vec<Event>, Pos) {
        let mut c = self.connect_from(token, resume, device).await;
        let (events, pos) = c.until_caught_up().await;
        (c, events, pos)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
    }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while waiting for something else, oldest first.
    pending: VecDeque<ServerFrame>,
    /// Everything received, for failure messages.
    pub seen: Vec<String>,
    next_req: u64,
}

impl Client {
    pub async fn open(url: &str) -> Client {
        // The client reads no message over the server's documented frame
        // cap, so every test checks that the server keeps to it.
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(townhall_protocol::MAX_SERVER_FRAME_BYTES))
            .max_frame_size(Some(townhall_protocol::MAX_SERVER_FRAME_BYTES));
        let connect = tokio_tungstenite::connect_async_with_config(url, Some(config), false);
        let (ws, _) = tokio::time::timeout(WAIT, connect)
            .await
            .expect("connect timed out")
            .expect("connect");
        Client {
            ws,
            pending: VecDeque::new(),
            seen: Vec::new(),
            next_req: 1,
        }
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_raw(&frame.to_json()).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// Send without panicking when the socket is gone.
    pub async fn try_send_raw(&mut self, text: &str) -> Result<(), String> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }

    /// Send any message (raw frames included) without panicking when the socket is gone.
    pub async fn try_send_message(&mut self, msg: Message) -> Result<(), String> {
        self.ws.send(msg).await.map_err(|e| e.to_string())
    }

    pub async fn send_message(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send");
    }

    /// The next raw message (or None when the socket ended), with a timeout.
    pub async fn next_message(&mut self) -> Option<Message> {
        match tokio::time::timeout(WAIT, self.ws.next()).await {
            Ok(Some(Ok(m))) => Some(m),
            Ok(_) => None,
            Err(_) => panic!("no message within {WAIT:?}; seen: {:#?}", self.tail()),
        }
    }

    /// The last frames seen, each cut to 300 characters, for failure messages.
    fn tail(&self) -> Vec<String> {
        self.seen[self.seen.len().saturating_sub(20)..]
            .iter()
            .map(|s| match s.char_indices().nth(300) {
                Some((i, _)) => format!("{}…", &s[..i]),
                None => s.clone(),
            })
            .collect()
    }

    async fn read_frame(&mut self) -> ServerFrame {
        loop {
            match self.next_message().await {
                Some(Message::Text(t)) => {
                    self.seen.push(t.to_string());
                    return serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("bad frame {t}: {e}"));
                }
                Some(Message::Close(c)) => panic!("socket closed: {c:?}; seen: {:#?}", self.tail()),
                Some(_) => continue,
                None => panic!("socket ended; seen: {:#?}", self.tail()),
            }
        }
    }

    /// The next frame, buffered ones first; skips presence, typing and read markers.
    pub async fn next(&mut self) -> ServerFrame {
        loop {
            let f = match self.pending.pop_front() {
                Some(f) => f,
                None => self.read_frame().await,
            };
            // Presence, typing and read-marker sync are side traffic.
            if !matches!(
                f,
                ServerFrame::Presence { .. }
                    | ServerFrame::Typing { .. }
                    | ServerFrame::ReadMarker { .. }
            ) {
                return f;
            }
        }
    }

    /// Wait for a frame matching `pred`, keeping the others for later.
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
        if let Some(i) = self.pending.iter().position(&pred) {
            return self.pending.remove(i).expect("index");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let f = tokio::time::timeout_at(deadline, self.read_frame())
                .await
                .unwrap_or_else(|_| panic!("waited {WAIT:?} for {what}; seen: {:#?}", self.tail()));
            if pred(&f) {
                return f;
            }
            self.pending.push_back(f);
        }
    }

    /// Send a request with a fresh req_id; return its reply or error. A
    /// reply split into parts (`more: true`) comes back joined.
    pub async fn request(&mut self, frame: ClientFrame) -> ServerFrame {
        self.request_parts(frame).await.0
    }

    /// Like [`Client::request`], and how many frames the reply came in.
    pub async fn request_parts(&mut self, mut frame: ClientFrame) -> (ServerFrame, usize) {
        let id = format!("r{}", self.next_req);
        self.next_req += 1;
        set_req_id(&mut frame, id.clone());
        self.send(&frame).await;
        let what = format!("reply to {id}");
        let is_reply = |f: &ServerFrame| reply_id(f) == Some(id.as_str());
        let mut reply = self.expect(&what, is_reply).await;
        let mut parts = 1;
        while reply.has_more_parts() {
            let next = self.expect(&what, is_reply).await;
            parts += 1;
            if let Err(other) = reply.absorb(next) {
                panic!("part {parts} of {id} is another kind of reply: {other:?}");
            }
        }
        (reply, parts)
    }

    /// The next event (live or backlog).
    pub async fn next_event(&mut self) -> Event {
        match self
            .expect("an event", |f| matches!(f, ServerFrame::Event(_)))
            .await
        {
            ServerFrame::Event(e) => e,
            _ => unreachable!(),
        }
    }

    /// Take a frame already received and buffered, if any.
    pub fn pending_frame(&mut self) -> Option<ServerFrame> {
        self.pending.pop_front()
    }

    /// Wait for an event matching `pred` (other frames are kept for later).
    pub async fn event_where(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        match self
            .expect(what, |f| matches!(f, ServerFrame::Event(e) if pred(e)))
            .await
        {
            ServerFrame::Event(e) => e,
            _ => unreachable!(),
        }
    }

    /// Wait for the message event with this body.
    pub async fn message(&mut self, text: &str) -> Event {
        self.event_where(&format!("message {text:?}"), |e| body(e) == Some(text))
            .await
    }

    /// Events until `caught_up`; returns them and the caught-up position.
    pub async fn until_caught_up(&mut self) -> (Vec<Event>, Pos) {
        let mut events = Vec::new();
        let mut notices = Vec::new();
        loop {
            match self.next().await {
                ServerFrame::Event(e) => events.push(e),
                ServerFrame::CaughtUp { pos } => {
                    // Notices of the same positions come with the backlog;
                    // kept, in order, for the test to read.
                    self.pending.extend(notices);
                    return (events, pos);
                }
                notice @ (ServerFrame::Notice { .. } | ServerFrame::BroadcastReminder { .. }) => {
                    notices.push(notice)
                }
                other => panic!("unexpected before caught_up: {other:?}"),
            }
        }
    }

    /// The room's latest page of history (the server's default limit).
    pub async fn latest_history(&mut self, room: RoomId) -> Vec<Event> {
        match self
            .request(ClientFrame::History {
                req_id: None,
                room,
                before: None,
                after: None,
                limit: None,
            })
            .await
        {
            ServerFrame::History { events, .. } => events,
            other => panic!("expected history, got {other:?}"),
        }
    }

    pub async fn create_room(&mut self, name: &str, visibility: Visibility) -> RoomInfo {
        match self
            .request(ClientFrame::CreateRoom {
                req_id: None,
                name: name.into(),
                topic: String::new(),
                visibility,
                announce_only: false,
            })
            .await
        {
            ServerFrame::Room { room, .. } => room,
            other => panic!("create_room: {other:?}"),
        }
    }

    /// Open (or find) the direct-message room with `user`; its id.
    pub async fn open_dm(&mut self, user: &str) -> RoomId {
        match self
            .request(ClientFrame::OpenDm {
                req_id: None,
                user: user.into(),
            })
            .await
        {
            ServerFrame::Room { room, .. } => room.id,
            other => panic!("open_dm: {other:?}"),
        }
    }

    pub async fn join(&mut self, room: RoomId) -> ServerFrame {
        self.request(ClientFrame::Join { req_id: None, room }).await
    }

    pub async fn add_member(&mut self, room: RoomId, user: &str) -> ServerFrame {
        self.request(ClientFrame::AddMember {
            req_id: None,
            room,
            user: user.into(),
        })
        .await
    }

    /// Post and wait for the ack; returns (client_id, seq, pos).
    pub async fn post(&mut self, room: RoomId, body: &str) -> (Uuid, u64, Pos) {
        let client_id = Uuid::new_v4();
        match self.post_with_id(room, client_id, body).await {
            ServerFrame::Ack { seq, pos, .. } => (client_id, seq, pos),
            other => panic!("post: {other:?}"),
        }
    }

    /// Send `count` messages `{prefix}0`, `{prefix}1`, … without waiting
    /// for their acks (a burst; the acks stay queued for later reads).
    pub async fn send_burst(&mut self, room: RoomId, prefix: &str, count: usize) {
        for i in 0..count {
            self.send(&ClientFrame::Send {
                req_id: None,
                room,
                client_id: Uuid::new_v4(),
                body: format!("{prefix}{i}"),
                thread: None,
                question: false,
                attachments: Vec::new(),
            })
            .await;
        }
    }

    /// Pipeline `count` messages `m0`, `m1`, … without waiting, then wait
    /// for all their acks (other frames are kept for later).
    pub async fn post_pipelined(&mut self, room: RoomId, count: usize) {
        self.send_burst(room, "m", count).await;
        for _ in 0..count {
            self.expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
                .await;
        }
    }

    pub async fn post_with_id(&mut self, room: RoomId, client_id: Uuid, body: &str) -> ServerFrame {
        self.request(ClientFrame::Send {
            req_id: None,
            room,
            client_id,
            body: body.into(),
            thread: None,
            question: false,
            attachments: Vec::new(),
        })
        .await
    }

    /// Send a request that must be answered `ok`.
    pub async fn expect_ok(&mut self, frame: ClientFrame) {
        match self.request(frame).await {
            ServerFrame::Ok { .. } => {}
            other => panic!("expected ok, got {other:?}"),
        }
    }

    /// Post a message (a question when `question`, a thread reply under
    /// `thread`); its seq once durable.
    pub async fn post_in(
        &mut self,
        room: RoomId,
        body: &str,
        question: bool,
        thread: Option<RoomSeq>,
    ) -> RoomSeq {
        match self
            .request(ClientFrame::Send {
                req_id: None,
                room,
                client_id: Uuid::new_v4(),
                body: body.into(),
                thread,
                question,
                attachments: Vec::new(),
            })
            .await
        {
            ServerFrame::Ack { seq, .. } => seq,
            other => panic!("expected ack, got {other:?}"),
        }
    }

    /// Post `body` and mark it as the answer to `question`; its seq.
    pub async fn answer_with(&mut self, room: RoomId, question: RoomSeq, body: &str) -> RoomSeq {
        let answer = self.post_in(room, body, false, None).await;
        self.expect_ok(ClientFrame::MarkAnswer {
            req_id: None,
            room,
            question,
            answer,
        })
        .await;
        answer
    }

    /// Expect an error reply with this code.
    pub async fn expect_error(&mut self, frame: ClientFrame, code: ErrorCode) {
        match self.request(frame).await {
            ServerFrame::Error { code: got, .. } if got == code => {}
            other => panic!("expected error {code}, got {other:?}"),
        }
    }

    /// Wait until the server closes the socket; returns the close code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        loop {
            match self.next_message().await {
                Some(Message::Close(c)) => return c.map(|c| u16::from(c.code)),
                Some(Message::Text(t)) => self.seen.push(t.to_string()),
                Some(_) => {}
                None => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

fn set_req_id(frame: &mut ClientFrame, id: String) {
    use ClientFrame::*;
    match frame {
        Send { req_id, .. }
        | Edit { req_id, .. }
        | Delete { req_id, .. }
        | React { req_id, .. }
        | MarkAnswer { req_id, .. }
        | MergeQuestions { req_id, .. }
        | Questions { req_id, .. }
        | Vote { req_id, .. }
        | FollowThread { req_id, .. }
        | BroadcastRemind { req_id, .. }
        | OpenDm { req_id, .. }
        | UpdateRoom { req_id, .. }
        | CreateRoom { req_id, .. }
        | Join { req_id, .. }
        | Leave { req_id, .. }
        | AddMember { req_id, .. }
        | RemoveMember { req_id, .. }
        | SetRoomRole { req_id, .. }
        | Broadcast { req_id, .. }
        | Follow { req_id, .. }
        | Reach { req_id, .. }
        | PendingAcks { req_id }
        | ReceivedBroadcasts { req_id, .. }
        | SentBroadcasts { req_id, .. }
        | Following { req_id }
        | Block { req_id, .. }
        | Blocked { req_id }
        | SetDisplayName { req_id, .. }
        | MyQuestions { req_id }
        | Thread { req_id, .. }
        | MyRooms { req_id }
        | Directory { req_id }
        | Members { req_id, .. }
        | Users { req_id }
        | History { req_id, .. }
        | MarkRead { req_id, .. }
        | AckPos { req_id, .. }
        | Summary { req_id }
        | Online { req_id }
        | Ping { req_id }
        | Search { req_id, .. }
        | SetAnonymousQuestions { req_id, .. }
        | AnonymousSettings { req_id }
        | AskAnonymously { req_id, .. }
        | MyAnonymousQuestions { req_id }
        | EditAnonymous { req_id, .. }
        | WithdrawAnonymous { req_id, .. }
        | ModerationQueue { req_id }
        | Moderate { req_id, .. }
        | WatchAdd { req_id, .. }
        | WatchRemove { req_id, .. }
        | WatchList { req_id }
        | WatchAlerts { req_id, .. }
        | WatchCounts { req_id, .. }
        | RetentionSet { req_id, .. }
        | RetentionClear { req_id, .. }
        | Retention { req_id }
        | LegalHoldSet { req_id, .. }
        | LegalHoldClear { req_id, .. } => *req_id = Some(id),
        Pulse { req_id, .. } => *req_id = Some(id),
        FaqPublish { req_id, .. }
        | FaqTags { req_id, .. }
        | FaqUnpublish { req_id, .. }
        | Faq { req_id, .. }
        | FaqAnswer { req_id, .. } => *req_id = Some(id),
        Hello { .. } | Typing { .. } | BroadcastReceipt { .. } => {
            panic!("{frame:?} has no reply")
        }
    }
}

pub fn reply_id(f: &ServerFrame) -> Option<&str> {
    f.req_id()
}

/// The body of a message event, or None for other events.
pub fn body(e: &Event) -> Option<&str> {
    match &e.content {
        Content::Message { body, .. } => Some(body),
        _ => None,
    }
}

/// Message bodies of events, in order.
pub fn bodies(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| body(e).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn backtrace_frames_are_dropped_and_an_errors_causes_kept() {
        let log = "\
2026-12-01T22:39:38.767294Z ERROR townhall_server::committer: disk nearly full
Error: townhall

Caused by:
    0: cannot listen on 127.0.0.1:1
    1: Address already in use (os error 98)

Stack backtrace:
   0: <E as anyhow::context::ext::StdError>::ext_context
             at ./server/src/main.rs:287:14
  17: std::sys::backtrace::__rust_begin_short_backtrace
  32: _start
thread 'main' panicked at server/src/main.rs:1:1:
boom
stack backtrace:
   0: __rustc::rust_begin_unwind
             at /rustc/library/std/src/panicking.rs:689:5
note: Some details are omitted";
        assert_eq!(
            super::without_backtraces(log),
            [
                "2026-12-01T22:39:38.767294Z ERROR townhall_server::committer: disk nearly full",
                "Error: townhall",
                "",
                "Caused by:",
                "    0: cannot listen on 127.0.0.1:1",
                "    1: Address already in use (os error 98)",
                "",
                "Stack backtrace:",
                "thread 'main' panicked at server/src/main.rs:1:1:",
                "boom",
                "stack backtrace:",
                "note: Some details are omitted",
            ]
        );
    }
}
