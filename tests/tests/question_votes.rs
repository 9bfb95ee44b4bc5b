//! Questions at all-hands scale: votes ("I want to know too"), the queue
//! sorted by votes, age or score, following a question or thread, and the
//! notices that tell the asker, the voters and the followers, live or at
//! their next login.

use townhall_protocol::{
    ClientFrame, Content, ErrorCode, NoticeKind, OpenQuestion, QuestionSort, RoomId, RoomSeq,
    ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer};

fn vote(room: RoomId, seq: RoomSeq, on: bool) -> ClientFrame {
    ClientFrame::Vote {
        req_id: None,
        room,
        seq,
        on,
    }
}

fn follow(room: RoomId, seq: RoomSeq, on: bool) -> ClientFrame {
    ClientFrame::FollowThread {
        req_id: None,
        room,
        seq,
        on,
    }
}

async fn queue(c: &mut Client, sort: QuestionSort, room: Option<RoomId>) -> Vec<OpenQuestion> {
    match c
        .request(ClientFrame::Questions {
            req_id: None,
            sort: Some(sort),
            room,
        })
        .await
    {
        ServerFrame::Questions { questions, .. } => questions,
        other => panic!("expected questions, got {other:?}"),
    }
}

/// Wait for the live vote count of `seq`.
async fn votes_frame(c: &mut Client, seq: RoomSeq, want: u64) {
    c.expect(&format!("question_votes {seq} = {want}"), |f| {
        matches!(f, ServerFrame::QuestionVotes { seq: s, votes, .. } if *s == seq && *votes == want)
    })
    .await;
}

/// Wait for a notice about `seq`; returns (kind, event_seq, by).
async fn notice(c: &mut Client, seq: RoomSeq) -> (NoticeKind, RoomSeq, String) {
    match c
        .expect(
            &format!("a notice about {seq}"),
            |f| matches!(f, ServerFrame::Notice { seq: s, .. } if *s == seq),
        )
        .await
    {
        ServerFrame::Notice {
            kind,
            event_seq,
            by,
            ..
        } => (kind, event_seq, by.username),
        _ => unreachable!(),
    }
}

/// Every notice received so far, after a ping round trip proves the
/// server has sent everything it was going to for what came before.
async fn notices_so_far(c: &mut Client) -> Vec<(RoomSeq, NoticeKind)> {
    c.request(ClientFrame::Ping { req_id: None }).await;
    let mut out = Vec::new();
    while let Some(f) = c.pending_frame() {
        if let ServerFrame::Notice { seq, kind, .. } = f {
            out.push((seq, kind));
        }
    }
    out
}

#[tokio::test]
async fn a_reader_votes_once_can_take_it_back_and_members_see_the_count_live() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, asker_token) = server.user("asker").await;
    let (_, voter_token) = server.user("voter").await;
    let (_, outsider_token) = server.user("outsider").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let room = owner.create_room("all-hands", Visibility::Public).await;
    let (mut asker, _, _) = server.connect_caught_up(&asker_token, None, None).await;
    asker.join(room.id).await;
    let (mut voter, _, _) = server.connect_caught_up(&voter_token, None, None).await;
    voter.join(room.id).await;
    let q = asker
        .post_in(room.id, "will my team move?", true, None)
        .await;

    voter.expect_ok(vote(room.id, q, true)).await;
    votes_frame(&mut owner, q, 1).await;
    // Voting again is idempotent: still one vote.
    voter.expect_ok(vote(room.id, q, true)).await;
    // A public room's reader who is not a member may vote too.
    let (mut outsider, _, _) = server.connect_caught_up(&outsider_token, None, None).await;
    outsider.expect_ok(vote(room.id, q, true)).await;
    votes_frame(&mut owner, q, 2).await;
    // The asker wants it answered already.
    asker
        .expect_error(vote(room.id, q, true), ErrorCode::Forbidden)
        .await;
    let h = owner.latest_history(room.id).await;
    let stored = h.iter().find(|e| e.seq == q).expect("question in history");
    assert_eq!(stored.state.votes, 2, "history shows the count");
    let listed = queue(&mut voter, QuestionSort::Votes, Some(room.id)).await;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].votes, listed[0].voted), (2, true));
    assert!(listed[0].following, "voting follows the question");

    // Undo; undoing twice changes nothing.
    voter.expect_ok(vote(room.id, q, false)).await;
    votes_frame(&mut owner, q, 1).await;
    voter.expect_ok(vote(room.id, q, false)).await;
    let listed = queue(&mut voter, QuestionSort::Votes, Some(room.id)).await;
    assert_eq!((listed[0].votes, listed[0].voted), (1, false));
    // Only questions take votes.
    let plain = owner.post_in(room.id, "just a message", false, None).await;
    voter
        .expect_error(vote(room.id, plain, true), ErrorCode::InvalidField)
        .await;
}

