//! A person as others see them (issue 13): the transformation-team flag in
//! every `UserInfo` (users list, members, a message's sender, login), and
//! a person setting their own display name (`set_display_name`).

use townhall_protocol::{
    ClientFrame, Content, ErrorCode, Event, ServerFrame, UserInfo, Visibility,
};
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

fn set_name(name: &str) -> ClientFrame {
    ClientFrame::SetDisplayName {
        req_id: None,
        display_name: name.into(),
    }
}

#[tokio::test]
async fn a_person_sets_their_own_display_name_and_others_see_it() {
    let server = TestServer::start().await;
    let (_, ann_token) = server.user("ann").await;
    let (_, bob_token) = server.user("bob").await;
    let mut ann = server.connect(&ann_token).await;
    let mut bob = server.connect(&bob_token).await;
    let room = ann.create_room("lobby", Visibility::Public).await;
    bob.join(room.id).await;

    // Trimmed, stored, answered with the new me.
    match ann.request(set_name("  Ann Lee  ")).await {
        ServerFrame::UserUpdated { user, .. } => {
            assert_eq!(user.display_name, "Ann Lee");
            assert_eq!(user.username, "ann");
        }
        other => panic!("expected user_updated, got {other:?}"),
    }
    // Live to bob, without a req_id.
    let pushed = bob
        .expect("ann's new name", |f| {
            matches!(f, ServerFrame::UserUpdated { req_id: None, user } if user.username == "ann")
        })
        .await;
    let ServerFrame::UserUpdated { user, .. } = pushed else {
        unreachable!()
    };
    assert_eq!(user.display_name, "Ann Lee");

    // At bob's next fetch, and on ann's next message.
    assert_eq!(named(&users(&mut bob).await, "ann").display_name, "Ann Lee");
    ann.post(room.id, "hello under my new name").await;
    let e = bob
        .event_where("ann's message", |e| {
            matches!(&e.content, Content::Message { body, .. } if body == "hello under my new name")
        })
        .await;
    assert_eq!(e.sender.display_name, "Ann Lee");

    // Durable: a restart keeps it, and a new login reports it.
    drop(ann);
    drop(bob);
    let mut server = server;
    server.stop().await;
    server.restart().await;
    assert_eq!(
        server.login("ann", "ann-password").await.user.display_name,
        "Ann Lee"
    );
}

#[tokio::test]
async fn a_bad_display_name_is_refused_with_invalid_field_and_changes_nothing() {
    let server = TestServer::start().await;
    let (_, token) = server.user("cy").await;
    let mut cy = server.connect(&token).await;
    let too_long = "x".repeat(townhall_protocol::MAX_DISPLAY_NAME_CHARS + 1);
    for bad in [
        "",
        "   ",
        "Cy\nNewline",
        "Cy\u{0}",
        "Cy\u{202E}gnp",
        too_long.as_str(),
    ] {
        cy.expect_error(set_name(bad), ErrorCode::InvalidField)
            .await;
    }
    // The longest allowed name passes; names are counted in characters.
    let longest = "é".repeat(townhall_protocol::MAX_DISPLAY_NAME_CHARS);
    match cy.request(set_name(&longest)).await {
        ServerFrame::UserUpdated { user, .. } => assert_eq!(user.display_name, longest),
        other => panic!("expected user_updated, got {other:?}"),
    }
    assert_eq!(
        named(&users(&mut cy).await, "cy").display_name,
        longest,
        "the refused names changed nothing, the good one is stored"
    );
}

#[tokio::test]
async fn renaming_in_a_loop_is_refused_after_five_changes_and_fans_out_no_more() {
    let server = TestServer::start().await;
    let (_, dee_token) = server.user("dee").await;
    let (_, eve_token) = server.user("eve").await;
    let mut dee = server.connect(&dee_token).await;
    let mut eve = server.connect(&eve_token).await;
    for i in 1..=5 {
        match dee.request(set_name(&format!("Dee {i}"))).await {
            ServerFrame::UserUpdated { user, .. } => {
                assert_eq!(user.display_name, format!("Dee {i}"))
            }
            other => panic!("change {i}: expected user_updated, got {other:?}"),
        }
    }
    // A bad name is refused for what it is and does not use the budget up
    // further; the sixth good one is refused as too frequent.
    dee.expect_error(set_name("   "), ErrorCode::InvalidField)
        .await;
    dee.expect_error(set_name("Dee 6"), ErrorCode::RateLimited)
        .await;
    // Eve saw the five changes in order, and the refused one changed
    // nothing: the next fetch still says "Dee 5".
    for i in 1..=5 {
        let want = format!("Dee {i}");
        eve.expect("dee's change", |f| {
            matches!(f, ServerFrame::UserUpdated { req_id: None, user } if user.display_name == want)
        })
        .await;
    }
    assert_eq!(named(&users(&mut eve).await, "dee").display_name, "Dee 5");
    // Someone else's budget is their own.
    match eve.request(set_name("Eve Ng")).await {
        ServerFrame::UserUpdated { user, .. } => assert_eq!(user.display_name, "Eve Ng"),
        other => panic!("expected user_updated, got {other:?}"),
    }
}
