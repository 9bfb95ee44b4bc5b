//! Rumour watch (issue 15), black-box: the transformation team's watch
//! list, the alerts a matching room message raises (live and kept for the
//! next login), who gets them, and the weekly counts.
//!
//! Negative checks ("no alert for that message") wait for the alert of a
//! later matching marker message: alerts reach one socket in the order
//! their messages were applied, so an alert for the earlier message would
//! have come first.

use townhall_protocol::watch::{WatchAlert, iso_week, iso_week_label};
use townhall_protocol::{ClientFrame, ErrorCode, RoomId, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer};

fn add(phrase: &str) -> ClientFrame {
    ClientFrame::WatchAdd {
        req_id: None,
        phrase: phrase.into(),
    }
}

fn remove(phrase: &str) -> ClientFrame {
    ClientFrame::WatchRemove {
        req_id: None,
        phrase: phrase.into(),
    }
}

async fn list(c: &mut Client, frame: ClientFrame) -> Vec<String> {
    match c.request(frame).await {
        ServerFrame::WatchList { phrases, .. } => phrases.into_iter().map(|p| p.phrase).collect(),
        other => panic!("expected watch_list, got {other:?}"),
    }
}

/// The next live alert on this connection.
async fn next_alert(c: &mut Client) -> WatchAlert {
    match c
        .expect("watch_alert", |f| {
            matches!(f, ServerFrame::WatchAlert { .. })
        })
        .await
    {
        ServerFrame::WatchAlert { alert } => alert,
        _ => unreachable!(),
    }
}

async fn stored_alerts(c: &mut Client) -> Vec<WatchAlert> {
    match c
        .request(ClientFrame::WatchAlerts {
            req_id: None,
            before: None,
            limit: None,
        })
        .await
    {
        ServerFrame::WatchAlerts { alerts, .. } => alerts,
        other => panic!("expected watch_alerts, got {other:?}"),
    }
}

/// Everything sent to `c` so far has been read (one socket keeps order).
async fn drain(c: &mut Client) {
    match c.request(ClientFrame::Ping { req_id: None }).await {
        ServerFrame::Pong { .. } => {}
        other => panic!("expected pong, got {other:?}"),
    }
}

