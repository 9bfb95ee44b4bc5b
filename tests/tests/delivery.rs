//! Offline delivery: in order, nothing lost, nothing twice, with a clear
//! caught-up point, across reconnects, devices and membership changes.

use std::collections::HashMap;
use townhall_protocol::{ClientFrame, Content, MemberAction, ServerFrame, Visibility};
use townhall_tests::{TestServer, bodies, body};

/// alice posts while bob is offline; bob logs in and receives it exactly once.
#[tokio::test]
async fn bob_receives_what_he_missed_once_in_order_then_live() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("general", Visibility::Public).await;
    let (mut b, _, pos) = server.connect_caught_up(&bob_token, None, None).await;
    b.join(room.id).await;
    b.event_where("own join", |e| matches!(e.content, Content::Member { .. }))
        .await;
    b.close().await;

    let mut sent = Vec::new();
    for i in 0..20 {
        let text = format!("while you were away {i}");
        a.post(room.id, &text).await;
        sent.push(text);
    }
    let (mut b, backlog, caught_up) = server.connect_caught_up(&bob_token, Some(pos), None).await;
    let got = bodies(&backlog);
    assert_eq!(got, sent, "backlog is every missed message, in order, once");
    assert_eq!(caught_up, backlog.last().map(|e| e.pos).unwrap_or(pos));
    assert!(backlog.windows(2).all(|w| w[0].pos < w[1].pos));

    a.post(room.id, "live now").await;
    let live = b.next_event().await;
    assert_eq!(body(&live), Some("live now"));
    assert!(live.pos > caught_up);
}

/// Four senders post concurrently; every member sees one order, each
/// sender's own messages in the order sent, seqs without gaps.
#[tokio::test]
async fn concurrent_senders_get_one_gap_free_order_per_room() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let room = owner.create_room("busy", Visibility::Public).await;
    let (_, watcher_token) = server.user("watcher").await;
    let (mut watcher, _, _) = server.connect_caught_up(&watcher_token, None, None).await;
    watcher.join(room.id).await;
    let (_, late_token) = server.user("late").await;
    let (mut late, _, late_pos) = server.connect_caught_up(&late_token, None, None).await;
    late.join(room.id).await;
    late.close().await;

    const SENDERS: usize = 4;
    const EACH: usize = 50;
    let mut tasks = Vec::new();
    for s in 0..SENDERS {
        let (_, token) = server.user(&format!("sender{s}")).await;
        let mut c = server.connect(&token).await;
        c.until_caught_up().await;
        c.join(room.id).await;
        tasks.push(tokio::spawn(async move {
            // Pipeline all sends, then collect the acks.
            for i in 0..EACH {
                c.send(&ClientFrame::Send {
                    req_id: Some(format!("s{s}-{i}")),
                    room: room.id,
                    client_id: uuid::Uuid::new_v4(),
                    body: format!("s{s}-{i}"),
                    thread: None,
                    question: false,
                    attachments: Vec::new(),
                })
                .await;
            }
            let mut acked = Vec::new();
            for i in 0..EACH {
                let id = format!("s{s}-{i}");
                match c
                    .expect("ack", |f| townhall_tests::reply_id(f) == Some(id.as_str()))
                    .await
                {
                    ServerFrame::Ack { seq, .. } => acked.push(seq),
                    other => panic!("{other:?}"),
                }
            }
            acked
        }));
    }
    let mut acked_seqs = Vec::new();
    for t in tasks {
        let seqs = t.await.expect("sender");
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a sender's messages keep their order: {seqs:?}"
        );
        acked_seqs.extend(seqs);
    }
    let mut live = Vec::new();
    while live.len() < SENDERS * EACH {
        let e = watcher.next_event().await;
        if body(&e).is_some() {
            live.push(e);
        }
    }
    // Seqs of the room are contiguous across all events; positions increase.
    assert!(
        live.windows(2)
            .all(|w| w[0].pos < w[1].pos && w[0].seq < w[1].seq)
    );
    let mut live_seqs: Vec<u64> = live.iter().map(|e| e.seq).collect();
    acked_seqs.sort();
    live_seqs.sort();
    assert_eq!(
        live_seqs, acked_seqs,
        "every acked message delivered live exactly once"
    );
    for s in 0..SENDERS {
        let mine: Vec<String> = bodies(&live)
            .into_iter()
            .filter(|b| b.starts_with(&format!("s{s}-")))
            .collect();
        let want: Vec<String> = (0..EACH).map(|i| format!("s{s}-{i}")).collect();
        assert_eq!(mine, want);
    }
    // Someone offline meanwhile sees the very same order.
    let (_, backlog, _) = server
        .connect_caught_up(&late_token, Some(late_pos), None)
        .await;
    let offline: Vec<_> = backlog
        .iter()
        .filter(|e| body(e).is_some())
        .map(|e| (e.pos, e.seq))
        .collect();
    let online: Vec<_> = live.iter().map(|e| (e.pos, e.seq)).collect();
    assert_eq!(offline, online);
}

