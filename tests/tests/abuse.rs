//! Abuse by an ordinary account (security issue 17, findings 3 and 5):
//! typing floods, reserved and bidi-spoofing names, blocks, leaving DMs and
//! mass adds.

use std::time::Instant;
use townhall_protocol::{ClientFrame, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer};

/// Typing frames bob has received and buffered so far (call after a
/// barrier: a `ping` answered on bob's own queue, behind any typing).
fn typing_frames_buffered(c: &mut Client) -> usize {
    let mut n = 0;
    while let Some(f) = c.pending_frame() {
        if matches!(f, ServerFrame::Typing { .. }) {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn typing_from_32_sockets_of_one_user_reaches_a_recipient_once_per_window() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let mut alice = Vec::new();
    for _ in 0..32 {
        alice.push(server.connect(&alice_token).await);
    }
    let room = alice[0].create_room("lobby", Visibility::Public).await;
    bob.join(room.id).await;

    let started = Instant::now();
    for a in alice.iter_mut() {
        a.send(&ClientFrame::Typing { room: room.id }).await;
    }
    // Barrier: each of alice's sessions handles its frames in order, so once
    // every pong is back every typing has been fanned out (or dropped)...
    for a in alice.iter_mut() {
        a.request(ClientFrame::Ping { req_id: None }).await;
    }
    // ...and bob's pong queues behind any typing frame already sent to him.
    bob.request(ClientFrame::Ping { req_id: None }).await;
    let elapsed = started.elapsed();
    let got = typing_frames_buffered(&mut bob);

    // One per 3 s window that the burst spanned (one, unless this machine
    // took over 3 s to send 64 small frames).
    let windows = 1 + (elapsed.as_secs() / 3) as usize;
    assert!(
        (1..=windows).contains(&got),
        "bob got {got} typing frames in {elapsed:?} from 32 sockets; seen: {:#?}",
        bob.seen
    );
}
