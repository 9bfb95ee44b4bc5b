//! Wire snapshots: the exact JSON of every frame type, so any change to the
//! protocol shows up in review, and decoding of bad input.

use townhall_protocol::*;
use uuid::Uuid;

fn room() -> RoomId {
    RoomId(Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0001))
}
fn uid() -> UserId {
    UserId(Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0002))
}
fn cid() -> Uuid {
    Uuid::from_u128(0x0196_0000_0000_4000_8000_0000_0000_0003)
}
fn alice() -> UserInfo {
    UserInfo {
        id: uid(),
        username: "alice".into(),
        display_name: "Alice".into(),
        role: Role::Staff,
        transformation_team: false,
        avatar: None,
    }
}
fn info() -> RoomInfo {
    RoomInfo {
        id: room(),
        name: "general".into(),
        topic: "".into(),
        visibility: Visibility::Public,
        kind: RoomKind::Room,
        member_count: 2,
        my_role: Some(RoomRole::Owner),
        dm_peer: None,
        announce_only: false,
        org_wide: false,
        archived: false,
    }
}
fn event() -> Event {
    Event {
        pos: 42,
        room: room(),
        seq: 7,
        ts: 1_700_000_000_000,
        sender: alice(),
        client_id: Some(cid()),
        content: Content::Message {
            body: "hello".into(),
            thread: None,
            question: false,
            attachments: Vec::new(),
        },
        state: MessageState::default(),
    }
}

const R: &str = "01960000-0000-7000-8000-000000000001";
const U: &str = "01960000-0000-7000-8000-000000000002";
const C: &str = "01960000-0000-4000-8000-000000000003";

fn expand(s: &str) -> String {
    s.replace("$R", R).replace("$U", U).replace("$C", C)
}

