//! The disk fills up: senders get `storage_error`, never an ack; the server
//! stays up, and recovers when space returns. Needs root (it mounts a small
//! tmpfs); set TOWNHALL_SKIP_TMPFS=1 to skip where that is impossible.

use std::process::Command;
use townhall_protocol::{ClientFrame, ErrorCode, ServerFrame, Visibility};
use townhall_tests::{TestServer, bodies};

struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::Builder::new()
            .prefix("townhall-tmpfs")
            .tempdir()
            .ok()?
            .keep();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .ok()?
            .success();
        ok.then_some(Tmpfs(dir))
    }
    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("remount")
            .success();
        assert!(ok, "remount failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[tokio::test]
async fn a_full_disk_refuses_sends_with_storage_error_and_recovers_when_space_returns() {
    if std::env::var("TOWNHALL_SKIP_TMPFS").is_ok() {
        eprintln!("skipped: TOWNHALL_SKIP_TMPFS is set");
        return;
    }
    let fs = Tmpfs::mount("32m")
        .expect("mounting a tmpfs needs root; set TOWNHALL_SKIP_TMPFS=1 to skip");
    let data = fs.0.join("data");
    // Refuse writes below 12 MiB free: the disk "fills" after ~20 MiB.
    let mut server = TestServer::start_in(&data, &["--min-free-mb", "12"]).await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;

    // Fill the disk with 16 KiB messages until the server refuses one.
    let big = "x".repeat(16 * 1024 - 16);
    let mut acked = Vec::new();
    let mut refused = 0;
    for i in 0..20_000 {
        let text = format!("{i:08} {big}");
        match a.post_with_id(room.id, uuid::Uuid::new_v4(), &text).await {
            ServerFrame::Ack { .. } => acked.push(format!("{i:08}")),
            ServerFrame::Error {
                code: ErrorCode::StorageError,
                ..
            } => {
                refused += 1;
                if refused >= 3 {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        refused >= 3,
        "the disk never filled ({} acked)",
        acked.len()
    );
    // Still up: health answers and reads work.
    let health = reqwest::get(server.http("/healthz")).await.expect("health");
    assert!(health.status().is_success());
    a.request(ClientFrame::Ping { req_id: None }).await;

    // Space returns: sends succeed again.
    fs.resize("128m");
    let mut recovered = false;
    for _ in 0..50 {
        if let ServerFrame::Ack { .. } = a
            .post_with_id(room.id, uuid::Uuid::new_v4(), "after recovery")
            .await
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "the server did not recover after space returned");
    a.close().await;

    // Every acknowledged message survives a restart.
    assert_eq!(server.stop().await, Some(0));
    server.restart().await;
    let (_, backlog, _) = server.connect_caught_up(&token, Some(0), None).await;
    let got: Vec<String> = bodies(&backlog)
        .iter()
        .map(|b| b.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    for id in &acked {
        assert!(got.contains(id), "acknowledged message {id} lost");
    }
    assert!(bodies(&backlog).iter().any(|b| b == "after recovery"));
}
