//! Live chat between connected users, rooms and direct messages.

use townhall_protocol::{
    ClientFrame, Content, ErrorCode, MemberAction, RoomKind, ServerFrame, Visibility,
};
use townhall_tests::{TestServer, body};

#[tokio::test]
async fn alice_and_bob_chat_live_in_a_public_room() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (bob, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob_c, _, _) = server.connect_caught_up(&bob_token, None, None).await;

    let room = alice.create_room("general", Visibility::Public).await;
    assert_eq!(room.my_role, Some(townhall_protocol::RoomRole::Owner));
    match bob_c.join(room.id).await {
        ServerFrame::Room { room: r, .. } => assert_eq!(r.member_count, 2),
        other => panic!("join: {other:?}"),
    }
    // alice sees bob's join as a timeline event.
    let joined = alice
        .event_where(
            "bob's join",
            |e| matches!(&e.content, Content::Member { user, .. } if user.id == bob.id),
        )
        .await;
    assert!(
        matches!(
            &joined.content,
            Content::Member {
                action: MemberAction::Joined,
                ..
            }
        ),
        "{joined:?}"
    );

    let (_, seq, pos) = alice.post(room.id, "hello bob").await;
    let got = bob_c.message("hello bob").await;
    assert_eq!((got.seq, got.pos), (seq, pos));
    assert_eq!(got.sender.username, "alice");

    bob_c.post(room.id, "hi alice").await;
    // alice receives her own message live too (other devices stay in sync), then bob's.
    let own = alice.message("hello bob").await;
    assert_eq!(own.pos, pos);
    let reply = alice.message("hi alice").await;
    assert!(reply.seq > seq && reply.pos > pos);
}

#[tokio::test]
async fn a_direct_message_room_is_made_once_and_shows_the_other_person() {
    let server = TestServer::start().await;
    let (alice, alice_token) = server.user("alice").await;
    let (bob, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;

    let dm = match a
        .request(ClientFrame::OpenDm {
            req_id: None,
            user: "bob".into(),
        })
        .await
    {
        ServerFrame::Room { room, .. } => room,
        other => panic!("open_dm: {other:?}"),
    };
    assert_eq!(dm.kind, RoomKind::Dm);
    assert_eq!(dm.dm_peer.as_ref().map(|u| u.id), Some(bob.id));
    a.post(dm.id, "psst").await;
    let got = b
        .expect(
            "the dm message",
            |f| matches!(f, ServerFrame::Event(e) if body(e) == Some("psst")),
        )
        .await;
    assert!(matches!(got, ServerFrame::Event(e) if e.room == dm.id));

    // Opening it again, from either side, finds the same room.
    match b
        .request(ClientFrame::OpenDm {
            req_id: None,
            user: "alice".into(),
        })
        .await
    {
        ServerFrame::Room { room, .. } => {
            assert_eq!(room.id, dm.id);
            assert_eq!(room.dm_peer.map(|u| u.id), Some(alice.id));
        }
        other => panic!("open_dm again: {other:?}"),
    }
    // Leaving a DM only closes it for me (tests/abuse.rs); it can't be grown.
    match a
        .request(ClientFrame::Leave {
            req_id: None,
            room: dm.id,
        })
        .await
    {
        ServerFrame::Ok { pos, .. } => assert_eq!(pos, 0, "closing a DM adds no event"),
        other => panic!("leave a DM: {other:?}"),
    }
    let (_, _) = server.user("carol").await;
    a.expect_error(
        ClientFrame::AddMember {
            req_id: None,
            room: dm.id,
            user: "carol".into(),
        },
        townhall_protocol::ErrorCode::Forbidden,
    )
    .await;
}

#[tokio::test]
async fn room_listings_show_my_rooms_the_directory_and_members() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let public = a.create_room("town-square", Visibility::Public).await;
    let private = a.create_room("leadership", Visibility::Private).await;

    match b.request(ClientFrame::Directory { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => {
            let names: Vec<_> = rooms
                .iter()
                .filter(|r| !r.org_wide)
                .map(|r| r.name.as_str())
                .collect();
            assert_eq!(names, vec!["town-square"], "private rooms are not listed");
        }
        other => panic!("directory: {other:?}"),
    }
    match a.request(ClientFrame::MyRooms { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => {
            let mut ids: Vec<_> = rooms.iter().filter(|r| !r.org_wide).map(|r| r.id).collect();
            ids.sort();
            let mut want = vec![public.id, private.id];
            want.sort();
            assert_eq!(ids, want);
        }
        other => panic!("my_rooms: {other:?}"),
    }
    assert!(matches!(
        a.add_member(private.id, "bob").await,
        ServerFrame::Ok { .. }
    ));
    match b
        .request(ClientFrame::Members {
            req_id: None,
            room: private.id,
        })
        .await
    {
        ServerFrame::Members { members, .. } => {
            let names: Vec<_> = members.iter().map(|m| m.user.username.as_str()).collect();
            assert_eq!(names, vec!["alice", "bob"]);
        }
        other => panic!("members: {other:?}"),
    }
    match b.request(ClientFrame::Users { req_id: None }).await {
        ServerFrame::Users { users, .. } => {
            let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
            assert_eq!(names, vec!["admin", "alice", "bob"]);
        }
        other => panic!("users: {other:?}"),
    }
}

#[tokio::test]
async fn history_pages_backwards_and_forwards() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = a.create_room("log", Visibility::Public).await;
    for i in 0..25 {
        a.post(room.id, &format!("m{i}")).await;
    }
    // seq 1 = created, 2 = alice joined, 3.. = m0..m24 (last seq 27).
    let page = |f: ServerFrame| match f {
        ServerFrame::History {
            events, has_more, ..
        } => (events, has_more),
        other => panic!("history: {other:?}"),
    };
    let (latest, more) = page(
        a.request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: None,
            after: None,
            limit: Some(10),
        })
        .await,
    );
    assert!(more);
    assert_eq!(
        latest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (18..=27).collect::<Vec<_>>()
    );
    let (older, more) = page(
        a.request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: Some(18),
            after: None,
            limit: Some(10),
        })
        .await,
    );
    assert!(more);
    assert_eq!(older.first().map(|e| e.seq), Some(8));
    assert_eq!(older.last().map(|e| e.seq), Some(17));
    let (oldest, more) = page(
        a.request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: Some(8),
            after: None,
            limit: Some(10),
        })
        .await,
    );
    assert!(!more);
    assert_eq!(
        oldest.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    let (newer, more) = page(
        a.request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: None,
            after: Some(20),
            limit: Some(100),
        })
        .await,
    );
    assert!(!more);
    assert_eq!(
        newer.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (21..=27).collect::<Vec<_>>()
    );
    // The page size is capped.
    let (capped, _) = page(
        a.request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: None,
            after: Some(0),
            limit: Some(100_000),
        })
        .await,
    );
    assert_eq!(capped.len(), 27);
}

