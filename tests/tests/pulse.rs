//! Pulse (issue 15, "trends, as pictures"), black-box: the numbers the
//! transformation team, leaders and admins see are counted at apply and
//! cover only rooms the viewer may read (members' rooms and public rooms);
//! direct messages never count; anyone else is refused.
//!
//! Times to answer are measured between real events, so the test checks
//! counts exactly and the time relations (median ≤ p90, one histogram
//! entry per answer). Per-day lists are summed over the range, so a run
//! across midnight UTC checks the same numbers.

use townhall_protocol::pulse::{DEFAULT_PULSE_DAYS, PulseReport, day_label};
use townhall_protocol::{ClientFrame, ErrorCode, RoomId, RoomSeq, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer};

async fn vote(c: &mut Client, room: RoomId, seq: RoomSeq) {
    c.expect_ok(ClientFrame::Vote {
        req_id: None,
        room,
        seq,
        on: true,
    })
    .await;
}

async fn pulse(c: &mut Client, days: Option<u32>) -> PulseReport {
    match c.request(ClientFrame::Pulse { req_id: None, days }).await {
        ServerFrame::Pulse { report, .. } => report,
        other => panic!("expected pulse, got {other:?}"),
    }
}

fn sum(v: &[u64]) -> u64 {
    v.iter().sum()
}

fn room_total(r: &PulseReport, name: &str) -> Option<u64> {
    r.rooms
        .iter()
        .find(|x| x.name == name)
        .map(|x| sum(&x.messages))
}

