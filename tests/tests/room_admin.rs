//! Room management against the real binary (`update_room`): the owner or an
//! admin renames a room, changes its topic, archives and unarchives it;
//! members see each change live; an archived room refuses writes with
//! `room_archived`, leaves the directory and stays in its members' history
//! and search; public names are unique without regard to case (Unicode
//! case folding included) on create and rename. Also `mentions:me` as the
//! mentions view uses it: only rooms the caller can read now.

use std::time::Duration;
use townhall_protocol::{
    ClientFrame, Content, ErrorCode, RoomId, RoomInfo, SearchResult, ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer, WAIT};

fn rename(room: RoomId, name: &str) -> ClientFrame {
    ClientFrame::UpdateRoom {
        req_id: None,
        room,
        name: Some(name.into()),
        topic: None,
        archived: None,
    }
}

fn archive(room: RoomId, on: bool) -> ClientFrame {
    ClientFrame::UpdateRoom {
        req_id: None,
        room,
        name: None,
        topic: None,
        archived: Some(on),
    }
}

async fn updated(c: &mut Client, frame: ClientFrame) -> RoomInfo {
    match c.request(frame).await {
        ServerFrame::Room { room, .. } => room,
        other => panic!("update_room: {other:?}"),
    }
}

async fn directory(c: &mut Client) -> Vec<RoomInfo> {
    match c.request(ClientFrame::Directory { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => rooms,
        other => panic!("directory: {other:?}"),
    }
}

async fn my_rooms(c: &mut Client) -> Vec<RoomInfo> {
    match c.request(ClientFrame::MyRooms { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => rooms,
        other => panic!("my_rooms: {other:?}"),
    }
}

async fn search(c: &mut Client, query: &str) -> Vec<SearchResult> {
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
        ServerFrame::SearchResults { results, .. } => results,
        other => panic!("search {query:?}: {other:?}"),
    }
}

/// Ask again until the results satisfy `pred` (the index fills in the
/// background); panics with the last results after `WAIT`.
async fn search_until(
    c: &mut Client,
    query: &str,
    pred: impl Fn(&[SearchResult]) -> bool,
) -> Vec<SearchResult> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let results = search(c, query).await;
        if pred(&results) {
            return results;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "search {query:?}: waited {WAIT:?}; last results: {results:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
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

#[tokio::test]
async fn the_owner_renames_and_retopics_and_every_member_sees_it_live() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let room = alice.create_room("planning", Visibility::Public).await;
    bob.join(room.id).await;

    let info = updated(&mut alice, rename(room.id, "Planning 2027")).await;
    assert_eq!(info.name, "Planning 2027");
    let ev = bob
        .event_where("the rename", |e| {
            matches!(&e.content, Content::RoomUpdated { name: Some(n), .. } if n == "Planning 2027")
        })
        .await;
    assert_eq!(ev.sender.username, "alice");

    let frame = ClientFrame::UpdateRoom {
        req_id: None,
        room: room.id,
        name: None,
        topic: Some("Budget and hiring for next year".into()),
        archived: None,
    };
    assert_eq!(
        updated(&mut alice, frame).await.topic,
        "Budget and hiring for next year"
    );
    let ev = bob
        .event_where("the topic", |e| {
            matches!(&e.content, Content::RoomUpdated { topic: Some(_), .. })
        })
        .await;
    // Only what changed is in the event.
    assert!(
        matches!(
            &ev.content,
            Content::RoomUpdated {
                name: None,
                archived: None,
                ..
            }
        ),
        "{ev:?}"
    );
    // The room list and the directory say so too.
    let listed = my_rooms(&mut bob).await;
    let mine = listed.iter().find(|r| r.id == room.id).expect("bob's room");
    assert_eq!(
        (mine.name.as_str(), mine.topic.as_str()),
        ("Planning 2027", "Budget and hiring for next year")
    );
    // A member who was offline gets the change in the backlog.
    let (_, carol_token) = server.user("carol").await;
    let (mut carol, _, _) = server.connect_caught_up(&carol_token, None, None).await;
    carol.join(room.id).await;
    let history = carol.latest_history(room.id).await;
    assert!(
        history
            .iter()
            .any(|e| matches!(&e.content, Content::RoomUpdated { name: Some(_), .. })),
        "{history:#?}"
    );
}

#[tokio::test]
async fn an_archived_room_refuses_writes_leaves_the_directory_and_stays_readable() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let room = alice.create_room("old-project", Visibility::Public).await;
    bob.join(room.id).await;
    let (_, seq, _) = bob.post(room.id, "the final zebrafish report").await;
    assert!(directory(&mut bob).await.iter().any(|r| r.id == room.id));

    let info = updated(&mut alice, archive(room.id, true)).await;
    assert!(info.archived);
    bob.event_where("the archive", |e| {
        matches!(
            &e.content,
            Content::RoomUpdated {
                archived: Some(true),
                ..
            }
        )
    })
    .await;

    // Sends, edits, reactions: refused with the code.
    bob.expect_error(send(room.id, "one more thing"), ErrorCode::RoomArchived)
        .await;
    bob.expect_error(
        ClientFrame::Edit {
            req_id: None,
            room: room.id,
            seq,
            body: "changed".into(),
        },
        ErrorCode::RoomArchived,
    )
    .await;
    alice
        .expect_error(
            ClientFrame::React {
                req_id: None,
                room: room.id,
                seq,
                emoji: "👍".into(),
                on: true,
            },
            ErrorCode::RoomArchived,
        )
        .await;

    // Out of the directory, still in bob's rooms, history and search.
    assert!(!directory(&mut bob).await.iter().any(|r| r.id == room.id));
    let mine = my_rooms(&mut bob).await;
    assert!(
        mine.iter().any(|r| r.id == room.id && r.archived),
        "{mine:#?}"
    );
    let history = bob.latest_history(room.id).await;
    assert!(history.iter().any(|e| e.seq == seq), "{history:#?}");
    search_until(&mut bob, "zebrafish", |r| {
        r.iter().any(|h| h.room == room.id && h.seq == seq)
    })
    .await;

    // Unarchived: writable and listed again.
    assert!(!updated(&mut alice, archive(room.id, false)).await.archived);
    bob.post(room.id, "back in business").await;
    assert!(directory(&mut bob).await.iter().any(|r| r.id == room.id));
}