#[tokio::test]
async fn a_private_rooms_question_is_not_found_for_a_non_member_whatever_they_try() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, outsider_token) = server.user("outsider").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let secret = owner.create_room("board", Visibility::Private).await;
    let q = owner.post_in(secret.id, "restructure?", true, None).await;
    let (mut outsider, _, _) = server.connect_caught_up(&outsider_token, None, None).await;
    let nowhere = RoomId::new();
    let mut answers = Vec::new();
    for frame in [
        vote(secret.id, q, true),
        vote(nowhere, q, true),
        follow(secret.id, q, true),
        follow(nowhere, q, true),
        ClientFrame::Questions {
            req_id: None,
            sort: None,
            room: Some(secret.id),
        },
    ] {
        match outsider.request(frame).await {
            ServerFrame::Error { code, message, .. } => answers.push((code, message)),
            other => panic!("expected not_found, got {other:?}"),
        }
    }
    assert!(
        answers
            .iter()
            .all(|a| *a == (ErrorCode::NotFound, answers[0].1.clone())),
        "a private room's question and no room at all look the same: {answers:?}"
    );
    // And the count did not move.
    let h = owner.latest_history(secret.id).await;
    assert_eq!(h.iter().find(|e| e.seq == q).expect("q").state.votes, 0);
}