#[tokio::test]
async fn pulse_counts_only_rooms_the_viewer_may_read_and_never_direct_messages() {
    let server = TestServer::start().await;
    let (_, tina_token) = server.user("tina").await;
    let (_, leo_token) = server.user_with_role("leo", "leader").await;
    let (_, sam_token) = server.user("sam").await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    server.make_team("tina").await;
    let mut tina = server.connect(&tina_token).await;
    let mut leo = server.connect(&leo_token).await;
    let mut sam = server.connect(&sam_token).await;
    let mut alice = server.connect(&alice_token).await;
    let mut bob = server.connect(&bob_token).await;

    // Nothing yet: zeros over the default 30 days ending today (UTC).
    let empty = pulse(&mut tina, None).await;
    assert_eq!(empty.days.len(), DEFAULT_PULSE_DAYS as usize);
    let today = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        / 86_400_000) as i64;
    let last = empty.days.last().cloned().unwrap_or_default();
    assert!(
        last == day_label(today) || last == day_label(today + 1),
        "the range ends today, got {last}"
    );
    assert_eq!(sum(&empty.asked) + sum(&empty.messages), 0);
    assert_eq!(empty.answer_median, None);

    // A public room: three questions, two plain messages, one answer.
    let hall = alice.create_room("hall", Visibility::Public).await.id;
    bob.join(hall).await;
    tina.join(hall).await;
    let q1 = alice.post_in(hall, "When do we move?", true, None).await;
    let q2 = alice
        .post_in(hall, "Who leads the new unit?", true, None)
        .await;
    let q3 = bob
        .post_in(hall, "Is the canteen staying?", true, None)
        .await;
    alice.post_in(hall, "hello all", false, None).await;
    bob.post_in(hall, "hi", false, None).await;
    vote(&mut bob, hall, q2).await;
    vote(&mut sam, hall, q2).await;
    vote(&mut alice, hall, q3).await;
    let answer = tina.post_in(hall, "In March.", false, None).await;
    tina.expect_ok(ClientFrame::MarkAnswer {
        req_id: None,
        room: hall,
        question: q1,
        answer,
    })
    .await;

    // A private room tina is in (counted for her, not for leo).
    let ops = alice.create_room("ops", Visibility::Private).await.id;
    alice.add_member(ops, "tina").await;
    alice.post_in(ops, "ops note", false, None).await;

    // A private room neither viewer is in: a voted question and messages
    // that must not be counted, and whose text must not leak.
    let secret = alice.create_room("secret", Visibility::Private).await.id;
    alice.add_member(secret, "bob").await;
    let hidden = alice
        .post_in(secret, "SECRET reorg question", true, None)
        .await;
    for _ in 0..3 {
        bob.post_in(secret, "secret chatter", false, None).await;
    }
    vote(&mut bob, secret, hidden).await;

    // A direct message to tina herself: never counted.
    let dm = alice.open_dm("tina").await;
    alice.post_in(dm, "a private question?", true, None).await;
    alice.post_in(dm, "and a word", false, None).await;

    let r = pulse(&mut tina, None).await;
    // hall: 3 questions + 2 messages + 1 answer; ops: 1.
    assert_eq!(sum(&r.messages), 7, "messages: {:?}", r.messages);
    assert_eq!(sum(&r.asked), 3, "asked: {:?}", r.asked);
    assert_eq!(sum(&r.answered), 1, "answered: {:?}", r.answered);
    assert_eq!(room_total(&r, "hall"), Some(6));
    assert_eq!(room_total(&r, "ops"), Some(1));
    assert_eq!(room_total(&r, "secret"), None);
    assert_eq!(sum(&r.other_rooms), 0);
    assert!(r.rooms.iter().all(|x| x.room != dm && x.room != secret));
    // One answer, one histogram entry; median and p90 are buckets.
    assert_eq!(sum(&r.answer_histogram), 1);
    assert_eq!(r.answer_histogram.len(), r.answer_buckets_ms.len() + 1);
    let median = r.answer_median.clone().map(|t| t.bucket);
    let p90 = r.answer_p90.clone().map(|t| t.bucket);
    assert!(median.is_some() && median <= p90, "{median:?} {p90:?}");
    assert!(r.answer_mean_ms.is_some());
    // Open now: q2 and q3 (q1 is answered), both asked today.
    assert_eq!(r.open_age, [2, 0, 0, 0, 0]);
    let top: Vec<(RoomSeq, u64)> = r.top_questions.iter().map(|q| (q.seq, q.votes)).collect();
    assert_eq!(top, [(q2, 2), (q3, 1)]);
    assert_eq!(r.top_questions[0].body, "Who leads the new unit?");
    assert_eq!(r.top_questions[0].room_name, "hall");
    let json = serde_json::to_string(&r).unwrap_or_default();
    assert!(!json.contains("SECRET") && !json.contains("private question"));

    // A leader who is in none of these rooms sees the public one only.
    let l = pulse(&mut leo, Some(7)).await;
    assert_eq!(l.days.len(), 7);
    assert_eq!(sum(&l.messages), 6);
    assert_eq!(sum(&l.asked), 3);
    assert_eq!(room_total(&l, "ops"), None);

    // Staff are refused; the range is checked.
    sam.expect_error(
        ClientFrame::Pulse {
            req_id: None,
            days: None,
        },
        ErrorCode::Forbidden,
    )
    .await;
    for days in [0, 367] {
        tina.expect_error(
            ClientFrame::Pulse {
                req_id: None,
                days: Some(days),
            },
            ErrorCode::InvalidField,
        )
        .await;
    }
    assert_eq!(pulse(&mut tina, Some(366)).await.days.len(), 366);
}

#[tokio::test]
async fn pulse_counters_survive_a_restart() {
    let mut server = TestServer::start().await;
    let (_, tina_token) = server.user("tina").await;
    server.make_team("tina").await;
    let mut tina = server.connect(&tina_token).await;
    let hall = tina.create_room("hall", Visibility::Public).await.id;
    tina.post_in(hall, "Is this counted?", true, None).await;
    tina.post_in(hall, "yes", false, None).await;
    tina.close().await;
    server.stop().await;
    server.restart().await;
    let mut tina = server.connect(&tina_token).await;
    let r = pulse(&mut tina, None).await;
    assert_eq!((sum(&r.messages), sum(&r.asked)), (2, 1));
}

