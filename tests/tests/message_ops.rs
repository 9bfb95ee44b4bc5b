//! Edits, deletes, reactions, threads and questions: each is a timeline
//! event (live and offline like any message) and the message's stored state
//! (history shows it as it is now).

use townhall_protocol::{ClientFrame, Content, ErrorCode, Event, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer, body};

fn at(events: &[Event], seq: u64) -> &Event {
    events
        .iter()
        .find(|e| e.seq == seq)
        .expect("event in history")
}

async fn ok(c: &mut Client, frame: ClientFrame) -> u64 {
    match c.request(frame).await {
        ServerFrame::Ok { pos, .. } => pos,
        other => panic!("expected ok, got {other:?}"),
    }
}

/// A `react` frame: add (`on`) or remove my `emoji` on message `seq`.
fn react(room: townhall_protocol::RoomId, seq: u64, emoji: &str, on: bool) -> ClientFrame {
    ClientFrame::React {
        req_id: None,
        room,
        seq,
        emoji: emoji.into(),
        on,
    }
}

#[tokio::test]
async fn edits_and_deletes_reach_everyone_and_history_shows_the_current_state() {
    let mut server = TestServer::start().await;
    let (_, a_token) = server.user("alice").await;
    let (_, b_token) = server.user("bob").await;
    let (_, c_token) = server.user("carol").await;
    let (mut a, _, _) = server.connect_caught_up(&a_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut b, _, _) = server.connect_caught_up(&b_token, None, None).await;
    b.join(room.id).await;
    let (mut c, _, carol_pos) = server.connect_caught_up(&c_token, None, None).await;
    c.join(room.id).await;
    c.close().await; // carol is offline from here

    let (_, seq, _) = a.post(room.id, "the meeting is at 3").await;
    ok(
        &mut a,
        ClientFrame::Edit {
            req_id: None,
            room: room.id,
            seq,
            body: "the meeting is at 4".into(),
        },
    )
    .await;
    let edited = b
        .event_where("edit", |e| matches!(e.content, Content::Edited { .. }))
        .await;
    assert!(
        matches!(&edited.content, Content::Edited { target, body } if *target == seq && body == "the meeting is at 4")
    );
    let h = b.latest_history(room.id).await;
    assert_eq!(body(at(&h, seq)), Some("the meeting is at 4"));
    assert!(at(&h, seq).state.edited_at.is_some());

    // Only the sender edits; a member cannot delete someone else's message.
    b.expect_error(
        ClientFrame::Edit {
            req_id: None,
            room: room.id,
            seq,
            body: "hijack".into(),
        },
        ErrorCode::Forbidden,
    )
    .await;
    b.expect_error(
        ClientFrame::Delete {
            req_id: None,
            room: room.id,
            seq,
        },
        ErrorCode::Forbidden,
    )
    .await;

    // Bob's own message, deleted by alice (the room's owner): a tombstone.
    let (_, bob_seq, _) = b.post(room.id, "something regrettable").await;
    ok(
        &mut a,
        ClientFrame::Delete {
            req_id: None,
            room: room.id,
            seq: bob_seq,
        },
    )
    .await;
    ok(
        &mut a,
        ClientFrame::Delete {
            req_id: None,
            room: room.id,
            seq,
        },
    )
    .await;
    let h = b.latest_history(room.id).await;
    for s in [seq, bob_seq] {
        assert!(at(&h, s).state.deleted);
        assert_eq!(body(at(&h, s)), Some(""));
    }

    // Carol, offline throughout, gets the edits and deletes in her backlog.
    let (_, backlog, _) = server
        .connect_caught_up(&c_token, Some(carol_pos), None)
        .await;
    let kinds: Vec<&str> = backlog
        .iter()
        .map(|e| match &e.content {
            Content::Message { .. } => "message",
            Content::Edited { .. } => "edited",
            Content::Deleted { .. } => "deleted",
            _ => "other",
        })
        .filter(|k| *k != "other")
        .collect();
    assert_eq!(
        kinds,
        vec!["message", "edited", "message", "deleted", "deleted"]
    );

    // After a restart, nothing readable holds the deleted words: not history,
    // not a backlog from the start, edits included. (sled is log-structured:
    // the old bytes stay in its log until it reclaims the segment; see
    // docs/architecture.md.)
    assert_eq!(server.stop().await, Some(0));
    server.restart().await;
    let (mut c, backlog, _) = server.connect_caught_up(&c_token, Some(0), None).await;
    let h = c.latest_history(room.id).await;
    let text = format!("{backlog:?} {h:?}");
    for gone in [
        "the meeting is at 3",
        "the meeting is at 4",
        "something regrettable",
    ] {
        assert!(!text.contains(gone), "{gone:?} still readable");
    }
}

