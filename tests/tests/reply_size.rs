//! No reply is ever too large for the socket (security review, finding 1).
//!
//! Before the fix, a reply over the socket's 1 MiB write buffer made the
//! server drop the connection (1006) every time it was built: a colleague
//! who filled twelve rooms with maximal bodies locked a person out at each
//! login. Here the largest replies that staff can make the server build
//! arrive whole: split into parts (`more: true`) or paged by bytes
//! (`has_more`). The harness's client refuses any message over
//! `MAX_SERVER_FRAME_BYTES`, so every frame of every test is also checked
//! against the documented cap.

use townhall_protocol::{
    ClientFrame, Event, MAX_BODY_BYTES, RoomId, RoomInfo, ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer, body};
use uuid::Uuid;

/// A maximal body where every byte needs six bytes of JSON (`\u0001`),
/// told apart by a numbered prefix.
fn hostile_body(n: usize) -> String {
    let tag = format!("#{n}:");
    let mut s = tag.clone();
    s.push_str(&"\u{1}".repeat(MAX_BODY_BYTES - tag.len()));
    s
}

fn send(room: RoomId, body: String, thread: Option<u64>) -> ClientFrame {
    ClientFrame::Send {
        req_id: None,
        room,
        client_id: Uuid::new_v4(),
        body,
        thread,
        question: false,
        attachments: Vec::new(),
    }
}

/// Send every frame, then wait for as many acks.
async fn pipeline(c: &mut Client, frames: Vec<ClientFrame>) {
    let n = frames.len();
    for f in &frames {
        c.send(f).await;
    }
    for i in 0..n {
        c.expect(&format!("ack {i} of {n}"), |f| {
            matches!(f, ServerFrame::Ack { .. })
        })
        .await;
    }
}

/// The connection still answers: a ping gets its pong.
async fn still_open(c: &mut Client) {
    assert!(matches!(
        c.request(ClientFrame::Ping { req_id: None }).await,
        ServerFrame::Pong { .. }
    ));
}

/// Every event of a room, read backwards through `history` pages of up to
/// 500 (the largest page), oldest first; also the number of pages.
async fn whole_history(c: &mut Client, room: RoomId) -> (Vec<Event>, usize) {
    let mut events: Vec<Event> = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let (page, more) = match c
            .request(ClientFrame::History {
                req_id: None,
                room,
                before,
                after: None,
                limit: Some(500),
            })
            .await
        {
            ServerFrame::History {
                events, has_more, ..
            } => (events, has_more),
            other => panic!("history: {other:?}"),
        };
        pages += 1;
        assert!(!page.is_empty() || !more, "an empty page that claims more");
        before = page.first().map(|e| e.seq);
        let mut next = page;
        next.append(&mut events);
        events = next;
        if !more {
            return (events, pages);
        }
    }
}

#[tokio::test]
async fn twelve_rooms_of_hostile_bodies_no_longer_lock_a_colleague_out_at_login() {
    let server = TestServer::start().await;
    let (_, mallory_token) = server.user("mallory").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut mallory, _, _) = server.connect_caught_up(&mallory_token, None, None).await;

    let mut rooms = Vec::new();
    for i in 0..12 {
        let room = mallory
            .create_room(&format!("trap-{i}"), Visibility::Private)
            .await;
        assert!(matches!(
            mallory.add_member(room.id, "bob").await,
            ServerFrame::Ok { .. }
        ));
        rooms.push(room.id);
    }
    let posts = rooms
        .iter()
        .enumerate()
        .map(|(i, r)| send(*r, hostile_body(i), None))
        .collect();
    pipeline(&mut mallory, posts).await;

    // Bob logs in as the web client does: backlog, then summary.
    let (mut bob, backlog, _) = server.connect_caught_up(&bob_token, None, None).await;
    let hostile: Vec<_> = backlog
        .iter()
        .filter_map(body)
        .filter(|b| b.starts_with('#'))
        .collect();
    assert_eq!(
        hostile.len(),
        12,
        "every hostile body in the backlog, whole"
    );
    let (summary, parts) = bob
        .request_parts(ClientFrame::Summary { req_id: None })
        .await;
    let ServerFrame::Summary { rooms: got, .. } = summary else {
        panic!("summary: {summary:?}");
    };
    assert!(parts > 1, "a summary of 12 × 96 KiB comes in parts");
    for (i, room) in rooms.iter().enumerate() {
        let s = got
            .iter()
            .find(|s| s.room.id == *room)
            .unwrap_or_else(|| panic!("room {i} missing from the summary"));
        let latest = s.latest.as_ref().and_then(body);
        assert_eq!(
            latest,
            Some(hostile_body(i).as_str()),
            "room {i}'s latest, whole"
        );
    }
    still_open(&mut bob).await;
}