/// The client's id makes a send idempotent: the same answer, nothing new stored.
#[tokio::test]
async fn resending_the_same_client_id_stores_nothing_new() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let id = uuid::Uuid::new_v4();
    let first = a.post_with_id(room.id, id, "once").await;
    a.close().await;
    // Reconnect (as after a network drop) and send again.
    let mut a = server.connect(&token).await;
    a.until_caught_up().await;
    let again = a.post_with_id(room.id, id, "once").await;
    match (&first, &again) {
        (
            ServerFrame::Ack {
                seq: s1,
                pos: p1,
                duplicate: false,
                ..
            },
            ServerFrame::Ack {
                seq: s2,
                pos: p2,
                duplicate: true,
                ..
            },
        ) => assert_eq!((s1, p1), (s2, p2)),
        other => panic!("{other:?}"),
    }
    let history = a
        .request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: None,
            after: None,
            limit: None,
        })
        .await;
    match history {
        ServerFrame::History { events, .. } => assert_eq!(bodies(&events), vec!["once"]),
        other => panic!("{other:?}"),
    }
}

/// The classic race: messages keep arriving while bob's backlog streams.
/// Backlog + live must be every message, in order, with no gap and no duplicate.
#[tokio::test]
async fn messages_posted_during_the_backlog_arrive_without_gap_or_duplicate() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("race", Visibility::Public).await;
    let (mut b, _, bob_pos) = server.connect_caught_up(&bob_token, None, None).await;
    b.join(room.id).await;
    b.close().await;
    a.post_pipelined(room.id, 1500).await;
    // A second sender keeps posting while bob connects and drains.
    let (_, carol_token) = server.user("carol").await;
    let mut c = server.connect(&carol_token).await;
    c.until_caught_up().await;
    c.join(room.id).await;
    let during = tokio::spawn(async move {
        for i in 0..300 {
            c.post(room.id, &format!("d{i}")).await;
        }
        c
    });
    let mut b = server.connect_from(&bob_token, Some(bob_pos), None).await;
    let mut received = Vec::new();
    let mut caught_up = None;
    let mut d_seen = 0;
    while d_seen < 300 {
        match b.next().await {
            ServerFrame::Event(e) => {
                if body(&e).is_some_and(|t| t.starts_with('d')) {
                    d_seen += 1;
                }
                received.push(e);
            }
            ServerFrame::CaughtUp { pos } => caught_up = Some(pos),
            other => panic!("unexpected {other:?}"),
        }
    }
    during.await.expect("sender");
    assert!(caught_up.is_some(), "caught_up was sent");
    assert!(
        received.windows(2).all(|w| w[0].pos < w[1].pos),
        "strictly increasing positions: no duplicate, no reordering"
    );
    let got = bodies(&received);
    let want: Vec<String> = (0..1500).map(|i| format!("m{i}")).collect();
    let ms: Vec<String> = got.iter().filter(|t| t.starts_with('m')).cloned().collect();
    let ds: Vec<String> = got.iter().filter(|t| t.starts_with('d')).cloned().collect();
    assert_eq!(ms, want);
    assert_eq!(ds, (0..300).map(|i| format!("d{i}")).collect::<Vec<_>>());
    // And the room's seqs have no hole in what bob saw.
    let seqs: Vec<u64> = received
        .iter()
        .filter(|e| e.room == room.id)
        .map(|e| e.seq)
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap in the room's sequence"
    );
}

