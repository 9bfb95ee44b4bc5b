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

/// Send a reader's receipt for a broadcast (no reply comes back).
async fn receipt(c: &mut Client, broadcast: uuid::Uuid, kind: ReceiptKind) {
    c.send(&ClientFrame::BroadcastReceipt { broadcast, kind })
        .await;
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
        receipt(c, id, ReceiptKind::Delivered).await;
    }
    receipt(&mut s0, id, ReceiptKind::Acknowledged).await;
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
    receipt(&mut s2, id, ReceiptKind::Acknowledged).await;
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

async fn reach(c: &mut Client, broadcast: uuid::Uuid) -> ((u64, u64, u64, u64), Vec<String>) {
    let f = c
        .request(ClientFrame::Reach {
            req_id: None,
            broadcast,
        })
        .await;
    let readers = match &f {
        ServerFrame::Reach { readers, .. } => {
            let mut names: Vec<String> = readers.iter().map(|r| r.user.username.clone()).collect();
            names.sort();
            names
        }
        other => panic!("expected reach, got {other:?}"),
    };
    (counts(&f), readers)
}

async fn pending_ids(c: &mut Client) -> Vec<uuid::Uuid> {
    match c.request(ClientFrame::PendingAcks { req_id: None }).await {
        ServerFrame::PendingAcks { broadcasts, .. } => {
            broadcasts.iter().map(|b| b.broadcast).collect()
        }
        other => panic!("expected pending_acks, got {other:?}"),
    }
}

async fn post_broadcast(
    lead: &mut Client,
    rooms: Vec<townhall_protocol::RoomId>,
    body: &str,
) -> (uuid::Uuid, u64) {
    match lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id: uuid::Uuid::new_v4(),
            body: body.into(),
            rooms,
            ack_requested: true,
        })
        .await
    {
        ServerFrame::BroadcastPosted {
            broadcast,
            audience,
            ..
        } => (broadcast, audience),
        other => panic!("expected broadcast_posted, got {other:?}"),
    }
}

#[tokio::test]
async fn a_broadcast_to_chosen_rooms_counts_a_member_of_two_of_them_once() {
    use townhall_protocol::Visibility;
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, both_token) = server.user("both").await;
    let (_, sales_token) = server.user("salesperson").await;
    let (_, ops_token) = server.user("operator").await;
    let (_, none_token) = server.user("elsewhere").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let sales = lead.create_room("sales", Visibility::Public).await;
    let ops = lead.create_room("ops", Visibility::Public).await;
    let (mut both, _, _) = server.connect_caught_up(&both_token, None, None).await;
    both.join(sales.id).await;
    both.join(ops.id).await;
    let (mut s, _, _) = server.connect_caught_up(&sales_token, None, None).await;
    s.join(sales.id).await;
    let (mut o, _, _) = server.connect_caught_up(&ops_token, None, None).await;
    o.join(ops.id).await;
    let (mut none, _, _) = server.connect_caught_up(&none_token, None, None).await;

    let (id, audience) = post_broadcast(&mut lead, vec![sales.id, ops.id], "Q3 targets").await;
    assert_eq!(
        audience, 3,
        "both, salesperson, operator: both counted once"
    );
    let (c, readers) = reach(&mut lead, id).await;
    assert_eq!(c, (3, 0, 0, 0));
    assert_eq!(readers, ["both", "operator", "salesperson"]);

    // "both" sees the broadcast in each of its rooms (it is a post in each),
    // but it is one broadcast to confirm, and one reader in the ledger.
    let mut seen = Vec::new();
    for _ in 0..2 {
        let e = both
            .event_where(
                "the broadcast",
                |e| matches!(e.content, Content::Broadcast { broadcast, .. } if broadcast == id),
            )
            .await;
        seen.push(e.room);
    }
    seen.sort();
    let mut expected = vec![sales.id, ops.id];
    expected.sort();
    assert_eq!(seen, expected);
    assert_eq!(pending_ids(&mut both).await, vec![id]);
    // Its client reports delivery from each room: counted once.
    for _ in 0..2 {
        receipt(&mut both, id, ReceiptKind::Delivered).await;
    }
    receipt(&mut both, id, ReceiptKind::Acknowledged).await;
    // Receipts are applied in order: once the acknowledgement shows, both
    // deliveries have been counted.
    let update = lead
        .expect(
            "the acknowledgement in a reach update",
            |f| matches!(f, ServerFrame::ReachUpdate { counts, .. } if counts.acknowledged == 1),
        )
        .await;
    assert_eq!(counts(&update), (3, 1, 1, 1), "one reader, counted once");
    let (c, _) = reach(&mut lead, id).await;
    assert_eq!(c, (3, 1, 1, 1));
    assert!(pending_ids(&mut both).await.is_empty());

    // The one in neither room gets nothing and has nothing to confirm.
    assert!(pending_ids(&mut none).await.is_empty());
    while let Some(f) = none.pending_frame() {
        assert!(
            !matches!(&f, ServerFrame::Event(e) if matches!(e.content, Content::Broadcast { .. })),
            "{f:?}"
        );
    }
    s.close().await;
    o.close().await;
}