#[tokio::test]
async fn the_unanswered_queue_sorts_by_votes_by_age_and_by_the_documented_score() {
    let server = TestServer::start().await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let mut people = Vec::new();
    for name in ["p0", "p1", "p2", "p3"] {
        let (_, t) = server.user(name).await;
        people.push(server.connect_caught_up(&t, None, None).await.0);
    }
    let room = people[0].create_room("town", Visibility::Public).await;
    for p in &mut people[1..] {
        p.join(room.id).await;
    }
    let q1 = people[0]
        .post_in(room.id, "oldest, no votes", true, None)
        .await;
    let q2 = people[0].post_in(room.id, "two votes", true, None).await;
    let q3 = people[0]
        .post_in(room.id, "newest, three votes", true, None)
        .await;
    for p in &mut people[1..] {
        p.expect_ok(vote(room.id, q3, true)).await;
    }
    for p in &mut people[1..3] {
        p.expect_ok(vote(room.id, q2, true)).await;
    }
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let seqs = |qs: &[OpenQuestion]| qs.iter().map(|q| q.seq).collect::<Vec<_>>();

    let by_age = queue(&mut lead, QuestionSort::Age, None).await;
    assert_eq!(seqs(&by_age), [q1, q2, q3]);
    assert_eq!(
        by_age.iter().map(|q| q.votes).collect::<Vec<_>>(),
        [0, 2, 3]
    );
    let by_votes = queue(&mut lead, QuestionSort::Votes, None).await;
    assert_eq!(seqs(&by_votes), [q3, q2, q1]);
    // The score as documented, from the ages the server reported.
    let by_score = queue(&mut lead, QuestionSort::Score, None).await;
    let score = |q: &OpenQuestion| q.votes as f64 / (q.age_ms as f64 / 3_600_000.0 + 2.0).powf(1.5);
    let scores: Vec<f64> = by_score.iter().map(score).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "highest score first: {scores:?}"
    );
    assert_eq!(seqs(&by_score), [q3, q2, q1]);
    // A plain member sees the room's queue too, when they ask for the room.
    let members_view = queue(&mut people[3], QuestionSort::Votes, Some(room.id)).await;
    assert_eq!(seqs(&members_view), [q3, q2, q1]);
    assert!(
        queue(&mut people[3], QuestionSort::Votes, None)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn the_asker_and_voters_are_told_of_the_answer_live_or_at_next_login_once_in_order() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, asker_token) = server.user("asker").await;
    let (_, live_token) = server.user("livevoter").await;
    let (_, away_token) = server.user("awayvoter").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let room = owner.create_room("all-hands", Visibility::Public).await;
    let (mut asker, _, _) = server.connect_caught_up(&asker_token, None, None).await;
    asker.join(room.id).await;
    let (mut live, _, _) = server.connect_caught_up(&live_token, None, None).await;
    live.join(room.id).await;
    let q1 = asker.post_in(room.id, "first?", true, None).await;
    let q2 = asker.post_in(room.id, "second?", true, None).await;
    live.expect_ok(vote(room.id, q1, true)).await;
    // The away voter reads the public room without being a member: no
    // room event reaches them, only the notices.
    let (mut away, _, away_pos) = server.connect_caught_up(&away_token, None, None).await;
    away.expect_ok(vote(room.id, q1, true)).await;
    away.expect_ok(vote(room.id, q2, true)).await;
    away.close().await;

    let answer = owner
        .post_in(room.id, "no moves this year", false, None)
        .await;
    for q in [q1, q2] {
        owner
            .expect_ok(ClientFrame::MarkAnswer {
                req_id: None,
                room: room.id,
                question: q,
                answer,
            })
            .await;
    }
    // Live: the asker of both, the voter of the first.
    for q in [q1, q2] {
        let (kind, _, by) = notice(&mut asker, q).await;
        assert_eq!((kind, by.as_str()), (NoticeKind::Answered, "owner"));
    }
    let (kind, event_seq, _) = notice(&mut live, q1).await;
    assert_eq!(kind, NoticeKind::Answered);
    let h = live.latest_history(room.id).await;
    assert!(
        matches!(h.iter().find(|e| e.seq == event_seq).map(|e| &e.content),
            Some(Content::Answered { question, .. }) if *question == q1),
        "the notice points at the answered event"
    );
    assert_eq!(
        notices_so_far(&mut live).await,
        [],
        "nothing about q2 for the first's voter"
    );
    assert_eq!(
        notices_so_far(&mut owner).await,
        [],
        "the one who answered is not told"
    );

    // At next login: both, in order, before caught_up, once.
    let (mut away, backlog, _) = server
        .connect_caught_up(&away_token, Some(away_pos), None)
        .await;
    assert!(
        backlog.is_empty(),
        "no room events for a non-member: {backlog:?}"
    );
    assert_eq!(
        notices_so_far(&mut away).await,
        [(q1, NoticeKind::Answered), (q2, NoticeKind::Answered)]
    );
    // A later answer to the same question comes live, once.
    let better = owner
        .post_in(room.id, "update: still no moves", false, None)
        .await;
    owner
        .expect_ok(ClientFrame::MarkAnswer {
            req_id: None,
            room: room.id,
            question: q1,
            answer: better,
        })
        .await;
    let (_, _, by) = notice(&mut away, q1).await;
    assert_eq!(by, "owner");
    assert_eq!(notices_so_far(&mut away).await, []);
}

