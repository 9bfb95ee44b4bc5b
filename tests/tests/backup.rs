//! Online backup: `townhall backup` against a server taking writes, then
//! `townhall restore`, then a server on the restored folder.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use townhall_protocol::{ClientFrame, Pos, RoomId, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer, body};
use uuid::Uuid;

/// Sends each writer keeps in flight: enough to keep several group
/// commits busy while the snapshot is taken.
const WINDOW: usize = 16;
const WRITERS: usize = 4;

/// Send windows of messages until told to stop; every acked message as
/// (body, position).
async fn write_until(
    mut c: Client,
    room: RoomId,
    who: usize,
    stop: Arc<AtomicBool>,
) -> Vec<(String, Pos)> {
    let mut acked = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut sent = HashMap::new();
        for _ in 0..WINDOW {
            let client_id = Uuid::new_v4();
            let text = format!("w{who}-{n}");
            n += 1;
            c.send(&ClientFrame::Send {
                req_id: None,
                room,
                client_id,
                body: text.clone(),
                thread: None,
                question: false,
                attachments: Vec::new(),
            })
            .await;
            sent.insert(client_id, text);
        }
        while !sent.is_empty() {
            match c
                .expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
                .await
            {
                ServerFrame::Ack { client_id, pos, .. } => {
                    let text = sent.remove(&client_id).expect("an ack of a send of ours");
                    acked.push((text, pos));
                }
                _ => unreachable!(),
            }
        }
        // Live copies of our own messages are not needed here.
        while c.pending_frame().is_some() {}
    }
    acked
}

/// Every message body in a room, oldest first, paging through history.
async fn room_bodies(c: &mut Client, room: RoomId) -> Vec<(String, Pos)> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        match c
            .request(ClientFrame::History {
                req_id: None,
                room,
                before: None,
                after: Some(after),
                limit: Some(500),
            })
            .await
        {
            ServerFrame::History {
                events, has_more, ..
            } => {
                for e in &events {
                    after = after.max(e.seq);
                    if let Some(b) = body(e) {
                        out.push((b.to_owned(), e.pos));
                    }
                }
                if !has_more || events.is_empty() {
                    return out;
                }
            }
            other => panic!("history: {other:?}"),
        }
    }
}

async fn run_backup(server: &TestServer, token: &str, to: &Path) -> std::process::Output {
    tokio::process::Command::new(townhall_tests::binary())
        .args(["backup", "--from", &server.http(""), "--to"])
        .arg(to)
        .env("TOWNHALL_ADMIN_TOKEN", token)
        .output()
        .await
        .expect("run townhall backup")
}

