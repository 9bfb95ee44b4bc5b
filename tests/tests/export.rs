//! Data-protection exports (`GET /api/admin/export`, issue 14): a room's
//! history and everything one user wrote and received, as a tar of JSON
//! Lines with the attachments alongside; admin only; audited; the asker
//! of an anonymous question is never named.

use sha2::{Digest, Sha256};
use townhall_protocol::{
    AnonStatus, ClientFrame, ModerationAction, RoomId, ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer};
use uuid::Uuid;

/// One archive entry: name and bytes.
type Entry = (String, Vec<u8>);

/// Read a ustar archive (what the server writes), checking each header's
/// checksum and that it ends with the two zero blocks.
fn untar(bytes: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let header = bytes.get(at..at + 512).expect("the archive ends early");
        if header.iter().all(|b| *b == 0) {
            let end = bytes.get(at + 512..at + 1024).expect("second zero block");
            assert!(end.iter().all(|b| *b == 0), "the end is two zero blocks");
            return out;
        }
        let mut blank = header.to_vec();
        blank[148..156].copy_from_slice(b"        ");
        let sum: u32 = blank.iter().map(|b| u32::from(*b)).sum();
        let field = |r: std::ops::Range<usize>| {
            let s = std::str::from_utf8(&header[r]).expect("ascii");
            u64::from_str_radix(s.trim_matches(|c: char| c == '\0' || c == ' '), 8).expect("octal")
        };
        assert_eq!(field(148..156), u64::from(sum), "header checksum");
        assert_eq!(&header[257..262], b"ustar");
        let name_len = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8(header[..name_len].to_vec()).expect("name");
        let size = field(124..136) as usize;
        let data = bytes[at + 512..at + 512 + size].to_vec();
        out.push((name, data));
        at += 512 + size.div_ceil(512) * 512;
    }
}

/// Every JSON line of the archive's parts, in order.
fn lines(entries: &[Entry]) -> Vec<serde_json::Value> {
    let mut parts: Vec<&Entry> = entries
        .iter()
        .filter(|(n, _)| n.starts_with("messages-") && n.ends_with(".jsonl"))
        .collect();
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "parts come in order");
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    parts
        .iter()
        .flat_map(|(_, b)| b.split(|c| *c == b'\n').filter(|l| !l.is_empty()))
        .map(|l| serde_json::from_slice(l).expect("a JSON line"))
        .collect()
}

