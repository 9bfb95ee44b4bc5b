//! Backup figures (issue 14): post N messages through a real server, then
//! time `townhall backup` against it while a writer keeps sending (durable
//! acks per second before and during the backup, in the same run), then
//! time `townhall restore` and start a server on the restored folder.
//!
//! ```text
//! cargo build --release -p townhall-server --bin townhall
//! TOWNHALL_BIN=target/release/townhall cargo run --release -p townhall-tests \
//!     --bin townhall-backup-bench -- --messages 1000000
//! ```
//! Prints one line per figure: posting time, data folder size, backup time
//! and file size, acks/s before and during the backup, restore time and
//! the restored folder's size, and whether the restored server shows the
//! room's last message.

use clap::Parser;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use townhall_protocol::{ClientFrame, RoomId, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer, binary, dir_bytes};

#[derive(Parser)]
struct Args {
    /// Messages to post before the backup.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Seconds of writing measured before the backup starts.
    #[arg(long, default_value_t = 10)]
    baseline_secs: u64,
}

/// Sends waiting for their ack at once (the server's per-connection cap).
const WINDOW: usize = 256;

/// A body of about 80 bytes, different for each message.
fn body(i: usize) -> String {
    format!("message {i:08} about the new structure, the move in March and the canteen {i:x}")
}

async fn send(c: &mut Client, room: RoomId, body: String) {
    c.send(&ClientFrame::Send {
        req_id: None,
        room,
        client_id: uuid::Uuid::new_v4(),
        body,
        thread: None,
        question: false,
        attachments: Vec::new(),
    })
    .await;
}

async fn ack(c: &mut Client) {
    c.expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
        .await;
}

/// Post `n` messages with `WINDOW` in flight; returns when all are acked.
async fn post(c: &mut Client, room: RoomId, n: usize, from: usize) {
    let mut waiting = 0usize;
    for i in 0..n {
        send(c, room, body(from + i)).await;
        waiting += 1;
        if waiting == WINDOW {
            ack(c).await;
            waiting -= 1;
            // Our own messages come back as live events: drop them so
            // memory stays flat.
            while c.pending_frame().is_some() {}
            c.seen.clear();
        }
    }
    for _ in 0..waiting {
        ack(c).await;
    }
    c.seen.clear();
}

/// Keep sending with a window until `stop`; counts acks into `acks` and
/// records the longest wait between two acks while `watch` is set, in
/// microseconds, into `gap`.
async fn writer(
    mut c: Client,
    room: RoomId,
    stop: Arc<AtomicBool>,
    acks: Arc<AtomicU64>,
    watch: Arc<AtomicBool>,
    gap: Arc<AtomicU64>,
) {
    let mut last = Instant::now();
    let mut waiting = 0usize;
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        send(&mut c, room, body(i)).await;
        i += 1;
        waiting += 1;
        if waiting == 64 {
            ack(&mut c).await;
            acks.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            if watch.load(Ordering::Relaxed) {
                gap.fetch_max((now - last).as_micros() as u64, Ordering::Relaxed);
            }
            last = now;
            waiting -= 1;
            while c.pending_frame().is_some() {}
            c.seen.clear();
        }
    }
    for _ in 0..waiting {
        ack(&mut c).await;
    }
}

fn mib(b: u64) -> f64 {
    b as f64 / 1_048_576.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let mut alice = server.connect(&token).await;
    let room = alice.create_room("bench", Visibility::Public).await.id;

    let t = Instant::now();
    post(&mut alice, room, args.messages, 0).await;
    let posted = t.elapsed();
    println!(
        "posted {} messages in {:.1} s ({:.0}/s, durable acks); data folder {:.1} MiB",
        args.messages,
        posted.as_secs_f64(),
        args.messages as f64 / posted.as_secs_f64(),
        mib(dir_bytes(&server.data))
    );

    // A writer sends throughout; its acks are counted before and during.
    let (_, wtoken) = server.user("writer").await;
    let mut w = server.connect(&wtoken).await;
    if let ServerFrame::Error { code, .. } =
        w.request(ClientFrame::Join { req_id: None, room }).await
    {
        panic!("join: {code:?}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(AtomicU64::new(0));
    let watch = Arc::new(AtomicBool::new(false));
    let gap = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn(writer(
        w,
        room,
        stop.clone(),
        acks.clone(),
        watch.clone(),
        gap.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await; // warm-up
    let a0 = acks.load(Ordering::Relaxed);
    watch.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(args.baseline_secs)).await;
    let before = (acks.load(Ordering::Relaxed) - a0) as f64 / args.baseline_secs as f64;
    let gap_before = gap.swap(0, Ordering::Relaxed);

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("townhall.backup");
    let a1 = acks.load(Ordering::Relaxed);
    let t = Instant::now();
    let out = tokio::process::Command::new(binary())
        .args([
            "backup",
            "--from",
            &format!("http://{}", server.addr),
            "--to",
        ])
        .arg(&file)
        .env("TOWNHALL_ADMIN_TOKEN", &server.admin_token)
        .output()
        .await
        .expect("run townhall backup");
    let took = t.elapsed();
    let during = (acks.load(Ordering::Relaxed) - a1) as f64 / took.as_secs_f64();
    let gap_during = gap.load(Ordering::Relaxed);
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop.store(true, Ordering::Relaxed);
    let _ = task.await;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup: {:.1} s, file {:.1} MiB (gzip)",
        took.as_secs_f64(),
        mib(size)
    );
    println!(
        "writer (1 connection, 64 in flight): {before:.0} acks/s before the backup, {during:.0} acks/s during it ({:+.0} %)",
        (during / before - 1.0) * 100.0
    );
    println!(
        "writer's longest wait between two acks: {:.1} ms before the backup, {:.1} ms during it",
        gap_before as f64 / 1000.0,
        gap_during as f64 / 1000.0
    );

    let restored = dir.path().join("restored");
    let t = Instant::now();
    let out = tokio::process::Command::new(binary())
        .arg("restore")
        .arg(&file)
        .arg("--data")
        .arg(&restored)
        .output()
        .await
        .expect("run townhall restore");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "restore: {:.1} s, folder {:.1} MiB",
        took.as_secs_f64(),
        mib(dir_bytes(&restored))
    );

    // The restored folder serves the room: its last message is one of ours.
    let r = TestServer::start_in(&restored, &[]).await;
    let login = r.login("alice", "alice-password").await;
    let mut c = r.connect(&login.token).await;
    match c
        .request(ClientFrame::History {
            req_id: None,
            room,
            before: None,
            after: None,
            limit: Some(1),
        })
        .await
    {
        ServerFrame::History { events, .. } => {
            let last = events.last().map(|e| e.seq);
            println!("restored server: room's last seq {last:?}");
        }
        other => panic!("history on the restored server: {other:?}"),
    }
}
