//! Retention policies and legal holds (issue 14): old messages expire on
//! the server's schedule and vanish from history, search, catch-up and
//! file downloads; younger ones, held rooms and held users stay.
//!
//! Time: the servers here run with the test-only `--retention-day-secs 1`
//! (a policy's "day" lasts one second) and `--retention-interval-secs 1`,
//! so "older than 4 days" means "older than 4 seconds". A test waits for
//! its messages to age (that is the behaviour under test, not a hope),
//! and waits for runs through the `retention` frame's `last_run.at`.

use std::time::Duration;
use townhall_protocol::retention::{HoldTarget, RetentionRun};
use townhall_protocol::{
    ClientFrame, Content, ErrorCode, Event, ModerationAction, RoomId, ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer, body};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

/// A policy's days in these tests: 4 (one-second) days. Long enough that
/// messages posted after the old ones aged stay young for every check.
const DAYS: u32 = 4;

/// How long the old messages are left to age: a little past `DAYS`.
const AGE: Duration = Duration::from_millis(4_600);

async fn start() -> TestServer {
    TestServer::start_with(&[
        "--retention-interval-secs",
        "1",
        "--retention-day-secs",
        "1",
        "--file-sweep-secs",
        "1",
        "--file-pending-secs",
        "1",
    ])
    .await
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn ok(c: &mut Client, frame: ClientFrame) -> ServerFrame {
    let reply = c.request(frame).await;
    assert!(
        matches!(reply, ServerFrame::Retention { .. }),
        "expected a retention frame, got {reply:?}"
    );
    reply
}

async fn set_policy(admin: &mut Client, room: Option<RoomId>, days: u32) -> ServerFrame {
    ok(
        admin,
        ClientFrame::RetentionSet {
            req_id: None,
            room,
            days,
        },
    )
    .await
}

async fn last_run(admin: &mut Client) -> RetentionRun {
    match admin.request(ClientFrame::Retention { req_id: None }).await {
        ServerFrame::Retention { last_run, .. } => last_run,
        other => panic!("retention: {other:?}"),
    }
}

/// Wait until a run submitted after `after` (ms) has been applied.
async fn run_after(admin: &mut Client, after: u64) -> RetentionRun {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let run = last_run(admin).await;
        if run.at > after {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no retention run after {after} within {WAIT:?} (last: {run:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn history(c: &mut Client, room: RoomId) -> Vec<Event> {
    c.latest_history(room).await
}

/// The message at `seq` as history shows it now.
async fn message_at(c: &mut Client, room: RoomId, seq: u64) -> Event {
    history(c, room)
        .await
        .into_iter()
        .find(|e| e.seq == seq)
        .unwrap_or_else(|| panic!("seq {seq} missing from history"))
}

/// Wait until history shows `seq` of `room` as deleted.
async fn until_expired(c: &mut Client, room: RoomId, seq: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let e = message_at(c, room, seq).await;
        if e.state.deleted {
            assert_eq!(body(&e), Some(""), "an expired message keeps no body");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "seq {seq} not expired within {WAIT:?}: {e:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_live(c: &mut Client, room: RoomId, seq: u64, text: &str) {
    let e = message_at(c, room, seq).await;
    assert!(!e.state.deleted, "seq {seq} ({text}) was deleted: {e:?}");
    assert_eq!(body(&e), Some(text));
}

async fn search_seqs(c: &mut Client, query: &str) -> Vec<(RoomId, u64)> {
    match c
        .request(ClientFrame::Search {
            req_id: None,
            query: query.into(),
            sort: None,
            before_cursor: None,
            limit: Some(50),
        })
        .await
    {
        ServerFrame::SearchResults { results, .. } => {
            results.iter().map(|r| (r.room, r.seq)).collect()
        }
        other => panic!("search: {other:?}"),
    }
}

/// Ask `query` until `pred` holds for what it finds.
async fn until_search(
    c: &mut Client,
    query: &str,
    what: &str,
    pred: impl Fn(&[(RoomId, u64)]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = search_seqs(c, query).await;
        if pred(&found) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "search {query:?}: {what} not within {WAIT:?}; found {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn upload(server: &TestServer, token: &str, name: &str, bytes: &[u8]) -> Uuid {
    let r = reqwest::Client::new()
        .post(server.http("/api/files"))
        .query(&[("name", name)])
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 201, "upload of {name}");
    let v: serde_json::Value = r.json().await.expect("upload body");
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("file id")
}

async fn download_status(server: &TestServer, token: &str, file: Uuid) -> u16 {
    reqwest::Client::new()
        .get(server.http(&format!("/api/files/{file}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("download")
        .status()
        .as_u16()
}

async fn audit_actions(server: &TestServer) -> Vec<serde_json::Value> {
    reqwest::Client::new()
        .get(server.http("/api/admin/audit?limit=1000"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("audit body")
}

#[tokio::test]
async fn a_room_policy_expires_old_messages_everywhere_and_keeps_younger_ones() {
    let server = start().await;
    let mut admin = server.connect(&server.admin_token).await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = alice.create_room("ephemeral", Visibility::Public).await.id;
    let other = alice.create_room("kept", Visibility::Public).await.id;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    bob.join(room).await;
    bob.join(other).await;
    // Bob's position once he is in both rooms: he reconnects from here.
    let bob_pos = bob
        .event_where("bob joined the second room", |e| {
            e.room == other && matches!(e.content, Content::Member { .. })
        })
        .await
        .pos;
    bob.close().await;

    let file = upload(
        &server,
        &alice_token,
        "minutes.txt",
        b"quagga minutes bytes",
    )
    .await;
    let (_, old1, _) = alice.post(room, "quagga plans for the old days").await;
    let with_file = match alice
        .request(ClientFrame::Send {
            req_id: None,
            room,
            client_id: Uuid::new_v4(),
            body: "quagga minutes attached".into(),
            thread: None,
            question: false,
            attachments: vec![file],
        })
        .await
    {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("post with file: {other:?}"),
    };
    let (_, elsewhere, _) = alice.post(other, "quagga in a room without a policy").await;
    until_search(&mut alice, "quagga", "the three old messages", |f| {
        f.len() == 3
    })
    .await;
    assert_eq!(download_status(&server, &alice_token, file).await, 200);

    tokio::time::sleep(AGE).await;
    let (_, young, _) = alice.post(room, "quagga news of today").await;
    let set = set_policy(&mut admin, Some(room), DAYS).await;
    let ServerFrame::Retention { rooms, global, .. } = set else {
        unreachable!()
    };
    assert!(global.is_none());
    assert_eq!(rooms.len(), 1);
    assert_eq!((rooms[0].room, rooms[0].policy.days), (room, DAYS));

    // Alice, online, is told live.
    for seq in [old1, with_file] {
        alice
            .event_where(
                &format!("deleted {seq}"),
                |e| matches!(e.content, Content::Deleted { target } if target == seq),
            )
            .await;
    }
    // The younger message and the room without a policy are untouched.
    assert_live(&mut alice, room, young, "quagga news of today").await;
    assert_live(
        &mut alice,
        other,
        elsewhere,
        "quagga in a room without a policy",
    )
    .await;
    until_expired(&mut alice, room, old1).await;
    until_expired(&mut alice, room, with_file).await;
    let tomb = message_at(&mut alice, room, with_file).await;
    match &tomb.content {
        Content::Message { attachments, .. } => assert!(attachments.is_empty(), "{tomb:?}"),
        other => panic!("{other:?}"),
    }

    // Search finds the younger ones only.
    until_search(&mut alice, "quagga", "only the two live messages", |f| {
        let mut f = f.to_vec();
        f.sort();
        let mut want = vec![(room, young), (other, elsewhere)];
        want.sort();
        f == want
    })
    .await;

    // The file is gone for its readers, and its bytes from the disk at the
    // next sweep.
    assert_eq!(download_status(&server, &alice_token, file).await, 404);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !files_containing(&server.data.join("files"), b"quagga minutes bytes").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the expired attachment's bytes are still under files/"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Bob's catch-up from before: no old body anywhere in it, and the
    // tombstones and `deleted` events are there, once each.
    let (_, backlog, _) = server
        .connect_caught_up(&bob_token, Some(bob_pos), None)
        .await;
    for e in &backlog {
        assert!(
            !body(e).is_some_and(|b| b.contains("old days") || b.contains("minutes")),
            "an expired body in bob's catch-up: {e:?}"
        );
    }
    for seq in [old1, with_file] {
        let tombs = backlog
            .iter()
            .filter(|e| e.room == room && e.seq == seq)
            .count();
        assert_eq!(tombs, 1, "seq {seq} once in the backlog");
        assert!(
            backlog
                .iter()
                .any(|e| matches!(e.content, Content::Deleted { target } if target == seq)),
            "bob's catch-up tells him {seq} is deleted"
        );
    }
    let seqs: Vec<u64> = backlog
        .iter()
        .filter(|e| e.room == room)
        .map(|e| e.seq)
        .collect();
    let mut sorted = seqs.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seqs, sorted, "room seqs in order, none twice");
    assert!(
        sorted.windows(2).all(|w| w[1] == w[0] + 1),
        "room seqs gap-free: {sorted:?}"
    );
}

#[tokio::test]
async fn a_room_policy_overrides_the_global_one_and_clearing_it_falls_back() {
    let server = start().await;
    let mut admin = server.connect(&server.admin_token).await;
    let (_, alice_token) = server.user("alice").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let short = alice
        .create_room("follows-global", Visibility::Public)
        .await
        .id;
    let long = alice
        .create_room("keeps-longer", Visibility::Public)
        .await
        .id;
    let (_, in_short, _) = alice.post(short, "goes with the global policy").await;
    let (_, in_long, _) = alice.post(long, "kept by the room's own policy").await;
    tokio::time::sleep(AGE).await;

    set_policy(&mut admin, Some(long), 1000).await;
    set_policy(&mut admin, None, DAYS).await;
    until_expired(&mut alice, short, in_short).await;
    let after = now_ms();
    run_after(&mut admin, after).await;
    assert_live(&mut alice, long, in_long, "kept by the room's own policy").await;

    ok(
        &mut admin,
        ClientFrame::RetentionClear {
            req_id: None,
            room: Some(long),
        },
    )
    .await;
    until_expired(&mut alice, long, in_long).await;
    let run = last_run(&mut admin).await;
    assert!(run.expired_total >= 2, "{run:?}");
}

#[tokio::test]
async fn legal_holds_on_a_room_and_a_user_suspend_expiry_until_lifted() {
    let server = start().await;
    let mut admin = server.connect(&server.admin_token).await;
    let (_, alice_token) = server.user("alice").await;
    let (bob, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob_c, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let held_room = alice
        .create_room("investigation", Visibility::Public)
        .await
        .id;
    let room = alice
        .create_room("general-ish", Visibility::Public)
        .await
        .id;
    bob_c.join(room).await;
    let (_, in_held_room, _) = alice.post(held_room, "in the held room").await;
    let (_, free, _) = alice.post(room, "nobody holds this").await;
    let (_, by_bob, _) = bob_c.post(room, "bob wrote this").await;
    tokio::time::sleep(AGE).await;

    for target in [HoldTarget::Room(held_room), HoldTarget::User(bob.id)] {
        let reply = ok(
            &mut admin,
            ClientFrame::LegalHoldSet {
                req_id: None,
                target,
                reason: "case 2026-114".into(),
            },
        )
        .await;
        let ServerFrame::Retention { holds, .. } = reply else {
            unreachable!()
        };
        assert!(
            holds
                .iter()
                .any(|h| h.target == target && h.reason == "case 2026-114")
        );
    }
    set_policy(&mut admin, None, DAYS).await;
    until_expired(&mut alice, room, free).await;
    let after = now_ms();
    run_after(&mut admin, after).await;
    assert_live(&mut alice, held_room, in_held_room, "in the held room").await;
    assert_live(&mut alice, room, by_bob, "bob wrote this").await;

    let audit = audit_actions(&server).await;
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "set_legal_hold").count(),
        2,
        "{actions:?}"
    );
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "set_legal_hold" && e["target"]["id"] == bob.id.to_string())
    );
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "set_legal_hold" && e["room"] == held_room.to_string())
    );

    for target in [HoldTarget::Room(held_room), HoldTarget::User(bob.id)] {
        ok(
            &mut admin,
            ClientFrame::LegalHoldClear {
                req_id: None,
                target,
            },
        )
        .await;
    }
    until_expired(&mut alice, held_room, in_held_room).await;
    until_expired(&mut alice, room, by_bob).await;
    let audit = audit_actions(&server).await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e["action"] == "clear_legal_hold")
            .count(),
        2
    );
}

#[tokio::test]
async fn an_expired_broadcast_leaves_no_body_in_pending_acks() {
    let server = start().await;
    let mut admin = server.connect(&server.admin_token).await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, staff_token) = server.user("staff").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let (mut staff, _, _) = server.connect_caught_up(&staff_token, None, None).await;
    let text = "The okapi reorganisation starts on 1 March.";
    let posted = lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id: Uuid::new_v4(),
            body: text.into(),
            rooms: vec![],
            ack_requested: true,
        })
        .await;
    assert!(
        matches!(posted, ServerFrame::BroadcastPosted { .. }),
        "{posted:?}"
    );
    let copy = staff
        .event_where("the broadcast", |e| {
            matches!(e.content, Content::Broadcast { .. })
        })
        .await;
    let pending = |f: ServerFrame| match f {
        ServerFrame::PendingAcks { broadcasts, .. } => broadcasts,
        other => panic!("pending_acks: {other:?}"),
    };
    let before = pending(
        staff
            .request(ClientFrame::PendingAcks { req_id: None })
            .await,
    );
    assert!(before.iter().any(|p| p.body == text), "{before:?}");

    tokio::time::sleep(AGE).await;
    set_policy(&mut admin, None, DAYS).await;
    staff
        .event_where("the broadcast's copy deleted", |e| {
            e.room == copy.room
                && matches!(e.content, Content::Deleted { target } if target == copy.seq)
        })
        .await;
    let after = pending(
        staff
            .request(ClientFrame::PendingAcks { req_id: None })
            .await,
    );
    assert!(
        after.iter().all(|p| !p.body.contains("okapi")),
        "the expired broadcast's body is still served: {after:?}"
    );
}

