//! Abuse by an ordinary account (security issue 17, findings 3 and 5):
//! typing floods, reserved and bidi-spoofing names, blocks, leaving DMs and
//! mass adds.

use std::time::Instant;
use townhall_protocol::{ClientFrame, ErrorCode, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer};

/// Typing frames bob has received and buffered so far (call after a
/// barrier: a `ping` answered on bob's own queue, behind any typing).
fn typing_frames_buffered(c: &mut Client) -> usize {
    let mut n = 0;
    while let Some(f) = c.pending_frame() {
        if matches!(f, ServerFrame::Typing { .. }) {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn typing_from_32_sockets_of_one_user_reaches_a_recipient_once_per_window() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let mut alice = Vec::new();
    for _ in 0..32 {
        alice.push(server.connect(&alice_token).await);
    }
    let room = alice[0].create_room("lobby", Visibility::Public).await;
    bob.join(room.id).await;

    let started = Instant::now();
    for a in alice.iter_mut() {
        a.send(&ClientFrame::Typing { room: room.id }).await;
    }
    // Barrier: each of alice's sessions handles its frames in order, so once
    // every pong is back every typing has been fanned out (or dropped)...
    for a in alice.iter_mut() {
        a.request(ClientFrame::Ping { req_id: None }).await;
    }
    // ...and bob's pong queues behind any typing frame already sent to him.
    bob.request(ClientFrame::Ping { req_id: None }).await;
    let elapsed = started.elapsed();
    let got = typing_frames_buffered(&mut bob);

    // One per 3 s window that the burst spanned (one, unless this machine
    // took over 3 s to send 64 small frames).
    let windows = 1 + (elapsed.as_secs() / 3) as usize;
    assert!(
        (1..=windows).contains(&got),
        "bob got {got} typing frames in {elapsed:?} from 32 sockets; seen: {:#?}",
        bob.seen
    );
}

/// `POST /api/admin/users` as the test admin; returns (status, body).
async fn create_user_http(server: &TestServer, body: serde_json::Value) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(server.http("/api/admin/users"))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .expect("create user");
    (
        resp.status().as_u16(),
        resp.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn reserved_usernames_are_refused_at_account_creation() {
    let server = TestServer::start().await;
    for name in ["room", "ROOM", "Here", "everyone", "All", ".", "..", "..."] {
        let (status, body) = create_user_http(
            &server,
            serde_json::json!({"username": name, "password": "long-enough-password", "role": "staff"}),
        )
        .await;
        assert_eq!(status, 400, "{name}: {body}");
        assert!(body.contains("\"invalid_field\""), "{name}: {body}");
    }
    // Names that merely contain a reserved word, or dots among letters, are fine.
    for name in ["rooms", "allan", "b.o.b", ".hidden"] {
        let (status, body) = create_user_http(
            &server,
            serde_json::json!({"username": name, "password": "long-enough-password", "role": "staff"}),
        )
        .await;
        assert_eq!(status, 201, "{name}: {body}");
    }
}

#[tokio::test]
async fn the_user_add_command_refuses_reserved_usernames() {
    let mut server = TestServer::start().await;
    assert_eq!(server.stop().await, Some(0));
    for name in ["everyone", ".."] {
        let out = std::process::Command::new(townhall_tests::binary())
            .args(["user", "--data"])
            .arg(&server.data)
            .args(["add", name, "--password", "long-enough-password"])
            .output()
            .expect("run townhall user add");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted: {text}");
        assert!(text.contains("reserved"), "{name}: {text}");
    }
}

const RLO: char = '\u{202E}';

#[tokio::test]
async fn bidi_controls_are_refused_in_room_names_and_display_names() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    for c in [
        RLO, '\u{202A}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
    ] {
        alice
            .expect_error(
                ClientFrame::CreateRoom {
                    req_id: None,
                    name: format!("invoice{c}fdp.exe"),
                    topic: String::new(),
                    visibility: Visibility::Public,
                    announce_only: false,
                },
                ErrorCode::InvalidField,
            )
            .await;
    }
    // Other scripts are fine: only the controls are refused.
    alice.create_room("שלום café", Visibility::Public).await;

    let (status, body) = create_user_http(
        &server,
        serde_json::json!({"username": "mallory", "display_name": format!("Admin{RLO}nimda"),
            "password": "long-enough-password", "role": "staff"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"invalid_field\""), "{body}");

    let resp = reqwest::Client::new()
        .patch(server.http("/api/admin/users/alice"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"display_name": format!("{RLO}ecilA")}))
        .send()
        .await
        .expect("patch");
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"invalid_field\""), "{body}");
}
