//! A private room is invisible to non-members: not live, not history, not
//! members, not the queue; every answer is the one a missing room gets.

use townhall_protocol::{ClientFrame, ErrorCode, RoomId, ServerFrame, Visibility};
use townhall_tests::{TestServer, bodies};

#[tokio::test]
async fn a_non_member_sees_nothing_of_a_private_room() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, mallory_token) = server.user("mallory").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut m, _, _) = server.connect_caught_up(&mallory_token, None, None).await;
    let secret = a.create_room("board", Visibility::Private).await;
    let public = a.create_room("lobby", Visibility::Public).await;
    m.join(public.id).await;
    a.post(secret.id, "the secret plan").await;
    a.request(ClientFrame::Send {
        req_id: None,
        room: secret.id,
        client_id: uuid::Uuid::new_v4(),
        body: "a secret question?".into(),
        thread: None,
        question: true,
        attachments: Vec::new(),
    })
    .await;
    a.post(public.id, "public news").await;

    // Live: mallory gets the public message and never the secret one.
    m.message("public news").await;
    m.request(ClientFrame::Ping { req_id: None }).await;
    while let Some(f) = m.pending_frame() {
        assert!(
            !matches!(&f, ServerFrame::Event(e) if e.room == secret.id),
            "leaked live: {f:?}"
        );
    }

    // Every request about the private room answers exactly like a missing room.
    let missing = RoomId::new();
    for room in [secret.id, missing] {
        let probes = vec![
            ClientFrame::History {
                req_id: None,
                room,
                before: None,
                after: None,
                limit: None,
            },
            ClientFrame::Members { req_id: None, room },
            ClientFrame::Send {
                req_id: None,
                room,
                client_id: uuid::Uuid::new_v4(),
                body: "hi".into(),
                thread: None,
                question: false,
                attachments: Vec::new(),
            },
            ClientFrame::Join { req_id: None, room },
            ClientFrame::Leave { req_id: None, room },
            ClientFrame::MarkRead {
                req_id: None,
                room,
                seq: 1,
            },
            ClientFrame::AddMember {
                req_id: None,
                room,
                user: "mallory".into(),
            },
            ClientFrame::RemoveMember {
                req_id: None,
                room,
                user: "alice".into(),
            },
            ClientFrame::SetRoomRole {
                req_id: None,
                room,
                user: "alice".into(),
                role: townhall_protocol::RoomRole::Member,
            },
            // Operations on the secret message (seq 3) itself.
            ClientFrame::Edit {
                req_id: None,
                room,
                seq: 3,
                body: "x".into(),
            },
            ClientFrame::Delete {
                req_id: None,
                room,
                seq: 3,
            },
            ClientFrame::React {
                req_id: None,
                room,
                seq: 3,
                emoji: "👍".into(),
                on: true,
            },
            ClientFrame::MarkAnswer {
                req_id: None,
                room,
                question: 3,
                answer: 3,
            },
            ClientFrame::Send {
                req_id: None,
                room,
                client_id: uuid::Uuid::new_v4(),
                body: "reply".into(),
                thread: Some(3),
                question: true,
                attachments: Vec::new(),
            },
        ];
        for probe in probes {
            match m.request(probe.clone()).await {
                ServerFrame::Error {
                    code: ErrorCode::NotFound,
                    message,
                    ..
                } => {
                    assert_eq!(message, "no such room or user", "{probe:?}");
                }
                other => panic!("{probe:?} on {room}: expected not_found, got {other:?}"),
            }
        }
    }
    // Not in the questions queue or its counts either.
    owner_question_check(&mut m).await;
    // Not in the directory, not in her rooms.
    match m.request(ClientFrame::Directory { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => assert!(rooms.iter().all(|r| r.id != secret.id)),
        other => panic!("{other:?}"),
    }
    // Not in her queue: a full backlog from position 0 holds only what she may see.
    let (_, backlog, _) = server
        .connect_caught_up(&mallory_token, Some(0), None)
        .await;
    assert!(
        backlog.iter().all(|e| e.room != secret.id),
        "leaked in backlog"
    );
    assert_eq!(bodies(&backlog), vec!["public news"]);
    // Typing into it is refused too (an error with no req_id).
    m.send(&ClientFrame::Typing { room: secret.id }).await;
    let e = m
        .expect("typing refused", |f| matches!(f, ServerFrame::Error { .. }))
        .await;
    assert!(matches!(
        e,
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            ..
        }
    ));
}