#[tokio::test]
async fn reactions_and_thread_replies_are_counted_on_the_message() {
    let server = TestServer::start().await;
    let (_, a_token) = server.user("alice").await;
    let (_, b_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&a_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut b, _, _) = server.connect_caught_up(&b_token, None, None).await;
    b.join(room.id).await;
    let (_, seq, _) = a.post(room.id, "new office opens Monday").await;
    ok(&mut b, react(room.id, seq, "🎉", true)).await;
    ok(&mut a, react(room.id, seq, "🎉", true)).await;
    ok(&mut a, react(room.id, seq, "👍", true)).await;
    ok(&mut a, react(room.id, seq, "👍", false)).await;
    // Reacting twice is a no-op (no new event).
    assert_eq!(ok(&mut b, react(room.id, seq, "🎉", true)).await, 0);
    b.expect_error(react(room.id, seq, "🦄", true), ErrorCode::InvalidField)
        .await;
    let reaction = a
        .event_where(
            "bob's reaction",
            |e| matches!(&e.content, Content::Reaction { emoji, on: true, .. } if emoji == "🎉"),
        )
        .await;
    assert_eq!(reaction.sender.username, "bob");

    b.send(&ClientFrame::Send {
        req_id: Some("t1".into()),
        room: room.id,
        client_id: uuid::Uuid::new_v4(),
        body: "where is it?".into(),
        thread: Some(seq),
        question: false,
        attachments: Vec::new(),
    })
    .await;
    let reply = b
        .expect("ack", |f| townhall_tests::reply_id(f) == Some("t1"))
        .await;
    let ServerFrame::Ack { seq: reply_seq, .. } = reply else {
        panic!("{reply:?}")
    };
    // No threads under thread replies.
    b.expect_error(
        ClientFrame::Send {
            req_id: None,
            room: room.id,
            client_id: uuid::Uuid::new_v4(),
            body: "nested".into(),
            thread: Some(reply_seq),
            question: false,
            attachments: Vec::new(),
        },
        ErrorCode::InvalidField,
    )
    .await;

    let h = a.latest_history(room.id).await;
    let m = at(&h, seq);
    assert_eq!(m.state.replies, 1);
    let names: Vec<(&str, usize)> = m
        .state
        .reactions
        .iter()
        .map(|(e, who)| (e.as_str(), who.len()))
        .collect();
    assert_eq!(names, vec![("🎉", 2)]);
    assert!(
        matches!(at(&h, reply_seq).content, Content::Message { thread: Some(t), .. } if t == seq)
    );
}

#[tokio::test]
async fn questions_wait_in_the_queue_until_someone_allowed_marks_an_answer() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, staff_token) = server.user("staff").await;
    let (_, leader_token) = server.user_with_role("lead", "leader").await;
    let (_, other_token) = server.user("other").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let room = owner.create_room("questions", Visibility::Public).await;
    let secret = owner.create_room("board", Visibility::Private).await;
    let (mut staff, _, _) = server.connect_caught_up(&staff_token, None, None).await;
    staff.join(room.id).await;
    let (mut lead, _, _) = server.connect_caught_up(&leader_token, None, None).await;
    let (mut other, _, _) = server.connect_caught_up(&other_token, None, None).await;
    other.join(room.id).await;

    let ask = |room, body: &str| ClientFrame::Send {
        req_id: None,
        room,
        client_id: uuid::Uuid::new_v4(),
        body: body.into(),
        thread: None,
        question: true,
        attachments: Vec::new(),
    };
    let q = match staff.request(ask(room.id, "will my team move?")).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("{other:?}"),
    };
    owner.request(ask(secret.id, "board-only question")).await;
    staff.close().await; // the asker goes offline

    let queue = |f: ServerFrame| match f {
        ServerFrame::Questions {
            questions,
            open,
            median_answer_ms_7d,
            ..
        } => (questions, open, median_answer_ms_7d),
        other => panic!("{other:?}"),
    };
    // The leader may answer in any room they can see: the public question, not the private one.
    let (qs, open, median) = queue(
        lead.request(ClientFrame::Questions {
            req_id: None,
            sort: None,
            room: None,
        })
        .await,
    );
    assert_eq!(
        qs.iter().map(|q| q.body.as_str()).collect::<Vec<_>>(),
        vec!["will my team move?"]
    );
    assert_eq!((open, median), (1, None));
    assert_eq!(qs[0].asker.username, "staff");
    // A plain member sees the count but has nothing to answer; the owner has both.
    let (qs, open, _) = queue(
        other
            .request(ClientFrame::Questions {
                req_id: None,
                sort: None,
                room: None,
            })
            .await,
    );
    assert_eq!((qs.len(), open), (0, 1));
    let (qs, open, _) = queue(
        owner
            .request(ClientFrame::Questions {
                req_id: None,
                sort: None,
                room: None,
            })
            .await,
    );
    assert_eq!((qs.len(), open), (2, 2));

    let (_, answer, _) = owner
        .post(room.id, "no: everyone stays in the building")
        .await;
    other
        .expect_error(
            ClientFrame::MarkAnswer {
                req_id: None,
                room: room.id,
                question: q,
                answer,
            },
            ErrorCode::Forbidden,
        )
        .await;
    lead.join(room.id).await;
    ok(
        &mut owner,
        ClientFrame::MarkAnswer {
            req_id: None,
            room: room.id,
            question: q,
            answer,
        },
    )
    .await;

    let (qs, open, median) = queue(
        lead.request(ClientFrame::Questions {
            req_id: None,
            sort: None,
            room: None,
        })
        .await,
    );
    assert_eq!((qs.len(), open), (0, 0));
    assert!(median.is_some(), "an answer time is counted");
    // The asker learns it on their next login, and history shows the answer.
    let (mut staff, backlog, _) = server.connect_caught_up(&staff_token, None, None).await;
    assert!(backlog.iter().any(|e| matches!(e.content, Content::Answered { question, answer: a } if question == q && a == answer)));
    let h = staff.latest_history(room.id).await;
    assert_eq!(at(&h, q).state.answer, Some(answer));
}