#[tokio::test]
async fn an_expired_anonymous_question_keeps_no_text_in_its_askers_record() {
    let server = start().await;
    let (mut admin, _, _) = server
        .connect_caught_up(&server.admin_token, None, None)
        .await;
    let (_, tina_token) = server.user("tina_team").await;
    let (_, alice_token) = server.user("alice_asker").await;
    server.make_team("tina_team").await;
    let room = admin.create_room("ask-me", Visibility::Public).await.id;
    let allowed = admin
        .request(ClientFrame::SetAnonymousQuestions {
            req_id: None,
            room: Some(room),
            on: true,
        })
        .await;
    assert!(matches!(allowed, ServerFrame::Ok { .. }), "{allowed:?}");
    let (mut tina, _, _) = server.connect_caught_up(&tina_token, None, None).await;
    tina.join(room).await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    alice.join(room).await;
    let text = "Is the marmot office closing?";
    let asked = match alice
        .request(ClientFrame::AskAnonymously {
            req_id: None,
            room,
            body: text.into(),
        })
        .await
    {
        ServerFrame::AnonymousQuestions { mut questions, .. } if questions.len() == 1 => {
            questions.remove(0)
        }
        other => panic!("ask: {other:?}"),
    };
    let approved = tina
        .request(ClientFrame::Moderate {
            req_id: None,
            id: asked.id,
            action: ModerationAction::Approve,
        })
        .await;
    assert!(
        !matches!(approved, ServerFrame::Error { .. }),
        "{approved:?}"
    );
    let question = alice
        .event_where("the approved question", |e| {
            e.room == room && body(e) == Some(text)
        })
        .await;
    let mine = |f: ServerFrame| match f {
        ServerFrame::AnonymousQuestions { questions, .. } => questions,
        other => panic!("my anonymous questions: {other:?}"),
    };
    let before = mine(
        alice
            .request(ClientFrame::MyAnonymousQuestions { req_id: None })
            .await,
    );
    assert!(
        before.iter().any(|q| q.id == asked.id && q.body == text),
        "{before:?}"
    );

    tokio::time::sleep(AGE).await;
    set_policy(&mut admin, Some(room), DAYS).await;
    until_expired(&mut alice, room, question.seq).await;
    let after = mine(
        alice
            .request(ClientFrame::MyAnonymousQuestions { req_id: None })
            .await,
    );
    let record = after
        .iter()
        .find(|q| q.id == asked.id)
        .unwrap_or_else(|| panic!("the asker's record is gone: {after:?}"));
    assert!(
        !record.body.contains("marmot"),
        "the expired question's text is still in its record: {record:?}"
    );
    // The operator sees it too.
    let metrics = reqwest::get(server.http("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
    };
    assert!(gauge("townhall_retention_expired_messages") >= 1.0);
    assert!(
        gauge("townhall_retention_last_run_timestamp_seconds") * 1000.0
            >= now_ms() as f64 - 60_000.0
    );
}

#[tokio::test]
async fn only_admins_manage_retention_and_bad_requests_are_refused() {
    let server = start().await;
    let mut admin = server.connect(&server.admin_token).await;
    let (alice, alice_token) = server.user("alice").await;
    let mut a = server.connect(&alice_token).await;
    let room = a.create_room("mine", Visibility::Public).await.id;
    for frame in [
        ClientFrame::Retention { req_id: None },
        ClientFrame::RetentionSet {
            req_id: None,
            room: Some(room),
            days: 30,
        },
        ClientFrame::RetentionClear {
            req_id: None,
            room: None,
        },
        ClientFrame::LegalHoldSet {
            req_id: None,
            target: HoldTarget::User(alice.id),
            reason: String::new(),
        },
        ClientFrame::LegalHoldClear {
            req_id: None,
            target: HoldTarget::Room(room),
        },
    ] {
        a.expect_error(frame, ErrorCode::Forbidden).await;
    }
    for days in [0, 36_501] {
        admin
            .expect_error(
                ClientFrame::RetentionSet {
                    req_id: None,
                    room: None,
                    days,
                },
                ErrorCode::InvalidField,
            )
            .await;
    }
    admin
        .expect_error(
            ClientFrame::RetentionSet {
                req_id: None,
                room: Some(RoomId(Uuid::new_v4())),
                days: 30,
            },
            ErrorCode::NotFound,
        )
        .await;
    admin
        .expect_error(
            ClientFrame::LegalHoldSet {
                req_id: None,
                target: HoldTarget::Room(RoomId(Uuid::new_v4())),
                reason: String::new(),
            },
            ErrorCode::NotFound,
        )
        .await;
    admin
        .expect_error(
            ClientFrame::LegalHoldClear {
                req_id: None,
                target: HoldTarget::Room(room),
            },
            ErrorCode::NotFound,
        )
        .await;
    admin
        .expect_error(
            ClientFrame::LegalHoldSet {
                req_id: None,
                target: HoldTarget::Room(room),
                reason: "x".repeat(501),
            },
            ErrorCode::InvalidField,
        )
        .await;
    // Nothing was set by any of it.
    match admin.request(ClientFrame::Retention { req_id: None }).await {
        ServerFrame::Retention {
            global,
            rooms,
            holds,
            ..
        } => assert!(global.is_none() && rooms.is_empty() && holds.is_empty()),
        other => panic!("{other:?}"),
    }
}

/// Files under `dir` whose bytes contain `needle`, with how many times.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let n = bytes.windows(needle.len()).filter(|w| *w == needle).count();
                if n > 0 {
                    out.push((path.display().to_string(), n));
                }
            }
        }
    }
    out.sort();
    out
}

