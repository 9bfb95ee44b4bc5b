//! The real `townhall` process: restart, SIGKILL, SIGTERM, and the `user`
//! command line. Nothing acknowledged is ever lost.

use futures_util::{SinkExt, StreamExt};
use std::collections::HashSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use townhall_protocol::{ClientFrame, PROTOCOL_VERSION, RoomId, ServerFrame, Visibility};
use townhall_tests::{TestServer, binary, bodies};

/// Send as fast as acks allow (window of 32) until the connection dies;
/// return the bodies acknowledged.
async fn send_until_dead(url: String, token: String, room: RoomId, tag: String) -> Vec<String> {
    let mut acked = Vec::new();
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        return acked;
    };
    let hello = ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        token,
        resume: None,
        device: None,
    };
    if ws.send(Message::text(hello.to_json())).await.is_err() {
        return acked;
    }
    let mut next = 0u64;
    let mut in_flight = 0;
    loop {
        while in_flight < 32 {
            let body = format!("{tag}-{next}");
            let f = ClientFrame::Send {
                req_id: Some(body.clone()),
                room,
                client_id: uuid::Uuid::new_v4(),
                body,
                thread: None,
                question: false,
                attachments: Vec::new(),
            };
            if ws.send(Message::text(f.to_json())).await.is_err() {
                return acked;
            }
            next += 1;
            in_flight += 1;
        }
        if in_flight == 0 {
            let _ = ws.close(None).await;
            return acked;
        }
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<ServerFrame>(t.as_str())
            {
                Ok(ServerFrame::Ack {
                    req_id: Some(body), ..
                }) => {
                    acked.push(body);
                    in_flight -= 1;
                }
                Ok(ServerFrame::Error {
                    req_id: Some(_), ..
                }) => in_flight -= 1,
                _ => {}
            },
            Ok(Some(Ok(_))) => {}
            _ => return acked,
        }
    }
}

/// Read the whole room from position 0 as a member who was never online.
async fn drain_room(server: &TestServer, reader_token: &str) -> Vec<String> {
    let (_, backlog, _) = server.connect_caught_up(reader_token, Some(0), None).await;
    bodies(&backlog)
}

fn check_nothing_lost(acked: &[String], delivered: &[String], sent_tags: &[String]) {
    let delivered_set: HashSet<&String> = delivered.iter().collect();
    assert_eq!(
        delivered_set.len(),
        delivered.len(),
        "a message was delivered twice"
    );
    let lost: Vec<&String> = acked
        .iter()
        .filter(|b| !delivered_set.contains(b))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    let unexpected: Vec<&String> = delivered
        .iter()
        .filter(|b| !sent_tags.iter().any(|t| b.starts_with(&format!("{t}-"))))
        .collect();
    assert!(
        unexpected.is_empty(),
        "messages nobody sent: {unexpected:?}"
    );
    // Each sender's messages in the order sent, without holes among the acked.
    for tag in sent_tags {
        let nums: Vec<u64> = delivered
            .iter()
            .filter_map(|b| b.strip_prefix(&format!("{tag}-")))
            .filter_map(|n| n.parse().ok())
            .collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "{tag}: out of order");
    }
}

async fn setup_room(server: &TestServer, senders: usize) -> (RoomId, Vec<String>, String) {
    let (_, owner) = server.user("owner").await;
    let mut c = server.connect(&owner).await;
    c.until_caught_up().await;
    let room = c.create_room("durable", Visibility::Public).await;
    let mut tokens = Vec::new();
    for i in 0..senders {
        let (_, t) = server.user(&format!("sender{i}")).await;
        let mut s = server.connect(&t).await;
        s.until_caught_up().await;
        s.join(room.id).await;
        tokens.push(t);
    }
    let (_, reader) = server.user("reader").await;
    let mut r = server.connect(&reader).await;
    r.until_caught_up().await;
    r.join(room.id).await;
    (room.id, tokens, reader)
}

/// Kill -9 while four clients send with acks; restart; every acknowledged
/// message is there, once, in each sender's order. Runs
/// `TOWNHALL_KILL_RUNS` times (3 by default; the long suite uses 20).
#[tokio::test]
async fn sigkill_while_sending_loses_no_acknowledged_message() {
    let runs: usize = std::env::var("TOWNHALL_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for run in 0..runs {
        let mut server = TestServer::start().await;
        let (room, tokens, reader) = setup_room(&server, 4).await;
        let tags: Vec<String> = (0..tokens.len()).map(|i| format!("r{run}s{i}")).collect();
        let mut tasks = Vec::new();
        for (t, tag) in tokens.iter().zip(&tags) {
            tasks.push(tokio::spawn(send_until_dead(
                server.ws_url(),
                t.clone(),
                room,
                tag.clone(),
            )));
        }
        // Kill at a varying moment in the middle of the traffic.
        let ms = 300 + (run as u64 * 137) % 700;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        server.kill9().await;
        let mut acked = Vec::new();
        for t in tasks {
            acked.extend(t.await.expect("sender"));
        }
        assert!(
            !acked.is_empty(),
            "run {run}: nothing was acknowledged before the kill"
        );
        server.restart().await;
        let delivered = drain_room(&server, &reader).await;
        check_nothing_lost(&acked, &delivered, &tags);
        eprintln!(
            "run {run}: killed after {ms} ms; {} acked, {} delivered (recovered unacked: {})",
            acked.len(),
            delivered.len(),
            delivered.len() - acked.len()
        );
    }
}

