//! What docs/protocol.md promises someone writing their own client (issue
//! 16): a connection's frames are handled in order, `ack_pos` can be
//! confirmed, and a reply asked for at login does not wait for a long
//! backlog.

use std::time::Duration;
use townhall_protocol::{ClientFrame, PROTOCOL_VERSION, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer, reply_id};
use uuid::Uuid;

/// Requests pipelined on one connection are answered in the order sent
/// (every request but `send`, whose `ack` waits for the disk).
#[tokio::test]
async fn pipelined_requests_are_answered_in_the_order_sent() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = a.create_room("general", Visibility::Public).await;
    let mut sent = Vec::new();
    for i in 0..60 {
        let req_id = Some(format!("q{i}"));
        let frame = match i % 4 {
            0 => ClientFrame::Ping { req_id },
            1 => ClientFrame::Summary { req_id },
            2 => ClientFrame::Members {
                req_id,
                room: room.id,
            },
            _ => ClientFrame::MarkRead {
                req_id,
                room: room.id,
                seq: 1,
            },
        };
        a.send(&frame).await;
        sent.push(format!("q{i}"));
    }
    let mut answered = Vec::new();
    while answered.len() < sent.len() {
        let f = a.next().await;
        if let Some(id) = reply_id(&f)
            && !f.has_more_parts()
        {
            answered.push(id.to_owned());
        }
    }
    assert_eq!(answered, sent, "replies out of order");
}

/// `ack_pos` with a `req_id` is answered `ok` once stored: a client about
/// to close knows that its next connection resumes from there.
#[tokio::test]
async fn an_ack_pos_with_a_req_id_is_answered_once_stored() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, Some("laptop")).await;
    let room = a.create_room("general", Visibility::Public).await;
    let (_, _, pos) = a.post(room.id, "read up to here").await;
    match a.request(ClientFrame::AckPos { req_id: None, pos }).await {
        ServerFrame::Ok { pos: 0, .. } => {}
        other => panic!("expected ok, got {other:?}"),
    }
    // Close at once, as a client shutting down would.
    a.close().await;
    let mut c = Client::open(&server.ws_url()).await;
    c.send(&ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        token,
        resume: None,
        device: Some("laptop".into()),
    })
    .await;
    match c.next().await {
        ServerFrame::Welcome { resume_from, .. } => assert_eq!(resume_from, pos),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// A `summary` sent right after `hello` is answered between backlog
/// chunks, before `caught_up`, when the backlog is long (2,000 events of
/// 4 KiB: more than the socket buffers hold, so the server is still
/// streaming it when the request arrives).
#[tokio::test]
async fn a_summary_asked_at_login_comes_before_the_end_of_a_long_backlog() {
    const EVENTS: usize = 2000;
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("busy", Visibility::Public).await;
    {
        let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;
        b.join(room.id).await;
        b.close().await;
    }
    let body = "x".repeat(4096);
    for _ in 0..EVENTS {
        a.send(&ClientFrame::Send {
            req_id: None,
            room: room.id,
            client_id: Uuid::new_v4(),
            body: body.clone(),
            thread: None,
            question: false,
            attachments: Vec::new(),
        })
        .await;
    }
    for _ in 0..EVENTS {
        a.expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
            .await;
    }

    let mut b = Client::open(&server.ws_url()).await;
    b.send(&ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        token: bob_token,
        resume: None,
        device: None,
    })
    .await;
    b.send(&ClientFrame::Summary {
        req_id: Some("at-login".into()),
    })
    .await;
    // Read nothing for a moment: the summary is queued while the writer
    // waits on a full socket in the middle of the backlog.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut events_before_summary = None;
    let mut events = 0usize;
    loop {
        match b.next().await {
            ServerFrame::Welcome { .. } => {}
            ServerFrame::Event(_) => events += 1,
            ServerFrame::Summary { more: false, .. } => events_before_summary = Some(events),
            ServerFrame::Summary { .. } => {}
            ServerFrame::CaughtUp { .. } => break,
            other => panic!("unexpected before caught_up: {other:?}"),
        }
    }
    eprintln!("summary after {events_before_summary:?} of {events} backlog events");
    assert!(events >= EVENTS, "backlog of {events} events");
    let before = events_before_summary.unwrap_or_else(|| {
        panic!("the summary did not come before caught_up ({events} backlog events)")
    });
    assert!(
        before < events,
        "the summary came after the whole backlog ({before} of {events} events)"
    );
}