#[tokio::test]
async fn the_transformation_team_merges_duplicate_questions_and_one_answer_answers_all() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, tina_token) = server.user("tina").await;
    let (_, a_token) = server.user("asker1").await;
    let (_, b_token) = server.user("asker2").await;
    let (mut tina_before, _, _) = server.connect_caught_up(&tina_token, None, None).await;
    // An admin puts tina in the transformation team.
    server.make_team("tina").await;
    // Her open socket is asked to reconnect, not logged out; the same token
    // works and the new `welcome` says she is on the team.
    assert_eq!(
        tina_before.expect_close().await,
        Some(townhall_protocol::close::ACCOUNT_CHANGED)
    );
    let mut again = townhall_tests::Client::open(&server.ws_url()).await;
    again
        .send(&ClientFrame::Hello {
            version: townhall_protocol::PROTOCOL_VERSION,
            token: tina_token.clone(),
            resume: None,
            device: None,
        })
        .await;
    match again.next().await {
        ServerFrame::Welcome {
            transformation_team,
            ..
        } => assert!(transformation_team, "welcome after the change"),
        other => panic!("expected welcome, got {other:?}"),
    }
    // The admin's user list shows who is on the team.
    let list: Vec<serde_json::Value> = reqwest::Client::new()
        .get(server.http("/api/admin/users"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("list users")
        .json()
        .await
        .expect("json");
    let team: Vec<&str> = list
        .iter()
        .filter(|u| u["transformation_team"] == serde_json::json!(true))
        .filter_map(|u| u["user"]["username"].as_str())
        .collect();
    assert_eq!(team, ["tina"], "seen: {list:?}");
    // (Roles are read when acting; a fresh login is not needed, but use one.)
    let team_token = server.login("tina", "tina-password").await.token;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let room = owner.create_room("q", Visibility::Public).await;
    let mut people = Vec::new();
    for t in [&team_token, &a_token, &b_token] {
        let (mut c, _, _) = server.connect_caught_up(t, None, None).await;
        c.join(room.id).await;
        people.push(c);
    }
    let ask = |body: &str| ClientFrame::Send {
        req_id: None,
        room: room.id,
        client_id: uuid::Uuid::new_v4(),
        body: body.into(),
        thread: None,
        question: true,
        attachments: Vec::new(),
    };
    let q1 = match people[1].request(ask("will we move offices?")).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("{other:?}"),
    };
    let q2 = match people[2].request(ask("are we moving buildings?")).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("{other:?}"),
    };
    // A plain member cannot merge; the team member can.
    people[1]
        .expect_error(
            ClientFrame::MergeQuestions {
                req_id: None,
                room: room.id,
                questions: vec![q2],
                into: q1,
            },
            ErrorCode::Forbidden,
        )
        .await;
    ok(
        &mut people[0],
        ClientFrame::MergeQuestions {
            req_id: None,
            room: room.id,
            questions: vec![q2],
            into: q1,
        },
    )
    .await;
    match people[0]
        .request(ClientFrame::Questions {
            req_id: None,
            sort: None,
            room: None,
        })
        .await
    {
        ServerFrame::Questions {
            questions, open, ..
        } => {
            assert_eq!(
                questions.iter().map(|q| q.seq).collect::<Vec<_>>(),
                vec![q1]
            );
            assert_eq!(open, 1);
        }
        other => panic!("{other:?}"),
    }
    let (_, answer, _) = people[0].post(room.id, "no move is planned").await;
    ok(
        &mut people[0],
        ClientFrame::MarkAnswer {
            req_id: None,
            room: room.id,
            question: q1,
            answer,
        },
    )
    .await;
    // Both askers are told.
    for (i, q) in [(1, q1), (2, q2)] {
        people[i]
            .event_where(
                "answered",
                |e| matches!(e.content, Content::Answered { question, .. } if question == q),
            )
            .await;
    }
    let h = owner.latest_history(room.id).await;
    assert_eq!(at(&h, q2).state.merged_into, Some(q1));
    assert_eq!(at(&h, q2).state.answer, Some(answer));
    assert_eq!(at(&h, q1).state.merged, vec![q2]);
}

