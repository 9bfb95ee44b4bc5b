//! A leader's own past broadcasts: `sent_broadcasts` lists what the caller
//! sent, newest first, a page at a time, with live reach counts and the
//! text as history shows it now; others' broadcasts are not listed, and
//! staff are refused.

use townhall_protocol::sent::SentBroadcast;
use townhall_protocol::{
    ClientFrame, Content, ErrorCode, ReceiptKind, RoomId, RoomSeq, ServerFrame,
};
use townhall_tests::{Client, TestServer};
use uuid::Uuid;

/// Broadcast to everyone; its id and the room and seq of the sender's copy.
async fn broadcast(lead: &mut Client, body: &str, ack: bool) -> (Uuid, RoomId, RoomSeq) {
    let id = match lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id: Uuid::new_v4(),
            body: body.into(),
            rooms: vec![],
            ack_requested: ack,
        })
        .await
    {
        ServerFrame::BroadcastPosted { broadcast, .. } => broadcast,
        other => panic!("broadcast {body:?}: {other:?}"),
    };
    let e = lead
        .event_where(
            "my broadcast's copy",
            |e| matches!(e.content, Content::Broadcast { broadcast, .. } if broadcast == id),
        )
        .await;
    (id, e.room, e.seq)
}

async fn page(
    c: &mut Client,
    before: Option<Uuid>,
    limit: Option<u32>,
) -> (Vec<SentBroadcast>, Option<Uuid>) {
    match c
        .request(ClientFrame::SentBroadcasts {
            req_id: None,
            before,
            limit,
        })
        .await
    {
        ServerFrame::SentBroadcasts {
            broadcasts, before, ..
        } => (broadcasts, before),
        other => panic!("sent_broadcasts: {other:?}"),
    }
}

#[tokio::test]
async fn a_leader_pages_through_their_own_broadcasts_with_counts_and_current_text() {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, other_token) = server.user_with_role("otherlead", "leader").await;
    let (_, sam_token) = server.user("sam").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let (mut other, _, _) = server.connect_caught_up(&other_token, None, None).await;
    let (mut sam, _, _) = server.connect_caught_up(&sam_token, None, None).await;

    let (first, first_room, first_seq) = broadcast(&mut lead, "first: to be deleted", false).await;
    let (second, second_room, second_seq) = broadcast(&mut lead, "second: draft", true).await;
    let (not_mine, _, _) = broadcast(&mut other, "from the other leader", false).await;
    let (third, _, _) = broadcast(&mut lead, "third: please confirm", true).await;

    // Before anyone acknowledges.
    let (got, _) = page(&mut lead, None, None).await;
    let ids: Vec<Uuid> = got.iter().map(|b| b.broadcast).collect();
    assert_eq!(ids, vec![third, second, first], "mine only, newest first");
    assert!(!ids.contains(&not_mine));
    assert_eq!(got[0].counts.acknowledged, 0);
    assert!(got[0].counts.audience >= 1, "{:?}", got[0]);
    assert!(got[0].ack_requested && !got[2].ack_requested);
    assert!(got[0].sent_at >= got[1].sent_at && got[1].sent_at >= got[2].sent_at);
    assert!(
        !got[0].rooms.is_empty() && !got[0].rooms[0].name.is_empty(),
        "{:?}",
        got[0].rooms
    );
    assert_eq!(got[0].text.as_deref(), Some("third: please confirm"));

    // Sam acknowledges the third; the counts move.
    sam.send(&ClientFrame::BroadcastReceipt {
        broadcast: third,
        kind: ReceiptKind::Acknowledged,
    })
    .await;
    lead.expect("the acknowledgement", |f| {
        matches!(f, ServerFrame::ReachUpdate { broadcast, counts } if *broadcast == third && counts.acknowledged == 1)
    })
    .await;
    // The second is edited, the first deleted.
    lead.expect_ok(ClientFrame::Edit {
        req_id: Some("e".into()),
        room: second_room,
        seq: second_seq,
        body: "second: final wording".into(),
    })
    .await;
    lead.expect_ok(ClientFrame::Delete {
        req_id: Some("d".into()),
        room: first_room,
        seq: first_seq,
    })
    .await;

    let (got, before) = page(&mut lead, None, Some(2)).await;
    let ids: Vec<Uuid> = got.iter().map(|b| b.broadcast).collect();
    assert_eq!(ids, vec![third, second]);
    assert_eq!(got[0].counts.acknowledged, 1, "{:?}", got[0].counts);
    assert_eq!(got[1].text.as_deref(), Some("second: final wording"));
    assert!(!got[1].deleted);
    assert_eq!(before, Some(second), "a full page says where to go on");

    let (older, before) = page(&mut lead, before, None).await;
    assert_eq!(older.len(), 1, "{older:?}");
    assert_eq!(older[0].broadcast, first);
    assert!(
        older[0].deleted && older[0].text.is_none(),
        "{:?}",
        older[0]
    );
    assert_eq!(before, None, "nothing older");

    // The other leader sees only their own.
    let (theirs, _) = page(&mut other, None, None).await;
    let ids: Vec<Uuid> = theirs.iter().map(|b| b.broadcast).collect();
    assert_eq!(ids, vec![not_mine]);

    // An admin sees only the broadcasts they sent themselves.
    let (_, boss_token) = server.user_with_role("boss", "admin").await;
    let (mut boss, _, _) = server.connect_caught_up(&boss_token, None, None).await;
    let (none, _) = page(&mut boss, None, None).await;
    assert!(none.is_empty(), "an admin lists only their own: {none:?}");
    let (from_boss, _, _) = broadcast(&mut boss, "from the admin", false).await;
    let (own, _) = page(&mut boss, None, None).await;
    let ids: Vec<Uuid> = own.iter().map(|b| b.broadcast).collect();
    assert_eq!(ids, vec![from_boss]);

    // Staff are refused; a bad limit is refused.
    sam.expect_error(
        ClientFrame::SentBroadcasts {
            req_id: None,
            before: None,
            limit: None,
        },
        ErrorCode::Forbidden,
    )
    .await;
    lead.expect_error(
        ClientFrame::SentBroadcasts {
            req_id: None,
            before: None,
            limit: Some(101),
        },
        ErrorCode::InvalidField,
    )
    .await;
}
