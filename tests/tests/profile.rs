//! A person as others see them (issue 13): the transformation-team flag in
//! every `UserInfo` (users list, members, a message's sender, login).

use townhall_protocol::{ClientFrame, Content, Event, ServerFrame, UserInfo, Visibility};
use townhall_tests::{Client, TestServer};

async fn users(c: &mut Client) -> Vec<UserInfo> {
    match c.request(ClientFrame::Users { req_id: None }).await {
        ServerFrame::Users { users, .. } => users,
        other => panic!("expected users, got {other:?}"),
    }
}

fn named<'a>(users: &'a [UserInfo], username: &str) -> &'a UserInfo {
    users
        .iter()
        .find(|u| u.username == username)
        .unwrap_or_else(|| panic!("{username} not in {users:?}"))
}

#[tokio::test]
async fn team_members_carry_the_team_flag_everywhere_a_user_is_described() {
    let server = TestServer::start().await;
    server.user("tina").await;
    let (_, sam_token) = server.user("sam").await;
    server.make_team("tina").await;

    // The flag is on the wire (not only defaulted): a login after the change
    // reports it, and plain staff carry no flag at all.
    let tina_login = server.login("tina", "tina-password").await;
    assert!(tina_login.user.transformation_team, "{:?}", tina_login.user);
    let sam_login = server.login("sam", "sam-password").await;
    assert!(!sam_login.user.transformation_team);
    let raw = serde_json::to_value(&sam_login.user).expect("json");
    assert!(raw.get("transformation_team").is_none(), "{raw}");

    let mut sam = server.connect(&sam_token).await;
    let listed = users(&mut sam).await;
    assert!(named(&listed, "tina").transformation_team);
    assert!(!named(&listed, "sam").transformation_team);
    assert!(!named(&listed, "admin").transformation_team);

    // In a room: the members list and a message's sender.
    let mut tina = server
        .connect(&server.login("tina", "tina-password").await.token)
        .await;
    let room = tina.create_room("change-desk", Visibility::Public).await;
    sam.join(room.id).await;
    let members = match sam
        .request(ClientFrame::Members {
            req_id: None,
            room: room.id,
        })
        .await
    {
        ServerFrame::Members { members, .. } => members,
        other => panic!("expected members, got {other:?}"),
    };
    let tina_member = members
        .iter()
        .find(|m| m.user.username == "tina")
        .expect("tina is a member");
    assert!(tina_member.user.transformation_team);
    assert!(
        !members
            .iter()
            .find(|m| m.user.username == "sam")
            .expect("sam is a member")
            .user
            .transformation_team
    );

    tina.post(room.id, "the new rota starts Monday").await;
    let e: Event = sam
        .event_where("tina's message", |e| {
            matches!(&e.content, Content::Message { body, .. } if body == "the new rota starts Monday")
        })
        .await;
    assert!(e.sender.transformation_team, "{e:?}");
}