/// Many messages in flight at once land in the same commit groups, where
/// each (room, day) row is read once and written once per group
/// (`committer/pulse.rs`): every message must still count, exactly once,
/// in its own room, and a DM's never, before and after a restart.
#[tokio::test]
async fn pulse_counts_every_message_of_a_busy_group_once() {
    let mut server = TestServer::start().await;
    let (_, tina_token) = server.user("tina").await;
    let (_, bob_token) = server.user("bob").await;
    server.make_team("tina").await;
    let mut tina = server.connect(&tina_token).await;
    let mut bob = server.connect(&bob_token).await;
    let hall = tina.create_room("hall", Visibility::Public).await.id;
    let side = bob.create_room("side", Visibility::Public).await.id;
    bob.join(hall).await;
    tina.join(side).await;
    let dm = bob.open_dm("tina").await;
    let (mut t2, mut b2) = (
        server.connect(&tina_token).await,
        server.connect(&bob_token).await,
    );
    tokio::join!(
        tina.post_pipelined(hall, 150),
        bob.post_pipelined(hall, 150),
        t2.post_pipelined(side, 100),
        b2.post_pipelined(dm, 100),
    );
    let check = |r: &PulseReport| {
        assert_eq!(room_total(r, "hall"), Some(300), "{:?}", r.rooms);
        assert_eq!(room_total(r, "side"), Some(100), "{:?}", r.rooms);
        assert_eq!(sum(&r.messages), 400, "the DM's 100 are never counted");
        assert_eq!(sum(&r.asked), 0);
    };
    check(&pulse(&mut tina, None).await);
    for c in [tina, bob, t2, b2] {
        c.close().await;
    }
    server.stop().await;
    server.restart().await;
    let mut tina = server.connect(&tina_token).await;
    check(&pulse(&mut tina, None).await);
}

/// The counters are written every few seconds, not with each message
/// (`committer/pulse.rs`): a `kill -9` loses the unwritten rows, and the
/// next start counts the messages above the last written position again.
/// An answer writes the rows at once, so the messages before it are not
/// counted twice.
#[tokio::test]
async fn pulse_counts_are_exact_after_kill_9() {
    let mut server = TestServer::start().await;
    let (_, tina_token) = server.user("tina").await;
    server.make_team("tina").await;
    let mut tina = server.connect(&tina_token).await;
    let hall = tina.create_room("hall", Visibility::Public).await.id;
    let q = tina.post_in(hall, "Will it count?", true, None).await;
    for i in 0..10 {
        tina.post_in(hall, &format!("before {i}"), false, None)
            .await;
    }
    let answer = tina.post_in(hall, "Exactly once.", false, None).await;
    tina.expect_ok(ClientFrame::MarkAnswer {
        req_id: None,
        room: hall,
        question: q,
        answer,
    })
    .await;
    tina.post_pipelined(hall, 40).await;
    let expect = |r: &PulseReport| {
        assert_eq!(room_total(r, "hall"), Some(52), "{:?}", r.rooms);
        assert_eq!(
            (sum(&r.messages), sum(&r.asked), sum(&r.answered)),
            (52, 1, 1)
        );
    };
    // Live: the unwritten rows are read too.
    expect(&pulse(&mut tina, None).await);
    server.kill9().await;
    server.restart().await;
    let mut tina = server.connect(&tina_token).await;
    expect(&pulse(&mut tina, None).await);
    // And once more, after the recount was written by a clean stop.
    tina.post_in(hall, "after", false, None).await;
    tina.close().await;
    server.stop().await;
    server.restart().await;
    let mut tina = server.connect(&tina_token).await;
    let r = pulse(&mut tina, None).await;
    assert_eq!(
        (sum(&r.messages), sum(&r.asked), sum(&r.answered)),
        (53, 1, 1)
    );
}
