//! Anonymous questions with a moderation queue (issue 15), black-box.
//!
//! The main test walks every path (ask, pending, approve, vote, answer,
//! edit and withdraw by the asker, refused edits by others, reject, merge)
//! while recording everything that leaves the server except what goes to
//! the asker's own connections: every frame every other client receives,
//! the HTTP responses that list questions or moderation acts (audit log,
//! snapshot), and the server's log at its default level. None may hold the
//! asker's user id (either text form), username or display name; the
//! snapshot must hold them no more often than before she asked.

use std::time::Duration;
use townhall_protocol::{
    ANONYMOUS, AnonQuestion, AnonStatus, ClientFrame, Content, ErrorCode, ModerationAction, RoomId,
    ServerFrame, UserInfo, Visibility,
};
use townhall_tests::{Client, TestServer};
use uuid::Uuid;

async fn ok(c: &mut Client, frame: ClientFrame) -> ServerFrame {
    match c.request(frame).await {
        f @ ServerFrame::Ok { .. } => f,
        other => panic!("expected ok, got {other:?}"),
    }
}

fn allow(room: Option<RoomId>, on: bool) -> ClientFrame {
    ClientFrame::SetAnonymousQuestions {
        req_id: None,
        room,
        on,
    }
}

async fn ask(c: &mut Client, room: RoomId, body: &str) -> AnonQuestion {
    match c
        .request(ClientFrame::AskAnonymously {
            req_id: None,
            room,
            body: body.into(),
        })
        .await
    {
        ServerFrame::AnonymousQuestions { mut questions, .. } if questions.len() == 1 => {
            questions.remove(0)
        }
        other => panic!("expected anonymous_questions, got {other:?}"),
    }
}

async fn mine(c: &mut Client) -> Vec<AnonQuestion> {
    match c
        .request(ClientFrame::MyAnonymousQuestions { req_id: None })
        .await
    {
        ServerFrame::AnonymousQuestions { questions, .. } => questions,
        other => panic!("expected anonymous_questions, got {other:?}"),
    }
}

async fn moderate(c: &mut Client, id: Uuid, action: ModerationAction) -> ServerFrame {
    c.request(ClientFrame::Moderate {
        req_id: None,
        id,
        action,
    })
    .await
}

/// Wait for the asker's live status of `id`.
async fn status(c: &mut Client, id: Uuid, want: impl Fn(&AnonStatus) -> bool) -> AnonQuestion {
    match c
        .expect("anonymous_question status", |f| {
            matches!(f, ServerFrame::AnonymousQuestion { question } if question.id == id && want(&question.status))
        })
        .await
    {
        ServerFrame::AnonymousQuestion { question } => question,
        _ => unreachable!(),
    }
}

/// Wait for the team's live moderation item of `id`.
async fn item(c: &mut Client, id: Uuid, want: impl Fn(&AnonStatus) -> bool) -> AnonQuestion {
    match c
        .expect("moderation_item", |f| {
            matches!(f, ServerFrame::ModerationItem { question } if question.id == id && want(&question.status))
        })
        .await
    {
        ServerFrame::ModerationItem { question } => question,
        _ => unreachable!(),
    }
}

/// Round-trip a ping so every frame sent before it has been read.
async fn flush(c: &mut Client) {
    match c.request(ClientFrame::Ping { req_id: None }).await {
        ServerFrame::Pong { .. } => {}
        other => panic!("expected pong, got {other:?}"),
    }
}

async fn http_bytes(server: &TestServer, path: &str) -> Vec<u8> {
    let r = reqwest::Client::new()
        .get(server.http(path))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("get");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.bytes().await.expect("body").to_vec()
}

/// The ways the asker could be named in bytes.
fn needles(who: &UserInfo) -> Vec<(String, Vec<u8>)> {
    vec![
        ("id".into(), who.id.0.hyphenated().to_string().into_bytes()),
        (
            "id (simple)".into(),
            who.id.0.simple().to_string().into_bytes(),
        ),
        ("id (bytes)".into(), who.id.0.as_bytes().to_vec()),
        ("username".into(), who.username.clone().into_bytes()),
        ("display name".into(), who.display_name.clone().into_bytes()),
    ]
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

fn assert_absent(what: &str, hay: &[u8], who: &UserInfo) {
    for (name, needle) in needles(who) {
        let n = count(hay, &needle);
        let text = String::from_utf8_lossy(hay);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| count(l.as_bytes(), &needle) > 0)
            .collect();
        assert_eq!(
            n, 0,
            "{what} holds the asker's {name} {n} times, in:\n{lines:#?}"
        );
    }
}