/// Reply in the thread under `parent`; the reply's seq once it is durable.
async fn reply(c: &mut Client, room: townhall_protocol::RoomId, parent: u64, text: &str) -> u64 {
    match c
        .request(ClientFrame::Send {
            req_id: None,
            room,
            client_id: uuid::Uuid::new_v4(),
            body: text.into(),
            thread: Some(parent),
            question: false,
            attachments: Vec::new(),
        })
        .await
    {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("expected ack, got {other:?}"),
    }
}

async fn thread(
    c: &mut Client,
    room: townhall_protocol::RoomId,
    seq: u64,
    after: Option<u64>,
    limit: Option<u32>,
) -> ServerFrame {
    c.request(ClientFrame::Thread {
        req_id: None,
        room,
        seq,
        after,
        limit,
    })
    .await
}

fn thread_page(f: ServerFrame) -> (Event, Vec<String>, bool) {
    match f {
        ServerFrame::Thread {
            parent,
            replies,
            has_more,
            ..
        } => (
            parent,
            replies
                .iter()
                .map(|e| body(e).unwrap_or("?").to_owned())
                .collect(),
            has_more,
        ),
        other => panic!("expected a thread, got {other:?}"),
    }
}

#[tokio::test]
async fn a_thread_is_read_back_with_only_its_own_replies_in_pages() {
    let server = TestServer::start().await;
    let (_, a_token) = server.user("alice").await;
    let (_, b_token) = server.user("bob").await;
    let (_, c_token) = server.user("carol").await;
    let (mut a, _, _) = server.connect_caught_up(&a_token, None, None).await;
    let room = a.create_room("plans", Visibility::Public).await;
    let (mut b, _, _) = server.connect_caught_up(&b_token, None, None).await;
    b.join(room.id).await;
    let (_, parent, _) = a.post(room.id, "the move is on the 3rd").await;
    let (_, other, _) = a.post(room.id, "lunch is at noon").await;
    reply(&mut b, room.id, parent, "which floor?").await;
    reply(&mut a, room.id, other, "pizza?").await;
    b.post(room.id, "top-level chatter").await;
    let second = reply(&mut a, room.id, parent, "the fourth").await;
    reply(&mut b, room.id, parent, "thanks").await;

    let (p, replies, more) = thread_page(thread(&mut b, room.id, parent, None, None).await);
    assert_eq!(p.seq, parent);
    assert_eq!(p.state.replies, 3, "the parent as it is now");
    assert_eq!(replies, ["which floor?", "the fourth", "thanks"]);
    assert!(!more);

    // Paged: two, then the rest after the last one seen.
    let (_, page, more) = thread_page(thread(&mut b, room.id, parent, None, Some(2)).await);
    assert_eq!(page, ["which floor?", "the fourth"]);
    assert!(more);
    let (_, page, more) = thread_page(thread(&mut b, room.id, parent, Some(second), None).await);
    assert_eq!(page, ["thanks"]);
    assert!(!more);

    // The other thread is separate; a message with no replies has an empty thread.
    let (_, page, _) = thread_page(thread(&mut b, room.id, other, None, None).await);
    assert_eq!(page, ["pizza?"]);

    // A reply does not start a thread; a seq that does not exist is not found.
    b.expect_error(
        ClientFrame::Thread {
            req_id: None,
            room: room.id,
            seq: second,
            after: None,
            limit: None,
        },
        ErrorCode::InvalidField,
    )
    .await;
    b.expect_error(
        ClientFrame::Thread {
            req_id: None,
            room: room.id,
            seq: 10_000,
            after: None,
            limit: None,
        },
        ErrorCode::NotFound,
    )
    .await;

    // A private room's thread is as invisible as the room.
    let secret = a.create_room("board", Visibility::Private).await;
    let (_, hidden, _) = a.post(secret.id, "reorg draft").await;
    reply(&mut a, secret.id, hidden, "v2").await;
    let (mut c, _, _) = server.connect_caught_up(&c_token, None, None).await;
    c.expect_error(
        ClientFrame::Thread {
            req_id: None,
            room: secret.id,
            seq: hidden,
            after: None,
            limit: None,
        },
        ErrorCode::NotFound,
    )
    .await;
}
