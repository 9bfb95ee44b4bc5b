//! The FAQ (issue 15), black-box: the transformation team publishes an
//! answered question with topic tags, everyone in the organisation finds
//! it by tag and by words, the entry goes when its question is deleted,
//! an anonymous question's entry names nobody, and a repeated question is
//! answered with the entry (its asker told as for any answer).

use townhall_protocol::faq::FaqEntry;
use townhall_protocol::{
    AnonQuestion, AnonStatus, ClientFrame, Content, ErrorCode, ModerationAction, NoticeKind,
    RoomId, RoomSeq, ServerFrame, Visibility,
};
use townhall_tests::cluster::TownhallCluster;
use townhall_tests::{Client, TestServer, WAIT};

fn publish(room: RoomId, seq: RoomSeq, tags: &[&str]) -> ClientFrame {
    ClientFrame::FaqPublish {
        req_id: None,
        room,
        seq,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

async fn published(c: &mut Client, frame: ClientFrame) -> FaqEntry {
    match c.request(frame).await {
        ServerFrame::FaqEntry { entry, .. } => entry,
        other => panic!("expected faq_entry, got {other:?}"),
    }
}

/// The FAQ as `c` sees it with this tag and search text.
async fn faq(c: &mut Client, tag: Option<&str>, q: Option<&str>) -> Vec<FaqEntry> {
    match c
        .request(ClientFrame::Faq {
            req_id: None,
            tag: tag.map(Into::into),
            q: q.map(Into::into),
        })
        .await
    {
        ServerFrame::FaqEntries { entries, .. } => entries,
        other => panic!("expected faq_entries, got {other:?}"),
    }
}

fn ids(entries: &[FaqEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn the_team_publishes_an_answered_question_and_everyone_finds_it() {
    let server = TestServer::start().await;
    let (_, olga_token) = server.user("olga").await;
    let (_, bob_token) = server.user("bob").await;
    let (_, tina_token) = server.user("tina").await;
    let (_, sam_token) = server.user("sam").await;
    server.make_team("tina").await;
    let mut olga = server.connect(&olga_token).await;
    let mut bob = server.connect(&bob_token).await;
    let mut tina = server.connect(&tina_token).await;
    let mut sam = server.connect(&sam_token).await;

    let room = olga.create_room("all-hands", Visibility::Public).await.id;
    bob.join(room).await;
    let q1 = bob
        .post_in(room, "Is the office moving to Lyon?", true, None)
        .await;
    let q2 = bob.post_in(room, "What about parking?", true, None).await;
    olga.answer_with(room, q1, "Yes, in March; desks are assigned by team.")
        .await;

    // Only the team publishes; only answered questions.
    bob.expect_error(publish(room, q1, &["move"]), ErrorCode::Forbidden)
        .await;
    tina.expect_error(publish(room, q2, &["move"]), ErrorCode::NotAnswered)
        .await;
    tina.expect_error(publish(room, q1, &["a/b"]), ErrorCode::InvalidField)
        .await;
    let plain = bob.post_in(room, "just a remark", false, None).await;
    tina.expect_error(publish(room, plain, &[]), ErrorCode::InvalidField)
        .await;

    let e = published(&mut tina, publish(room, q1, &["Office Move", "pay", "PAY"])).await;
    assert_eq!(e.question, "Is the office moving to Lyon?");
    assert_eq!(e.answer, "Yes, in March; desks are assigned by team.");
    assert_eq!(e.tags, ["office-move", "pay"]);
    assert_eq!(e.published_by.username, "tina");
    assert_eq!((e.room, e.seq), (Some(room), Some(q1)));

    // A private room the publisher cannot read: not found, as if absent.
    let secret = olga.create_room("board", Visibility::Private).await.id;
    let sq = olga
        .post_in(secret, "Do we sell the plant?", true, None)
        .await;
    olga.answer_with(secret, sq, "Not this year.").await;
    tina.expect_error(publish(secret, sq, &[]), ErrorCode::NotFound)
        .await;

    // Sam is in no room of it: he finds it by tag and by words.
    assert_eq!(ids(&faq(&mut sam, None, None).await), [e.id]);
    assert_eq!(ids(&faq(&mut sam, Some("Office Move"), None).await), [e.id]);
    assert!(faq(&mut sam, Some("benefits"), None).await.is_empty());
    assert_eq!(ids(&faq(&mut sam, None, Some("LYON desks")).await), [e.id]);
    assert!(faq(&mut sam, None, Some("lyon bonus")).await.is_empty());
    let seen = faq(&mut sam, Some("pay"), Some("march")).await;
    assert_eq!(seen[0].room_name.as_deref(), Some("all-hands"));

    // Tags change; the count per tag follows.
    let e2 = published(
        &mut tina,
        ClientFrame::FaqTags {
            req_id: None,
            id: e.id,
            tags: vec!["relocation".into()],
        },
    )
    .await;
    assert_eq!(e2.tags, ["relocation"]);
    match sam
        .request(ClientFrame::Faq {
            req_id: None,
            tag: None,
            q: None,
        })
        .await
    {
        ServerFrame::FaqEntries { tags, .. } => {
            assert_eq!(tags.len(), 1);
            assert_eq!((tags[0].tag.as_str(), tags[0].count), ("relocation", 1));
        }
        other => panic!("expected faq_entries, got {other:?}"),
    }
    sam.expect_error(
        ClientFrame::FaqTags {
            req_id: None,
            id: e.id,
            tags: vec![],
        },
        ErrorCode::Forbidden,
    )
    .await;

    // Unpublish, and publish again: a new number, never reused.
    tina.expect_ok(ClientFrame::FaqUnpublish {
        req_id: None,
        id: e.id,
    })
    .await;
    assert!(faq(&mut sam, None, None).await.is_empty());
    tina.expect_error(
        ClientFrame::FaqUnpublish {
            req_id: None,
            id: e.id,
        },
        ErrorCode::NotFound,
    )
    .await;
    let again = published(&mut tina, publish(room, q1, &["move"])).await;
    assert!(again.id > e.id);

    // An edit of the question shows in its entry: the old text is gone.
    bob.expect_ok(ClientFrame::Edit {
        req_id: None,
        room,
        seq: q1,
        body: "Is the office moving to Lyon in March?".into(),
    })
    .await;
    let edited = faq(&mut sam, None, None).await;
    assert_eq!(edited[0].question, "Is the office moving to Lyon in March?");

    // A question in a direct message is never published.
    let dm = match tina
        .request(ClientFrame::OpenDm {
            req_id: None,
            user: "bob".into(),
        })
        .await
    {
        ServerFrame::Room { room, .. } => room.id,
        other => panic!("open_dm: {other:?}"),
    };
    let dq = bob
        .post_in(dm, "Between us: is my team safe?", true, None)
        .await;
    tina.answer_with(dm, dq, "Yes.").await;
    tina.expect_error(publish(dm, dq, &[]), ErrorCode::NotFound)
        .await;

    // Deleting the question removes its entry.
    bob.expect_ok(ClientFrame::Delete {
        req_id: None,
        room,
        seq: q1,
    })
    .await;
    assert!(faq(&mut sam, None, None).await.is_empty());
}

#[tokio::test]
async fn an_anonymous_question_in_the_faq_names_nobody() {
    let server = TestServer::start().await;
    let (_, olga_token) = server.user("olga").await;
    let (alice, alice_token) = server.user("alice").await;
    let (_, tina_token) = server.user("tina").await;
    server.make_team("tina").await;
    let mut olga = server.connect(&olga_token).await;
    let mut alice_c = server.connect(&alice_token).await;
    let mut tina = server.connect(&tina_token).await;
    let room = olga.create_room("qa", Visibility::Public).await.id;
    alice_c.join(room).await;
    olga.expect_ok(ClientFrame::SetAnonymousQuestions {
        req_id: None,
        room: Some(room),
        on: true,
    })
    .await;
    let asked: AnonQuestion = match alice_c
        .request(ClientFrame::AskAnonymously {
            req_id: None,
            room,
            body: "Will my team be outsourced?".into(),
        })
        .await
    {
        ServerFrame::AnonymousQuestions { mut questions, .. } => questions.remove(0),
        other => panic!("expected anonymous_questions, got {other:?}"),
    };
    tina.expect_ok(ClientFrame::Moderate {
        req_id: None,
        id: asked.id,
        action: ModerationAction::Approve,
    })
    .await;
    let seq = match alice_c
        .expect("approved", |f| {
            matches!(f, ServerFrame::AnonymousQuestion { question }
                if matches!(question.status, AnonStatus::Approved { .. }))
        })
        .await
    {
        ServerFrame::AnonymousQuestion { question } => match question.status {
            AnonStatus::Approved { seq } => seq,
            _ => unreachable!(),
        },
        _ => unreachable!(),
    };
    olga.answer_with(room, seq, "No team is outsourced.").await;
    let e = published(&mut tina, publish(room, seq, &["outsourcing"])).await;
    assert_eq!(e.question, "Will my team be outsourced?");
    let listed = faq(&mut olga, None, None).await;
    for json in [
        serde_json::to_string(&e).expect("serializes"),
        serde_json::to_string(&listed).expect("serializes"),
    ] {
        assert!(
            !json.contains(&alice.id.0.hyphenated().to_string()),
            "{json}"
        );
        assert!(!json.contains(&alice.id.0.simple().to_string()), "{json}");
        assert!(!json.contains("alice"), "{json}");
    }
}

#[tokio::test]
async fn a_repeated_question_is_answered_with_the_faq_entry() {
    let server = TestServer::start().await;
    let (_, olga_token) = server.user("olga").await;
    let (_, bob_token) = server.user("bob").await;
    let (_, carol_token) = server.user("carol").await;
    let (_, tina_token) = server.user("tina").await;
    server.make_team("tina").await;
    let mut olga = server.connect(&olga_token).await;
    let mut bob = server.connect(&bob_token).await;
    let mut carol = server.connect(&carol_token).await;
    let mut tina = server.connect(&tina_token).await;
    let room = olga.create_room("all-hands", Visibility::Public).await.id;
    for c in [&mut bob, &mut carol, &mut tina] {
        c.join(room).await;
    }
    let q1 = bob.post_in(room, "Do bonuses change?", true, None).await;
    olga.answer_with(room, q1, "Bonuses stay as they are in 2027.")
        .await;
    let e = published(&mut tina, publish(room, q1, &["pay"])).await;

    let q2 = carol
        .post_in(room, "are bonuses changing??", true, None)
        .await;
    let link = |id| ClientFrame::FaqAnswer {
        req_id: None,
        room,
        seq: q2,
        id,
    };
    // A plain member may not answer; an unknown entry is not found.
    bob.expect_error(link(e.id), ErrorCode::Forbidden).await;
    tina.expect_error(link(e.id + 100), ErrorCode::NotFound)
        .await;
    tina.expect_ok(link(e.id)).await;

    // Carol is told, as for any answer; the answer links the entry.
    let event_seq = match carol
        .expect("an answered notice", |f| {
            matches!(f, ServerFrame::Notice { seq, kind: NoticeKind::Answered, .. } if *seq == q2)
        })
        .await
    {
        ServerFrame::Notice { event_seq, by, .. } => {
            assert_eq!(by.username, "tina");
            event_seq
        }
        _ => unreachable!(),
    };
    let history = carol.latest_history(room).await;
    let answered = history
        .iter()
        .find(|ev| ev.seq == event_seq)
        .expect("the answered event");
    let Content::Answered { question, answer } = answered.content else {
        panic!("expected answered, got {:?}", answered.content)
    };
    assert_eq!(question, q2);
    let reply = history
        .iter()
        .find(|ev| ev.seq == answer)
        .expect("the reply");
    match &reply.content {
        Content::Message { body, thread, .. } => {
            assert_eq!(*thread, Some(q2));
            assert!(body.contains(&format!("(#/faq/{})", e.id)), "{body}");
            assert!(body.contains("Bonuses stay as they are in 2027."), "{body}");
        }
        other => panic!("expected the reply message, got {other:?}"),
    }
}

/// `faq` through `c` until `done` holds of the entries, or fail after
/// [`WAIT`]: a node answers from what it has applied, so an entry
/// published through another node shows up once the log reaches it.
async fn faq_until(
    c: &mut Client,
    what: &str,
    done: impl Fn(&[FaqEntry]) -> bool,
) -> Vec<FaqEntry> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let entries = faq(c, None, None).await;
        if done(&entries) {
            return entries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still {entries:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// In a 2-node cluster the FAQ goes through the log like every command:
/// published through one node, found (with its tags and text) through the
/// other; retagged and then taken out by deleting the question through the
/// other node; every node's state the same at the end.
#[tokio::test]
async fn in_a_cluster_the_faq_is_the_same_through_every_node() {
    let c = TownhallCluster::start(2).await;
    let (a, b) = (c.node(0), c.node(1));
    for name in ["olga", "bob", "tina", "sam"] {
        a.user(name).await;
    }
    a.make_team("tina").await;
    let mut olga = a
        .connect(&a.login("olga", "olga-password").await.token)
        .await;
    let mut bob = b.connect(&b.login("bob", "bob-password").await.token).await;
    let mut tina = b
        .connect(&b.login("tina", "tina-password").await.token)
        .await;
    let mut sam = a.connect(&a.login("sam", "sam-password").await.token).await;

    let room = olga.create_room("all-hands", Visibility::Public).await.id;
    bob.join(room).await;
    let q = bob
        .post_in(room, "Will the canteen stay open in summer?", true, None)
        .await;
    olga.answer_with(room, q, "Yes, with shorter hours in August.")
        .await;
    // Tina, through node 1, publishes what was answered through node 0
    // (node 1 may not have applied the answer yet: retry until it has).
    let deadline = tokio::time::Instant::now() + WAIT;
    let e = loop {
        match tina.request(publish(room, q, &["Canteen"])).await {
            ServerFrame::FaqEntry { entry, .. } => break entry,
            ServerFrame::Error {
                code: ErrorCode::NotAnswered,
                ..
            } if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            other => panic!("expected faq_entry, got {other:?}"),
        }
    };
    assert_eq!(e.tags, ["canteen"]);

    // Sam reads it through node 0, with the same text and tags.
    let seen = faq_until(&mut sam, "published through node 1", |v| !v.is_empty()).await;
    assert_eq!(ids(&seen), [e.id]);
    assert_eq!(seen[0].question, "Will the canteen stay open in summer?");
    assert_eq!(seen[0].answer, "Yes, with shorter hours in August.");
    assert_eq!(seen[0].tags, ["canteen"]);

    // Retagged through node 1, seen through node 0.
    published(
        &mut tina,
        ClientFrame::FaqTags {
            req_id: None,
            id: e.id,
            tags: vec!["food".into()],
        },
    )
    .await;
    faq_until(&mut sam, "retagged through node 1", |v| {
        v.len() == 1 && v[0].tags == ["food"]
    })
    .await;

    // Bob deletes his question through node 1: the entry is gone through
    // node 0 too.
    bob.expect_ok(ClientFrame::Delete {
        req_id: None,
        room,
        seq: q,
    })
    .await;
    faq_until(&mut sam, "question deleted through node 1", |v| {
        v.is_empty()
    })
    .await;
    c.assert_converged().await;
}