#[tokio::test]
async fn public_names_collide_without_regard_to_case_on_create_and_rename() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    alice.create_room("General", Visibility::Public).await;
    let street = alice.create_room("Straße", Visibility::Public).await;
    let other = alice.create_room("random", Visibility::Public).await;

    for taken in ["general", "GENERAL", "STRASSE", "strasse"] {
        alice
            .expect_error(
                ClientFrame::CreateRoom {
                    req_id: None,
                    name: taken.into(),
                    topic: String::new(),
                    visibility: Visibility::Public,
                    announce_only: false,
                },
                ErrorCode::NameTaken,
            )
            .await;
        alice
            .expect_error(rename(other.id, taken), ErrorCode::NameTaken)
            .await;
    }
    // A private room claims no name.
    alice.create_room("general", Visibility::Private).await;
    // A room may change the case of its own name.
    assert_eq!(
        updated(&mut alice, rename(street.id, "STRASSE")).await.name,
        "STRASSE"
    );
    // A renamed room frees its old name.
    updated(&mut alice, rename(other.id, "misc")).await;
    alice.create_room("Random", Visibility::Public).await;
    alice
        .expect_error(
            ClientFrame::CreateRoom {
                req_id: None,
                name: "MISC".into(),
                topic: String::new(),
                visibility: Visibility::Public,
                announce_only: false,
            },
            ErrorCode::NameTaken,
        )
        .await;
}