/// A disconnect in the middle of a backlog resumes from the last processed position.
#[tokio::test]
async fn a_drop_mid_backlog_resumes_from_the_last_acknowledged_position() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut b, _, start) = server
        .connect_caught_up(&bob_token, None, Some("laptop"))
        .await;
    b.join(room.id).await;
    b.event_where("own join", |e| matches!(e.content, Content::Member { .. }))
        .await;
    b.close().await;
    a.post_pipelined(room.id, 300).await;

    // Read 100, acknowledge, drop the connection without a goodbye.
    let mut b = server
        .connect_from(&bob_token, Some(start), Some("laptop"))
        .await;
    let mut first = Vec::new();
    while first.len() < 100 {
        first.push(b.next_event().await);
    }
    let acked = first.last().expect("100 events").pos;
    b.send(&ClientFrame::AckPos {
        req_id: None,
        pos: acked,
    })
    .await;
    // The ack is fire-and-forget; a ping round trip orders it before the drop.
    b.request(ClientFrame::Ping { req_id: None }).await;
    drop(b);

    // Reconnect without saying where: the device's stored position is used.
    let (_, rest, _) = server
        .connect_caught_up(&bob_token, None, Some("laptop"))
        .await;
    let all: Vec<String> = bodies(&first).into_iter().chain(bodies(&rest)).collect();
    assert_eq!(all, (0..300).map(|i| format!("m{i}")).collect::<Vec<_>>());
    // And an explicit resume position wins over the stored one.
    let m49 = first
        .iter()
        .find(|e| body(e) == Some("m49"))
        .expect("m49 among the first 100")
        .pos;
    let (_, again, _) = server
        .connect_caught_up(&bob_token, Some(m49), Some("laptop"))
        .await;
    assert_eq!(bodies(&again).first().map(String::as_str), Some("m50"));
    assert_eq!(again.len(), 250);
}

/// One user on two devices: each has its own position; read markers sync.
#[tokio::test]
async fn two_devices_of_one_user_each_get_everything_and_share_read_markers() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut laptop, _, _) = server
        .connect_caught_up(&bob_token, None, Some("laptop"))
        .await;
    laptop.join(room.id).await;
    let (phone, _, phone_pos) = server
        .connect_caught_up(&bob_token, None, Some("phone"))
        .await;
    phone.close().await;

    for i in 0..5 {
        a.post(room.id, &format!("m{i}")).await;
    }
    let mut live = Vec::new();
    while live.len() < 5 {
        let e = laptop.next_event().await;
        if body(&e).is_some() {
            live.push(e);
        }
    }
    let (mut phone, backlog, _) = server
        .connect_caught_up(&bob_token, Some(phone_pos), Some("phone"))
        .await;
    assert_eq!(bodies(&backlog), bodies(&live));

    let last = live.last().expect("5").seq;
    assert!(matches!(
        laptop
            .request(ClientFrame::MarkRead {
                req_id: None,
                room: room.id,
                seq: last
            })
            .await,
        ServerFrame::Ok { .. }
    ));
    let marker = phone
        .expect("read marker on the other device", |f| {
            matches!(f, ServerFrame::ReadMarker { .. })
        })
        .await;
    assert!(
        matches!(marker, ServerFrame::ReadMarker { seq, room: r } if seq == last && r == room.id)
    );
    // A marker never moves back.
    laptop
        .request(ClientFrame::MarkRead {
            req_id: None,
            room: room.id,
            seq: 1,
        })
        .await;
    match phone.request(ClientFrame::Summary { req_id: None }).await {
        ServerFrame::Summary { rooms, .. } => {
            let s = rooms
                .iter()
                .find(|s| s.room.id == room.id)
                .expect("room in summary");
            assert_eq!((s.read_seq, s.unread), (last, 0));
        }
        other => panic!("{other:?}"),
    }
}