#[test]
fn client_frames_snapshot_and_round_trip() {
    let cases: Vec<(ClientFrame, &str)> = vec![
        (
            ClientFrame::Hello {
                version: 1,
                token: "t".into(),
                resume: Some(5),
                device: Some("d".into()),
            },
            r#"{"type":"hello","version":1,"token":"t","resume":5,"device":"d"}"#,
        ),
        (
            ClientFrame::Send {
                req_id: Some("1".into()),
                room: room(),
                client_id: cid(),
                body: "hi".into(),
                thread: None,
                question: false,
                attachments: Vec::new(),
            },
            r#"{"type":"send","req_id":"1","room":"$R","client_id":"$C","body":"hi"}"#,
        ),
        (
            ClientFrame::Edit {
                req_id: None,
                room: room(),
                seq: 7,
                body: "b".into(),
            },
            r#"{"type":"edit","room":"$R","seq":7,"body":"b"}"#,
        ),
        (
            ClientFrame::Delete {
                req_id: None,
                room: room(),
                seq: 7,
            },
            r#"{"type":"delete","room":"$R","seq":7}"#,
        ),
        (
            ClientFrame::React {
                req_id: None,
                room: room(),
                seq: 7,
                emoji: "👍".into(),
                on: true,
            },
            r#"{"type":"react","room":"$R","seq":7,"emoji":"👍","on":true}"#,
        ),
        (
            ClientFrame::MarkAnswer {
                req_id: None,
                room: room(),
                question: 7,
                answer: 9,
            },
            r#"{"type":"mark_answer","room":"$R","question":7,"answer":9}"#,
        ),
        (
            ClientFrame::Questions {
                req_id: None,
                sort: None,
                room: None,
            },
            r#"{"type":"questions"}"#,
        ),
        (
            ClientFrame::Vote {
                req_id: None,
                room: room(),
                seq: 7,
                on: true,
            },
            r#"{"type":"vote","room":"$R","seq":7,"on":true}"#,
        ),
        (
            ClientFrame::FollowThread {
                req_id: None,
                room: room(),
                seq: 7,
                on: false,
            },
            r#"{"type":"follow_thread","room":"$R","seq":7,"on":false}"#,
        ),
        (
            ClientFrame::SetRoomRole {
                req_id: None,
                room: room(),
                user: "bob".into(),
                role: RoomRole::Moderator,
            },
            r#"{"type":"set_room_role","room":"$R","user":"bob","role":"moderator"}"#,
        ),
        (
            ClientFrame::Broadcast {
                req_id: None,
                client_id: cid(),
                body: "b".into(),
                rooms: vec![],
                ack_requested: true,
            },
            r#"{"type":"broadcast","client_id":"$C","body":"b","ack_requested":true}"#,
        ),
        (
            ClientFrame::BroadcastReceipt {
                broadcast: cid(),
                kind: ReceiptKind::Opened,
            },
            r#"{"type":"broadcast_receipt","broadcast":"$C","kind":"opened"}"#,
        ),
        (
            ClientFrame::Reach {
                req_id: None,
                broadcast: cid(),
            },
            r#"{"type":"reach","broadcast":"$C"}"#,
        ),
        (
            ClientFrame::BroadcastRemind {
                req_id: None,
                broadcast: cid(),
            },
            r#"{"type":"broadcast_remind","broadcast":"$C"}"#,
        ),
        (
            ClientFrame::Following {
                req_id: Some("f".into()),
            },
            r#"{"type":"following","req_id":"f"}"#,
        ),
        (
            ClientFrame::Block {
                req_id: Some("b".into()),
                user: "mallory".into(),
                on: true,
            },
            r#"{"type":"block","req_id":"b","user":"mallory","on":true}"#,
        ),
        (
            ClientFrame::Blocked { req_id: None },
            r#"{"type":"blocked"}"#,
        ),
        (
            ClientFrame::Thread {
                req_id: None,
                room: room(),
                seq: 7,
                after: Some(9),
                limit: Some(50),
            },
            r#"{"type":"thread","room":"$R","seq":7,"after":9,"limit":50}"#,
        ),
        (
            ClientFrame::PendingAcks { req_id: None },
            r#"{"type":"pending_acks"}"#,
        ),
        (
            ClientFrame::ReceivedBroadcasts {
                req_id: None,
                before: None,
                limit: Some(20),
            },
            r#"{"type":"received_broadcasts","limit":20}"#,
        ),
        (
            ClientFrame::SentBroadcasts {
                req_id: None,
                before: None,
                limit: Some(20),
            },
            r#"{"type":"sent_broadcasts","limit":20}"#,
        ),
        (
            ClientFrame::Follow {
                req_id: None,
                user: "lead".into(),
                on: true,
            },
            r#"{"type":"follow","user":"lead","on":true}"#,
        ),
        (
            ClientFrame::MergeQuestions {
                req_id: None,
                room: room(),
                questions: vec![8, 9],
                into: 7,
            },
            r#"{"type":"merge_questions","room":"$R","questions":[8,9],"into":7}"#,
        ),
        (
            ClientFrame::OpenDm {
                req_id: None,
                user: "bob".into(),
            },
            r#"{"type":"open_dm","user":"bob"}"#,
        ),
        (
            ClientFrame::CreateRoom {
                req_id: None,
                name: "n".into(),
                topic: "t".into(),
                visibility: Visibility::Private,
                announce_only: false,
            },
            r#"{"type":"create_room","name":"n","topic":"t","visibility":"private"}"#,
        ),
        (
            ClientFrame::UpdateRoom {
                req_id: None,
                room: room(),
                name: Some("n".into()),
                topic: None,
                archived: Some(true),
            },
            r#"{"type":"update_room","room":"$R","name":"n","archived":true}"#,
        ),
        (
            ClientFrame::Join {
                req_id: None,
                room: room(),
            },
            r#"{"type":"join","room":"$R"}"#,
        ),
        (
            ClientFrame::Leave {
                req_id: None,
                room: room(),
            },
            r#"{"type":"leave","room":"$R"}"#,
        ),
        (
            ClientFrame::AddMember {
                req_id: None,
                room: room(),
                user: "bob".into(),
            },
            r#"{"type":"add_member","room":"$R","user":"bob"}"#,
        ),
        (
            ClientFrame::RemoveMember {
                req_id: None,
                room: room(),
                user: "bob".into(),
            },
            r#"{"type":"remove_member","room":"$R","user":"bob"}"#,
        ),
        (
            ClientFrame::MyRooms { req_id: None },
            r#"{"type":"my_rooms"}"#,
        ),
        (
            ClientFrame::Directory { req_id: None },
            r#"{"type":"directory"}"#,
        ),
        (
            ClientFrame::Members {
                req_id: None,
                room: room(),
            },
            r#"{"type":"members","room":"$R"}"#,
        ),
        (ClientFrame::Users { req_id: None }, r#"{"type":"users"}"#),
        (
            ClientFrame::History {
                req_id: None,
                room: room(),
                before: Some(10),
                after: None,
                limit: Some(50),
            },
            r#"{"type":"history","room":"$R","before":10,"limit":50}"#,
        ),
        (
            ClientFrame::AckPos {
                req_id: None,
                pos: 42,
            },
            r#"{"type":"ack_pos","pos":42}"#,
        ),
        (
            ClientFrame::MarkRead {
                req_id: None,
                room: room(),
                seq: 7,
            },
            r#"{"type":"mark_read","room":"$R","seq":7}"#,
        ),
        (
            ClientFrame::Summary { req_id: None },
            r#"{"type":"summary"}"#,
        ),
        (
            ClientFrame::Typing { room: room() },
            r#"{"type":"typing","room":"$R"}"#,
        ),
        (ClientFrame::Online { req_id: None }, r#"{"type":"online"}"#),
        (
            ClientFrame::Ping {
                req_id: Some("p".into()),
            },
            r#"{"type":"ping","req_id":"p"}"#,
        ),
        (
            ClientFrame::Search {
                req_id: Some("s".into()),
                query: "org chart in:#general".into(),
                sort: Some(SearchSort::Relevance),
                before_cursor: Some("20".into()),
                limit: Some(20),
            },
            r#"{"type":"search","req_id":"s","query":"org chart in:#general","sort":"relevance","before_cursor":"20","limit":20}"#,
        ),
        (
            ClientFrame::FaqPublish {
                req_id: None,
                room: room(),
                seq: 7,
                tags: vec!["pay".into()],
            },
            r#"{"type":"faq_publish","room":"$R","seq":7,"tags":["pay"]}"#,
        ),
        (
            ClientFrame::FaqTags {
                req_id: None,
                id: 3,
                tags: vec![],
            },
            r#"{"type":"faq_tags","id":3,"tags":[]}"#,
        ),
        (
            ClientFrame::FaqUnpublish {
                req_id: None,
                id: 3,
            },
            r#"{"type":"faq_unpublish","id":3}"#,
        ),
        (
            ClientFrame::Faq {
                req_id: None,
                tag: Some("pay".into()),
                q: Some("bonus".into()),
            },
            r#"{"type":"faq","tag":"pay","q":"bonus"}"#,
        ),
        (
            ClientFrame::FaqAnswer {
                req_id: None,
                room: room(),
                seq: 9,
                id: 3,
            },
            r#"{"type":"faq_answer","room":"$R","seq":9,"id":3}"#,
        ),
    ];
    assert_eq!(
        cases.len(),
        CLIENT_FRAME_TYPES.len(),
        "every client frame type has a snapshot"
    );
    let sorted = ClientFrame::Questions {
        req_id: None,
        sort: Some(QuestionSort::Score),
        room: Some(room()),
    };
    let json = expand(r#"{"type":"questions","sort":"score","room":"$R"}"#);
    assert_eq!(sorted.to_json(), json);
    assert_eq!(ClientFrame::decode(&json).expect("decodes"), sorted);
    for (frame, json) in cases {
        let json = expand(json);
        assert_eq!(frame.to_json(), json);
        assert_eq!(ClientFrame::decode(&json).expect("decodes"), frame);
        assert_same_on_both_paths(&json);
        // The same frame with spacing, keys reordered, and explicit nulls
        // for the optional fields, on both paths.
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&json).expect("object");
        let keys: Vec<String> = object.keys().rev().cloned().collect();
        let reordered: serde_json::Map<_, _> = keys
            .iter()
            .map(|k| (k.clone(), object[k].clone()))
            .collect();
        assert_same_on_both_paths(&serde_json::to_string_pretty(&reordered).expect("json"));
        object.insert("req_id".into(), serde_json::Value::Null);
        assert_same_on_both_paths(&serde_json::Value::Object(object).to_string());
    }
}

/// `decode`'s fast path (straight into the frame) accepts exactly what its
/// slow path (through a `Value`) accepts, with the same result, and refuses
/// with the slow path's code.
fn assert_same_on_both_paths(text: &str) {
    let fast = ClientFrame::decode(text);
    let slow = ClientFrame::decode_via_value(text);
    match (&fast, &slow) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
        (Err(a), Err(b)) => assert_eq!((a.code, &a.req_id), (b.code, &b.req_id), "{text}"),
        _ => panic!("the paths disagree on {text}: fast {fast:?}, slow {slow:?}"),
    }
}

#[test]
fn both_decoding_paths_agree_on_odd_input() {
    let r = R;
    let c = C;
    for text in [
        // Duplicate keys: a `Value` keeps the last one.
        format!(r#"{{"type":"send","room":"{r}","client_id":"{c}","body":"a","body":"b"}}"#),
        format!(r#"{{"type":"send","type":"send","room":"{r}","client_id":"{c}","body":"a"}}"#),
        // A frame that is an array of its fields, which serde would read
        // into a struct.
        format!(r#"["send",null,"{r}","{c}","a"]"#),
        r#"  ["ping"]"#.to_string(),
        // Numbers: a float, a negative, a huge one where an integer goes.
        format!(r#"{{"type":"edit","room":"{r}","seq":7.0,"body":"b"}}"#),
        format!(r#"{{"type":"edit","room":"{r}","seq":-1,"body":"b"}}"#),
        format!(r#"{{"type":"edit","room":"{r}","seq":1e30,"body":"b"}}"#),
        // Escapes in strings, which cannot be borrowed.
        format!(r#"{{"type":"send","room":"{r}","client_id":"{c}","body":"a\nb\u00e9\"q\""}}"#),
        format!(
            r#"{{"type":"send","room":"{r}","client_id":"{c}","body":"a","req_id":"\ud83d\ude00"}}"#
        ),
        // Whitespace before the object: JSON's, a no-break space, a BOM.
        " \t\r\n{\"type\":\"ping\"}".to_string(),
        "\u{a0}{\"type\":\"ping\"}".to_string(),
        "\u{feff}{\"type\":\"ping\"}".to_string(),
        // An unknown field, a wrong type, a null where a value is needed.
        format!(r#"{{"type":"send","room":"{r}","client_id":"{c}","body":"a","x":1}}"#),
        format!(r#"{{"type":"send","room":"{r}","client_id":"{c}","body":5}}"#),
        format!(r#"{{"type":"send","room":null,"client_id":"{c}","body":"a"}}"#),
        format!(r#"{{"type":"send","room":"{r}","client_id":"{c}","body":"a","question":null}}"#),
        // Trailing garbage, nesting, the type last.
        r#"{"type":"ping"} x"#.to_string(),
        r#"{"type":"ping","req_id":{"a":1}}"#.to_string(),
        r#"{"req_id":"z","type":"ping"}"#.to_string(),
        r#"{"type":"hello","version":1,"token":"t","resume":null}"#.to_string(),
    ] {
        assert_same_on_both_paths(&text);
    }
}

#[test]
fn server_frames_snapshot() {
    let ev = r#""pos":42,"room":"$R","seq":7,"ts":1700000000000,"sender":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"client_id":"$C","content":{"kind":"message","body":"hello"}"#;
    let room_json = r#"{"id":"$R","name":"general","topic":"","visibility":"public","kind":"room","member_count":2,"my_role":"owner"}"#;
    let cases: Vec<(ServerFrame, String)> = vec![
        (ServerFrame::Welcome { version: 1, user: alice(), resume_from: 3, reset: false, transformation_team: false }, r#"{"type":"welcome","version":1,"user":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"resume_from":3}"#.into()),
        (ServerFrame::Welcome { version: 1, user: alice(), resume_from: 3, reset: false, transformation_team: true }, r#"{"type":"welcome","version":1,"user":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"resume_from":3,"transformation_team":true}"#.into()),
        (ServerFrame::Event(event()), format!(r#"{{"type":"event",{ev}}}"#)),
        (ServerFrame::CaughtUp { pos: 42 }, r#"{"type":"caught_up","pos":42}"#.into()),
        (ServerFrame::Ack { req_id: Some("1".into()), client_id: cid(), room: room(), seq: 7, pos: 42, ts: 5, duplicate: false }, r#"{"type":"ack","req_id":"1","client_id":"$C","room":"$R","seq":7,"pos":42,"ts":5,"duplicate":false}"#.into()),
        (ServerFrame::error(Some("1".into()), ErrorCode::NotFound, "no such room or user"), r#"{"type":"error","req_id":"1","code":"not_found","message":"no such room or user"}"#.into()),
        (ServerFrame::Room { req_id: None, room: info() }, format!(r#"{{"type":"room","room":{room_json}}}"#)),
        (ServerFrame::Rooms { req_id: None, more: false, rooms: vec![info()] }, format!(r#"{{"type":"rooms","rooms":[{room_json}]}}"#)),
        (ServerFrame::Members { req_id: None, more: false, room: room(), members: vec![MemberInfo { user: alice(), role: RoomRole::Owner }] }, r#"{"type":"members","room":"$R","members":[{"user":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"role":"owner"}]}"#.into()),
        (ServerFrame::Users { req_id: None, more: false, users: vec![alice()] }, r#"{"type":"users","users":[{"id":"$U","username":"alice","display_name":"Alice","role":"staff"}]}"#.into()),
        (ServerFrame::History { req_id: None, room: room(), events: vec![event()], has_more: true }, format!(r#"{{"type":"history","room":"$R","events":[{{{ev}}}],"has_more":true}}"#)),
        (ServerFrame::SearchResults { req_id: Some("s".into()), results: vec![SearchResult { room: room(), seq: 7, author: alice(), ts: 5, snippet: "the org chart".into(), highlights: vec![[4, 7]] }], more: true, next_cursor: Some("20".into()), index_lag_ms: 0 }, r#"{"type":"search_results","req_id":"s","results":[{"room":"$R","seq":7,"author":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"ts":5,"snippet":"the org chart","highlights":[[4,7]]}],"more":true,"next_cursor":"20","index_lag_ms":0}"#.into()),
        (ServerFrame::Summary { req_id: None, more: false, rooms: vec![RoomSummary { room: info(), last_seq: 7, read_seq: 5, unread: 2, mentions: 1, latest: Some(event()) }] }, format!(r#"{{"type":"summary","rooms":[{{"room":{room_json},"last_seq":7,"read_seq":5,"unread":2,"mentions":1,"latest":{{{ev}}}}}]}}"#)),
        (ServerFrame::Thread { req_id: None, room: room(), parent: event(), replies: vec![event()], has_more: false }, format!(r#"{{"type":"thread","room":"$R","parent":{{{ev}}},"replies":[{{{ev}}}],"has_more":false}}"#)),
        (ServerFrame::Following { req_id: None, more: false, users: vec![alice()] }, r#"{"type":"following","users":[{"id":"$U","username":"alice","display_name":"Alice","role":"staff"}]}"#.into()),
        (ServerFrame::Blocked { req_id: Some("b".into()), more: false, users: vec![alice()] }, r#"{"type":"blocked","req_id":"b","users":[{"id":"$U","username":"alice","display_name":"Alice","role":"staff"}]}"#.into()),
        (ServerFrame::ReadMarker { room: room(), seq: 7 }, r#"{"type":"read_marker","room":"$R","seq":7}"#.into()),
        (ServerFrame::Ok { req_id: Some("2".into()), pos: 43 }, r#"{"type":"ok","req_id":"2","pos":43}"#.into()),
        (ServerFrame::Typing { room: room(), user: alice() }, r#"{"type":"typing","room":"$R","user":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"}}"#.into()),
        (ServerFrame::Presence { user: uid(), online: true }, r#"{"type":"presence","user":"$U","online":true}"#.into()),
        (ServerFrame::Online { req_id: None, more: false, users: vec![uid()] }, r#"{"type":"online","users":["$U"]}"#.into()),
        (ServerFrame::Online { req_id: Some("o".into()), more: true, users: vec![uid()] }, r#"{"type":"online","req_id":"o","users":["$U"],"more":true}"#.into()),
        (ServerFrame::Pong { req_id: None }, r#"{"type":"pong"}"#.into()),
        (ServerFrame::QuestionVotes { room: room(), seq: 7, votes: 3 }, r#"{"type":"question_votes","room":"$R","seq":7,"votes":3}"#.into()),
        (ServerFrame::Notice { pos: 50, room: room(), room_name: "general".into(), seq: 7, kind: NoticeKind::Answered, event_seq: 12, by: alice() }, r#"{"type":"notice","pos":50,"room":"$R","room_name":"general","seq":7,"kind":"answered","event_seq":12,"by":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"}}"#.into()),
        (ServerFrame::BroadcastPosted { req_id: None, broadcast: cid(), audience: 5, duplicate: false }, r#"{"type":"broadcast_posted","broadcast":"$C","audience":5,"duplicate":false}"#.into()),
        (ServerFrame::ReachUpdate { broadcast: cid(), counts: ReachCounts { audience: 5, delivered: 3, opened: 2, acknowledged: 1 } }, r#"{"type":"reach_update","broadcast":"$C","counts":{"audience":5,"delivered":3,"opened":2,"acknowledged":1}}"#.into()),
        (ServerFrame::Reach { req_id: None, more: false, broadcast: cid(), counts: ReachCounts { audience: 1, delivered: 1, opened: 0, acknowledged: 0 }, readers: vec![ReachEntry { user: alice(), delivered_at: 5, opened_at: 0, acknowledged_at: 0 }], ack_requested: false, reminders: vec![] }, r#"{"type":"reach","broadcast":"$C","counts":{"audience":1,"delivered":1,"opened":0,"acknowledged":0},"readers":[{"user":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"delivered_at":5,"opened_at":0,"acknowledged_at":0}]}"#.into()),
        (ServerFrame::Reach { req_id: None, more: false, broadcast: cid(), counts: ReachCounts { audience: 1, delivered: 0, opened: 0, acknowledged: 0 }, readers: vec![], ack_requested: true, reminders: vec![Reminder { at: 9, reminded: 1, by: alice() }] }, r#"{"type":"reach","broadcast":"$C","counts":{"audience":1,"delivered":0,"opened":0,"acknowledged":0},"readers":[],"ack_requested":true,"reminders":[{"at":9,"reminded":1,"by":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"}}]}"#.into()),
        (ServerFrame::BroadcastReminded { req_id: None, broadcast: cid(), reminded: 4, at: 9 }, r#"{"type":"broadcast_reminded","broadcast":"$C","reminded":4,"at":9}"#.into()),
        (ServerFrame::BroadcastReminder { pos: 50, broadcast: cid(), room: room(), seq: 7, sender: alice(), by: alice(), at: 9 }, r#"{"type":"broadcast_reminder","pos":50,"broadcast":"$C","room":"$R","seq":7,"sender":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"by":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"at":9}"#.into()),
        (ServerFrame::PendingAcks { req_id: None, more: false, broadcasts: vec![PendingAck { broadcast: cid(), room: room(), seq: 7, sender: alice(), body: "b".into(), ts: 5 }] }, r#"{"type":"pending_acks","broadcasts":[{"broadcast":"$C","room":"$R","seq":7,"sender":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"body":"b","ts":5}]}"#.into()),
        (ServerFrame::SentBroadcasts { req_id: None, before: None, broadcasts: vec![townhall_protocol::sent::SentBroadcast { broadcast: cid(), sent_at: 5, rooms: vec![townhall_protocol::sent::SentRoom { id: room(), name: "general".into() }], ack_requested: true, counts: townhall_protocol::ReachCounts { audience: 3, delivered: 2, opened: 1, acknowledged: 1 }, deleted: true, text: None }] }, r#"{"type":"sent_broadcasts","broadcasts":[{"broadcast":"$C","sent_at":5,"rooms":[{"id":"$R","name":"general"}],"ack_requested":true,"counts":{"audience":3,"delivered":2,"opened":1,"acknowledged":1},"deleted":true}]}"#.into()),
        (ServerFrame::ReceivedBroadcasts { req_id: None, before: Some(cid()), broadcasts: vec![townhall_protocol::received::ReceivedBroadcast { broadcast: cid(), room: room(), seq: 7, sender: alice(), body: "b".into(), ts: 5, ack_requested: true, delivered_at: 6, opened_at: 0, acknowledged_at: 0 }] }, r#"{"type":"received_broadcasts","broadcasts":[{"broadcast":"$C","room":"$R","seq":7,"sender":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"body":"b","ts":5,"ack_requested":true,"delivered_at":6,"opened_at":0,"acknowledged_at":0}],"before":"$C"}"#.into()),
        (
            ServerFrame::Questions {
                req_id: None,
                more: false,
                questions: vec![OpenQuestion { room: room(), room_name: "general".into(), seq: 7, asker: alice(), body: "why?".into(), asked_at: 5, age_ms: 60_000, votes: 4, voted: true, following: true }],
                open: 3,
                median_answer_ms_7d: Some(120_000),
                median_answer_ms_30d: None,
            },
            r#"{"type":"questions","questions":[{"room":"$R","room_name":"general","seq":7,"asker":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"body":"why?","asked_at":5,"age_ms":60000,"votes":4,"voted":true,"following":true}],"open":3,"median_answer_ms_7d":120000}"#.into(),
        ),
    ];
    for (frame, json) in cases {
        let json = expand(&json);
        assert_eq!(frame.to_json(), json);
        assert_eq!(
            serde_json::from_str::<ServerFrame>(&json).expect("parses"),
            frame
        );
    }
}

#[test]
fn message_changes_and_state_snapshot() {
    let mut e = event();
    e.content = Content::Message {
        body: "q?".into(),
        thread: Some(3),
        question: true,
        attachments: Vec::new(),
    };
    e.state.answer = Some(9);
    e.state.replies = 2;
    e.state.reactions.insert("👍".into(), vec![uid()]);
    let json = serde_json::to_string(&e).expect("json");
    assert!(
        json.contains(r#""content":{"kind":"message","body":"q?","thread":3,"question":true}"#),
        "{json}"
    );
    assert!(
        json.ends_with(&expand(
            r#""state":{"reactions":{"👍":["$U"]},"answer":9,"replies":2}}"#
        )),
        "{json}"
    );
    for (c, want) in [
        (
            Content::Edited {
                target: 7,
                body: "b".into(),
            },
            r#"{"kind":"edited","target":7,"body":"b"}"#,
        ),
        (
            Content::Deleted { target: 7 },
            r#"{"kind":"deleted","target":7}"#,
        ),
        (
            Content::Reaction {
                target: 7,
                emoji: "🎉".into(),
                on: false,
            },
            r#"{"kind":"reaction","target":7,"emoji":"🎉","on":false}"#,
        ),
        (
            Content::Answered {
                question: 7,
                answer: 9,
            },
            r#"{"kind":"answered","question":7,"answer":9}"#,
        ),
    ] {
        assert_eq!(serde_json::to_string(&c).expect("json"), want);
    }
    // A plain message carries no state and no optional fields.
    assert!(
        !serde_json::to_string(&event())
            .expect("json")
            .contains("state")
    );
}

#[test]
fn membership_and_created_events_snapshot() {
    let c = Content::Member {
        user: alice(),
        action: MemberAction::Removed,
    };
    assert_eq!(
        serde_json::to_string(&c).expect("json"),
        expand(
            r#"{"kind":"member","user":{"id":"$U","username":"alice","display_name":"Alice","role":"staff"},"action":"removed"}"#
        )
    );
    let c = Content::Created {
        name: "n".into(),
        topic: "".into(),
        visibility: Visibility::Public,
        room_kind: RoomKind::Dm,
    };
    assert_eq!(
        serde_json::to_string(&c).expect("json"),
        r#"{"kind":"created","name":"n","topic":"","visibility":"public","room_kind":"dm"}"#
    );
    let c = Content::RoomUpdated {
        name: None,
        topic: Some("t".into()),
        archived: Some(false),
    };
    assert_eq!(
        serde_json::to_string(&c).expect("json"),
        r#"{"kind":"room_updated","topic":"t","archived":false}"#
    );
}

#[test]
fn decoding_tells_bad_input_apart() {
    let code = |s: &str| ClientFrame::decode(s).expect_err("must fail").code;
    assert_eq!(code("{"), ErrorCode::BadJson);
    assert_eq!(code("42"), ErrorCode::BadJson);
    assert_eq!(code(r#"{"no":"type"}"#), ErrorCode::UnknownType);
    assert_eq!(code(r#"{"type":7}"#), ErrorCode::UnknownType);
    assert_eq!(code(r#"{"type":"nope"}"#), ErrorCode::UnknownType);
    assert_eq!(code(r#"{"type":"join"}"#), ErrorCode::MissingField);
    assert_eq!(
        code(r#"{"type":"join","room":"x"}"#),
        ErrorCode::InvalidField
    );
    assert_eq!(
        code(r#"{"type":"ping","surprise":1}"#),
        ErrorCode::InvalidField
    );
    let e = ClientFrame::decode(r#"{"type":"join","req_id":"q"}"#).expect_err("missing room");
    assert_eq!(e.req_id.as_deref(), Some("q"));
    // A huge unknown type is not echoed back whole.
    let long = format!(r#"{{"type":"{}"}}"#, "x".repeat(10_000));
    assert!(
        ClientFrame::decode(&long)
            .expect_err("unknown")
            .message
            .len()
            < 200
    );
}

#[test]
fn error_codes_are_snake_case_and_listed() {
    for code in ErrorCode::ALL {
        let json = serde_json::to_string(code).expect("json");
        assert_eq!(json, format!("\"{}\"", code.as_str()));
    }
}

/// `ack_pos` may carry a `req_id` (then it is answered `ok` once stored);
/// without one it is the frame it always was.
#[test]
fn ack_pos_takes_an_optional_req_id() {
    let json = r#"{"type":"ack_pos","req_id":"9","pos":42}"#;
    let frame = ClientFrame::AckPos {
        req_id: Some("9".into()),
        pos: 42,
    };
    assert_eq!(frame.to_json(), json);
    assert_eq!(ClientFrame::decode(json).expect("decodes"), frame);
    assert_eq!(frame.req_id(), Some("9"));
}
