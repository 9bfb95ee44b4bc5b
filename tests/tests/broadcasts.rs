//! A leader's broadcast reaches everyone (online now or at next login), asks
//! them to confirm, and the leader watches its reach grow.

use townhall_protocol::{ClientFrame, Content, ErrorCode, ReceiptKind, ServerFrame};
use townhall_tests::{Client, TestServer};

fn counts(f: &ServerFrame) -> (u64, u64, u64, u64) {
    match f {
        ServerFrame::Reach { counts: c, .. } | ServerFrame::ReachUpdate { counts: c, .. } => {
            (c.audience, c.delivered, c.opened, c.acknowledged)
        }
        other => panic!("{other:?}"),
    }
}

async fn receive_broadcast(c: &mut Client) -> (uuid::Uuid, bool) {
    let e = c
        .event_where("the broadcast", |e| {
            matches!(e.content, Content::Broadcast { .. })
        })
        .await;
    match e.content {
        Content::Broadcast {
            broadcast,
            ack_requested,
            ..
        } => (broadcast, ack_requested),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_broadcast_reaches_online_and_offline_staff_and_its_reach_grows_live() {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let mut staff = Vec::new();
    for i in 0..4 {
        staff.push(server.user(&format!("staff{i}")).await.1);
    }
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    // Two are online, two are away.
    let (mut s0, _, _) = server.connect_caught_up(&staff[0], None, None).await;
    let (mut s1, _, _) = server.connect_caught_up(&staff[1], None, None).await;

    let (s2_probe, _, _) = server.connect_caught_up(&staff[2], None, None).await;
    s2_probe.close().await;
    // Staff cannot broadcast.
    s0.expect_error(
        ClientFrame::Broadcast {
            req_id: None,
            client_id: uuid::Uuid::new_v4(),
            body: "hi all".into(),
            rooms: vec![],
            ack_requested: false,
        },
        ErrorCode::Forbidden,
    )
    .await;

    let client_id = uuid::Uuid::new_v4();
    let posted = lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id,
            body: "The new structure starts on 1 March.".into(),
            rooms: vec![],
            ack_requested: true,
        })
        .await;
    let (id, audience) = match posted {
        ServerFrame::BroadcastPosted {
            broadcast,
            audience,
            duplicate: false,
            ..
        } => (broadcast, audience),
        other => panic!("{other:?}"),
    };
    // Everyone but the leader: admin + 4 staff.
    assert_eq!(audience, 5);
    // Re-sending the same client id is a duplicate with the same id.
    match lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id,
            body: "The new structure starts on 1 March.".into(),
            rooms: vec![],
            ack_requested: true,
        })
        .await
    {
        ServerFrame::BroadcastPosted {
            broadcast,
            duplicate: true,
            ..
        } => assert_eq!(broadcast, id),
        other => panic!("{other:?}"),
    }

    // The online ones get it live; their client reports delivery and opening.
    for c in [&mut s0, &mut s1] {
        let (got, ack_requested) = receive_broadcast(c).await;
        assert_eq!((got, ack_requested), (id, true));
        c.send(&ClientFrame::BroadcastReceipt {
            broadcast: id,
            kind: ReceiptKind::Delivered,
        })
        .await;
    }
    s0.send(&ClientFrame::BroadcastReceipt {
        broadcast: id,
        kind: ReceiptKind::Acknowledged,
    })
    .await;
    // The leader sees the counts move live.
    let mut last = (5, 0, 0, 0);
    while last != (5, 2, 1, 1) {
        last = counts(
            &lead
                .expect("reach update", |f| {
                    matches!(f, ServerFrame::ReachUpdate { .. })
                })
                .await,
        );
    }

    // Pinned for s1 until acknowledged; not for s0 any more.
    let pending = |f: ServerFrame| match f {
        ServerFrame::PendingAcks { broadcasts, .. } => {
            broadcasts.iter().map(|b| b.broadcast).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        pending(s1.request(ClientFrame::PendingAcks { req_id: None }).await),
        vec![id]
    );
    assert!(pending(s0.request(ClientFrame::PendingAcks { req_id: None }).await).is_empty());

    // An absent one logs in later: the broadcast is in their backlog, pinned.
    let (mut s2, backlog, _) = server.connect_caught_up(&staff[2], None, None).await;
    assert!(
        backlog
            .iter()
            .any(|e| matches!(e.content, Content::Broadcast { broadcast, .. } if broadcast == id))
    );
    assert_eq!(
        pending(s2.request(ClientFrame::PendingAcks { req_id: None }).await),
        vec![id]
    );
    s2.send(&ClientFrame::BroadcastReceipt {
        broadcast: id,
        kind: ReceiptKind::Acknowledged,
    })
    .await;
    while last != (5, 3, 2, 2) {
        last = counts(
            &lead
                .expect("reach update", |f| {
                    matches!(f, ServerFrame::ReachUpdate { .. })
                })
                .await,
        );
    }

    // The reach view lists who has not acknowledged first, with times.
    match lead
        .request(ClientFrame::Reach {
            req_id: None,
            broadcast: id,
        })
        .await
    {
        ServerFrame::Reach {
            counts: c, readers, ..
        } => {
            assert_eq!(
                (c.audience, c.delivered, c.opened, c.acknowledged),
                (5, 3, 2, 2)
            );
            assert_eq!(readers.len(), 5);
            let not_yet: Vec<&str> = readers
                .iter()
                .filter(|r| r.acknowledged_at == 0)
                .map(|r| r.user.username.as_str())
                .collect();
            assert_eq!(not_yet, vec!["admin", "staff3", "staff1"]);
            assert!(
                readers
                    .iter()
                    .all(|r| r.acknowledged_at == 0 || r.opened_at != 0 && r.delivered_at != 0)
            );
        }
        other => panic!("{other:?}"),
    }
    // Only the sender and admins see reach.
    s0.expect_error(
        ClientFrame::Reach {
            req_id: None,
            broadcast: id,
        },
        ErrorCode::NotFound,
    )
    .await;
    let mut admin = server.connect(&server.admin_token).await;
    admin.until_caught_up().await;
    assert!(matches!(
        admin
            .request(ClientFrame::Reach {
                req_id: None,
                broadcast: id
            })
            .await,
        ServerFrame::Reach { .. }
    ));
}