/// A removed member gets their removal and nothing after it, live or queued.
#[tokio::test]
async fn a_removed_member_receives_nothing_more_live_or_queued() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, carol_token) = server.user("carol").await;
    let (_, dave_token) = server.user("dave").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("private", Visibility::Private).await;
    a.add_member(room.id, "carol").await;
    a.add_member(room.id, "dave").await;

    // Carol is offline; dave is online.
    let (carol, _, carol_pos) = server.connect_caught_up(&carol_token, None, None).await;
    carol.close().await;
    let (mut dave, _, _) = server.connect_caught_up(&dave_token, None, None).await;

    a.post(room.id, "before").await;
    assert!(matches!(
        a.request(ClientFrame::RemoveMember {
            req_id: None,
            room: room.id,
            user: "carol".into()
        })
        .await,
        ServerFrame::Ok { .. }
    ));
    assert!(matches!(
        a.request(ClientFrame::RemoveMember {
            req_id: None,
            room: room.id,
            user: "dave".into()
        })
        .await,
        ServerFrame::Ok { .. }
    ));
    a.post(room.id, "after").await;

    // Live: dave sees "before", his removal, and then nothing of the room.
    dave.message("before").await;
    dave.event_where("dave's removal", |e| matches!(&e.content, Content::Member { user, action: MemberAction::Removed } if user.username == "dave")).await;
    dave.request(ClientFrame::Ping { req_id: None }).await; // barrier: "after" was published before this pong
    while let Some(f) = dave.pending_frame() {
        assert!(
            !matches!(&f, ServerFrame::Event(e) if body(e) == Some("after")),
            "dave got a message after removal"
        );
    }

    // Queued: carol's backlog stops at her removal.
    let (mut carol, backlog, _) = server
        .connect_caught_up(&carol_token, Some(carol_pos), None)
        .await;
    let texts = bodies(&backlog);
    assert_eq!(texts, vec!["before"]);
    assert!(backlog.iter().any(|e| matches!(&e.content, Content::Member { user, action: MemberAction::Removed } if user.username == "carol")));
    // And the room is now invisible to her.
    carol
        .expect_error(
            ClientFrame::History {
                req_id: None,
                room: room.id,
                before: None,
                after: None,
                limit: None,
            },
            townhall_protocol::ErrorCode::NotFound,
        )
        .await;
    carol
        .expect_error(
            ClientFrame::Send {
                req_id: None,
                room: room.id,
                client_id: uuid::Uuid::new_v4(),
                body: "hi".into(),
                thread: None,
                question: false,
                attachments: Vec::new(),
            },
            townhall_protocol::ErrorCode::NotFound,
        )
        .await;
}

/// "What you missed": per-room unread, mentions and latest, without downloading everything.
#[tokio::test]
async fn the_summary_shows_unread_mentions_and_the_latest_message() {
    let mut server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let busy = a.create_room("busy", Visibility::Public).await;
    let quiet = a.create_room("quiet", Visibility::Public).await;
    let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    b.join(busy.id).await;
    b.join(quiet.id).await;
    b.close().await;
    a.post(quiet.id, "nothing much").await;
    // Mentions that stop being mentions do not count: one edited away, one
    // deleted; and `@room` counts for everyone in the room.
    let (_, edited, _) = a.post(quiet.id, "@Bob first draft").await;
    let (_, deleted, _) = a.post(quiet.id, "@bob oops").await;
    a.post(quiet.id, "@room all hands at 3").await;
    a.request(ClientFrame::Edit {
        req_id: None,
        room: quiet.id,
        seq: edited,
        body: "first draft".into(),
    })
    .await;
    a.request(ClientFrame::Delete {
        req_id: None,
        room: quiet.id,
        seq: deleted,
    })
    .await;
    a.post(busy.id, "one").await;
    a.post(busy.id, "hey @bob, can you look?").await;
    a.post(busy.id, "three (not @bobby)").await;
    a.close().await;
    // The counts come from the store: a restart keeps them.
    assert_eq!(server.stop().await, Some(0));
    server.restart().await;

    let (mut b, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let summary = match b.request(ClientFrame::Summary { req_id: None }).await {
        ServerFrame::Summary { rooms, .. } => rooms,
        other => panic!("{other:?}"),
    };
    let by_name: HashMap<&str, _> = summary.iter().map(|s| (s.room.name.as_str(), s)).collect();
    assert_eq!(
        summary[0].room.id, busy.id,
        "the room that changed last is first"
    );
    let s = by_name["busy"];
    assert_eq!((s.unread, s.mentions), (3, 1));
    assert_eq!(s.latest.as_ref().and_then(body), Some("three (not @bobby)"));
    assert_eq!(
        (by_name["quiet"].unread, by_name["quiet"].mentions),
        (4, 1),
        "4 messages left (one deleted); only @room still mentions bob"
    );
    b.request(ClientFrame::MarkRead {
        req_id: None,
        room: busy.id,
        seq: s.last_seq,
    })
    .await;
    match b.request(ClientFrame::Summary { req_id: None }).await {
        ServerFrame::Summary { rooms, .. } => {
            let s = rooms.iter().find(|s| s.room.id == busy.id).expect("busy");
            assert_eq!((s.unread, s.mentions), (0, 0));
        }
        other => panic!("{other:?}"),
    }
}

/// A new browser of a user who has been reading elsewhere starts from the
/// furthest position any of their devices acknowledged, not from the start.
#[tokio::test]
async fn a_new_device_starts_where_the_users_other_devices_got_to() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut laptop, _, _) = server
        .connect_caught_up(&bob_token, None, Some("laptop"))
        .await;
    laptop.join(room.id).await;
    for i in 0..10 {
        a.post(room.id, &format!("old{i}")).await;
    }
    let mut last = 0;
    while last == 0 {
        let e = laptop.next_event().await;
        if body(&e) == Some("old9") {
            last = e.pos;
        }
    }
    laptop
        .send(&ClientFrame::AckPos {
            req_id: None,
            pos: last,
        })
        .await;
    laptop.request(ClientFrame::Ping { req_id: None }).await;
    a.post(room.id, "new").await;
    let (_, backlog, _) = server
        .connect_caught_up(&bob_token, None, Some("new-browser"))
        .await;
    assert_eq!(
        bodies(&backlog),
        vec!["new"],
        "only what no device of bob's has seen"
    );
}