/// Not a check, a measurement (docs/operations.md, "Retention: when the
/// bytes leave the disk"): after N messages holding a marker expire, how
/// long until no file under the data folder holds the marker's bytes,
/// with the server idle, after more writes, and after a restart. Run with
/// `cargo test -p townhall-tests --test retention -- --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn measure_when_expired_bytes_leave_the_disk() {
    const N: usize = 2_000;
    const MARKER: &str = "zqxretentionmarker";
    let mut server = start().await;
    let mut admin = server.connect(&server.admin_token).await;
    let (_, alice_token) = server.user("alice").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = alice.create_room("measured", Visibility::Public).await.id;
    for i in 0..N {
        alice
            .send(&ClientFrame::Send {
                req_id: None,
                room,
                client_id: Uuid::new_v4(),
                body: format!("{MARKER}{i:05} some ordinary chat text to make it a message"),
                thread: None,
                question: false,
                attachments: Vec::new(),
            })
            .await;
    }
    for _ in 0..N {
        alice
            .expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
            .await;
    }
    let data = server.data.clone();
    let last_word = format!("{MARKER}{:05}", N - 1);
    until_search(&mut alice, &last_word, "indexed", |f| !f.is_empty()).await;
    tokio::time::sleep(AGE).await;
    let before = files_containing(&data, MARKER.as_bytes());
    println!("before expiry: {before:?}");
    set_policy(&mut admin, Some(room), DAYS).await;
    let started = std::time::Instant::now();
    loop {
        let run = last_run(&mut admin).await;
        if run.expired_total as usize >= N {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{run:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("all {N} expired after {:?}", started.elapsed());
    let expired_at = std::time::Instant::now();
    let mut gone_idle = None;
    while expired_at.elapsed() < Duration::from_secs(60) {
        let found = files_containing(&data, MARKER.as_bytes());
        if found.is_empty() {
            gone_idle = Some(expired_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!(
        "idle 60 s: gone after {gone_idle:?}; still in {:?}",
        files_containing(&data, MARKER.as_bytes())
    );
    // More writes: sled rewrites (cleans) old segments as new ones fill.
    for round in 0..4 {
        for i in 0..N {
            alice
                .send(&ClientFrame::Send {
                    req_id: None,
                    room,
                    client_id: Uuid::new_v4(),
                    body: format!(
                        "filler {round} {i} some ordinary chat text to make it a message"
                    ),
                    thread: None,
                    question: false,
                    attachments: Vec::new(),
                })
                .await;
        }
        for _ in 0..N {
            alice
                .expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
                .await;
        }
        println!(
            "after {} more messages: still in {:?}",
            (round + 1) * N,
            files_containing(&data, MARKER.as_bytes())
        );
    }
    alice.close().await;
    admin.close().await;
    server.stop().await;
    println!(
        "after a clean stop: still in {:?}",
        files_containing(&data, MARKER.as_bytes())
    );
    server.restart().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "after a restart (+5 s): still in {:?}",
        files_containing(&data, MARKER.as_bytes())
    );
    // The compaction an operator has: a backup restored into a new folder
    // holds only live records.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("b.thb");
    let restored = dir.path().join("restored");
    let backup = std::process::Command::new(townhall_tests::binary())
        .args(["backup", "--from", &server.http(""), "--to"])
        .arg(&file)
        .env("TOWNHALL_ADMIN_TOKEN", &server.admin_token)
        .output()
        .expect("backup");
    assert!(backup.status.success(), "{backup:?}");
    let restore = std::process::Command::new(townhall_tests::binary())
        .arg("restore")
        .arg(&file)
        .arg("--data")
        .arg(&restored)
        .output()
        .expect("restore");
    assert!(restore.status.success(), "{restore:?}");
    println!(
        "in a backup restored into a new folder: {:?}",
        files_containing(&restored, MARKER.as_bytes())
    );
}

/// In a cluster every node's timer submits runs; each node applies the
/// same entries and deletes the same messages; the stores stay identical.
#[tokio::test]
async fn in_a_cluster_every_node_expires_the_same_messages() {
    use townhall_tests::cluster::TownhallCluster;
    // A run every 2 s per node: quiet windows for the digest comparison.
    let c = TownhallCluster::start_with(
        2,
        &[
            "--retention-interval-secs",
            "2",
            "--retention-day-secs",
            "1",
        ],
    )
    .await;
    let (_, alice_token) = c.node(0).user("alice").await;
    let mut alice0 = c.node(0).connect(&alice_token).await;
    let room = alice0.create_room("clustered", Visibility::Public).await.id;
    let (_, old, _) = alice0.post(room, "expires on every node").await;
    tokio::time::sleep(AGE).await;
    let (_, young, _) = alice0.post(room, "stays on every node").await;
    let admin1_token = c.node(1).admin_token.clone();
    let mut admin1 = c.node(1).connect(&admin1_token).await;
    set_policy(&mut admin1, Some(room), DAYS).await;
    let alice1_token = c.node(1).login("alice", "alice-password").await.token;
    let mut alice1 = c.node(1).connect(&alice1_token).await;
    until_expired(&mut alice1, room, old).await;
    until_expired(&mut alice0, room, old).await;
    assert_live(&mut alice0, room, young, "stays on every node").await;
    assert_live(&mut alice1, room, young, "stays on every node").await;
    c.assert_converged().await;
}