async fn export(server: &TestServer, token: &str, query: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(server.http(&format!("/api/admin/export?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("export");
    let status = r.status().as_u16();
    (status, r.bytes().await.expect("body").to_vec())
}

async fn upload(server: &TestServer, token: &str, name: &str, bytes: Vec<u8>) -> Uuid {
    let r = reqwest::Client::new()
        .post(server.http("/api/files"))
        .query(&[("name", name)])
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 201);
    let body: serde_json::Value = r.json().await.expect("json");
    body["id"].as_str().expect("id").parse().expect("uuid")
}

async fn send(
    c: &mut Client,
    room: RoomId,
    body: &str,
    thread: Option<u64>,
    question: bool,
    attachments: Vec<Uuid>,
) -> u64 {
    match c
        .request(ClientFrame::Send {
            req_id: None,
            room,
            client_id: Uuid::new_v4(),
            body: body.into(),
            thread,
            question,
            attachments,
        })
        .await
    {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("send {body}: {other:?}"),
    }
}

async fn audit(server: &TestServer) -> Vec<serde_json::Value> {
    reqwest::Client::new()
        .get(server.http("/api/admin/audit?limit=1000"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("audit json")
}

fn messages(lines: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    lines.iter().filter(|l| l["type"] == "message").collect()
}

/// (sender username, body) of each message line.
fn said(lines: &[serde_json::Value]) -> Vec<(String, String)> {
    messages(lines)
        .iter()
        .map(|m| {
            (
                m["sender"]["username"].as_str().unwrap_or("").to_owned(),
                m["body"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_room_export_holds_its_messages_as_they_read_now_and_its_files() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let room = alice.create_room("records", Visibility::Public).await.id;
    bob.join(room).await;

    let first = send(&mut alice, room, "hello all", None, false, vec![]).await;
    send(
        &mut bob,
        room,
        "a reply in the thread",
        Some(first),
        false,
        vec![],
    )
    .await;
    let edited = send(&mut alice, room, "first draft", None, false, vec![]).await;
    match alice
        .request(ClientFrame::Edit {
            req_id: None,
            room,
            seq: edited,
            body: "final wording".into(),
        })
        .await
    {
        ServerFrame::Ack { .. } | ServerFrame::Ok { .. } => {}
        other => panic!("edit: {other:?}"),
    }
    let deleted = send(&mut alice, room, "regrettable", None, false, vec![]).await;
    match alice
        .request(ClientFrame::Delete {
            req_id: None,
            room,
            seq: deleted,
        })
        .await
    {
        ServerFrame::Ack { .. } | ServerFrame::Ok { .. } => {}
        other => panic!("delete: {other:?}"),
    }
    let bytes: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = upload(&server, &bob_token, "report.bin", bytes.clone()).await;
    send(&mut bob, room, "the report", None, false, vec![file]).await;

    // Not an admin: refused, with the documented code.
    let (status, body) = export(&server, &alice_token, &format!("room={room}")).await;
    assert_eq!(status, 403);
    let err: serde_json::Value = serde_json::from_slice(&body).expect("error body");
    assert_eq!(err["code"], "forbidden");
    let (status, _) = export(&server, &server.admin_token, "room=nonsense").await;
    assert_eq!(status, 400);
    let (status, _) = export(
        &server,
        &server.admin_token,
        &format!("room={}", Uuid::new_v4()),
    )
    .await;
    assert_eq!(status, 404);

    let (status, archive) = export(&server, &server.admin_token, &format!("room={room}")).await;
    assert_eq!(status, 200);
    let entries = untar(&archive);
    let lines = lines(&entries);
    assert_eq!(lines[0]["type"], "export");
    assert_eq!(lines[0]["scope"], "room");
    assert_eq!(lines[0]["room"], room.to_string());
    assert_eq!(lines[0]["by"]["username"], "admin");
    assert_eq!(lines[1]["type"], "room");
    assert_eq!(lines[1]["name"], "records");
    assert_eq!(
        said(&lines),
        [
            ("alice".into(), "hello all".into()),
            ("bob".into(), "a reply in the thread".into()),
            ("alice".into(), "final wording".into()),
            ("bob".into(), "the report".into()),
        ],
        "edited text only as it reads now, the deleted message absent"
    );
    let text = String::from_utf8_lossy(&archive);
    assert!(!text.contains("first draft") && !text.contains("regrettable"));
    let msgs = messages(&lines);
    assert_eq!(msgs[1]["thread"], first);
    assert!(msgs[2]["edited_at"].is_u64());
    let joins: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "member")
        .map(|l| l["user"]["username"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(joins, ["alice", "bob"]);

    // The attachment: listed with its hash, its bytes alongside.
    let hash = hex::encode(Sha256::digest(&bytes));
    let attached = &msgs[3]["attachments"][0];
    assert_eq!(attached["id"], file.to_string());
    assert_eq!(attached["name"], "report.bin");
    assert_eq!(attached["size"], bytes.len());
    assert_eq!(attached["sha256"], hash.as_str());
    assert_eq!(attached["path"], format!("files/{hash}"));
    let stored = entries
        .iter()
        .find(|(n, _)| *n == format!("files/{hash}"))
        .expect("the file's entry");
    assert!(stored.1 == bytes, "the attachment's bytes");
    let end = lines.last().expect("end");
    assert_eq!(end["type"], "end");
    assert_eq!(end["complete"], true);
    assert_eq!(end["messages"], 4);
    assert_eq!(end["files"], 1);
    assert_eq!(end["missing_files"], 0);
    assert_eq!(end["records"], lines.len());

    // Recorded: who exported which room.
    let log = audit(&server).await;
    let entry = log
        .iter()
        .find(|e| e["action"] == "export_room")
        .unwrap_or_else(|| panic!("no export_room in {log:?}"));
    assert_eq!(entry["actor"]["username"], "admin");
    assert_eq!(entry["room"], room.to_string());
    assert_eq!(
        log.iter().filter(|e| e["action"] == "export_room").count(),
        1,
        "the refused export is not recorded as one"
    );
}

#[tokio::test]
async fn a_user_export_holds_what_they_wrote_and_received_while_a_member_and_never_their_anonymous_questions()
 {
    let server = TestServer::start().await;
    let (alice_info, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (_, carol_token) = server.user("carol").await;
    let (_, tina_token) = server.user("tina").await;
    let r = reqwest::Client::new()
        .patch(server.http("/api/admin/users/tina"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"transformation_team": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status().as_u16(), 200);
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let (mut carol, _, _) = server.connect_caught_up(&carol_token, None, None).await;
    let (mut tina, _, _) = server.connect_caught_up(&tina_token, None, None).await;

    // Direct messages both ways.
    let dm = match alice
        .request(ClientFrame::OpenDm {
            req_id: None,
            user: "bob".into(),
        })
        .await
    {
        ServerFrame::Room { room, .. } => room.id,
        other => panic!("open_dm: {other:?}"),
    };
    send(&mut alice, dm, "psst, bob", None, false, vec![]).await;
    send(&mut bob, dm, "yes, alice?", None, false, vec![]).await;
    // A room she was never in.
    let elsewhere = carol.create_room("carols", Visibility::Private).await.id;
    send(&mut carol, elsewhere, "not for alice", None, false, vec![]).await;
    // A room she joins late and leaves early.
    let town = bob.create_room("town", Visibility::Public).await.id;
    send(&mut bob, town, "before alice came", None, false, vec![]).await;
    match bob
        .request(ClientFrame::SetAnonymousQuestions {
            req_id: None,
            room: Some(town),
            on: true,
        })
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("allow anonymous questions: {other:?}"),
    }
    alice.join(town).await;
    tina.join(town).await;
    let question = send(&mut alice, town, "when is lunch?", None, true, vec![]).await;
    let answer = send(&mut bob, town, "at noon", None, false, vec![]).await;
    match bob
        .request(ClientFrame::MarkAnswer {
            req_id: None,
            room: town,
            question,
            answer,
        })
        .await
    {
        ServerFrame::Ack { .. } | ServerFrame::Ok { .. } => {}
        other => panic!("mark_answer: {other:?}"),
    }
    let asked = match alice
        .request(ClientFrame::AskAnonymously {
            req_id: None,
            room: town,
            body: "is the merger real?".into(),
        })
        .await
    {
        ServerFrame::AnonymousQuestions { questions, .. } => questions[0].id,
        other => panic!("ask anonymously: {other:?}"),
    };
    match tina
        .request(ClientFrame::Moderate {
            req_id: None,
            id: asked,
            action: ModerationAction::Approve,
        })
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("approve: {other:?}"),
    }
    alice
        .expect("the approval", |f| {
            matches!(f, ServerFrame::AnonymousQuestion { question }
                if question.id == asked && matches!(question.status, AnonStatus::Approved { .. }))
        })
        .await;
    match alice
        .request(ClientFrame::Leave {
            req_id: None,
            room: town,
        })
        .await
    {
        ServerFrame::Ok { .. } | ServerFrame::Ack { .. } => {}
        other => panic!("leave: {other:?}"),
    }
    send(&mut bob, town, "after alice left", None, false, vec![]).await;

    let (status, archive) = export(&server, &server.admin_token, "user=alice").await;
    assert_eq!(status, 200);
    let lines = lines(&untar(&archive));
    assert_eq!(lines[0]["scope"], "user");
    assert_eq!(lines[0]["user"]["username"], "alice");
    let all = said(&lines);
    for wanted in [
        ("alice", "psst, bob"),
        ("bob", "yes, alice?"),
        ("alice", "when is lunch?"),
        ("bob", "at noon"),
        ("anonymous", "is the merger real?"),
    ] {
        assert!(
            all.contains(&(wanted.0.into(), wanted.1.into())),
            "{wanted:?} missing from {all:?}"
        );
    }
    for absent in ["not for alice", "before alice came", "after alice left"] {
        assert!(
            !all.iter().any(|(_, b)| b == absent),
            "{absent:?} is outside her membership: {all:?}"
        );
    }
    for m in messages(&lines) {
        let mine = m["sender"]["username"] == "alice";
        assert_eq!(
            m["direction"],
            if mine { "sent" } else { "received" },
            "{m}"
        );
    }
    let lunch = messages(&lines)
        .into_iter()
        .find(|m| m["body"] == "when is lunch?")
        .expect("the question");
    assert_eq!(lunch["question"], true);
    assert_eq!(lunch["answer"]["body"], "at noon");
    assert_eq!(lunch["answer"]["seq"], answer);
    // The anonymous question is not hers in the export, nor anywhere
    // near her name or id.
    let anon: Vec<_> = lines
        .iter()
        .filter(|l| l.to_string().contains("is the merger real?"))
        .collect();
    assert_eq!(anon.len(), 1, "{anon:?}");
    let line = anon[0].to_string();
    assert!(
        !line.contains("alice") && !line.contains(&alice_info.id.to_string()),
        "{line}"
    );
    assert_eq!(anon[0]["direction"], "received");

    let log = audit(&server).await;
    let entry = log
        .iter()
        .find(|e| e["action"] == "export_user")
        .unwrap_or_else(|| panic!("no export_user in {log:?}"));
    assert_eq!(entry["actor"]["username"], "admin");
    assert_eq!(entry["target"]["username"], "alice");
    let (status, _) = export(&server, &bob_token, "user=alice").await;
    assert_eq!(status, 403);
    let (status, _) = export(&server, &server.admin_token, "user=nobody_here").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_large_room_streams_out_in_many_parts() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = alice.create_room("busy", Visibility::Public).await.id;
    const N: usize = 6_000;
    let pad = "x".repeat(300);
    for batch in 0..N / 500 {
        for i in 0..500 {
            alice
                .send(&ClientFrame::Send {
                    req_id: None,
                    room,
                    client_id: Uuid::new_v4(),
                    body: format!("{:05} {pad}", batch * 500 + i),
                    thread: None,
                    question: false,
                    attachments: Vec::new(),
                })
                .await;
        }
        for _ in 0..500 {
            alice
                .expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
                .await;
        }
    }
    let (status, archive) = export(&server, &server.admin_token, &format!("room={room}")).await;
    assert_eq!(status, 200);
    let entries = untar(&archive);
    let parts = entries
        .iter()
        .filter(|(n, _)| n.ends_with(".jsonl"))
        .count();
    assert!(parts >= 3, "{parts} parts for about 2 MB of lines");
    let lines = lines(&entries);
    let bodies: Vec<String> = messages(&lines)
        .iter()
        .map(|m| m["body"].as_str().unwrap_or("")[..5].to_owned())
        .collect();
    let want: Vec<String> = (0..N).map(|i| format!("{i:05}")).collect();
    assert_eq!(bodies, want, "every message once, in order");
}