#[tokio::test]
async fn followers_are_told_of_thread_replies_until_they_unfollow() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, fan_token) = server.user("fan").await;
    let (_, replier_token) = server.user("replier").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let room = owner.create_room("plans", Visibility::Public).await;
    let (mut fan, _, _) = server.connect_caught_up(&fan_token, None, None).await;
    fan.join(room.id).await;
    let (mut replier, _, _) = server.connect_caught_up(&replier_token, None, None).await;
    replier.join(room.id).await;
    let top = owner
        .post_in(room.id, "the new office plan", false, None)
        .await;
    fan.expect_ok(follow(room.id, top, true)).await;
    // Following twice is one follow.
    fan.expect_ok(follow(room.id, top, true)).await;

    let r1 = replier
        .post_in(room.id, "what about parking?", false, Some(top))
        .await;
    let (kind, event_seq, by) = notice(&mut fan, top).await;
    assert_eq!(
        (kind, event_seq, by.as_str()),
        (NoticeKind::Reply, r1, "replier")
    );
    assert_eq!(notices_so_far(&mut fan).await, [], "one notice per reply");
    // A reply itself cannot be followed; a question asked in the thread can.
    fan.expect_error(follow(room.id, r1, true), ErrorCode::InvalidField)
        .await;
    let asked_in_thread = replier
        .post_in(room.id, "who decides?", true, Some(top))
        .await;
    notice(&mut fan, top).await;
    fan.expect_ok(follow(room.id, asked_in_thread, true)).await;

    // Offline: the next login gets it before caught_up.
    let h = fan.latest_history(room.id).await;
    let fan_pos = h.iter().map(|e| e.pos).max().expect("events");
    fan.close().await;
    let r2 = replier
        .post_in(room.id, "and bikes?", false, Some(top))
        .await;
    let (mut fan, backlog, _) = server
        .connect_caught_up(&fan_token, Some(fan_pos), None)
        .await;
    assert!(
        backlog.iter().any(|e| e.seq == r2),
        "the reply is in the backlog"
    );
    let (kind, event_seq, _) = notice(&mut fan, top).await;
    assert_eq!((kind, event_seq), (NoticeKind::Reply, r2));

    fan.expect_ok(follow(room.id, top, false)).await;
    replier
        .post_in(room.id, "never mind", false, Some(top))
        .await;
    fan.message("never mind").await;
    assert_eq!(notices_so_far(&mut fan).await, [], "unfollowed: no notice");
}

#[tokio::test]
async fn someone_removed_from_a_private_room_is_not_told_of_its_answers() {
    let server = TestServer::start().await;
    let (_, owner_token) = server.user("owner").await;
    let (_, asker_token) = server.user("asker").await;
    let (_, voter_token) = server.user("voter").await;
    let (mut owner, _, _) = server.connect_caught_up(&owner_token, None, None).await;
    let board = owner.create_room("board", Visibility::Private).await;
    owner.add_member(board.id, "asker").await;
    owner.add_member(board.id, "voter").await;
    let (mut asker, _, _) = server.connect_caught_up(&asker_token, None, None).await;
    let (mut voter, _, _) = server.connect_caught_up(&voter_token, None, None).await;
    let q = asker.post_in(board.id, "budget cuts?", true, None).await;
    voter.expect_ok(vote(board.id, q, true)).await;
    owner
        .expect_ok(ClientFrame::RemoveMember {
            req_id: None,
            room: board.id,
            user: "voter".into(),
        })
        .await;
    let answer = owner.post_in(board.id, "none planned", false, None).await;
    owner
        .expect_ok(ClientFrame::MarkAnswer {
            req_id: None,
            room: board.id,
            question: q,
            answer,
        })
        .await;
    notice(&mut asker, q).await;
    assert_eq!(
        notices_so_far(&mut voter).await,
        [],
        "removed: not told live"
    );
    voter.close().await;
    let (mut voter, _, _) = server.connect_caught_up(&voter_token, Some(0), None).await;
    assert_eq!(
        notices_so_far(&mut voter).await,
        [],
        "nor at the next login"
    );
    // And they can no longer vote there: the room is not found.
    voter
        .expect_error(vote(board.id, q, false), ErrorCode::NotFound)
        .await;
}

