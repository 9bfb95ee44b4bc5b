//! The Pulse view's broadcast reach over time (issue 15), black-box: per
//! recent broadcast, of its audience, how many opened and acknowledged it
//! within 1 hour and within 24 hours of sending (from the stored receipt
//! times), newest first, and only broadcasts the viewer could read.
//!
//! The test runs in seconds, so every receipt falls inside both windows;
//! what it checks is that opened and acknowledged are counted apart, that
//! people who did nothing are not counted, and who sees which broadcast.

use townhall_protocol::pulse::{PulseBroadcast, PulseReport};
use townhall_protocol::{ClientFrame, ReceiptKind, RoomId, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer};
use uuid::Uuid;

async fn broadcast(c: &mut Client, body: &str, rooms: Vec<RoomId>) -> (Uuid, u64) {
    match c
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id: Uuid::new_v4(),
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

async fn pulse(c: &mut Client) -> PulseReport {
    match c
        .request(ClientFrame::Pulse {
            req_id: None,
            days: Some(7),
        })
        .await
    {
        ServerFrame::Pulse { report, .. } => report,
        other => panic!("expected pulse, got {other:?}"),
    }
}

/// Wait until the sender is told the broadcast reached these counts.
async fn reach_is(c: &mut Client, id: Uuid, opened: u64, acknowledged: u64) {
    c.expect(
        &format!("reach {opened} opened, {acknowledged} acked"),
        |f| {
            matches!(f, ServerFrame::ReachUpdate { broadcast, counts, .. }
            if *broadcast == id && counts.opened == opened && counts.acknowledged == acknowledged)
        },
    )
    .await;
}

fn windows(b: &PulseBroadcast) -> (u64, u64, u64, u64, u64) {
    (
        b.audience,
        b.opened_1h,
        b.opened_24h,
        b.acknowledged_1h,
        b.acknowledged_24h,
    )
}

#[tokio::test]
async fn pulse_shows_each_recent_broadcasts_reach_within_one_hour_and_one_day() {
    let server = TestServer::start().await;
    let (_, leo_token) = server.user_with_role("leo", "leader").await;
    let (_, ann_token) = server.user("ann").await;
    let (_, bea_token) = server.user("bea").await;
    let (_, _cid_token) = server.user("cid").await;
    let (_, tina_token) = server.user("tina").await;
    server.make_team("tina").await;
    let mut leo = server.connect(&leo_token).await;
    let mut ann = server.connect(&ann_token).await;
    let mut bea = server.connect(&bea_token).await;
    let mut tina = server.connect(&tina_token).await;

    // To everyone: admin, ann, bea, cid, tina.
    let (all, audience) = broadcast(&mut leo, "The new structure starts on 1 March.", vec![]).await;
    assert_eq!(audience, 5);
    for kind in [ReceiptKind::Opened, ReceiptKind::Acknowledged] {
        ann.send(&ClientFrame::BroadcastReceipt {
            broadcast: all,
            kind,
        })
        .await;
    }
    bea.send(&ClientFrame::BroadcastReceipt {
        broadcast: all,
        kind: ReceiptKind::Opened,
    })
    .await;
    reach_is(&mut leo, all, 2, 1).await;

    // To a private room Tina is not in: Leo sees it, Tina does not.
    let board = leo.create_room("board", Visibility::Private).await.id;
    leo.add_member(board, "ann").await;
    let (private, audience) = broadcast(&mut leo, "Board minutes are out.", vec![board]).await;
    assert_eq!(audience, 1);
    ann.send(&ClientFrame::BroadcastReceipt {
        broadcast: private,
        kind: ReceiptKind::Acknowledged,
    })
    .await;
    reach_is(&mut leo, private, 1, 1).await;

    let seen = pulse(&mut tina).await.broadcasts;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].id, all);
    assert_eq!(seen[0].snippet, "The new structure starts on 1 March.");
    assert!(seen[0].ack_requested);
    // 2 of 5 opened and 1 acknowledged, within both windows; cid, admin
    // and tina did nothing.
    assert_eq!(windows(&seen[0]), (5, 2, 2, 1, 1));

    let seen = pulse(&mut leo).await.broadcasts;
    assert_eq!(
        seen.iter().map(|b| b.id).collect::<Vec<_>>(),
        [private, all],
        "newest first"
    );
    // Acknowledging implies opening.
    assert_eq!(windows(&seen[0]), (1, 1, 1, 1, 1));
}