async fn run_restore(file: &Path, data: &Path) -> std::process::Output {
    tokio::process::Command::new(townhall_tests::binary())
        .arg("restore")
        .arg(file)
        .arg("--data")
        .arg(data)
        .output()
        .await
        .expect("run townhall restore")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_backup_under_live_writes_restores_exactly_what_was_acked_at_its_position() {
    let server = TestServer::start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    let mut rooms = Vec::new();
    for who in 0..WRITERS {
        let name = format!("writer{who}");
        let (_, token) = server.user(&name).await;
        let (mut c, _, _) = server.connect_caught_up(&token, None, None).await;
        let room = c
            .create_room(&format!("room {who}"), Visibility::Public)
            .await
            .id;
        rooms.push((name, room));
        writers.push(tokio::spawn(write_until(c, room, who, stop.clone())));
    }

    // Writes flow before, during and after the backup.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("townhall.thb");
    let backup = run_backup(&server, &server.admin_token, &file).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert!(backup.status.success(), "backup: {}", text(&backup));
    let stdout = String::from_utf8_lossy(&backup.stdout);
    let at: Pos = stdout
        .split_whitespace()
        .skip_while(|w| *w != "position")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no position in: {stdout}"));
    let file_bytes = std::fs::read(&file).expect("backup file");
    assert_eq!(&file_bytes[..2], &[0x1f, 0x8b], "the backup is gzip");
    assert!(
        !townhall_tests_tmp(&file).exists(),
        "no FILE.tmp is left behind"
    );
    let before = acked.iter().filter(|(_, p)| *p <= at).count();
    let after = acked.len() - before;
    println!(
        "{} acked; backup at position {at}: {before} at or before, {after} after; {} bytes compressed; backup said: {}",
        acked.len(),
        file_bytes.len(),
        stdout.trim()
    );
    assert!(
        before > 0 && after > 0,
        "writes before and after the backup"
    );

    // Restore into a new folder and serve it.
    let data = dir.path().join("restored");
    let restore = run_restore(&file, &data).await;
    assert!(restore.status.success(), "restore: {}", text(&restore));
    assert!(
        String::from_utf8_lossy(&restore.stdout).contains(&format!("position {at}")),
        "restore: {}",
        text(&restore)
    );
    let restored = TestServer::start_in(&data, &[]).await;
    let mut found = Vec::new();
    for (name, room) in &rooms {
        let token = restored
            .login(name, &format!("{name}-password"))
            .await
            .token;
        let mut c = restored.connect(&token).await;
        found.extend(room_bodies(&mut c, *room).await);
    }

    let want: HashSet<&str> = acked
        .iter()
        .filter(|(_, p)| *p <= at)
        .map(|(b, _)| b.as_str())
        .collect();
    let mut seen = HashSet::new();
    let duplicated: Vec<_> = found
        .iter()
        .filter(|(b, _)| !seen.insert(b.as_str()))
        .collect();
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    let beyond: Vec<_> = found.iter().filter(|(_, p)| *p > at).collect();
    assert!(
        beyond.is_empty(),
        "after the backup's position {at}: {beyond:?}"
    );
    let missing: Vec<_> = want.iter().filter(|b| !seen.contains(*b)).collect();
    assert!(
        missing.is_empty(),
        "acked at or before {at} but missing: {missing:?}"
    );
    let extra: Vec<_> = seen.iter().filter(|b| !want.contains(*b)).collect();
    assert!(
        extra.is_empty(),
        "restored but not acked by {at}: {extra:?}"
    );
    // Positions survive too: every message is where its ack said.
    let acked_pos: HashMap<&str, Pos> = acked.iter().map(|(b, p)| (b.as_str(), *p)).collect();
    for (b, p) in &found {
        assert_eq!(acked_pos.get(b.as_str()), Some(p), "{b}");
    }
}

fn townhall_tests_tmp(file: &Path) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".tmp");
    name.into()
}

#[tokio::test]
async fn truncated_or_damaged_backups_and_non_admins_are_refused_and_leave_nothing() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    a.post_pipelined(room.id, 200).await;
    let dir = tempfile::tempdir().expect("temp dir");

    // A staff member's token is not enough; no file appears.
    let refused = dir.path().join("refused.thb");
    let out = run_backup(&server, &token, &refused).await;
    assert!(!out.status.success(), "a staff token made a backup");
    assert!(!refused.exists() && !townhall_tests_tmp(&refused).exists());
    // Nor does a missing token.
    let out = tokio::process::Command::new(townhall_tests::binary())
        .args(["backup", "--from", &server.http(""), "--to"])
        .arg(&refused)
        .env_remove("TOWNHALL_ADMIN_TOKEN")
        .output()
        .await
        .expect("run");
    assert!(!out.status.success(), "a backup without a token");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TOWNHALL_ADMIN_TOKEN"),
        "{}",
        text(&out)
    );

    let file = dir.path().join("good.thb");
    let out = run_backup(&server, &server.admin_token, &file).await;
    assert!(out.status.success(), "backup: {}", text(&out));
    let good = std::fs::read(&file).expect("read");

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let cases = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("without its last byte", good[..good.len() - 1].to_vec()),
        ("with a flipped bit", flipped),
    ];
    for (what, bytes) in cases {
        let bad = dir.path().join("bad.thb");
        std::fs::write(&bad, &bytes).expect("write");
        let data = dir.path().join(format!("data {what}"));
        let out = run_restore(&bad, &data).await;
        assert!(
            !out.status.success(),
            "a backup {what} was restored: {}",
            text(&out)
        );
        assert!(!data.exists(), "a backup {what} left a folder");
    }

    // The good one restores, and into a folder that is not empty it is refused.
    let data = dir.path().join("data");
    let out = run_restore(&file, &data).await;
    assert!(out.status.success(), "restore: {}", text(&out));
    let again = run_restore(&file, &data).await;
    assert!(!again.status.success(), "restored over a store");
    assert!(
        data.exists(),
        "a refused restore removed the existing folder"
    );
}