/// A request retried on `not_found` for a bounded time: a cluster node may
/// not yet have applied what another node just acknowledged.
async fn eventually(c: &mut Client, frame: ClientFrame) -> ServerFrame {
    let deadline = tokio::time::Instant::now() + townhall_tests::WAIT;
    loop {
        let reply = c.request(frame.clone()).await;
        match &reply {
            ServerFrame::Error {
                code: ErrorCode::NotFound,
                ..
            } if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            _ => return reply,
        }
    }
}

/// Votes, follows and notices are applied from the cluster log like every
/// other command: every node ends with the same vote rows, follow rows and
/// notices (the digest covers every tree).
#[tokio::test]
async fn votes_and_notices_are_the_same_on_every_node_of_a_cluster() {
    use townhall_tests::cluster::TownhallCluster;
    let c = TownhallCluster::start(3).await;
    let names = ["owner", "asker", "v1", "v2"];
    let mut clients = Vec::new();
    for (i, name) in names.iter().enumerate() {
        c.node(0).user(name).await;
        let node = c.node(i % 3);
        let token = node.login(name, &format!("{name}-password")).await.token;
        clients.push(node.connect_caught_up(&token, None, None).await.0);
    }
    let [owner, asker, v1, v2] = &mut clients[..] else {
        unreachable!()
    };
    let room = owner.create_room("all-hands", Visibility::Public).await.id;
    match eventually(asker, ClientFrame::Join { req_id: None, room }).await {
        ServerFrame::Room { .. } => {}
        other => panic!("join: {other:?}"),
    }
    let q = asker
        .post_in(room, "are we merging with Acme?", true, None)
        .await;
    // Two voters through two other nodes at once, one of them twice.
    let (a, b) = tokio::join!(
        eventually(v1, vote(room, q, true)),
        eventually(v2, vote(room, q, true))
    );
    assert!(
        matches!((&a, &b), (ServerFrame::Ok { .. }, ServerFrame::Ok { .. })),
        "{a:?} {b:?}"
    );
    v2.expect_ok(vote(room, q, true)).await;
    votes_frame(owner, q, 2).await;
    let answer = owner.post_in(room, "no", false, None).await;
    owner
        .expect_ok(ClientFrame::MarkAnswer {
            req_id: None,
            room,
            question: q,
            answer,
        })
        .await;
    for voter in [v1, v2] {
        let (kind, _, by) = notice(voter, q).await;
        assert_eq!((kind, by.as_str()), (NoticeKind::Answered, "owner"));
    }
    notice(asker, q).await;
    c.assert_converged().await;
}

/// Someone Alice blocks reaches her through no change, a vote on her
/// question in their DM included: the same `not_found` as an unknown room,
/// and no `question_votes` frame for Alice.
#[tokio::test]
async fn a_blocked_person_cannot_vote_in_the_dm() {
    let server = TestServer::start().await;
    let (_, at) = server.user("alice").await;
    let (_, mt) = server.user("mallory").await;
    let mut alice = server.connect(&at).await;
    let mut mallory = server.connect(&mt).await;
    let dm = match alice
        .request(ClientFrame::OpenDm {
            req_id: None,
            user: "mallory".into(),
        })
        .await
    {
        ServerFrame::Room { room, .. } => room.id,
        other => panic!("open_dm: {other:?}"),
    };
    let q = alice
        .post_in(dm, "Is the Leeds office closing?", true, None)
        .await;
    alice
        .expect_ok(ClientFrame::Block {
            req_id: None,
            user: "mallory".into(),
            on: true,
        })
        .await;
    match mallory.request(vote(dm, q, true)).await {
        ServerFrame::Error {
            code: ErrorCode::NotFound,
            ..
        } => {}
        other => panic!("a blocked person's vote: {other:?}"),
    }
    // The count did not move: Alice's queue of the DM still shows 0.
    let open = queue(&mut alice, QuestionSort::Age, Some(dm)).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].votes, 0, "no vote counted");
}
