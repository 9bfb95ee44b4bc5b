//! Bad input gets its documented error code, never a panic, never another
//! user's connection closed, never stored data lost.

use tokio_tungstenite::tungstenite::Message;
use townhall_protocol::{
    ClientFrame, ErrorCode, MAX_BODY_BYTES, MAX_FRAME_BYTES, PROTOCOL_VERSION, RoomId, ServerFrame,
    Visibility, close,
};
use townhall_tests::{Client, TestServer, bodies};

async fn raw_error(c: &mut Client, text: &str) -> (ErrorCode, Option<String>) {
    c.send_raw(text).await;
    match c
        .expect("an error", |f| matches!(f, ServerFrame::Error { .. }))
        .await
    {
        ServerFrame::Error { code, req_id, .. } => (code, req_id),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn each_kind_of_bad_frame_gets_its_code_and_the_connection_stays_usable() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    bob.join(room.id).await;

    assert_eq!(raw_error(&mut a, "{not json").await.0, ErrorCode::BadJson);
    assert_eq!(raw_error(&mut a, "[1,2,3]").await.0, ErrorCode::BadJson);
    assert_eq!(
        raw_error(&mut a, r#"{"type":"launch_missiles","req_id":"x"}"#).await,
        (ErrorCode::UnknownType, Some("x".into()))
    );
    assert_eq!(
        raw_error(&mut a, r#"{"req_id":"y"}"#).await,
        (ErrorCode::UnknownType, Some("y".into()))
    );
    // protocol.md, errors: a `type` that is not a string is unknown_type;
    // an id that is not a UUID is invalid_field, never not_found.
    assert_eq!(
        raw_error(&mut a, r#"{"type":1,"req_id":"t"}"#).await,
        (ErrorCode::UnknownType, Some("t".into()))
    );
    assert_eq!(
        raw_error(&mut a, r#"{"type":"join","req_id":"j","room":"general"}"#).await,
        (ErrorCode::InvalidField, Some("j".into()))
    );
    assert_eq!(
        raw_error(
            &mut a,
            r#"{"type":"send","req_id":"z","room":"00000000-0000-0000-0000-000000000000"}"#
        )
        .await,
        (ErrorCode::MissingField, Some("z".into()))
    );
    assert_eq!(
        raw_error(&mut a, r#"{"type":"history","room":"not-a-uuid"}"#)
            .await
            .0,
        ErrorCode::InvalidField
    );
    assert_eq!(
        raw_error(&mut a, r#"{"type":"history","room":12}"#).await.0,
        ErrorCode::InvalidField
    );
    assert_eq!(
        raw_error(
            &mut a,
            &format!(r#"{{"type":"hello","version":{PROTOCOL_VERSION},"token":"t"}}"#)
        )
        .await
        .0,
        ErrorCode::InvalidField,
        "a second hello"
    );
    a.send_message(Message::binary(vec![1, 2, 3])).await;
    let e = a
        .expect("binary refused", |f| matches!(f, ServerFrame::Error { .. }))
        .await;
    assert!(matches!(
        e,
        ServerFrame::Error {
            code: ErrorCode::BadJson,
            ..
        }
    ));
    a.expect_error(
        ClientFrame::History {
            req_id: None,
            room: RoomId::new(),
            before: None,
            after: None,
            limit: None,
        },
        ErrorCode::NotFound,
    )
    .await;
    a.expect_error(
        ClientFrame::Send {
            req_id: None,
            room: room.id,
            client_id: uuid::Uuid::new_v4(),
            body: "x".repeat(MAX_BODY_BYTES + 1),
            thread: None,
            question: false,
            attachments: Vec::new(),
        },
        ErrorCode::BodyTooLarge,
    )
    .await;
    a.expect_error(
        ClientFrame::Send {
            req_id: None,
            room: room.id,
            client_id: uuid::Uuid::new_v4(),
            body: String::new(),
            thread: None,
            question: false,
            attachments: Vec::new(),
        },
        ErrorCode::BodyTooLarge,
    )
    .await;
    a.expect_error(
        ClientFrame::CreateRoom {
            req_id: None,
            name: "  ".into(),
            topic: String::new(),
            visibility: Visibility::Public,
            announce_only: false,
        },
        ErrorCode::InvalidField,
    )
    .await;
    a.expect_error(
        ClientFrame::History {
            req_id: None,
            room: room.id,
            before: Some(5),
            after: Some(1),
            limit: None,
        },
        ErrorCode::InvalidField,
    )
    .await;

    // A maximal body of control characters (six bytes each once escaped as
    // JSON) still fits in a frame and goes through.
    a.post(room.id, &"\u{1}".repeat(MAX_BODY_BYTES)).await;
    // The biggest allowed body goes through.
    a.post(room.id, &"y".repeat(MAX_BODY_BYTES)).await;
    // Still usable, and bob never noticed.
    a.post(room.id, "still here").await;
    bob.message("still here").await;
}

#[tokio::test]
async fn an_oversized_message_closes_only_that_connection_with_1009() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    bob.join(room.id).await;
    a.send_raw(&"x".repeat(MAX_FRAME_BYTES + 1)).await;
    assert_eq!(a.expect_close().await, Some(close::TOO_BIG));
    // The others carry on, and nothing stored was lost.
    let (mut a2, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    a2.post(room.id, "after the big one").await;
    bob.message("after the big one").await;
}

#[tokio::test]
async fn authentication_failures_get_a_code_and_close_4001() {
    let server = TestServer::start_with(&["--auth-timeout-secs", "1"]).await;
    let (_, token) = server.user("alice").await;

    let cases: Vec<(String, ErrorCode)> = vec![
        (r#"{"type":"ping"}"#.into(), ErrorCode::NotAuthenticated),
        (
            format!(r#"{{"type":"hello","version":{PROTOCOL_VERSION},"token":"garbage"}}"#),
            ErrorCode::BadToken,
        ),
        (
            format!(r#"{{"type":"hello","version":999,"token":"{token}"}}"#),
            ErrorCode::UnsupportedVersion,
        ),
        ("nonsense".into(), ErrorCode::BadJson),
    ];
    for (first, code) in cases {
        let mut c = Client::open(&server.ws_url()).await;
        c.send_raw(&first).await;
        match c.next().await {
            ServerFrame::Error { code: got, .. } => assert_eq!(got, code, "for {first}"),
            other => panic!("{first}: {other:?}"),
        }
        assert_eq!(
            c.expect_close().await,
            Some(close::AUTH_FAILED),
            "for {first}"
        );
    }
    // Silence past the auth timeout.
    let mut c = Client::open(&server.ws_url()).await;
    match c.next().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::AuthTimeout),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.expect_close().await, Some(close::AUTH_FAILED));
}

#[tokio::test]
async fn logout_revokes_the_token_and_closes_its_sockets() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut c, _, _) = server.connect_caught_up(&token, None, None).await;
    let resp = reqwest::Client::new()
        .post(server.http("/api/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(c.expect_close().await, Some(close::LOGGED_OUT));
    let mut again = Client::open(&server.ws_url()).await;
    again
        .send(&ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            token: token.clone(),
            resume: None,
            device: None,
        })
        .await;
    assert!(matches!(
        again.next().await,
        ServerFrame::Error {
            code: ErrorCode::BadToken,
            ..
        }
    ));
}

#[tokio::test]
async fn http_errors_use_the_same_codes() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let http = reqwest::Client::new();
    let body = |r: reqwest::Response| async move {
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().await.expect("json")["code"].clone(),
        )
    };
    let r = http
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username":"alice","password":"wrong-password"}))
        .send()
        .await
        .expect("req");
    assert_eq!(body(r).await, (401, "invalid_credentials".into()));
    let r = http
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username":"nobody","password":"wrong-password"}))
        .send()
        .await
        .expect("req");
    assert_eq!(
        body(r).await,
        (401, "invalid_credentials".into()),
        "unknown user: same answer"
    );
    let r = http
        .post(server.http("/api/login"))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .expect("req");
    assert_eq!(body(r).await, (400, "invalid_field".into()));
    let r = http
        .post(server.http("/api/admin/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"username":"x","password":"12345678"}))
        .send()
        .await
        .expect("req");
    assert_eq!(
        body(r).await,
        (403, "forbidden".into()),
        "staff cannot make users"
    );
    let r = http
        .post(server.http("/api/admin/users"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({"username":"alice","password":"12345678"}))
        .send()
        .await
        .expect("req");
    assert_eq!(body(r).await, (409, "name_taken".into()));
    let r = http
        .post(server.http("/api/logout"))
        .bearer_auth("nope")
        .send()
        .await
        .expect("req");
    assert_eq!(body(r).await, (401, "bad_token".into()));
}

#[tokio::test]
async fn a_websocket_from_a_foreign_origin_is_refused() {
    let server = TestServer::start_with(&["--allowed-origins", "https://chat.example.com"]).await;
    let (_, token) = server.user("alice").await;
    let try_origin = |origin: &'static str| {
        let url = server.ws_url();
        async move {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = url.into_client_request().expect("request");
            req.headers_mut()
                .insert("Origin", origin.parse().expect("header"));
            match tokio_tungstenite::connect_async(req).await {
                Ok((mut ws, _)) => {
                    let _ = ws.close(None).await;
                    200
                }
                Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
                Err(e) => panic!("{e}"),
            }
        }
    };
    assert_eq!(try_origin("https://chat.example.com").await, 200);
    assert_eq!(
        try_origin("https://chat.example.com.evil.example").await,
        403
    );
    assert_eq!(try_origin("null").await, 403);
    assert_eq!(try_origin("http://evil.example").await, 403);
    // Same origin as the server itself works (the web client's case).
    let own: &'static str = Box::leak(format!("http://{}", server.addr).into_boxed_str());
    assert_eq!(try_origin(own).await, 200);
    let (_, backlog, _) = server.connect_caught_up(&token, None, None).await;
    assert!(bodies(&backlog).is_empty());
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_as_slow_and_loses_nothing() {
    let server = TestServer::start_with(&["--outbox-frames", "64"]).await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("flood", Visibility::Public).await;
    let (mut bob, _, bob_pos) = server.connect_caught_up(&bob_token, None, None).await;
    bob.join(room.id).await;
    // Carol keeps reading throughout: she must get everything live, unharmed.
    let (_, carol_token) = server.user("carol").await;
    let (mut carol, _, _) = server.connect_caught_up(&carol_token, None, None).await;
    carol.join(room.id).await;
    let carol_reads = tokio::spawn(async move {
        let mut got = 0;
        while got < 600 {
            if townhall_tests::body(&carol.next_event().await).is_some() {
                got += 1;
            }
        }
        carol
    });
    // Bob stops reading; alice floods with big messages so socket buffers fill.
    let big = "z".repeat(8 * 1024);
    // (Alice reads as she goes, in small steps, so only bob falls behind.)
    for step in 0..60 {
        for i in step * 10..step * 10 + 10 {
            a.send(&ClientFrame::Send {
                req_id: None,
                room: room.id,
                client_id: uuid::Uuid::new_v4(),
                body: format!("{i} {big}"),
                thread: None,
                question: false,
                attachments: Vec::new(),
            })
            .await;
        }
        for _ in 0..10 {
            a.expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
                .await;
        }
        while a.pending_frame().is_some() {}
    }
    // Carol received all 600 live, without being closed.
    let mut carol = tokio::time::timeout(std::time::Duration::from_secs(30), carol_reads)
        .await
        .expect("carol kept up")
        .expect("carol");
    carol.request(ClientFrame::Ping { req_id: None }).await;
    // Bob's connection was closed with slow_consumer (after whatever was in flight).
    assert_eq!(bob.expect_close().await, Some(close::SLOW_CONSUMER));
    // On reconnect he receives everything from his queue.
    let (_, backlog, _) = server
        .connect_caught_up(&bob_token, Some(bob_pos), None)
        .await;
    let got: Vec<String> = bodies(&backlog)
        .iter()
        .map(|b| b.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, (0..600).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_flood_is_throttled_with_rate_limited_and_then_disconnected_while_others_carry_on() {
    let server = TestServer::start_with(&["--requests-per-sec", "20"]).await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    bob.join(room.id).await;
    // The burst is 80 (4 s of 20/s, less what setting up took): request 200 pings at once.
    for i in 0..200 {
        a.send(&ClientFrame::Ping {
            req_id: Some(format!("p{i}")),
        })
        .await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    while pongs + limited < 200 {
        match a.next().await {
            ServerFrame::Event(_) => {} // membership events of the room
            ServerFrame::Pong { .. } => pongs += 1,
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                req_id: Some(_),
                ..
            } => limited += 1,
            other => panic!("{other:?}"),
        }
    }
    assert!(
        (60..200).contains(&pongs) && limited > 0,
        "pongs {pongs}, limited {limited}"
    );
    // Bob is unaffected.
    bob.post(room.id, "calm").await;
    // Keep flooding far past the limit: the connection is closed with 1008.
    for i in 0..5_000 {
        if a.try_send_raw(&format!(r#"{{"type":"ping","req_id":"f{i}"}}"#))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(a.expect_close().await, Some(close::POLICY));
    let (mut a2, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    a2.post(room.id, "back, slower").await;
    bob.message("back, slower").await;
}

/// Hundreds of connections trickling their request a byte at a time are
/// dropped after the header timeout; a normal client connects meanwhile.
#[tokio::test]
async fn slow_trickling_handshakes_are_dropped_and_do_not_block_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(&["--header-timeout-secs", "2"]).await;
    let (_, token) = server.user("alice").await;
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        slow.push(s);
    }
    let started = std::time::Instant::now();
    // Meanwhile a normal client gets in at once.
    let (_, _, _) = server.connect_caught_up(&token, None, None).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "normal client took {:?}",
        started.elapsed()
    );
    // Keep trickling one byte a second; every slow one must be closed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut open = slow.len();
    while open > 0 && std::time::Instant::now() < deadline {
        open = 0;
        for s in &mut slow {
            if s.write_all(b"X").await.is_err() {
                continue;
            }
            let mut buf = [0u8; 256];
            match tokio::time::timeout(std::time::Duration::from_millis(5), s.read(&mut buf)).await
            {
                Ok(Ok(0)) | Ok(Err(_)) => {}
                _ => open += 1,
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(
        open, 0,
        "{open} trickling connections still open after 10 s"
    );
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// A message over the cap built from many small continuation frames is
/// refused like one big frame, and the server's memory barely moves.
#[tokio::test]
async fn an_oversized_message_in_many_small_fragments_is_refused_with_1009() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let before = rss_kib(server.pid());
    for _ in 0..5 {
        let (mut c, _, _) = server.connect_caught_up(&token, None, None).await;
        let chunk = vec![b'x'; 1024];
        for i in 0..200 {
            let header = FrameHeader {
                is_final: false,
                opcode: if i == 0 {
                    OpCode::Data(Data::Text)
                } else {
                    OpCode::Data(Data::Continue)
                },
                ..FrameHeader::default()
            };
            if c.try_send_message(Message::Frame(Frame::from_payload(
                header,
                chunk.clone().into(),
            )))
            .await
            .is_err()
            {
                break;
            }
        }
        assert_eq!(c.expect_close().await, Some(close::TOO_BIG));
    }
    let after = rss_kib(server.pid());
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

/// A peer that answers pings stays connected well past the idle limit
/// (three ping intervals): every frame it sends moves the limit on.
#[tokio::test]
async fn a_live_peer_outlasts_the_idle_limit() {
    let server = TestServer::start_with(&["--ping-secs", "1"]).await;
    let (_, token) = server.user("alice").await;
    let (mut c, _, _) = server.connect_caught_up(&token, None, None).await;
    // Read (which answers each ping with a pong) through five pings: more
    // than 4 s, past the 3 s idle limit.
    let mut pings = 0;
    while pings < 5 {
        match c.next_message().await {
            Some(Message::Ping(_)) => pings += 1,
            Some(Message::Close(f)) => panic!("closed while answering pings: {f:?}"),
            None => panic!("the connection ended while answering pings"),
            Some(_) => {}
        }
    }
    let reply = c.request(ClientFrame::Ping { req_id: None }).await;
    assert!(
        matches!(reply, ServerFrame::Pong { .. }),
        "expected a pong, got {reply:?}"
    );
}

/// A peer that goes silent (answers no pings) is dropped after three ping
/// intervals, and its session is freed.
#[tokio::test]
async fn a_dead_peer_is_dropped_after_missing_pings() {
    let server = TestServer::start_with(&["--ping-secs", "1"]).await;
    let (_, token) = server.user("alice").await;
    let (c, _, _) = server.connect_caught_up(&token, None, None).await;
    // Stop reading entirely: tungstenite only answers pings while polled.
    let started = std::time::Instant::now();
    let sessions = || async {
        let text = reqwest::get(server.http("/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|l| l.strip_prefix("townhall_sessions "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(99)
    };
    assert_eq!(sessions().await, 1);
    while sessions().await != 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(8),
            "silent peer still registered after 8 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    drop(c);
}

#[tokio::test]
async fn a_req_id_longer_than_128_bytes_is_refused_and_not_echoed() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut c, _, _) = server.connect_caught_up(&token, None, None).await;
    let long = "r".repeat(townhall_protocol::MAX_REQ_ID_BYTES + 1);
    for frame in [
        format!(r#"{{"type":"ping","req_id":"{long}"}}"#),
        // The slow path (a bad field as well) gives the same answer.
        format!(r#"{{"type":"history","req_id":"{long}","room":7}}"#),
    ] {
        let (code, req_id) = raw_error(&mut c, &frame).await;
        assert_eq!(req_id, None, "a refused req_id is not echoed");
        assert!(matches!(code, ErrorCode::InvalidField), "{code:?}");
    }
    let fits = "r".repeat(townhall_protocol::MAX_REQ_ID_BYTES);
    c.send_raw(&format!(r#"{{"type":"ping","req_id":"{fits}"}}"#))
        .await;
    let pong = c
        .expect("pong", |f| matches!(f, ServerFrame::Pong { .. }))
        .await;
    assert_eq!(pong.req_id(), Some(fits.as_str()));
}