/// What I write does not count as unread for me, on any of my devices.
#[tokio::test]
async fn my_own_messages_move_my_read_marker() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut phone, _, _) = server.connect_caught_up(&token, None, None).await;
    let (_, seq, _) = a.post(room.id, "note to the team").await;
    let marker = phone
        .expect("read marker", |f| {
            matches!(f, ServerFrame::ReadMarker { .. })
        })
        .await;
    assert!(matches!(marker, ServerFrame::ReadMarker { seq: s, .. } if s == seq));
    match a.request(ClientFrame::Summary { req_id: None }).await {
        ServerFrame::Summary { rooms, .. } => {
            let s = rooms.iter().find(|s| s.room.id == room.id).expect("room");
            assert_eq!((s.unread, s.read_seq), (0, seq));
        }
        other => panic!("{other:?}"),
    }
}

/// A send's ack is written by the committer as soon as its event is
/// published and before the room's other writers are woken (on the writers'
/// own runtime): still, every connection gets every event once and in
/// order, every send exactly one ack, and a request sent right after an
/// ack reads the message (an ack never comes before its event is visible).
#[tokio::test]
async fn a_fan_out_to_300_connections_keeps_each_event_once_and_each_ack_once() {
    let server = TestServer::start().await;
    // 10 people with 30 connections each: 300 writers per event.
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push(server.user(&format!("u{i}")).await.1);
    }
    let (mut owner, _, _) = server.connect_caught_up(&tokens[0], None, None).await;
    let room = owner.create_room("hall", Visibility::Private).await;
    for i in 1..10 {
        owner.add_member(room.id, &format!("u{i}")).await;
    }
    let mut conns = Vec::new();
    for token in &tokens {
        for _ in 0..30 {
            let (c, _, caught_up) = server.connect_caught_up(token, None, None).await;
            conns.push((c, caught_up));
        }
    }

    // One at a time (each its own group and publish to 300 idle writers),
    // then 40 pipelined (several per group, the acks in step with the
    // group's events).
    for i in 0..10 {
        let body = format!("one {i}");
        let (_, seq, _) = owner.post(room.id, &body).await;
        // Read-your-writes: the newest message, asked for right after the
        // ack, is this one.
        match owner
            .request(ClientFrame::History {
                req_id: None,
                room: room.id,
                before: None,
                after: None,
                limit: Some(1),
            })
            .await
        {
            ServerFrame::History { events, .. } => {
                assert_eq!(bodies(&events), vec![body.as_str()], "after ack {i}");
                assert_eq!(events[0].seq, seq);
            }
            other => panic!("history: {other:?}"),
        }
    }
    owner.post_pipelined(room.id, 40).await;
    // No second ack for any of them: the next reply comes with none before it.
    match owner.request(ClientFrame::Ping { req_id: None }).await {
        ServerFrame::Pong { .. } => {}
        other => panic!("ping: {other:?}"),
    }
    let acks = owner
        .seen
        .iter()
        .filter(|f| f.contains(r#""type":"ack""#))
        .count();
    assert_eq!(acks, 50, "exactly one ack per send");

    let want: Vec<String> = (0..10)
        .map(|i| format!("one {i}"))
        .chain((0..40).map(|i| format!("m{i}")))
        .collect();
    for (k, (c, caught_up)) in conns.iter_mut().enumerate() {
        let mut got = Vec::new();
        let mut last = *caught_up;
        while got.len() < want.len() {
            let e = c.next_event().await;
            assert!(e.pos > last, "connection {k}: positions rise");
            last = e.pos;
            if e.room == room.id
                && let Some(text) = body(&e)
            {
                got.push(text.to_owned());
            }
        }
        assert_eq!(got, want, "connection {k}: every message once, in order");
    }
}
