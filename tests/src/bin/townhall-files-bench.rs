//! File attachment figures (docs/benchmarks.md, "Files"): upload and
//! download throughput of one 25 MiB file through a real server on
//! loopback, and the server's resident memory while 20 uploads of 25 MiB
//! run at once (sampled every 10 ms from /proc).
//!
//!   cargo build --release -p townhall-server --bin townhall -p townhall-tests --bin townhall-files-bench
//!   TOWNHALL_BIN=target/release/townhall target/release/townhall-files-bench
//!
//! About 20 s. Prints one JSON line.

use std::time::{Duration, Instant};
use townhall_protocol::{ClientFrame, ServerFrame, Visibility};
use townhall_tests::TestServer;
use uuid::Uuid;

const MIB: usize = 1024 * 1024;
const SIZE: usize = 25 * MIB;
const ROUNDS: usize = 5;
const PARALLEL: usize = 20;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes that differ per call (so no two uploads are the same content).
fn payload(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut v = Vec::with_capacity(SIZE);
    while v.len() < SIZE {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(SIZE);
    v
}

async fn upload(http: &reqwest::Client, server: &TestServer, token: &str, body: Vec<u8>) -> Uuid {
    let r = http
        .post(server.http("/api/files"))
        .query(&[("name", "big.bin")])
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 201, "upload refused");
    let v: serde_json::Value = r.json().await.expect("json");
    v["id"].as_str().and_then(|s| s.parse().ok()).expect("id")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let server = TestServer::start_with(&["--file-quota-mb", "100000"]).await;
    let (_, token) = server.user("bench").await;
    let mut c = server.connect(&token).await;
    let room = c.create_room("files", Visibility::Public).await;
    let http = reqwest::Client::new();

    let mut up = Vec::new();
    let mut down = Vec::new();
    for round in 0..ROUNDS {
        let body = payload(round as u64 + 1);
        let started = Instant::now();
        let id = upload(&http, &server, &token, body).await;
        up.push(SIZE as f64 / MIB as f64 / started.elapsed().as_secs_f64());
        let ack = c
            .request(ClientFrame::Send {
                req_id: None,
                room: room.id,
                client_id: Uuid::new_v4(),
                body: String::new(),
                thread: None,
                question: false,
                attachments: vec![id],
            })
            .await;
        assert!(matches!(ack, ServerFrame::Ack { .. }), "{ack:?}");
        let started = Instant::now();
        let bytes = http
            .get(server.http(&format!("/api/files/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("download")
            .bytes()
            .await
            .expect("body");
        assert_eq!(bytes.len(), SIZE);
        down.push(SIZE as f64 / MIB as f64 / started.elapsed().as_secs_f64());
    }

    // 20 at once; the bodies are made before the clock starts.
    let pid = server.pid();
    let idle_kib = rss_kib(pid);
    let bodies: Vec<Vec<u8>> = (0..PARALLEL).map(|i| payload(100 + i as u64)).collect();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(idle_kib));
    let done = tokio_util_like_flag();
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let started = Instant::now();
    let mut tasks = Vec::new();
    for body in bodies {
        let (http, token, url) = (http.clone(), token.clone(), server.http("/api/files"));
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .query(&[("name", "p.bin")])
                .bearer_auth(token)
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .expect("upload");
            r.status().as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap_or(0) == 201 {
            ok += 1;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sampler.await;
    let peak_kib = peak.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "file_mib": SIZE / MIB,
            "upload_mib_s_median": (median(up) * 10.0).round() / 10.0,
            "download_mib_s_median": (median(down) * 10.0).round() / 10.0,
            "parallel_uploads": PARALLEL,
            "parallel_ok": ok,
            "parallel_wall_s": (wall * 100.0).round() / 100.0,
            "parallel_mib_s": ((PARALLEL * SIZE / MIB) as f64 / wall * 10.0).round() / 10.0,
            "rss_before_mib": idle_kib / 1024,
            "rss_peak_mib": peak_kib / 1024,
        })
    );
}

fn tokio_util_like_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false))
}