#[tokio::test]
async fn hostile_thread_replies_under_a_broadcast_do_not_drop_readers_of_the_org_room() {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (_, mallory_token) = server.user("mallory").await;
    let (_, carol_token) = server.user("carol").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let (mut mallory, _, _) = server.connect_caught_up(&mallory_token, None, None).await;
    let org = org_room(&mut mallory).await;

    let (_, post, _) = lead.post(org.id, "The new structure, explained.").await;
    let replies = (0..12)
        .map(|i| send(org.id, hostile_body(i), Some(post)))
        .collect();
    pipeline(&mut mallory, replies).await;

    // Carol opens the room (history) and the thread.
    let (mut carol, _, _) = server.connect_caught_up(&carol_token, None, None).await;
    let (history, pages) = whole_history(&mut carol, org.id).await;
    assert!(pages > 1, "12 × 96 KiB of history comes in pages");
    let hostile: Vec<_> = history
        .iter()
        .filter_map(body)
        .filter(|b| b.starts_with('#'))
        .collect();
    let want: Vec<String> = (0..12).map(hostile_body).collect();
    assert_eq!(hostile, want, "every reply once, in order, whole");
    let (replies, pages) = whole_thread(&mut carol, org.id, post).await;
    assert!(pages > 1, "12 × 96 KiB of thread comes in pages");
    assert_eq!(replies.iter().filter_map(body).collect::<Vec<_>>(), want);
    still_open(&mut carol).await;
}

#[tokio::test]
async fn the_largest_history_and_thread_pages_arrive_whole_in_byte_sized_pages() {
    let server = TestServer::start_with(&["--requests-per-sec", "100000"]).await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = alice.create_room("long", Visibility::Public).await;
    let (_, parent, _) = alice.post(room.id, &hostile_body(0)).await;
    // 300 maximal replies: 29 MB of JSON, 30 times the old socket buffer.
    let replies = (1..=300)
        .map(|i| send(room.id, hostile_body(i), Some(parent)))
        .collect();
    pipeline(&mut alice, replies).await;

    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let want: Vec<String> = (0..=300).map(hostile_body).collect();
    let (history, pages) = whole_history(&mut bob, room.id).await;
    let got: Vec<_> = history
        .iter()
        .filter_map(body)
        .filter(|b| b.starts_with('#'))
        .collect();
    assert_eq!(got, want, "all 301 bodies, in order, once, whole");
    assert!(pages >= 301 * 96 * 1024 / (256 * 1024), "{pages} pages");
    let (replies, _) = whole_thread(&mut bob, room.id, parent).await;
    assert_eq!(
        replies.iter().filter_map(body).collect::<Vec<_>>(),
        want[1..]
    );
    still_open(&mut bob).await;
}

#[tokio::test]
async fn a_member_of_five_thousand_rooms_logs_in_and_lists_them() {
    let server = TestServer::start_with(&["--requests-per-sec", "100000"]).await;
    let (_, dana_token) = server.user("dana").await;
    let (mut dana, _, _) = server.connect_caught_up(&dana_token, None, None).await;
    // Long names and topics of characters that JSON escapes make each room
    // as large as a room can be.
    let topic = "\u{1}".repeat(500);
    const ROOMS: usize = 5_000;
    for chunk in (0..ROOMS).collect::<Vec<_>>().chunks(250) {
        for i in chunk {
            dana.send(&ClientFrame::CreateRoom {
                req_id: None,
                name: format!("{i:05} {}", "x".repeat(70)),
                topic: topic.clone(),
                visibility: Visibility::Public,
                announce_only: false,
            })
            .await;
        }
        for _ in chunk {
            dana.expect("room", |f| matches!(f, ServerFrame::Room { .. }))
                .await;
        }
    }
    dana.close().await;

    let (mut dana, backlog, _) = server.connect_caught_up(&dana_token, None, None).await;
    let rooms_in_backlog: std::collections::HashSet<RoomId> =
        backlog.iter().map(|e| e.room).collect();
    assert!(
        rooms_in_backlog.len() >= ROOMS,
        "{} rooms in the backlog",
        rooms_in_backlog.len()
    );
    let (summary, parts) = dana
        .request_parts(ClientFrame::Summary { req_id: None })
        .await;
    let ServerFrame::Summary { rooms, .. } = summary else {
        panic!("summary: {summary:?}");
    };
    assert!(rooms.len() > ROOMS, "{} rooms in the summary", rooms.len());
    assert!(parts > 1);
    for (request, what) in [
        (ClientFrame::MyRooms { req_id: None }, "my_rooms"),
        (ClientFrame::Directory { req_id: None }, "directory"),
    ] {
        let rooms: Vec<RoomInfo> = match dana.request(request).await {
            ServerFrame::Rooms { rooms, more, .. } => {
                assert!(!more);
                rooms
            }
            other => panic!("{what}: {other:?}"),
        };
        let ours = rooms.iter().filter(|r| r.topic == topic).count();
        assert_eq!(ours, ROOMS, "{what}: every room once");
    }
    still_open(&mut dana).await;
}