#[tokio::test]
async fn someone_who_joins_after_a_broadcast_is_not_in_its_audience() {
    use townhall_protocol::Visibility;
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, early_token) = server.user("early").await;
    let (_, late_token) = server.user("late").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let room = lead.create_room("project", Visibility::Public).await;
    let (mut early, _, _) = server.connect_caught_up(&early_token, None, None).await;
    early.join(room.id).await;

    let (id, audience) = post_broadcast(&mut lead, vec![room.id], "kick-off on Monday").await;
    assert_eq!(audience, 1);

    let (mut late, _, _) = server.connect_caught_up(&late_token, None, None).await;
    late.join(room.id).await;
    // The post is in the room's history for the newcomer to read...
    let history = match late
        .request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: None,
            after: None,
            limit: None,
        })
        .await
    {
        ServerFrame::History { events, .. } => events,
        other => panic!("{other:?}"),
    };
    assert!(
        history
            .iter()
            .any(|e| matches!(e.content, Content::Broadcast { broadcast, .. } if broadcast == id))
    );
    // ...but they were not its audience: nothing to confirm, and their
    // receipts do not change the counts against the audience.
    assert!(pending_ids(&mut late).await.is_empty());
    for kind in [ReceiptKind::Delivered, ReceiptKind::Acknowledged] {
        receipt(&mut late, id, kind).await;
    }
    late.request(ClientFrame::Ping { req_id: None }).await;
    // Then a reader of the audience reports delivery: receipts are applied
    // in order, so when it shows, the newcomer's have been applied too.
    receipt(&mut early, id, ReceiptKind::Delivered).await;
    let update = lead
        .expect(
            "early's delivery in a reach update",
            |f| matches!(f, ServerFrame::ReachUpdate { counts, .. } if counts.delivered >= 1),
        )
        .await;
    assert_eq!(
        counts(&update),
        (1, 1, 0, 0),
        "the newcomer counted nowhere"
    );
    let (c, readers) = reach(&mut lead, id).await;
    assert_eq!(c, (1, 1, 0, 0));
    assert_eq!(readers, ["early"]);
}

#[tokio::test]
async fn a_broadcast_naming_a_room_the_leader_cannot_see_is_refused_and_posts_nothing() {
    use townhall_protocol::Visibility;
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, owner_token) = server.user("owner").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let secret = owner.create_room("board", Visibility::Private).await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let mine = lead.create_room("mine", Visibility::Public).await;
    owner.join(mine.id).await;

    let broadcast = |rooms: Vec<townhall_protocol::RoomId>| ClientFrame::Broadcast {
        req_id: None,
        client_id: uuid::Uuid::new_v4(),
        body: "should not go out".into(),
        rooms,
        ack_requested: true,
    };
    // A private room the leader is not in, alongside one they are in: the
    // same `not_found` as a room that does not exist, so nothing leaks.
    lead.expect_error(broadcast(vec![mine.id, secret.id]), ErrorCode::NotFound)
        .await;
    lead.expect_error(
        broadcast(vec![townhall_protocol::RoomId::new()]),
        ErrorCode::NotFound,
    )
    .await;
    // Nothing was posted anywhere: not in the leader's own room either.
    owner.request(ClientFrame::Ping { req_id: None }).await;
    assert!(pending_ids(&mut owner).await.is_empty());
    while let Some(f) = owner.pending_frame() {
        assert!(
            !matches!(&f, ServerFrame::Event(e) if matches!(e.content, Content::Broadcast { .. })),
            "{f:?}"
        );
    }
}
