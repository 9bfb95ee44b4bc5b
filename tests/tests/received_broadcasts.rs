//! Past broadcasts: `received_broadcasts` lists what a person received,
//! newest first, a page at a time, with their own acknowledgement state,
//! and nothing sent to rooms they are not in.

use townhall_protocol::{ClientFrame, ErrorCode, ReceiptKind, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer};
use uuid::Uuid;

async fn broadcast(
    lead: &mut Client,
    body: &str,
    rooms: Vec<townhall_protocol::RoomId>,
    ack: bool,
) -> Uuid {
    match lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id: Uuid::new_v4(),
            body: body.into(),
            rooms,
            ack_requested: ack,
        })
        .await
    {
        ServerFrame::BroadcastPosted { broadcast, .. } => broadcast,
        other => panic!("broadcast {body:?}: {other:?}"),
    }
}

async fn page(
    c: &mut Client,
    before: Option<Uuid>,
    limit: Option<u32>,
) -> (
    Vec<townhall_protocol::received::ReceivedBroadcast>,
    Option<Uuid>,
) {
    match c
        .request(ClientFrame::ReceivedBroadcasts {
            req_id: None,
            before,
            limit,
        })
        .await
    {
        ServerFrame::ReceivedBroadcasts {
            broadcasts, before, ..
        } => (broadcasts, before),
        other => panic!("received_broadcasts: {other:?}"),
    }
}

#[tokio::test]
async fn a_person_pages_through_the_broadcasts_they_received_newest_first_with_their_acks() {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, sam_token) = server.user("sam").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let (mut sam, _, _) = server.connect_caught_up(&sam_token, None, None).await;

    let first = broadcast(&mut lead, "first: no ack", vec![], false).await;
    let second = broadcast(&mut lead, "second: please confirm", vec![], true).await;
    // To a private room sam is not in: not his.
    let leads = lead.create_room("leads", Visibility::Private).await;
    broadcast(&mut lead, "leads only", vec![leads.id], false).await;
    let third = broadcast(&mut lead, "third: please confirm", vec![], true).await;

    // Sam confirms the third; the leader's reach shows it applied.
    sam.send(&ClientFrame::BroadcastReceipt {
        broadcast: third,
        kind: ReceiptKind::Acknowledged,
    })
    .await;
    lead.expect("the acknowledgement", |f| {
        matches!(f, ServerFrame::ReachUpdate { broadcast, counts } if *broadcast == third && counts.acknowledged == 1)
    })
    .await;

    let (got, before) = page(&mut sam, None, Some(2)).await;
    let ids: Vec<Uuid> = got.iter().map(|b| b.broadcast).collect();
    assert_eq!(
        ids,
        vec![third, second],
        "newest first, private room left out: {got:?}"
    );
    assert!(
        got[0].ack_requested && got[0].acknowledged_at > 0,
        "{:?}",
        got[0]
    );
    assert!(
        got[1].ack_requested && got[1].acknowledged_at == 0,
        "{:?}",
        got[1]
    );
    assert_eq!(got[1].body, "second: please confirm");
    assert_eq!(got[1].sender.username, "lead");
    assert_eq!(before, Some(second), "a full page says where to go on");

    let (older, before) = page(&mut sam, before, None).await;
    let ids: Vec<Uuid> = older.iter().map(|b| b.broadcast).collect();
    assert_eq!(ids, vec![first]);
    assert!(!older[0].ack_requested);
    assert_eq!(before, None, "nothing older");

    sam.expect_error(
        ClientFrame::ReceivedBroadcasts {
            req_id: None,
            before: None,
            limit: Some(0),
        },
        ErrorCode::InvalidField,
    )
    .await;
}
