//! "Remind those who haven't acknowledged" (issue 13): a leader's reminder
//! reaches, live or at their next login, exactly the people of the audience
//! who have not acknowledged and are still there; it tells them nothing
//! about anyone else, and a second one within the hour is refused.

use townhall_protocol::{
    ClientFrame, Content, ErrorCode, Pos, ReceiptKind, RoomId, ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer};
use uuid::Uuid;

/// Post a broadcast to `room`; returns its id.
async fn broadcast(lead: &mut Client, room: RoomId, body: &str, ack_requested: bool) -> Uuid {
    match lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id: Uuid::new_v4(),
            body: body.into(),
            rooms: vec![room],
            ack_requested,
        })
        .await
    {
        ServerFrame::BroadcastPosted { broadcast, .. } => broadcast,
        other => panic!("{other:?}"),
    }
}

fn remind(broadcast: Uuid) -> ClientFrame {
    ClientFrame::BroadcastRemind {
        req_id: None,
        broadcast,
    }
}

/// The broadcast's event as the client received it: (seq, pos).
async fn broadcast_event(c: &mut Client, id: Uuid) -> (u64, Pos) {
    let e = c
        .event_where(
            "the broadcast",
            |e| matches!(e.content, Content::Broadcast { broadcast, .. } if broadcast == id),
        )
        .await;
    (e.seq, e.pos)
}

/// No reminder reached `c`: a ping's pong comes after anything the server
/// sent it before (one queue of replies per connection), so a reminder
/// pushed to it would be buffered by then.
async fn assert_no_reminder(c: &mut Client, who: &str) {
    c.request(ClientFrame::Ping { req_id: None }).await;
    while let Some(f) = c.pending_frame() {
        assert!(
            !matches!(f, ServerFrame::BroadcastReminder { .. }),
            "{who} was reminded: {f:?}"
        );
    }
}