#[tokio::test]
async fn the_team_is_alerted_about_watched_phrases_in_rooms_it_can_read() {
    let server = TestServer::start().await;
    let (_, tina_token) = server.user("tina").await;
    let (_, tom_token) = server.user("tom").await;
    let (_, sam_token) = server.user("sam").await;
    let (alice_info, alice_token) = server.user("alice").await;
    server.make_team("tina").await;
    server.make_team("tom").await;
    let mut tina = server.connect(&tina_token).await;
    let mut tom = server.connect(&tom_token).await;
    let mut sam = server.connect(&sam_token).await;
    let mut alice = server.connect(&alice_token).await;

    // The list: shared by the team, refused to anyone else.
    assert_eq!(list(&mut tina, add("layoffs")).await, ["layoffs"]);
    assert_eq!(
        list(&mut tom, add("  Office   Closing ")).await,
        ["layoffs", "Office   Closing"]
    );
    // Typed differently, the same phrase: nothing changes.
    assert_eq!(list(&mut tina, add("LAYOFFS")).await.len(), 2);
    assert_eq!(list(&mut tina, add("réorganisation")).await.len(), 3);
    assert_eq!(
        list(&mut tom, ClientFrame::WatchList { req_id: None }).await,
        ["layoffs", "Office   Closing", "réorganisation"]
    );
    sam.expect_error(add("outsourcing"), ErrorCode::Forbidden)
        .await;
    sam.expect_error(
        ClientFrame::WatchList { req_id: None },
        ErrorCode::Forbidden,
    )
    .await;
    sam.expect_error(
        ClientFrame::WatchAlerts {
            req_id: None,
            before: None,
            limit: None,
        },
        ErrorCode::Forbidden,
    )
    .await;

    // A public room: both team members read it; the sender is not team.
    let general = alice.create_room("general", Visibility::Public).await.id;
    let (_, first, pos) = alice.post(general, "Are there LAYOFFS coming?").await;
    for c in [&mut tina, &mut tom] {
        let a = next_alert(c).await;
        assert_eq!((a.room, a.seq, a.pos), (general, first, pos));
        assert_eq!(a.phrases, ["layoffs"]);
        assert_eq!(a.sender.id, alice_info.id);
        assert_eq!(a.room_name, "general");
        assert_eq!(a.snippet, "Are there LAYOFFS coming?");
        assert!(!a.deleted);
    }

    // Accents and case fold; a phrase is a word sequence on word
    // boundaries. "playoffs", "layoff" and "office is closing" match nothing.
    alice.post(general, "playoffs tonight, one layoff?").await;
    alice.post(general, "the office is closing early").await;
    let (_, seq, _) = alice
        .post(general, "La REORGANISATION: office closing?")
        .await;
    let a = next_alert(&mut tina).await;
    assert_eq!(a.seq, seq, "an alert for a message that matches nothing");
    assert_eq!(a.phrases, ["Office   Closing", "réorganisation"]);
    assert_eq!(next_alert(&mut tom).await.seq, seq);

    // A direct message is never watched.
    let dm = match alice
        .request(ClientFrame::OpenDm {
            req_id: None,
            user: "tina".into(),
        })
        .await
    {
        ServerFrame::Room { room, .. } => room.id,
        other => panic!("open_dm: {other:?}"),
    };
    alice.post(dm, "layoffs, between us").await;
    // A private room alerts only the team members inside it.
    let private = alice.create_room("board", Visibility::Private).await.id;
    alice.add_member(private, "tina").await;
    let (_, private_seq, _) = alice.post(private, "layoffs in March").await;
    let a = next_alert(&mut tina).await;
    assert_eq!(
        (a.room, a.seq),
        (private, private_seq),
        "a DM raised an alert"
    );
    let (_, marker, _) = alice.post(general, "marker: layoffs").await;
    assert_eq!(next_alert(&mut tina).await.seq, marker);
    let a = next_alert(&mut tom).await;
    assert_eq!(
        (a.room, a.seq),
        (general, marker),
        "tom is not in the private room nor the DM"
    );

    // Alerts are kept: tom, offline, sees his at his next login.
    tom.close().await;
    let (_, while_away, _) = alice.post(general, "office closing, they say").await;
    assert_eq!(next_alert(&mut tina).await.seq, while_away);
    let mut tom = server.connect(&tom_token).await;
    let kept = stored_alerts(&mut tom).await;
    let seqs: Vec<(RoomId, u64)> = kept.iter().map(|a| (a.room, a.seq)).collect();
    assert_eq!(
        seqs,
        [
            (general, while_away),
            (general, marker),
            (general, seq),
            (general, first)
        ],
        "newest first, none from the private room or the DM"
    );
    let tina_kept = stored_alerts(&mut tina).await;
    assert!(tina_kept.iter().any(|a| a.room == private));
    assert!(tina_kept.iter().all(|a| a.room != dm));

    // A deleted message's alert loses its text (live and kept).
    alice
        .request(ClientFrame::Delete {
            req_id: None,
            room: general,
            seq: while_away,
        })
        .await;
    let a = next_alert(&mut tina).await;
    assert_eq!(
        (a.seq, a.deleted, a.snippet.as_str()),
        (while_away, true, "")
    );
    let a = next_alert(&mut tom).await;
    assert!(a.deleted && a.seq == while_away);
    let kept = stored_alerts(&mut tom).await;
    assert!(kept[0].deleted && kept[0].snippet.is_empty(), "{kept:?}");

    // A removed phrase stops alerting (removed in another case).
    assert_eq!(
        list(&mut tom, remove("Layoffs")).await,
        ["Office   Closing", "réorganisation"]
    );
    alice.post(general, "layoffs layoffs layoffs").await;
    let (_, marker, _) = alice.post(general, "reorganisation marker").await;
    assert_eq!(
        next_alert(&mut tina).await.seq,
        marker,
        "a removed phrase alerted"
    );

    // Weekly counts: this ISO week, per phrase on the list.
    let (weeks, phrases) = match tina
        .request(ClientFrame::WatchCounts {
            req_id: None,
            weeks: Some(4),
        })
        .await
    {
        ServerFrame::WatchCounts { weeks, phrases, .. } => (weeks, phrases),
        other => panic!("expected watch_counts, got {other:?}"),
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let (y, w) = iso_week(now_ms);
    assert_eq!(weeks.len(), 4);
    assert_eq!(weeks[3], iso_week_label(y, w));
    let counts: Vec<(String, u64)> = phrases
        .iter()
        .map(|p| (p.phrase.clone(), p.counts[3]))
        .collect();
    // office closing: "La REORGANISATION: office closing?", "office
    // closing, they say" (counted, then deleted: the count stays).
    // réorganisation: that first one and the marker.
    assert_eq!(
        counts,
        [
            ("Office   Closing".to_string(), 2),
            ("réorganisation".to_string(), 2)
        ]
    );
    assert!(phrases.iter().all(|p| p.counts[..3] == [0, 0, 0]));

    // Nothing ever reached the user who is not on the team.
    drain(&mut sam).await;
    assert!(
        !sam.seen.iter().any(|f| f.contains("watch_alert")),
        "{:?}",
        sam.seen
    );

    // Joining the team takes effect at the next message.
    server.make_team("sam").await;
    sam.expect_close().await;
    let mut sam = server.connect(&sam_token).await;
    let (_, seq, _) = alice.post(general, "office closing after all").await;
    assert_eq!(next_alert(&mut sam).await.seq, seq);
}

/// An edit that adds a watched phrase alerts (and counts once); an edit
/// of an alerted message replaces the alert's text (the old text is
/// readable nowhere else any more); an approved anonymous question is
/// watched under the shared anonymous sender.
#[tokio::test]
async fn edits_and_approved_anonymous_questions_are_watched() {
    let server = TestServer::start().await;
    let (_, tina_token) = server.user("tina").await;
    let (_, alice_token) = server.user("alice").await;
    server.make_team("tina").await;
    let mut tina = server.connect(&tina_token).await;
    let mut alice = server.connect(&alice_token).await;
    let room = alice.create_room("corridor", Visibility::Public).await.id;
    tina.join(room).await;
    list(&mut tina, add("office closing")).await;

    // A message that matches nothing, then edited to match.
    let (_, seq, _) = alice.post(room, "lunch at noon?").await;
    let edit = |body: &str| ClientFrame::Edit {
        req_id: None,
        room,
        seq,
        body: body.into(),
    };
    let reply = alice
        .request(edit("heard the office closing in May?"))
        .await;
    assert!(!matches!(reply, ServerFrame::Error { .. }), "{reply:?}");
    let alert = next_alert(&mut tina).await;
    assert_eq!((alert.room, alert.seq), (room, seq));
    assert_eq!(alert.phrases, ["office closing"]);
    assert!(alert.snippet.contains("May"), "{alert:?}");

    // Edited again: the same alert (same place) shows the new text, and
    // the phrase is not counted twice.
    let reply = alice
        .request(edit("the office closing rumour is false, sorry"))
        .await;
    assert!(!matches!(reply, ServerFrame::Error { .. }), "{reply:?}");
    let again = next_alert(&mut tina).await;
    assert_eq!(again.pos, alert.pos, "the same alert, updated");
    assert!(again.snippet.contains("false"), "{again:?}");
    assert!(
        !again.snippet.contains("May"),
        "the old text is gone: {again:?}"
    );
    let stored = stored_alerts(&mut tina).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].snippet.contains("false"));
    let counts = match tina
        .request(ClientFrame::WatchCounts {
            req_id: None,
            weeks: None,
        })
        .await
    {
        ServerFrame::WatchCounts { phrases, .. } => phrases,
        other => panic!("watch_counts: {other:?}"),
    };
    let total: u64 = counts
        .iter()
        .filter(|c| c.phrase == "office closing")
        .flat_map(|c| c.counts.iter())
        .sum();
    assert_eq!(total, 1, "{counts:?}");

    // An approved anonymous question is watched, and names nobody.
    let mut admin = server.connect(&server.admin_token).await;
    let allowed = admin
        .request(ClientFrame::SetAnonymousQuestions {
            req_id: None,
            room: Some(room),
            on: true,
        })
        .await;
    assert!(matches!(allowed, ServerFrame::Ok { .. }), "{allowed:?}");
    let asked = match alice
        .request(ClientFrame::AskAnonymously {
            req_id: None,
            room,
            body: "Is the office closing for real?".into(),
        })
        .await
    {
        ServerFrame::AnonymousQuestions { mut questions, .. } if questions.len() == 1 => {
            questions.remove(0)
        }
        other => panic!("ask: {other:?}"),
    };
    let approved = tina
        .request(ClientFrame::Moderate {
            req_id: None,
            id: asked.id,
            action: townhall_protocol::ModerationAction::Approve,
        })
        .await;
    assert!(
        !matches!(approved, ServerFrame::Error { .. }),
        "{approved:?}"
    );
    let anon = next_alert(&mut tina).await;
    assert_eq!(anon.room, room);
    assert!(anon.snippet.contains("for real"), "{anon:?}");
    assert_eq!(anon.sender.id, townhall_protocol::ANONYMOUS, "{anon:?}");
}