/// SIGTERM under load: exits 0 quickly; every ack the clients received is
/// durable; a restart serves it all.
#[tokio::test]
async fn sigterm_under_load_exits_cleanly_and_keeps_every_ack() {
    let mut server = TestServer::start().await;
    let (room, tokens, reader) = setup_room(&server, 3).await;
    let tags: Vec<String> = (0..tokens.len()).map(|i| format!("t{i}")).collect();
    let mut tasks = Vec::new();
    for (t, tag) in tokens.iter().zip(&tags) {
        tasks.push(tokio::spawn(send_until_dead(
            server.ws_url(),
            t.clone(),
            room,
            tag.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let code = server.stop().await;
    assert_eq!(code, Some(0), "exit status after SIGTERM");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("sender"));
    }
    assert!(!acked.is_empty());
    server.restart().await;
    let delivered = drain_room(&server, &reader).await;
    check_nothing_lost(&acked, &delivered, &tags);
}

/// A clean restart keeps users, rooms, messages, positions and idempotency.
#[tokio::test]
async fn restart_on_the_same_folder_keeps_everything() {
    let mut server = TestServer::start().await;
    let (_, alice) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&alice, None, None).await;
    let room = a.create_room("kept", Visibility::Private).await;
    let id = uuid::Uuid::new_v4();
    let first = a.post_with_id(room.id, id, "survives").await;
    a.close().await;
    assert_eq!(server.stop().await, Some(0));
    server.restart().await;
    // The old token still works; the message is in history; a resend is a duplicate.
    let (mut a, backlog, _) = server.connect_caught_up(&alice, Some(0), None).await;
    assert_eq!(bodies(&backlog), vec!["survives"]);
    match (first, a.post_with_id(room.id, id, "survives").await) {
        (
            ServerFrame::Ack { pos: p1, .. },
            ServerFrame::Ack {
                pos: p2,
                duplicate: true,
                ..
            },
        ) => assert_eq!(p1, p2),
        other => panic!("{other:?}"),
    }
    let (_, seq, pos) = a.post(room.id, "after restart").await;
    assert!(pos > 0 && seq > 0);
}

/// `townhall user …` works on a stopped server's folder and refuses a running one.
#[tokio::test]
async fn the_user_command_manages_accounts_in_the_data_folder() {
    let mut server = TestServer::start().await;
    let data = server.data.clone();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(binary())
            .arg("user")
            .arg("--data")
            .arg(&data)
            .args(args)
            .output()
            .expect("run");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = run(&["list"]);
    assert!(!ok, "must refuse while the server holds the folder: {text}");
    assert!(text.contains("is a server running"), "{text}");
    assert_eq!(server.stop().await, Some(0));

    let (ok, text) = run(&[
        "add",
        "erin",
        "--role",
        "leader",
        "--password",
        "erin-password",
    ]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["add", "frank"]);
    assert!(ok && text.contains("password: "), "{text}");
    let (ok, text) = run(&["set-role", "frank", "admin"]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["add", "erin"]);
    assert!(!ok && text.contains("exists"), "{text}");
    let (ok, text) = run(&["list"]);
    assert!(
        ok && text.contains("erin\tleader\tactive") && text.contains("frank\tadmin\tactive"),
        "{text}"
    );

    server.restart().await;
    let login = server.login("erin", "erin-password").await;
    assert_eq!(login.user.role, townhall_protocol::Role::Leader);
    assert_eq!(server.stop().await, Some(0));
    let (ok, text) = run(&["disable", "erin"]);
    assert!(ok, "{text}");
    let (ok, text) = run(&[
        "reset-password",
        "frank",
        "--password",
        "frank-new-password",
    ]);
    assert!(ok, "{text}");
    server.restart().await;
    // erin's old token is revoked and she cannot log in.
    let mut c = townhall_tests::Client::open(&server.ws_url()).await;
    c.send(&ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        token: login.token,
        resume: None,
        device: None,
    })
    .await;
    assert!(matches!(
        c.next().await,
        ServerFrame::Error {
            code: townhall_protocol::ErrorCode::BadToken,
            ..
        }
    ));
    let r = reqwest::Client::new()
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username":"erin","password":"erin-password"}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.status().as_u16(), 401);
    server.login("frank", "frank-new-password").await;
}