async fn disable(server: &TestServer, username: &str) {
    let r = reqwest::Client::new()
        .patch(server.http(&format!("/api/admin/users/{username}")))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .expect("patch");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn a_reminder_reaches_only_those_still_waiting_online_now_or_at_their_next_login() {
    let server = TestServer::start().await;
    let (lead_info, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, other_lead_token) = server.user_with_role("lead2", "leader").await;
    let mut tokens = std::collections::HashMap::new();
    for name in ["ann", "bob", "cat", "dan", "eve"] {
        tokens.insert(name, server.user(name).await.1);
    }
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let room = lead.create_room("all-hands", Visibility::Private).await.id;
    for name in ["ann", "bob", "cat", "dan", "eve"] {
        assert!(matches!(
            lead.add_member(room, name).await,
            ServerFrame::Ok { .. }
        ));
    }
    let (mut ann, _, _) = server.connect_caught_up(&tokens["ann"], None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&tokens["bob"], None, None).await;
    let (mut dan, _, _) = server.connect_caught_up(&tokens["dan"], None, None).await;
    // cat stays offline; eve will be disabled.

    let id = broadcast(
        &mut lead,
        room,
        "The new structure starts on 1 March.",
        true,
    )
    .await;
    let (seq, broadcast_pos) = broadcast_event(&mut ann, id).await;
    broadcast_event(&mut bob, id).await;
    broadcast_event(&mut dan, id).await;
    // ann acknowledges; the leader sees it counted before reminding.
    ann.send(&ClientFrame::BroadcastReceipt {
        broadcast: id,
        kind: ReceiptKind::Acknowledged,
    })
    .await;
    lead.expect("ann's acknowledgement", |f| {
        matches!(f, ServerFrame::ReachUpdate { broadcast, counts } if *broadcast == id && counts.acknowledged == 1)
    })
    .await;
    // dan leaves the only audience room; eve is disabled.
    assert!(matches!(
        dan.request(ClientFrame::Leave { req_id: None, room }).await,
        ServerFrame::Ok { .. }
    ));
    disable(&server, "eve").await;

    // Staff who are not the sender, and another leader, are told it does not exist.
    bob.expect_error(remind(id), ErrorCode::NotFound).await;
    let (mut lead2, _, _) = server
        .connect_caught_up(&other_lead_token, None, None)
        .await;
    lead2.expect_error(remind(id), ErrorCode::NotFound).await;

    let at = match lead.request(remind(id)).await {
        ServerFrame::BroadcastReminded {
            broadcast,
            reminded,
            at,
            ..
        } => {
            assert_eq!(broadcast, id);
            assert_eq!(
                reminded, 2,
                "bob and cat, not ann (acked), dan (left), eve (disabled)"
            );
            at
        }
        other => panic!("{other:?}"),
    };

    // bob, online, gets it live; it names the broadcast and who reminded, nobody else.
    let got = bob
        .expect("bob's reminder", |f| {
            matches!(f, ServerFrame::BroadcastReminder { .. })
        })
        .await;
    let reminder_pos = match &got {
        ServerFrame::BroadcastReminder {
            pos,
            broadcast,
            room: r,
            seq: s,
            sender,
            by,
            at: a,
        } => {
            assert_eq!((*broadcast, *r, *s, *a), (id, room, seq, at));
            assert_eq!((&sender.id, &by.id), (&lead_info.id, &lead_info.id));
            assert!(
                *pos > broadcast_pos,
                "after the broadcast: {pos} vs {broadcast_pos}"
            );
            *pos
        }
        _ => unreachable!(),
    };
    let text = bob
        .seen
        .iter()
        .find(|t| t.contains("broadcast_reminder"))
        .cloned();
    let text = text.expect("the reminder's text");
    for name in ["ann", "cat", "dan", "eve"] {
        assert!(!text.contains(name), "the reminder names {name}: {text}");
    }
    assert_no_reminder(&mut ann, "ann (acknowledged)").await;
    assert_no_reminder(&mut dan, "dan (left the room)").await;

    // Within the hour: refused, for the sender and for an admin alike,
    // and the message says when the next one is possible.
    match lead.request(remind(id)).await {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::RateLimited);
            let next = (at + 3_600_000).to_string();
            assert!(message.contains(&next), "{message}");
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
    let (mut admin, _, _) = server
        .connect_caught_up(&server.admin_token, None, None)
        .await;
    admin.expect_error(remind(id), ErrorCode::RateLimited).await;

    // The reach view lists it.
    match lead
        .request(ClientFrame::Reach {
            req_id: None,
            broadcast: id,
        })
        .await
    {
        ServerFrame::Reach { reminders, .. } => {
            assert_eq!(reminders.len(), 1, "{reminders:?}");
            assert_eq!((reminders[0].at, reminders[0].reminded), (at, 2));
            assert_eq!(reminders[0].by.id, lead_info.id);
        }
        other => panic!("{other:?}"),
    }

    // The leader writes on after the reminder.
    let (_, _, after_pos) = lead.post(room, "Questions welcome in the thread.").await;
    assert!(after_pos > reminder_pos);

    // cat, offline all along, logs in: the broadcast and the later message
    // in the backlog, the reminder with the notices before caught_up.
    let (mut cat, backlog, caught_up) = server.connect_caught_up(&tokens["cat"], None, None).await;
    let positions: Vec<Pos> = backlog.iter().map(|e| e.pos).collect();
    assert!(
        positions.contains(&broadcast_pos) && positions.contains(&after_pos),
        "{positions:?}"
    );
    assert!(caught_up >= after_pos);
    match cat.pending_frame() {
        Some(ServerFrame::BroadcastReminder {
            pos,
            broadcast,
            seq: s,
            ..
        }) => assert_eq!((pos, broadcast, s), (reminder_pos, id, seq)),
        other => panic!("cat's catch-up should hold the reminder next, got {other:?}"),
    }
    assert!(cat.pending_frame().is_none(), "one reminder only");
    cat.close().await;

    // Resuming from just before the reminder gives it again (like any
    // notice); resuming from it does not.
    let (mut cat, _, _) = server
        .connect_caught_up(&tokens["cat"], Some(reminder_pos - 1), Some("phone"))
        .await;
    assert!(matches!(
        cat.pending_frame(),
        Some(ServerFrame::BroadcastReminder { pos, .. }) if pos == reminder_pos
    ));
    cat.close().await;
    let (mut cat, _, _) = server
        .connect_caught_up(&tokens["cat"], Some(reminder_pos), Some("tablet"))
        .await;
    assert!(cat.pending_frame().is_none());

    // dan logs in again: nothing for him.
    dan.close().await;
    let (mut dan, _, _) = server
        .connect_caught_up(&tokens["dan"], Some(0), Some("laptop"))
        .await;
    while let Some(f) = dan.pending_frame() {
        assert!(!matches!(f, ServerFrame::BroadcastReminder { .. }), "{f:?}");
    }
}

#[tokio::test]
async fn only_a_broadcast_asking_for_acknowledgement_can_be_reminded_and_nobody_waiting_uses_no_slot()
 {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, ann_token) = server.user("ann").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let room = lead.create_room("team", Visibility::Private).await.id;
    assert!(matches!(
        lead.add_member(room, "ann").await,
        ServerFrame::Ok { .. }
    ));

    let fyi = broadcast(&mut lead, room, "FYI: the canteen opens at 8.", false).await;
    lead.expect_error(remind(fyi), ErrorCode::InvalidField)
        .await;
    // An id that names no broadcast.
    lead.expect_error(remind(Uuid::new_v4()), ErrorCode::NotFound)
        .await;

    let id = broadcast(&mut lead, room, "Please read the new policy.", true).await;
    let (mut ann, backlog, _) = server.connect_caught_up(&ann_token, None, None).await;
    assert!(
        backlog
            .iter()
            .any(|e| matches!(e.content, Content::Broadcast { broadcast, .. } if broadcast == id))
    );
    assert_no_reminder(&mut ann, "ann").await;
    ann.send(&ClientFrame::BroadcastReceipt {
        broadcast: id,
        kind: ReceiptKind::Acknowledged,
    })
    .await;
    lead.expect(
        "the acknowledgement",
        |f| matches!(f, ServerFrame::ReachUpdate { counts, .. } if counts.acknowledged == 1),
    )
    .await;
    // Everyone acknowledged: nobody is reminded, nothing is recorded, so
    // asking again is not refused as too soon.
    for _ in 0..2 {
        match lead.request(remind(id)).await {
            ServerFrame::BroadcastReminded { reminded: 0, .. } => {}
            other => panic!("{other:?}"),
        }
    }
    match lead
        .request(ClientFrame::Reach {
            req_id: None,
            broadcast: id,
        })
        .await
    {
        ServerFrame::Reach { reminders, .. } => assert!(reminders.is_empty(), "{reminders:?}"),
        other => panic!("{other:?}"),
    }
    assert_no_reminder(&mut ann, "ann").await;
}

