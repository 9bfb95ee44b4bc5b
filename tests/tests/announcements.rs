//! The organisation-wide room and announce-only rooms: leaders speak,
//! everyone can reply and ask under a post, nobody is left out.

use townhall_protocol::{ClientFrame, ErrorCode, ServerFrame, Visibility};
use townhall_tests::TestServer;

fn send(
    room: townhall_protocol::RoomId,
    body: &str,
    thread: Option<u64>,
    question: bool,
) -> ClientFrame {
    ClientFrame::Send {
        req_id: None,
        room,
        client_id: uuid::Uuid::new_v4(),
        body: body.into(),
        thread,
        question,
        attachments: Vec::new(),
    }
}

#[tokio::test]
async fn everyone_is_in_the_organisation_room_where_leaders_post_and_staff_reply_and_ask() {
    let mut server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, staff_token) = server.user("staff").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let (mut staff, _, _) = server.connect_caught_up(&staff_token, None, None).await;

    let org = match staff.request(ClientFrame::MyRooms { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => rooms
            .into_iter()
            .find(|r| r.org_wide)
            .expect("staff is in the org room"),
        other => panic!("{other:?}"),
    };
    assert!(org.announce_only);
    assert_eq!(org.name, "Announcements");
    assert!(
        org.member_count >= 3,
        "admin, lead and staff: {}",
        org.member_count
    );

    // Staff cannot post top-level, leave, or be removed by a non-admin.
    staff
        .expect_error(send(org.id, "hello all", None, false), ErrorCode::Forbidden)
        .await;
    staff
        .expect_error(
            ClientFrame::Leave {
                req_id: None,
                room: org.id,
            },
            ErrorCode::OrganisationRoom,
        )
        .await;
    // The leader posts; staff reply in the thread and ask a question there.
    let (_, post, _) = lead
        .post(org.id, "We are reorganising the sales teams.")
        .await;
    staff.message("We are reorganising the sales teams.").await;
    assert!(matches!(
        staff
            .request(send(org.id, "thanks for the heads-up", Some(post), false))
            .await,
        ServerFrame::Ack { .. }
    ));
    assert!(matches!(
        staff
            .request(send(
                org.id,
                "does this change my manager?",
                Some(post),
                true
            ))
            .await,
        ServerFrame::Ack { .. }
    ));
    match lead
        .request(ClientFrame::Questions {
            req_id: None,
            sort: None,
            room: None,
        })
        .await
    {
        ServerFrame::Questions { questions, .. } => assert_eq!(questions.len(), 1),
        other => panic!("{other:?}"),
    }

    // A user added while the server was down joins at the next start.
    assert_eq!(server.stop().await, Some(0));
    let out = std::process::Command::new(townhall_tests::binary())
        .args(["user", "--data"])
        .arg(&server.data)
        .args(["add", "late", "--password", "late-password"])
        .output()
        .expect("user add");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.restart().await;
    let late = server.login("late", "late-password").await;
    let (mut late_c, _, _) = server.connect_caught_up(&late.token, None, None).await;
    match late_c.request(ClientFrame::MyRooms { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => assert!(rooms.iter().any(|r| r.id == org.id)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_announce_only_room_lets_only_its_moderators_start_a_topic() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, member_token) = server.user("member").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let room = match owner
        .request(ClientFrame::CreateRoom {
            req_id: None,
            name: "hr-news".into(),
            topic: String::new(),
            visibility: Visibility::Public,
            announce_only: true,
        })
        .await
    {
        ServerFrame::Room { room, .. } => room,
        other => panic!("{other:?}"),
    };
    assert!(room.announce_only && !room.org_wide);
    let (mut member, _, _) = server.connect_caught_up(&member_token, None, None).await;
    member.join(room.id).await;
    let (_, post, _) = owner.post(room.id, "new holiday policy").await;
    member
        .expect_error(
            send(room.id, "off topic", None, false),
            ErrorCode::Forbidden,
        )
        .await;
    member
        .expect_error(
            send(room.id, "a question at top level", None, true),
            ErrorCode::Forbidden,
        )
        .await;
    assert!(matches!(
        member
            .request(send(room.id, "and part-timers?", Some(post), true))
            .await,
        ServerFrame::Ack { .. }
    ));
    // Members may leave an ordinary announce-only room.
    assert!(matches!(
        member
            .request(ClientFrame::Leave {
                req_id: None,
                room: room.id
            })
            .await,
        ServerFrame::Ok { .. }
    ));
}
