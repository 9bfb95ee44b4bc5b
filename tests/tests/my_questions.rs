//! "My questions" (issue 13): every question a person asked, under their
//! name and anonymously, newest first, with its state and the answer
//! inline; an anonymous question is listed for its asker only.

use townhall_protocol::{
    AnonStatus, ClientFrame, ModerationAction, MyQuestion, MyQuestionState, ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer};

async fn mine(c: &mut Client) -> Vec<MyQuestion> {
    match c.request(ClientFrame::MyQuestions { req_id: None }).await {
        ServerFrame::MyQuestions { questions, .. } => questions,
        other => panic!("expected my_questions, got {other:?}"),
    }
}

#[tokio::test]
async fn the_asker_sees_named_and_anonymous_questions_with_answers_and_nobody_else_does() {
    let server = TestServer::start().await;
    let (_, olga_token) = server.user("olga").await;
    let (_, ann_token) = server.user("ann").await;
    let (_, tina_token) = server.user("tina").await;
    let (_, bob_token) = server.user("bob").await;
    server.make_team("tina").await;
    let mut olga = server.connect(&olga_token).await;
    let mut ann = server.connect(&ann_token).await;
    let mut tina = server.connect(&tina_token).await;
    let mut bob = server.connect(&bob_token).await;
    let room = olga.create_room("town-hall", Visibility::Public).await.id;
    for c in [&mut ann, &mut tina, &mut bob] {
        c.join(room).await;
    }
    olga.expect_ok(ClientFrame::SetAnonymousQuestions {
        req_id: None,
        room: Some(room),
        on: true,
    })
    .await;

    assert!(mine(&mut ann).await.is_empty());

    // A named question, a plain message (not listed), an anonymous one.
    let named = ann
        .post_in(room, "When do we move floors?", true, None)
        .await;
    ann.post_in(room, "just a remark", false, None).await;
    let anon = match ann
        .request(ClientFrame::AskAnonymously {
            req_id: None,
            room,
            body: "Are the bonuses cut?".into(),
        })
        .await
    {
        ServerFrame::AnonymousQuestions { questions, .. } => questions[0].clone(),
        other => panic!("expected anonymous_questions, got {other:?}"),
    };

    let listed = mine(&mut ann).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].body, "Are the bonuses cut?");
    assert!(listed[0].anonymous);
    assert_eq!(listed[0].state, MyQuestionState::Pending);
    assert_eq!(listed[0].seq, None);
    assert_eq!(listed[1].body, "When do we move floors?");
    assert!(!listed[1].anonymous);
    assert_eq!(listed[1].state, MyQuestionState::Open);
    assert_eq!(listed[1].seq, Some(named));
    assert_eq!(listed[1].room_name, "town-hall");

    // The team publishes the anonymous one; the owner answers both.
    match tina
        .request(ClientFrame::Moderate {
            req_id: None,
            id: anon.id,
            action: ModerationAction::Approve,
        })
        .await
    {
        ServerFrame::AnonymousQuestion { question } => {
            assert!(matches!(question.status, AnonStatus::Approved { .. }))
        }
        ServerFrame::Ok { .. } => {}
        other => panic!("expected the approval, got {other:?}"),
    }
    let anon_seq = mine(&mut ann).await[0]
        .seq
        .expect("published: it has a seq");
    let a1 = olga.post_in(room, "In March, floor 4.", false, None).await;
    let a2 = olga.post_in(room, "No, they are not.", false, None).await;
    for (question, answer) in [(named, a1), (anon_seq, a2)] {
        olga.expect_ok(ClientFrame::MarkAnswer {
            req_id: None,
            room,
            question,
            answer,
        })
        .await;
    }

    let listed = mine(&mut ann).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (a, n) = (&listed[0], &listed[1]);
    assert_eq!(a.state, MyQuestionState::Answered);
    assert!(a.anonymous);
    let answer = a.answer.as_ref().expect("the anonymous question's answer");
    assert_eq!(answer.body, "No, they are not.");
    assert_eq!(answer.sender.username, "olga");
    assert_eq!(n.state, MyQuestionState::Answered);
    assert_eq!(
        n.answer.as_ref().map(|a| a.body.as_str()),
        Some("In March, floor 4.")
    );
    assert_eq!(n.answer.as_ref().map(|a| a.seq), Some(a1));

    // Nobody else is shown ann's questions: not the team that approved the
    // anonymous one, not the owner who answered, not a member.
    for (who, c) in [("tina", &mut tina), ("olga", &mut olga), ("bob", &mut bob)] {
        let theirs = mine(c).await;
        assert!(theirs.is_empty(), "{who} sees {theirs:?}");
    }
    // Bob's own question is his alone.
    bob.post_in(room, "Is parking free?", true, None).await;
    let bobs = mine(&mut bob).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].body, "Is parking free?");
    assert_eq!(mine(&mut ann).await.len(), 2);
}