#[tokio::test]
async fn bad_watch_requests_get_documented_codes() {
    let server = TestServer::start().await;
    let (_, tina_token) = server.user("tina").await;
    server.make_team("tina").await;
    let mut tina = server.connect(&tina_token).await;
    tina.expect_error(add("  ?! … "), ErrorCode::InvalidField)
        .await;
    tina.expect_error(add(&"a".repeat(101)), ErrorCode::InvalidField)
        .await;
    assert_eq!(list(&mut tina, add(&"é".repeat(100))).await.len(), 1);
    tina.expect_error(remove("never added"), ErrorCode::NotFound)
        .await;
    tina.expect_error(
        ClientFrame::WatchAlerts {
            req_id: None,
            before: None,
            limit: Some(0),
        },
        ErrorCode::InvalidField,
    )
    .await;
    tina.expect_error(
        ClientFrame::WatchCounts {
            req_id: None,
            weeks: Some(105),
        },
        ErrorCode::InvalidField,
    )
    .await;
    // The list is bounded.
    for i in 1..200 {
        tina.request(add(&format!("phrase {i}"))).await;
    }
    assert_eq!(
        list(&mut tina, ClientFrame::WatchList { req_id: None })
            .await
            .len(),
        200
    );
    tina.expect_error(add("one too many"), ErrorCode::LimitReached)
        .await;
}