#[tokio::test]
async fn nobody_but_the_asker_can_tell_who_asked_on_any_path() {
    let server = TestServer::start().await;
    let (_, olga_token) = server.user("olga_owner").await;
    let (_, bob_token) = server.user("bob_member").await;
    let (_, tina_token) = server.user("tina_team").await;
    let (alice, alice_token) = server.user("alice_asker_x7").await;
    server.make_team("tina_team").await;
    // Alice's second device logs in now: a login is logged, and is not
    // part of asking.
    let alice_token2 = server
        .login("alice_asker_x7", "alice_asker_x7-password")
        .await
        .token;

    let (mut olga, _, _) = server.connect_caught_up(&olga_token, None, None).await;
    let room = olga
        .create_room("all-hands-qa", Visibility::Public)
        .await
        .id;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    bob.join(room).await;
    let (mut tina, _, _) = server.connect_caught_up(&tina_token, None, None).await;
    tina.join(room).await;
    let (mut admin, _, _) = server
        .connect_caught_up(&server.admin_token, None, None)
        .await;
    let (mut alice_c, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    alice_c.join(room).await;
    let (mut alice_phone, _, _) = server.connect_caught_up(&alice_token2, None, None).await;

    // Not allowed yet: refused, and nothing is queued.
    alice_c
        .expect_error(
            ClientFrame::AskAnonymously {
                req_id: None,
                room,
                body: "too early?".into(),
            },
            ErrorCode::Forbidden,
        )
        .await;
    // A plain member may not allow it; the room's owner may.
    bob.expect_error(allow(Some(room), true), ErrorCode::Forbidden)
        .await;
    ok(&mut olga, allow(Some(room), true)).await;

    // Everything from here on is recorded.
    for c in [
        &mut olga,
        &mut bob,
        &mut tina,
        &mut admin,
        &mut alice_c,
        &mut alice_phone,
    ] {
        flush(c).await;
    }
    // Alice's own join is in the room's history from before: history is
    // read from here on.
    let mark_seq = bob.latest_history(room).await.last().expect("events").seq;
    let marks: Vec<usize> = [&olga, &bob, &tina, &admin]
        .iter()
        .map(|c| c.seen.len())
        .collect();
    let log_path = server.data.with_extension("log");
    let log_mark = std::fs::metadata(&log_path).expect("log").len() as usize;
    let snapshot_before = http_bytes(&server, "/api/admin/snapshot").await;
    let audit_before = http_bytes(&server, "/api/admin/audit?limit=1000").await;

    // 1. Ask: the team sees it pending, without anyone's name.
    let q1 = ask(&mut alice_c, room, "Will the office move next year?").await;
    assert!(q1.mine);
    assert_eq!(q1.status, AnonStatus::Pending);
    let seen = item(&mut tina, q1.id, |s| *s == AnonStatus::Pending).await;
    assert!(!seen.mine);
    assert_eq!(seen.body, "Will the office move next year?");
    // The asker's other device is told too (found by key, not by id).
    status(&mut alice_phone, q1.id, |s| *s == AnonStatus::Pending).await;
    match tina
        .request(ClientFrame::ModerationQueue { req_id: None })
        .await
    {
        ServerFrame::ModerationQueue { questions, .. } => {
            assert_eq!(questions.iter().map(|q| q.id).collect::<Vec<_>>(), [q1.id]);
        }
        other => panic!("expected moderation_queue, got {other:?}"),
    }
    // Only the team sees the queue or moderates.
    bob.expect_error(
        ClientFrame::ModerationQueue { req_id: None },
        ErrorCode::Forbidden,
    )
    .await;
    bob.expect_error(
        ClientFrame::Moderate {
            req_id: None,
            id: q1.id,
            action: ModerationAction::Approve,
        },
        ErrorCode::Forbidden,
    )
    .await;

    // 2. Approve: an ordinary question from "Anonymous" in the room.
    assert!(matches!(
        moderate(&mut tina, q1.id, ModerationAction::Approve).await,
        ServerFrame::Ok { .. }
    ));
    let approved = status(&mut alice_c, q1.id, |s| {
        matches!(s, AnonStatus::Approved { .. })
    })
    .await;
    let AnonStatus::Approved { seq: q1_seq } = approved.status else {
        unreachable!()
    };
    let ev = bob
        .event_where("the approved question", |e| e.seq == q1_seq)
        .await;
    assert_eq!(ev.sender.id, ANONYMOUS);
    assert_eq!(ev.sender.display_name, "Anonymous");
    assert!(matches!(
        ev.content,
        Content::Message { question: true, .. }
    ));
    item(&mut tina, q1.id, |s| {
        matches!(s, AnonStatus::Approved { .. })
    })
    .await;

    // 3. Votable like any question.
    ok(
        &mut bob,
        ClientFrame::Vote {
            req_id: None,
            room,
            seq: q1_seq,
            on: true,
        },
    )
    .await;

    // ... but not by its asker (the server recomputes her key), and the
    // refusal reaches her alone.
    alice_c
        .expect_error(
            ClientFrame::Vote {
                req_id: None,
                room,
                seq: q1_seq,
                on: true,
            },
            ErrorCode::Forbidden,
        )
        .await;

    // 4. Edit by the asker (from her other device); others may not.
    ok(
        &mut alice_phone,
        ClientFrame::EditAnonymous {
            req_id: None,
            id: q1.id,
            body: "Will the office move in 2027?".into(),
        },
    )
    .await;
    let edit = bob
        .event_where(
            "the edit",
            |e| matches!(e.content, Content::Edited { target, .. } if target == q1_seq),
        )
        .await;
    assert_eq!(edit.sender.id, ANONYMOUS);
    for other in [&mut bob, &mut tina, &mut olga] {
        other
            .expect_error(
                ClientFrame::EditAnonymous {
                    req_id: None,
                    id: q1.id,
                    body: "hijacked".into(),
                },
                ErrorCode::NotFound,
            )
            .await;
        other
            .expect_error(
                ClientFrame::WithdrawAnonymous {
                    req_id: None,
                    id: q1.id,
                },
                ErrorCode::NotFound,
            )
            .await;
    }
    bob.expect_error(
        ClientFrame::Edit {
            req_id: None,
            room,
            seq: q1_seq,
            body: "hijacked".into(),
        },
        ErrorCode::Forbidden,
    )
    .await;

    // 5. Answer: the asker is told, and nobody learns who she is.
    let (_, answer_seq, _) = olga.post(room, "Yes, to the river building.").await;
    ok(
        &mut olga,
        ClientFrame::MarkAnswer {
            req_id: None,
            room,
            question: q1_seq,
            answer: answer_seq,
        },
    )
    .await;
    let answered = status(&mut alice_c, q1.id, |s| {
        matches!(s, AnonStatus::Answered { .. })
    })
    .await;
    assert_eq!(
        answered.status,
        AnonStatus::Answered {
            seq: q1_seq,
            answer: answer_seq
        }
    );

    // 6. Reject with a reason the asker sees.
    let q2 = ask(&mut alice_c, room, "Why is my manager so bad?").await;
    item(&mut tina, q2.id, |s| *s == AnonStatus::Pending).await;
    // A reason is required.
    assert!(matches!(
        moderate(
            &mut tina,
            q2.id,
            ModerationAction::Reject { reason: " ".into() }
        )
        .await,
        ServerFrame::Error {
            code: ErrorCode::InvalidField,
            ..
        }
    ));
    let reason = "About one person: please talk to HR instead.";
    assert!(matches!(
        moderate(
            &mut tina,
            q2.id,
            ModerationAction::Reject {
                reason: reason.into()
            }
        )
        .await,
        ServerFrame::Ok { .. }
    ));
    let rejected = status(&mut alice_c, q2.id, |s| {
        matches!(s, AnonStatus::Rejected { .. })
    })
    .await;
    assert_eq!(
        rejected.status,
        AnonStatus::Rejected {
            reason: reason.into()
        }
    );
    // Decided once.
    assert!(matches!(
        moderate(&mut tina, q2.id, ModerationAction::Approve).await,
        ServerFrame::Error { .. }
    ));

    // 7. Merge into an existing question: the asker is told which.
    let q3 = ask(&mut alice_c, room, "Are we moving offices?").await;
    item(&mut tina, q3.id, |s| *s == AnonStatus::Pending).await;
    assert!(matches!(
        moderate(&mut tina, q3.id, ModerationAction::Merge { into: q1_seq }).await,
        ServerFrame::Ok { .. }
    ));
    status(&mut alice_c, q3.id, |s| {
        *s == AnonStatus::Merged { into: q1_seq }
    })
    .await;

    // 8. Withdraw by the asker: approved, then deleted from the room.
    let q4 = ask(&mut alice_c, room, "Is the canteen closing?").await;
    item(&mut tina, q4.id, |s| *s == AnonStatus::Pending).await;
    moderate(&mut tina, q4.id, ModerationAction::Approve).await;
    let AnonStatus::Approved { seq: q4_seq } = status(&mut alice_c, q4.id, |s| {
        matches!(s, AnonStatus::Approved { .. })
    })
    .await
    .status
    else {
        unreachable!()
    };
    ok(
        &mut alice_c,
        ClientFrame::WithdrawAnonymous {
            req_id: None,
            id: q4.id,
        },
    )
    .await;
    let deleted = bob
        .event_where(
            "the withdrawal",
            |e| matches!(e.content, Content::Deleted { target } if target == q4_seq),
        )
        .await;
    assert_eq!(deleted.sender.id, ANONYMOUS);
    // A pending one can be withdrawn too; the team sees it leave the queue.
    let q5 = ask(&mut alice_c, room, "Can I bring my dog?").await;
    item(&mut tina, q5.id, |s| *s == AnonStatus::Pending).await;
    ok(
        &mut alice_c,
        ClientFrame::WithdrawAnonymous {
            req_id: None,
            id: q5.id,
        },
    )
    .await;
    item(&mut tina, q5.id, |s| *s == AnonStatus::Withdrawn).await;

    // The asker's list, from either device: every question, newest first.
    let list = mine(&mut alice_phone).await;
    let statuses: Vec<(Uuid, AnonStatus)> = list.iter().map(|q| (q.id, q.status.clone())).collect();
    assert_eq!(
        statuses,
        vec![
            (q5.id, AnonStatus::Withdrawn),
            (q4.id, AnonStatus::Withdrawn),
            (q3.id, AnonStatus::Merged { into: q1_seq }),
            (
                q2.id,
                AnonStatus::Rejected {
                    reason: reason.into()
                }
            ),
            (
                q1.id,
                AnonStatus::Answered {
                    seq: q1_seq,
                    answer: answer_seq
                }
            ),
        ]
    );
    assert!(list.iter().all(|q| q.mine));
    assert_eq!(list[4].body, "Will the office move in 2027?");
    assert!(list[4].edited);
    // Someone else has none.
    match bob
        .request(ClientFrame::MyAnonymousQuestions { req_id: None })
        .await
    {
        ServerFrame::AnonymousQuestions { questions, .. } => assert!(questions.is_empty()),
        other => panic!("expected anonymous_questions, got {other:?}"),
    }

    // What others can read about questions: history, the queue, search.
    for c in [&mut olga, &mut bob, &mut tina, &mut admin] {
        let history = match c
            .request(ClientFrame::History {
                req_id: None,
                room,
                before: None,
                after: Some(mark_seq),
                limit: None,
            })
            .await
        {
            ServerFrame::History { events, .. } => events,
            other => panic!("expected history, got {other:?}"),
        };
        let q = history
            .iter()
            .find(|e| e.seq == q1_seq)
            .expect("in history");
        assert_eq!(q.sender.id, ANONYMOUS);
        let _ = c
            .request(ClientFrame::Questions {
                req_id: None,
                sort: None,
                room: Some(room),
            })
            .await;
        let _ = c
            .request(ClientFrame::ModerationQueue { req_id: None })
            .await;
    }
    // Search finds the approved question (the indexer runs behind the
    // acks: ask again until it is there, within a bound).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let reply = bob
            .request(ClientFrame::Search {
                req_id: None,
                query: "office".into(),
                sort: None,
                before_cursor: None,
                limit: None,
            })
            .await;
        let found =
            matches!(&reply, ServerFrame::SearchResults { results, .. } if !results.is_empty());
        if found {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "search never found the approved question: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Now the checks. Every frame anyone else received since the mark:
    for (c, mark) in [&mut olga, &mut bob, &mut tina, &mut admin]
        .into_iter()
        .zip(marks)
    {
        flush(c).await;
        let frames = c.seen[mark..].join("\n");
        assert!(frames.len() > 200, "the observer saw the flows: {frames}");
        assert_absent("frames to another user", frames.as_bytes(), &alice);
    }
    // ... while the asker's own connections did get her questions.
    assert!(alice_c.seen.iter().any(|f| f.contains("\"mine\":true")));
    // The audit log names the moderators, never the asker.
    let audit = http_bytes(&server, "/api/admin/audit?limit=1000").await;
    let audit_text = String::from_utf8_lossy(&audit);
    assert!(
        audit_text.contains("approve_anonymous_question"),
        "{audit_text}"
    );
    assert!(
        audit_text.contains("reject_anonymous_question"),
        "{audit_text}"
    );
    assert!(
        audit_text.contains("merge_anonymous_question"),
        "{audit_text}"
    );
    assert!(audit_text.contains("tina_team"), "{audit_text}");
    // Entries from before (her account's creation) may name her; none
    // written since does.
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&audit).expect("audit json");
    let before: Vec<serde_json::Value> = serde_json::from_slice(&audit_before).expect("audit json");
    let new: Vec<&serde_json::Value> = entries.iter().filter(|e| !before.contains(e)).collect();
    assert!(new.len() >= 5, "{new:#?}");
    let new_bytes = serde_json::to_vec(&new).expect("json");
    assert_absent("the audit log's new entries", &new_bytes, &alice);
    // The snapshot (what a backup holds): the asker's id and names occur no
    // more often than before she asked (her account and memberships).
    let snapshot_after = http_bytes(&server, "/api/admin/snapshot").await;
    assert!(count(&snapshot_after, b"Will the office move in 2027?") > 0);
    for (name, needle) in needles(&alice) {
        assert_eq!(
            count(&snapshot_after, &needle),
            count(&snapshot_before, &needle),
            "the snapshot gained occurrences of the asker's {name}"
        );
    }
    // The server's log at its default level.
    let log = std::fs::read(&log_path).expect("log");
    assert_absent("the server log", &log[log_mark..], &alice);
}

#[tokio::test]
async fn org_wide_setting_per_asker_limits_and_who_may_enable() {
    let server = TestServer::start().await;
    let (_, olga_token) = server.user("olga").await;
    let (_, alice_token) = server.user("alice").await;
    let (mut olga, _, _) = server.connect_caught_up(&olga_token, None, None).await;
    let room = olga.create_room("general-qa", Visibility::Public).await.id;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    alice.join(room).await;
    let (mut admin, _, _) = server
        .connect_caught_up(&server.admin_token, None, None)
        .await;

    // Only an admin allows it everywhere.
    olga.expect_error(allow(None, true), ErrorCode::Forbidden)
        .await;
    ok(&mut admin, allow(None, true)).await;
    match alice
        .request(ClientFrame::AnonymousSettings { req_id: None })
        .await
    {
        ServerFrame::AnonymousSettings { org, rooms, .. } => {
            assert!(org);
            assert!(rooms.is_empty());
        }
        other => panic!("expected anonymous_settings, got {other:?}"),
    }
    // Pending questions per asker are capped (the team reads every one).
    for i in 0..5 {
        ask(&mut alice, room, &format!("question {i}?")).await;
    }
    alice
        .expect_error(
            ClientFrame::AskAnonymously {
                req_id: None,
                room,
                body: "one more?".into(),
            },
            ErrorCode::LimitReached,
        )
        .await;
    // Not a member of a private room: not found, as for any room one
    // cannot see.
    let private = olga.create_room("secret-qa", Visibility::Private).await.id;
    alice
        .expect_error(
            ClientFrame::AskAnonymously {
                req_id: None,
                room: private,
                body: "in there?".into(),
            },
            ErrorCode::NotFound,
        )
        .await;
    // Switched off again: refused.
    ok(&mut admin, allow(None, false)).await;
    alice
        .expect_error(
            ClientFrame::AskAnonymously {
                req_id: None,
                room,
                body: "still?".into(),
            },
            ErrorCode::Forbidden,
        )
        .await;
    // The settings went through the audit log under the admin's name.
    let audit = http_bytes(&server, "/api/admin/audit").await;
    assert!(String::from_utf8_lossy(&audit).contains("allow_anonymous_questions"));
}

#[tokio::test]
async fn an_asker_keeps_their_questions_across_a_restart_and_the_secret_file_is_private() {
    let mut server = TestServer::start().await;
    let (_, olga_token) = server.user("olga").await;
    let (_, alice_token) = server.user("alice").await;
    let (mut olga, _, _) = server.connect_caught_up(&olga_token, None, None).await;
    let room = olga.create_room("qa", Visibility::Public).await.id;
    ok(&mut olga, allow(Some(room), true)).await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    alice.join(room).await;
    let q = ask(&mut alice, room, "Will this survive a restart?").await;
    let secret = server.data.join("anon-secret");
    let meta = std::fs::metadata(&secret).expect("secret file");
    assert_eq!(meta.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    drop(alice);
    drop(olga);
    server.stop().await;
    server.restart().await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let list = mine(&mut alice).await;
    assert_eq!(list.iter().map(|q| q.id).collect::<Vec<_>>(), [q.id]);
    ok(
        &mut alice,
        ClientFrame::EditAnonymous {
            req_id: None,
            id: q.id,
            body: "It did.".into(),
        },
    )
    .await;
}

/// In a cluster, every node and the NATS stream keep each log entry: the
/// entries of the anonymous paths, read back raw from the stream, never
/// name the asker; the asker acts through either node (the same secret
/// file on both), and the nodes' states converge.
#[tokio::test]
async fn in_a_cluster_the_stream_never_names_the_asker() {
    use townhall_tests::cluster::TownhallCluster;
    let dir = tempfile::tempdir().expect("dir");
    let secret = dir.path().join("anon-secret");
    let mut bytes = Uuid::new_v4().as_bytes().to_vec();
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    std::fs::write(&secret, &bytes).expect("secret");
    let secret = secret.to_str().expect("utf-8 path").to_owned();
    let c = TownhallCluster::start_with(2, &["--anon-secret-file", &secret]).await;
    let (_, olga_token) = c.node(0).user("olga").await;
    let (_, tina_token) = c.node(0).user("tina").await;
    let (alice, alice_token) = c.node(0).user("alice_cluster_q9").await;
    c.node(0).make_team("tina").await;
    let tina_token1 = c.node(1).login("tina", "tina-password").await.token;
    let alice_token1 = c
        .node(1)
        .login("alice_cluster_q9", "alice_cluster_q9-password")
        .await
        .token;
    let _ = (tina_token, alice_token1.clone());

    let (mut olga, _, _) = c.node(0).connect_caught_up(&olga_token, None, None).await;
    let room = olga.create_room("cluster-qa", Visibility::Public).await.id;
    ok(&mut olga, allow(Some(room), true)).await;
    let mut alice0 = c.node(0).connect(&alice_token).await;
    alice0.join(room).await;
    let mut tina1 = c.node(1).connect(&tina_token1).await;
    tina1.join(room).await;
    let mut alice1 = c.node(1).connect(&alice_token1).await;
    flush(&mut alice1).await;

    let client = async_nats::connect(c.nats.url_list()).await.expect("nats");
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream("TOWNHALL").await.expect("stream");
    let mark = stream.info().await.expect("info").state.last_sequence;

    // Asked through node 0, moderated through node 1, edited through node 1.
    let q = ask(&mut alice0, room, "Are we hiring in 2027?").await;
    item(&mut tina1, q.id, |s| *s == AnonStatus::Pending).await;
    assert!(matches!(
        moderate(&mut tina1, q.id, ModerationAction::Approve).await,
        ServerFrame::Ok { .. }
    ));
    status(&mut alice0, q.id, |s| {
        matches!(s, AnonStatus::Approved { .. })
    })
    .await;
    ok(
        &mut alice1,
        ClientFrame::EditAnonymous {
            req_id: None,
            id: q.id,
            body: "Are we hiring in 2027 and 2028?".into(),
        },
    )
    .await;
    status(&mut alice0, q.id, |s| {
        matches!(s, AnonStatus::Approved { .. })
    })
    .await;
    ok(
        &mut alice1,
        ClientFrame::WithdrawAnonymous {
            req_id: None,
            id: q.id,
        },
    )
    .await;
    status(&mut alice0, q.id, |s| *s == AnonStatus::Withdrawn).await;

    let last = stream.info().await.expect("info").state.last_sequence;
    let mut entries = Vec::new();
    for seq in mark + 1..=last {
        let m = stream.get_raw_message(seq).await.expect("entry");
        entries.extend_from_slice(&m.payload);
        entries.push(b'\n');
    }
    let text = String::from_utf8_lossy(&entries);
    assert!(
        text.contains("Are we hiring in 2027?"),
        "the entries were read: {text}"
    );
    assert!(text.contains("\"ask\""), "{text}");
    assert_absent("the NATS stream's entries", &entries, &alice);
    c.assert_converged().await;
}

/// A private room's anonymous questions stay inside it: a team member who
/// is not in the room does not see its setting, its queue entries (asked
/// for or live), and cannot moderate them; a team member inside does.
#[tokio::test]
async fn a_private_rooms_questions_are_moderated_only_by_team_members_inside_it() {
    let server = TestServer::start().await;
    let (_, olga_token) = server.user("olga_owner").await;
    let (_, tina_token) = server.user("tina_outside").await;
    let (_, ivan_token) = server.user("ivan_inside").await;
    let (_, alice_token) = server.user("alice_asker").await;
    server.make_team("tina_outside").await;
    server.make_team("ivan_inside").await;

    let (mut olga, _, _) = server.connect_caught_up(&olga_token, None, None).await;
    let room = olga.create_room("board-only", Visibility::Private).await.id;
    olga.add_member(room, "ivan_inside").await;
    olga.add_member(room, "alice_asker").await;
    ok(&mut olga, allow(Some(room), true)).await;

    let (mut tina, _, _) = server.connect_caught_up(&tina_token, None, None).await;
    let (mut ivan, _, _) = server.connect_caught_up(&ivan_token, None, None).await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;

    match tina
        .request(ClientFrame::AnonymousSettings { req_id: None })
        .await
    {
        ServerFrame::AnonymousSettings { rooms, .. } => {
            assert!(
                !rooms.contains(&room),
                "an outsider sees the private room's setting"
            )
        }
        other => panic!("{other:?}"),
    }
    match ivan
        .request(ClientFrame::AnonymousSettings { req_id: None })
        .await
    {
        ServerFrame::AnonymousSettings { rooms, .. } => assert!(rooms.contains(&room)),
        other => panic!("{other:?}"),
    }

    let q = ask(&mut alice, room, "is the board selling the company?").await;
    item(&mut ivan, q.id, |s| matches!(s, AnonStatus::Pending)).await;
    flush(&mut tina).await;
    while let Some(f) = tina.pending_frame() {
        assert!(
            !matches!(f, ServerFrame::ModerationItem { .. }),
            "a live item reached a team member outside the room: {f:?}"
        );
    }
    for (c, expect_seen) in [(&mut tina, false), (&mut ivan, true)] {
        match c
            .request(ClientFrame::ModerationQueue { req_id: None })
            .await
        {
            ServerFrame::ModerationQueue { questions, .. } => {
                assert_eq!(questions.iter().any(|x| x.id == q.id), expect_seen)
            }
            other => panic!("{other:?}"),
        }
    }
    let refused = moderate(&mut tina, q.id, ModerationAction::Approve).await;
    assert!(
        matches!(
            refused,
            ServerFrame::Error {
                code: ErrorCode::NotFound,
                ..
            }
        ),
        "{refused:?}"
    );
    assert!(matches!(
        moderate(&mut ivan, q.id, ModerationAction::Approve).await,
        ServerFrame::Ok { .. }
    ));
    status(&mut alice, q.id, |s| {
        matches!(s, AnonStatus::Approved { .. })
    })
    .await;
}