/// Upload files and post each with a message until told to stop: every
/// acked one as (file id, its bytes, the message's position).
async fn upload_until(
    base: String,
    token: String,
    mut c: Client,
    room: RoomId,
    stop: Arc<AtomicBool>,
) -> Vec<(Uuid, Vec<u8>, Pos)> {
    let http = reqwest::Client::new();
    let mut posted = Vec::new();
    let mut n: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        // Distinct bytes each time, 1 byte to about 190 KiB.
        let len = 1 + (n as usize * 7_919) % 190_000;
        let bytes: Vec<u8> = (0..len)
            .map(|i| (i as u32).wrapping_mul(31).wrapping_add(n * 131) as u8)
            .collect();
        n += 1;
        let r = http
            .post(format!("{base}/api/files"))
            .query(&[("name", format!("f{n}.bin"))])
            .bearer_auth(&token)
            .body(bytes.clone())
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status().as_u16(), 201, "upload {n}");
        let att: serde_json::Value = r.json().await.expect("attachment");
        let id: Uuid = att["id"].as_str().expect("id").parse().expect("uuid");
        match c
            .request(ClientFrame::Send {
                req_id: None,
                room,
                client_id: Uuid::new_v4(),
                body: format!("file {n}"),
                thread: None,
                question: false,
                attachments: vec![id],
            })
            .await
        {
            ServerFrame::Ack { pos, .. } => posted.push((id, bytes, pos)),
            other => panic!("post of file {n}: {other:?}"),
        }
    }
    posted
}

#[tokio::test]
async fn a_backup_under_load_holds_every_posted_file_and_restores_its_bytes() {
    let server = TestServer::start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let (_, token) = server.user("uploader").await;
    let (mut c, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = c.create_room("files", Visibility::Public).await.id;
    let uploads = tokio::spawn(upload_until(
        server.http(""),
        token.clone(),
        c,
        room,
        stop.clone(),
    ));
    let (_, writer_token) = server.user("writer").await;
    let (mut w, _, _) = server.connect_caught_up(&writer_token, None, None).await;
    w.join(room).await;
    let writer = tokio::spawn(write_until(w, room, 0, stop.clone()));

    tokio::time::sleep(Duration::from_millis(600)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("townhall.thb");
    let backup = run_backup(&server, &server.admin_token, &file).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    let posted = uploads.await.expect("uploader");
    writer.await.expect("writer");
    assert!(backup.status.success(), "backup: {}", text(&backup));
    let stdout = String::from_utf8_lossy(&backup.stdout);
    let at: Pos = stdout
        .split_whitespace()
        .skip_while(|w| *w != "position")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no position in: {stdout}"));
    let (inside, outside): (Vec<_>, Vec<_>) = posted.iter().partition(|(_, _, p)| *p <= at);
    println!(
        "{} files posted: {} at or before the backup's position {at}, {} after",
        posted.len(),
        inside.len(),
        outside.len()
    );
    assert!(!inside.is_empty(), "files posted before the backup");

    let data = dir.path().join("restored");
    let restore = run_restore(&file, &data).await;
    assert!(restore.status.success(), "restore: {}", text(&restore));
    // The original's files are out of reach from here on.
    drop(server);
    let restored = TestServer::start_in(&data, &[]).await;
    let token = restored.login("uploader", "uploader-password").await.token;
    let http = reqwest::Client::new();
    for (id, bytes, pos) in &inside {
        let r = http
            .get(restored.http(&format!("/api/files/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("download");
        assert_eq!(r.status().as_u16(), 200, "file {id} posted at {pos}");
        let got = r.bytes().await.expect("bytes");
        assert!(got.as_ref() == bytes.as_slice(), "the bytes of file {id}");
    }
    for (id, _, pos) in &outside {
        let r = http
            .get(restored.http(&format!("/api/files/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("download");
        assert_eq!(r.status().as_u16(), 404, "file {id} posted after, at {pos}");
    }
}
