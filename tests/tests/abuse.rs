//! Abuse by an ordinary account (security issue 17, findings 3 and 5):
//! typing floods, reserved and bidi-spoofing names, blocks, leaving DMs and
//! mass adds.

use std::time::Instant;
use townhall_protocol::{ClientFrame, ErrorCode, RoomId, ServerFrame, Visibility};
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

/// The `(code, message)` of an error reply, or a panic with what came.
async fn error_of(c: &mut Client, frame: ClientFrame) -> (ErrorCode, String) {
    match c.request(frame).await {
        ServerFrame::Error { code, message, .. } => (code, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn open_dm(user: &str) -> ClientFrame {
    ClientFrame::OpenDm {
        req_id: None,
        user: user.into(),
    }
}

fn send(room: RoomId, body: &str) -> ClientFrame {
    ClientFrame::Send {
        req_id: None,
        room,
        client_id: uuid::Uuid::new_v4(),
        body: body.into(),
        thread: None,
        question: false,
        attachments: Vec::new(),
    }
}

fn block(user: &str, on: bool) -> ClientFrame {
    ClientFrame::Block {
        req_id: None,
        user: user.into(),
        on,
    }
}

/// The ids of the rooms `my_rooms` and `summary` list.
async fn my_room_ids(c: &mut Client) -> (Vec<RoomId>, Vec<RoomId>) {
    let rooms = match c.request(ClientFrame::MyRooms { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => rooms.into_iter().map(|r| r.id).collect(),
        other => panic!("my_rooms: {other:?}"),
    };
    let summary = match c.request(ClientFrame::Summary { req_id: None }).await {
        ServerFrame::Summary { rooms, .. } => rooms.into_iter().map(|r| r.room.id).collect(),
        other => panic!("summary: {other:?}"),
    };
    (rooms, summary)
}

#[tokio::test]
async fn a_blocked_user_cannot_open_a_dm_post_in_one_or_add_the_blocker_and_is_told_not_found() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, mallory_token) = server.user("mallory").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut mallory, _, _) = server.connect_caught_up(&mallory_token, None, None).await;
    let dm = match mallory.request(open_dm("alice")).await {
        ServerFrame::Room { room, .. } => room,
        other => panic!("open_dm: {other:?}"),
    };
    let (_, old_seq, _) = mallory.post(dm.id, "hello before the block").await;
    let lobby = mallory.create_room("lobby", Visibility::Public).await;

    assert!(matches!(
        alice.request(block("mallory", true)).await,
        ServerFrame::Ok { .. }
    ));
    match alice.request(ClientFrame::Blocked { req_id: None }).await {
        ServerFrame::Blocked { users, .. } => {
            assert_eq!(
                users
                    .iter()
                    .map(|u| u.username.as_str())
                    .collect::<Vec<_>>(),
                ["mallory"]
            );
        }
        other => panic!("blocked: {other:?}"),
    }

    // Each refusal is exactly the answer for someone who does not exist.
    let unknown = error_of(&mut mallory, open_dm("nobody")).await;
    assert_eq!(unknown.0, ErrorCode::NotFound);
    assert_eq!(error_of(&mut mallory, open_dm("alice")).await, unknown);
    assert_eq!(error_of(&mut mallory, open_dm("ALICE")).await, unknown);
    assert_eq!(
        error_of(&mut mallory, send(dm.id, "are you there?")).await,
        unknown
    );
    assert_eq!(
        error_of(&mut mallory, send(RoomId::new(), "x")).await,
        unknown,
        "a post into the DM answers like a post into no room"
    );
    // Nor by changing what was sent before the block: an edit would
    // deliver a new body, a reaction a new event.
    let edit = ClientFrame::Edit {
        req_id: None,
        room: dm.id,
        seq: old_seq,
        body: "still here".into(),
    };
    assert_eq!(error_of(&mut mallory, edit).await, unknown);
    let react = ClientFrame::React {
        req_id: None,
        room: dm.id,
        seq: old_seq,
        emoji: "👍".into(),
        on: true,
    };
    assert_eq!(error_of(&mut mallory, react).await, unknown);
    let add = |user: &str| ClientFrame::AddMember {
        req_id: None,
        room: lobby.id,
        user: user.into(),
    };
    assert_eq!(
        error_of(&mut mallory, add("alice")).await,
        error_of(&mut mallory, add("nobody")).await
    );
    assert_eq!(
        error_of(&mut mallory, add("alice")).await.0,
        ErrorCode::NotFound
    );

    // Mallory's typing in the DM does not reach alice either (checked
    // behind a pong barrier on both sockets).
    mallory.send(&ClientFrame::Typing { room: dm.id }).await;
    mallory.request(ClientFrame::Ping { req_id: None }).await;
    alice.request(ClientFrame::Ping { req_id: None }).await;
    assert_eq!(
        typing_frames_buffered(&mut alice),
        0,
        "typing of a blocked user"
    );

    // A block is one-way: alice still writes in the DM, and mallory reads it.
    alice.post(dm.id, "please stop").await;
    mallory.message("please stop").await;

    // Unblocked, everything works again.
    assert!(matches!(
        alice.request(block("mallory", false)).await,
        ServerFrame::Ok { .. }
    ));
    assert!(matches!(
        mallory.request(open_dm("alice")).await,
        ServerFrame::Room { .. }
    ));
    mallory.post(dm.id, "sorry").await;
    assert!(matches!(
        mallory.add_member(lobby.id, "alice").await,
        ServerFrame::Ok { .. }
    ));
    match alice.request(ClientFrame::Blocked { req_id: None }).await {
        ServerFrame::Blocked { users, .. } => assert!(users.is_empty(), "{users:?}"),
        other => panic!("blocked: {other:?}"),
    }
    assert_eq!(
        error_of(&mut alice, block("nobody", true)).await.0,
        ErrorCode::NotFound
    );
    assert_eq!(
        error_of(&mut alice, block("alice", true)).await.0,
        ErrorCode::InvalidField
    );
}

#[tokio::test]
async fn leaving_a_dm_hides_it_until_the_other_person_writes_again() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let dm = match alice.request(open_dm("bob")).await {
        ServerFrame::Room { room, .. } => room,
        other => panic!("open_dm: {other:?}"),
    };
    alice.post(dm.id, "lunch?").await;
    bob.message("lunch?").await;
    let (rooms, summary) = my_room_ids(&mut bob).await;
    assert!(rooms.contains(&dm.id) && summary.contains(&dm.id));

    assert!(matches!(
        bob.request(ClientFrame::Leave {
            req_id: None,
            room: dm.id
        })
        .await,
        ServerFrame::Ok { .. }
    ));
    let (rooms, summary) = my_room_ids(&mut bob).await;
    assert!(!rooms.contains(&dm.id), "left DM still listed: {rooms:?}");
    assert!(
        !summary.contains(&dm.id),
        "left DM still summarised: {summary:?}"
    );

    // The other person writes again: it comes back, with the message.
    alice.post(dm.id, "tomorrow then?").await;
    bob.message("tomorrow then?").await;
    let (rooms, summary) = my_room_ids(&mut bob).await;
    assert!(rooms.contains(&dm.id) && summary.contains(&dm.id));

    // Closing it again and opening it myself brings it back too.
    bob.request(ClientFrame::Leave {
        req_id: None,
        room: dm.id,
    })
    .await;
    assert!(!my_room_ids(&mut bob).await.0.contains(&dm.id));
    assert!(
        matches!(bob.request(open_dm("alice")).await, ServerFrame::Room { room, .. } if room.id == dm.id)
    );
    assert!(my_room_ids(&mut bob).await.0.contains(&dm.id));
}

#[tokio::test]
async fn one_person_may_add_another_to_at_most_20_rooms_an_hour() {
    let server = TestServer::start().await;
    let (_, mallory_token) = server.user("mallory").await;
    server.user("bob").await;
    server.user("carol").await;
    let (mut mallory, _, _) = server.connect_caught_up(&mallory_token, None, None).await;
    let mut rooms = Vec::new();
    for i in 0..21 {
        rooms.push(
            mallory
                .create_room(&format!("spam-{i}"), Visibility::Public)
                .await,
        );
    }
    for (i, room) in rooms.iter().take(20).enumerate() {
        match mallory.add_member(room.id, "bob").await {
            ServerFrame::Ok { .. } => {}
            other => panic!("add {i} of bob: {other:?}"),
        }
    }
    let last = rooms[20].id;
    match mallory.add_member(last, "bob").await {
        ServerFrame::Error {
            code: ErrorCode::RateLimited,
            ..
        } => {}
        other => panic!("the 21st add of bob within the hour: {other:?}"),
    }
    // The limit is per person added: carol can still be added.
    assert!(matches!(
        mallory.add_member(last, "carol").await,
        ServerFrame::Ok { .. }
    ));
}