async fn org_room(c: &mut Client) -> RoomInfo {
    match c.request(ClientFrame::MyRooms { req_id: None }).await {
        ServerFrame::Rooms { rooms, .. } => rooms
            .into_iter()
            .find(|r| r.org_wide)
            .expect("everyone is in the org room"),
        other => panic!("my_rooms: {other:?}"),
    }
}

/// Every reply of a thread, paging forwards; also the number of pages.
async fn whole_thread(c: &mut Client, room: RoomId, seq: u64) -> (Vec<Event>, usize) {
    let mut replies: Vec<Event> = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let (page, more) = match c
            .request(ClientFrame::Thread {
                req_id: None,
                room,
                seq,
                after,
                limit: Some(500),
            })
            .await
        {
            ServerFrame::Thread {
                replies, has_more, ..
            } => (replies, has_more),
            other => panic!("thread: {other:?}"),
        };
        pages += 1;
        after = page.last().map(|e| e.seq).or(after);
        replies.extend(page);
        if !more {
            return (replies, pages);
        }
    }
}

#[tokio::test]
async fn a_message_edited_in_a_loop_stops_growing_at_the_edit_limit() {
    use townhall_protocol::{ErrorCode, MAX_EDITS};
    let server = TestServer::start_with(&["--requests-per-sec", "100000"]).await;
    let (_, token) = server.user("mallory").await;
    let (mut mallory, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = mallory.create_room("edits", Visibility::Public).await;
    let (_, seq, _) = mallory.post(room.id, "v0").await;
    let edit = |i: usize| ClientFrame::Edit {
        req_id: None,
        room: room.id,
        seq,
        body: format!("v{}", i + 1),
    };
    for chunk in (0..MAX_EDITS).collect::<Vec<_>>().chunks(200) {
        for i in chunk {
            mallory.send(&edit(*i)).await;
        }
        for i in chunk {
            mallory
                .expect(&format!("edit {i} done"), |f| {
                    matches!(f, ServerFrame::Ok { .. })
                })
                .await;
        }
    }
    mallory
        .expect_error(edit(MAX_EDITS), ErrorCode::LimitReached)
        .await;
    // The message reads as its last allowed edit.
    match mallory
        .request(ClientFrame::History {
            req_id: None,
            room: room.id,
            before: None,
            after: Some(seq - 1),
            limit: Some(1),
        })
        .await
    {
        ServerFrame::History { events, .. } => {
            assert_eq!(body(&events[0]), Some(format!("v{MAX_EDITS}").as_str()));
            assert_eq!(events[0].state.edits.len(), MAX_EDITS);
        }
        other => panic!("history: {other:?}"),
    }
}

#[tokio::test]
async fn a_popular_message_lists_fifty_reactors_per_emoji_and_counts_the_rest_exactly() {
    use townhall_protocol::REACTORS_LISTED;
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let room = lead.create_room("all-hands", Visibility::Public).await;
    let (_, seq, _) = lead.post(room.id, "The plan for next year").await;
    let react = |on: bool| ClientFrame::React {
        req_id: None,
        room: room.id,
        seq,
        emoji: "👍".into(),
        on,
    };
    let extra = 10;
    let mut people = Vec::new();
    for i in 0..REACTORS_LISTED + extra {
        let (_, token) = server.user(&format!("staff{i}")).await;
        let mut c = server.connect(&token).await;
        c.until_caught_up().await;
        assert!(matches!(c.join(room.id).await, ServerFrame::Room { .. }));
        assert!(matches!(
            c.request(react(true)).await,
            ServerFrame::Ok { .. }
        ));
        people.push(c);
    }
    let state = |e: &Event| {
        let listed = e.state.reactions.get("👍").map_or(0, Vec::len);
        let more = e.state.reactions_more.get("👍").copied().unwrap_or(0);
        (listed, more)
    };
    assert_eq!(
        state(&the_message(&mut lead, room.id, seq).await),
        (REACTORS_LISTED, extra as u64)
    );

    // One of the counted-only people reacts again: nothing changes (no
    // event: the reply's position is 0).
    let last = people.last_mut().expect("people");
    assert!(matches!(
        last.request(react(true)).await,
        ServerFrame::Ok { pos: 0, .. }
    ));
    assert_eq!(
        state(&the_message(&mut lead, room.id, seq).await),
        (REACTORS_LISTED, extra as u64)
    );
    // They take it back: exactly one fewer.
    assert!(matches!(last.request(react(false)).await, ServerFrame::Ok { pos, .. } if pos > 0));
    assert!(matches!(
        last.request(react(false)).await,
        ServerFrame::Ok { pos: 0, .. }
    ));
    assert_eq!(
        state(&the_message(&mut lead, room.id, seq).await),
        (REACTORS_LISTED, extra as u64 - 1)
    );
    // A listed person takes theirs back: the list shrinks, the count stays exact.
    assert!(
        matches!(people[0].request(react(false)).await, ServerFrame::Ok { pos, .. } if pos > 0)
    );
    assert_eq!(
        state(&the_message(&mut lead, room.id, seq).await),
        (REACTORS_LISTED - 1, extra as u64 - 1)
    );

    // Deleted: the reactions go, and the counted-only people can react to
    // nothing.
    assert!(matches!(
        lead.request(ClientFrame::Delete {
            req_id: None,
            room: room.id,
            seq
        })
        .await,
        ServerFrame::Ok { .. }
    ));
    assert_eq!(state(&the_message(&mut lead, room.id, seq).await), (0, 0));
}

/// A message as history shows it now.
async fn the_message(c: &mut Client, room: RoomId, seq: u64) -> Event {
    let frame = ClientFrame::History {
        req_id: None,
        room,
        before: Some(seq + 1),
        after: None,
        limit: Some(1),
    };
    match c.request(frame).await {
        ServerFrame::History { mut events, .. } => events.remove(0),
        other => panic!("history: {other:?}"),
    }
}

#[tokio::test]
async fn merging_repeats_a_question_once_and_stops_at_the_merge_limit() {
    use townhall_protocol::{ErrorCode, MAX_MERGED};
    let server = TestServer::start_with(&["--requests-per-sec", "100000"]).await;
    let (_, token) = server.user("owner").await;
    let (mut owner, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = owner.create_room("questions", Visibility::Public).await;
    let ask = |n: usize| ClientFrame::Send {
        req_id: None,
        room: room.id,
        client_id: Uuid::new_v4(),
        body: format!("question {n}?"),
        thread: None,
        question: true,
        attachments: Vec::new(),
    };
    let canonical = match owner.request(ask(0)).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("ask: {other:?}"),
    };
    let first = canonical + 1;
    pipeline(&mut owner, (1..=MAX_MERGED + 1).map(ask).collect()).await;
    let merge = |questions: Vec<u64>| ClientFrame::MergeQuestions {
        req_id: None,
        room: room.id,
        questions,
        into: canonical,
    };

    // The same question a hundred times is merged once.
    assert!(matches!(
        owner.request(merge(vec![first; 100])).await,
        ServerFrame::Ok { .. }
    ));
    assert_eq!(
        the_message(&mut owner, room.id, canonical)
            .await
            .state
            .merged,
        [first]
    );

    // Up to the limit, then `limit_reached`, and the list stays at the limit.
    let rest: Vec<u64> = (first + 1..first + MAX_MERGED as u64).collect();
    for chunk in rest.chunks(100) {
        assert!(matches!(
            owner.request(merge(chunk.to_vec())).await,
            ServerFrame::Ok { .. }
        ));
    }
    let one_more = first + MAX_MERGED as u64;
    owner
        .expect_error(merge(vec![one_more]), ErrorCode::LimitReached)
        .await;
    let state = the_message(&mut owner, room.id, canonical).await.state;
    assert_eq!(state.merged.len(), MAX_MERGED);
}