/// In a cluster every node reminds the same people at the same position,
/// refuses the second reminder alike, and ends with the same state.
#[tokio::test]
async fn in_a_cluster_a_reminder_is_the_same_on_every_node() {
    let c = townhall_tests::cluster::TownhallCluster::start(2).await;
    let lead_token = c.node(0).user_with_role("lead", "leader").await.1;
    let ann_token = c.node(0).user("ann").await.1;
    let ben_token = c.node(0).user("ben").await.1;
    let (mut lead, _, _) = c.node(0).connect_caught_up(&lead_token, None, None).await;
    let room = lead
        .create_room("plant-floor", Visibility::Private)
        .await
        .id;
    for name in ["ann", "ben"] {
        assert!(matches!(
            lead.add_member(room, name).await,
            ServerFrame::Ok { .. }
        ));
    }
    // ann is online through node 1; ben is away.
    let (mut ann, _, _) = c.node(1).connect_caught_up(&ann_token, None, None).await;
    let id = broadcast(&mut lead, room, "Safety briefing at 9.", true).await;
    let (_, broadcast_pos) = broadcast_event(&mut ann, id).await;

    match lead.request(remind(id)).await {
        ServerFrame::BroadcastReminded { reminded: 2, .. } => {}
        other => panic!("{other:?}"),
    }
    let pos = match ann
        .expect("ann's reminder through node 1", |f| {
            matches!(f, ServerFrame::BroadcastReminder { .. })
        })
        .await
    {
        ServerFrame::BroadcastReminder { pos, broadcast, .. } => {
            assert_eq!(broadcast, id);
            pos
        }
        _ => unreachable!(),
    };
    assert!(pos > broadcast_pos);
    // The second one, asked through the other node: refused there too.
    let (mut lead1, _, _) = c
        .node(1)
        .connect_caught_up(&lead_token, None, Some("tablet"))
        .await;
    lead1.expect_error(remind(id), ErrorCode::RateLimited).await;
    // ben logs in through node 1 and gets it in his catch-up, at the same position.
    let (mut ben, _, _) = c.node(1).connect_caught_up(&ben_token, None, None).await;
    assert!(matches!(
        ben.pending_frame(),
        Some(ServerFrame::BroadcastReminder { pos: p, .. }) if p == pos
    ));
    c.assert_converged().await;
}
