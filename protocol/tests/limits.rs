//! The size bounds that `MAX_SERVER_FRAME_BYTES` rests on: the largest
//! event a client can make the server store is within `MAX_EVENT_BYTES`,
//! and the server's frame cap holds a full reply budget plus two of them.

use townhall_protocol::*;
use uuid::Uuid;

/// Names are at most 64 characters (display) and 32 (username); a control
/// character is the worst case, six bytes once escaped.
fn worst_user() -> UserInfo {
    UserInfo {
        id: UserId::new(),
        username: "u".repeat(32),
        display_name: "\u{1}".repeat(64),
        role: Role::Staff,
        transformation_team: true,
        avatar: Some(u32::MAX),
    }
}

#[test]
fn the_largest_event_is_within_max_event_bytes() {
    let body = "\u{1}".repeat(MAX_BODY_BYTES);
    let mut state = MessageState {
        edited_at: Some(u64::MAX),
        answer: Some(u64::MAX),
        replies: u64::MAX,
        merged_into: Some(u64::MAX),
        edits: vec![u64::MAX; MAX_EDITS],
        merged: vec![u64::MAX; MAX_MERGED],
        ..MessageState::default()
    };
    for emoji in REACTIONS {
        let listed = (0..REACTORS_LISTED).map(|_| UserId::new()).collect();
        state.reactions.insert(emoji.to_string(), listed);
        state.reactions_more.insert(emoji.to_string(), u64::MAX);
    }
    state.deleted = false;
    for content in [
        Content::Message {
            body: body.clone(),
            thread: Some(u64::MAX),
            question: true,
            attachments: Vec::new(),
        },
        Content::Broadcast {
            body: body.clone(),
            broadcast: Uuid::new_v4(),
            ack_requested: true,
        },
        Content::Edited {
            target: u64::MAX,
            body: body.clone(),
        },
    ] {
        let event = Event {
            pos: u64::MAX,
            room: RoomId::new(),
            seq: u64::MAX,
            ts: u64::MAX,
            sender: worst_user(),
            client_id: Some(Uuid::new_v4()),
            content,
            state: state.clone(),
        };
        let frame = ServerFrame::Event(event).to_json();
        assert!(
            frame.len() <= MAX_EVENT_BYTES,
            "{} bytes > {MAX_EVENT_BYTES}",
            frame.len()
        );
    }
}

#[test]
fn the_frame_cap_holds_a_reply_budget_and_two_largest_events() {
    // A thread reply: its parent beside a page of replies that is either
    // within the budget or a single reply.
    const { assert!(MAX_REPLY_BYTES + 2 * MAX_EVENT_BYTES + 4096 <= MAX_SERVER_FRAME_BYTES) };
    // A client's largest frame is far below what the server sends back.
    const { assert!(MAX_FRAME_BYTES <= MAX_SERVER_FRAME_BYTES) };
}