/// In a cluster, the list changed through one node and a message posted
/// through another alert a team member connected to a third place: the
/// alert is raised by every node's apply, and each node delivers it to
/// its own sessions. The nodes' stores (alerts and counts included) stay
/// identical.
#[tokio::test]
async fn in_a_cluster_an_alert_reaches_a_team_member_on_another_node() {
    use townhall_tests::cluster::TownhallCluster;
    let c = TownhallCluster::start(2).await;
    let (_, tina_token) = c.node(0).user("tina").await;
    let (_, alice_token) = c.node(0).user("alice").await;
    c.node(0).make_team("tina").await;
    let tina_token1 = c.node(1).login("tina", "tina-password").await.token;
    let _ = tina_token;
    let mut tina1 = c.node(1).connect(&tina_token1).await;
    assert_eq!(list(&mut tina1, add("Outsourcing")).await, ["Outsourcing"]);
    let mut alice0 = c.node(0).connect(&alice_token).await;
    let room = alice0.create_room("it-team", Visibility::Public).await.id;
    let (_, seq, _) = alice0.post(room, "Is IT outsourcing true?").await;
    let a = next_alert(&mut tina1).await;
    assert_eq!(
        (a.room, a.seq, a.phrases.as_slice()),
        (room, seq, &["Outsourcing".to_string()][..])
    );
    c.assert_converged().await;
}