#[tokio::test]
async fn only_the_owner_or_an_admin_manages_a_room() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (bob, bob_token) = server.user("bob").await;
    let (_, eve_token) = server.user("eve").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob_c, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let (mut eve, _, _) = server.connect_caught_up(&eve_token, None, None).await;
    let (mut admin, _, _) = server
        .connect_caught_up(&server.admin_token, None, None)
        .await;
    let room = alice.create_room("team", Visibility::Public).await;
    bob_c.join(room.id).await;
    // Even a moderator is not the owner.
    alice
        .request(ClientFrame::SetRoomRole {
            req_id: None,
            room: room.id,
            user: bob.username.clone(),
            role: townhall_protocol::RoomRole::Moderator,
        })
        .await;
    bob_c
        .expect_error(rename(room.id, "bobs"), ErrorCode::Forbidden)
        .await;
    bob_c
        .expect_error(archive(room.id, true), ErrorCode::Forbidden)
        .await;
    // Not a member of a public room: forbidden; of a private one: not found.
    eve.expect_error(rename(room.id, "eves"), ErrorCode::Forbidden)
        .await;
    let secret = alice.create_room("secret", Visibility::Private).await;
    eve.expect_error(archive(secret.id, true), ErrorCode::NotFound)
        .await;
    // Nothing changed.
    let listed = my_rooms(&mut alice).await;
    let team = listed.iter().find(|r| r.id == room.id).expect("team");
    assert_eq!((team.name.as_str(), team.archived), ("team", false));

    // An admin may, member or not.
    assert!(updated(&mut admin, archive(secret.id, true)).await.archived);
    assert_eq!(
        updated(&mut admin, rename(room.id, "Team A")).await.name,
        "Team A"
    );
    // The organisation room cannot be archived, and staff cannot leave it.
    let org = my_rooms(&mut eve)
        .await
        .into_iter()
        .find(|r| r.org_wide)
        .expect("org room");
    admin
        .expect_error(archive(org.id, true), ErrorCode::OrganisationRoom)
        .await;
    eve.expect_error(
        ClientFrame::Leave {
            req_id: None,
            room: org.id,
        },
        ErrorCode::OrganisationRoom,
    )
    .await;
}

#[tokio::test]
async fn mentions_me_lists_only_rooms_i_can_read_and_not_my_own_messages() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let open = alice.create_room("open", Visibility::Public).await;
    let closed = alice.create_room("closed", Visibility::Private).await;
    bob.join(open.id).await;
    alice.add_member(closed.id, "bob").await;

    let (_, in_closed, _) = alice.post(closed.id, "@bob the secret plan").await;
    let (_, in_open, _) = alice.post(open.id, "@bob lunch?").await;
    let (_, own, _) = bob.post(open.id, "@room I am back, @bob too").await;
    // Both mentions listed, newest first; bob's own `@room` is not.
    let found = search_until(&mut bob, "mentions:me", |r| r.len() >= 2).await;
    let got: Vec<(RoomId, u64)> = found.iter().map(|h| (h.room, h.seq)).collect();
    assert_eq!(got, vec![(open.id, in_open), (closed.id, in_closed)]);
    assert!(!got.contains(&(open.id, own)));

    // Removed from the private room: its mention is gone from the list.
    alice
        .request(ClientFrame::RemoveMember {
            req_id: None,
            room: closed.id,
            user: "bob".into(),
        })
        .await;
    let found = search_until(&mut bob, "mentions:me", |r| {
        !r.iter().any(|h| h.room == closed.id)
    })
    .await;
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[tokio::test]
async fn a_malformed_update_room_is_an_invalid_field_and_a_long_name_is_refused() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = alice.create_room("tidy", Visibility::Public).await;
    // A known frame type with a bad field: never `unknown_type`.
    alice
        .send_raw(r#"{"type":"update_room","req_id":"bad","room":"general"}"#)
        .await;
    match alice
        .expect("the error", |f| matches!(f, ServerFrame::Error { .. }))
        .await
    {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::InvalidField),
        _ => unreachable!(),
    }
    alice
        .expect_error(rename(room.id, &"x".repeat(81)), ErrorCode::InvalidField)
        .await;
    alice
        .expect_error(rename(room.id, "   "), ErrorCode::InvalidField)
        .await;
    // Nothing changed, and no event was written for a no-op.
    let same = updated(&mut alice, rename(room.id, "tidy")).await;
    assert_eq!(same.name, "tidy");
    let history = alice.latest_history(room.id).await;
    assert!(
        !history
            .iter()
            .any(|e| matches!(e.content, Content::RoomUpdated { .. })),
        "{history:#?}"
    );
}