#[tokio::test]
async fn typing_and_presence_reach_other_members_only() {
    let server = TestServer::start().await;
    let (alice, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    b.join(room.id).await;
    a.send(&ClientFrame::Typing { room: room.id }).await;
    // `expect` sees typing frames (only `next` skips them).
    let t = b
        .expect("typing", |f| matches!(f, ServerFrame::Typing { .. }))
        .await;
    assert!(
        matches!(t, ServerFrame::Typing { user, room: r } if user.id == alice.id && r == room.id)
    );
    match b.request(ClientFrame::Online { req_id: None }).await {
        ServerFrame::Online { users, .. } => assert!(users.contains(&alice.id)),
        other => panic!("online: {other:?}"),
    }
    a.close().await;
    let p = b
        .expect("alice offline", |f| {
            matches!(f, ServerFrame::Presence { online: false, .. })
        })
        .await;
    assert!(matches!(p, ServerFrame::Presence { user, .. } if user == alice.id));
}

#[tokio::test]
async fn a_public_room_name_is_taken_whatever_its_case_even_after_a_restart() {
    let mut server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let general = alice.create_room("General", Visibility::Public).await;

    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let create = |name: &str, visibility| ClientFrame::CreateRoom {
        req_id: None,
        name: name.into(),
        topic: String::new(),
        visibility,
        announce_only: false,
    };
    for name in ["general", "GENERAL", "  general  ", "announcements"] {
        bob.expect_error(create(name, Visibility::Public), ErrorCode::NameTaken)
            .await;
    }
    // A private room is invisible to others, so its name claims nothing,
    // and a private room takes no public name either.
    bob.create_room("general", Visibility::Private).await;
    bob.create_room("secret", Visibility::Private).await;
    bob.create_room("Secret", Visibility::Public).await;
    bob.create_room("general-2", Visibility::Public).await;

    // The claim is stored: after a restart it still holds, and the
    // directory lists one "general".
    drop(bob);
    drop(alice);
    assert_eq!(server.stop().await, Some(0));
    server.restart().await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    bob.expect_error(create("gEnErAl", Visibility::Public), ErrorCode::NameTaken)
        .await;
    match bob.request(ClientFrame::Directory { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => {
            let generals: Vec<_> = rooms
                .iter()
                .filter(|r| r.name.eq_ignore_ascii_case("general"))
                .map(|r| r.id)
                .collect();
            assert_eq!(generals, vec![general.id], "directory: {rooms:?}");
        }
        other => panic!("directory: {other:?}"),
    }
}