#[tokio::test]
async fn only_owners_and_moderators_add_people_to_a_private_room() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    server.user("carol").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let room = a.create_room("board", Visibility::Private).await;
    a.add_member(room.id, "bob").await;
    b.expect_error(
        ClientFrame::AddMember {
            req_id: None,
            room: room.id,
            user: "carol".into(),
        },
        ErrorCode::Forbidden,
    )
    .await;
    b.expect_error(
        ClientFrame::RemoveMember {
            req_id: None,
            room: room.id,
            user: "alice".into(),
        },
        ErrorCode::Forbidden,
    )
    .await;
    a.expect_error(
        ClientFrame::AddMember {
            req_id: None,
            room: room.id,
            user: "bob".into(),
        },
        ErrorCode::AlreadyMember,
    )
    .await;
    a.expect_error(
        ClientFrame::AddMember {
            req_id: None,
            room: room.id,
            user: "nobody".into(),
        },
        ErrorCode::NotFound,
    )
    .await;
    // An admin may add anyone anywhere.
    let mut admin = server.connect(&server.admin_token).await;
    admin.until_caught_up().await;
    assert!(matches!(
        admin.add_member(room.id, "carol").await,
        ServerFrame::Ok { .. }
    ));
}

#[tokio::test]
async fn the_owner_makes_a_moderator_who_may_then_add_and_remove_people() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    server.user("carol").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let room = a.create_room("board", Visibility::Private).await;
    a.add_member(room.id, "bob").await;
    b.expect_error(
        ClientFrame::AddMember {
            req_id: None,
            room: room.id,
            user: "carol".into(),
        },
        ErrorCode::Forbidden,
    )
    .await;
    // Only the owner sets roles; nobody becomes a second owner.
    b.expect_error(
        ClientFrame::SetRoomRole {
            req_id: None,
            room: room.id,
            user: "bob".into(),
            role: townhall_protocol::RoomRole::Moderator,
        },
        ErrorCode::Forbidden,
    )
    .await;
    a.expect_error(
        ClientFrame::SetRoomRole {
            req_id: None,
            room: room.id,
            user: "bob".into(),
            role: townhall_protocol::RoomRole::Owner,
        },
        ErrorCode::InvalidField,
    )
    .await;
    assert!(matches!(
        a.request(ClientFrame::SetRoomRole {
            req_id: None,
            room: room.id,
            user: "bob".into(),
            role: townhall_protocol::RoomRole::Moderator
        })
        .await,
        ServerFrame::Ok { .. }
    ));
    let ev = b
        .event_where("role change", |e| {
            matches!(e.content, townhall_protocol::Content::RoomRoleSet { .. })
        })
        .await;
    assert!(
        matches!(&ev.content, townhall_protocol::Content::RoomRoleSet { user, role: townhall_protocol::RoomRole::Moderator } if user.username == "bob")
    );
    assert!(matches!(
        b.add_member(room.id, "carol").await,
        ServerFrame::Ok { .. }
    ));
    assert!(matches!(
        b.request(ClientFrame::RemoveMember {
            req_id: None,
            room: room.id,
            user: "carol".into()
        })
        .await,
        ServerFrame::Ok { .. }
    ));
    // A moderator cannot remove the owner.
    b.expect_error(
        ClientFrame::RemoveMember {
            req_id: None,
            room: room.id,
            user: "alice".into(),
        },
        ErrorCode::Forbidden,
    )
    .await;
}

async fn owner_question_check(m: &mut townhall_tests::Client) {
    match m
        .request(ClientFrame::Questions {
            req_id: None,
            sort: None,
            room: None,
        })
        .await
    {
        ServerFrame::Questions {
            questions, open, ..
        } => {
            assert!(questions.is_empty());
            assert_eq!(
                open, 0,
                "an open question of a private room counted for a non-member"
            );
        }
        other => panic!("{other:?}"),
    }
}