#[tokio::test]
async fn followers_get_a_leaders_broadcasts_sent_to_rooms_they_are_not_in() {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, fan_token) = server.user("fan").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let sales = lead
        .create_room("sales", townhall_protocol::Visibility::Private)
        .await;
    let (mut fan, _, _) = server.connect_caught_up(&fan_token, None, None).await;
    fan.expect_error(
        ClientFrame::Follow {
            req_id: None,
            user: "fan".into(),
            on: true,
        },
        ErrorCode::InvalidField,
    )
    .await;
    assert!(matches!(
        fan.request(ClientFrame::Follow {
            req_id: None,
            user: "lead".into(),
            on: true
        })
        .await,
        ServerFrame::Ok { .. }
    ));

    let to_sales = |body: &str| ClientFrame::Broadcast {
        req_id: None,
        client_id: uuid::Uuid::new_v4(),
        body: body.into(),
        rooms: vec![sales.id],
        ack_requested: false,
    };
    let (id, audience) = match lead.request(to_sales("sales targets for Q3")).await {
        ServerFrame::BroadcastPosted {
            broadcast,
            audience,
            ..
        } => (broadcast, audience),
        other => panic!("{other:?}"),
    };
    assert_eq!(audience, 1, "the follower, though not in sales");
    let (got, _) = receive_broadcast(&mut fan).await;
    assert_eq!(got, id);

    // Unfollowing stops it.
    assert!(matches!(
        fan.request(ClientFrame::Follow {
            req_id: None,
            user: "lead".into(),
            on: false
        })
        .await,
        ServerFrame::Ok { .. }
    ));
    match lead.request(to_sales("second update")).await {
        ServerFrame::BroadcastPosted { audience, .. } => assert_eq!(audience, 0),
        other => panic!("{other:?}"),
    }
    fan.request(ClientFrame::Ping { req_id: None }).await;
    while let Some(f) = fan.pending_frame() {
        assert!(
            !matches!(&f, ServerFrame::Event(e) if matches!(&e.content, Content::Broadcast { body, .. } if body == "second update"))
        );
    }
}

async fn following(c: &mut Client) -> Vec<String> {
    match c.request(ClientFrame::Following { req_id: None }).await {
        ServerFrame::Following { users, .. } => users.into_iter().map(|u| u.username).collect(),
        other => panic!("expected following, got {other:?}"),
    }
}

#[tokio::test]
async fn following_lists_the_leaders_i_follow_across_logins() {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    server.user_with_role("boss", "admin").await;
    let (_, fan_token) = server.user("fan").await;
    let (_, other_token) = server.user("other").await;
    // Someone else follows boss, so boss's followers room exists without fan.
    let (mut other, _, _) = server.connect_caught_up(&other_token, None, None).await;
    other
        .request(ClientFrame::Follow {
            req_id: None,
            user: "boss".into(),
            on: true,
        })
        .await;
    let (mut fan, _, _) = server.connect_caught_up(&fan_token, None, None).await;
    assert!(following(&mut fan).await.is_empty());
    for leader in ["lead", "boss"] {
        assert!(matches!(
            fan.request(ClientFrame::Follow {
                req_id: None,
                user: leader.into(),
                on: true
            })
            .await,
            ServerFrame::Ok { .. }
        ));
    }
    let mut now = following(&mut fan).await;
    now.sort();
    assert_eq!(now, ["boss", "lead"]);
    fan.close().await;

    // After a new login the answer is the same; unfollowing removes one.
    let (mut fan, _, _) = server.connect_caught_up(&fan_token, None, None).await;
    let mut again = following(&mut fan).await;
    again.sort();
    assert_eq!(again, ["boss", "lead"]);
    fan.request(ClientFrame::Follow {
        req_id: None,
        user: "boss".into(),
        on: false,
    })
    .await;
    assert_eq!(following(&mut fan).await, ["lead"]);
    assert_eq!(following(&mut other).await, ["boss"]);
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    assert!(
        following(&mut lead).await.is_empty(),
        "owning the followers room is not following"
    );
}
