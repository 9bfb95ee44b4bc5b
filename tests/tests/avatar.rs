//! Profile pictures (issue 13): a person sets their own over HTTP; everyone
//! online hears of it as `user_updated`, and any logged-in user fetches it
//! as a small square PNG the server made (never the uploaded bytes).
//! Non-images, markup, bombs and oversize bodies are refused with their
//! documented codes, and changes are rate limited per user.

use std::io::Cursor;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use townhall_protocol::{ClientFrame, ServerFrame, UserId, UserInfo};
use townhall_tests::{Client, TestServer};

/// A `w` × `h` JPEG (a gradient), as a camera would send.
fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .expect("encode a jpeg");
    out
}

/// A PNG header declaring `w` × `h` pixels with almost no data: a
/// decompression bomb's shape, a few hundred bytes long.
fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // One stored deflate block of one row's worth of zeros, then the end.
    chunk(
        &mut out,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x01, 0x00, 0xfe, 0xff, 0x00, 0x00, 0x01, 0x00, 0x01,
        ],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// `POST /api/avatar` with `bytes`, claiming `claimed_type`.
async fn upload(
    server: &TestServer,
    token: &str,
    bytes: Vec<u8>,
    claimed_type: &str,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(server.http("/api/avatar"))
        .bearer_auth(token)
        .header("content-type", claimed_type)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn remove(server: &TestServer, token: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .delete(server.http("/api/avatar"))
        .bearer_auth(token)
        .send()
        .await
        .expect("delete");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// `GET /api/avatar/{id}` (with `?v=` when given): status, headers, bytes.
async fn fetch(
    server: &TestServer,
    token: Option<&str>,
    user: UserId,
    v: Option<u32>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let path = match v {
        Some(v) => format!("/api/avatar/{user}?v={v}"),
        None => format!("/api/avatar/{user}"),
    };
    let mut req = reqwest::Client::new().get(server.http(&path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("get");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.expect("body").to_vec())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The next `user_updated` about `who`.
async fn updated(c: &mut Client, who: UserId) -> UserInfo {
    match c
        .expect(
            "user_updated",
            |f| matches!(f, ServerFrame::UserUpdated { user, .. } if user.id == who),
        )
        .await
    {
        ServerFrame::UserUpdated { user, .. } => user,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn alice_sets_a_jpeg_and_bob_sees_it_live_as_a_128_px_png_until_she_removes_it() {
    let server = TestServer::start().await;
    let (alice, a_token) = server.user("alice").await;
    let (_, b_token) = server.user("bob").await;
    let (mut bob, _, _) = server.connect_caught_up(&b_token, None, None).await;

    // A wide JPEG, claimed to be text: the bytes decide, not the header.
    let (status, body) = upload(&server, &a_token, jpeg(300, 150), "text/plain").await;
    assert_eq!(status, 200, "{body}");
    let me: UserInfo = serde_json::from_value(body).expect("user info");
    let v1 = me.avatar.expect("a version once set");

    let heard = updated(&mut bob, alice.id).await;
    assert_eq!(heard.avatar, Some(v1), "{heard:?}");
    // Later listings carry it too.
    match bob.request(ClientFrame::Users { req_id: None }).await {
        ServerFrame::Users { users, .. } => {
            let a = users
                .iter()
                .find(|u| u.id == alice.id)
                .expect("alice listed");
            assert_eq!(a.avatar, Some(v1));
            let b = users
                .iter()
                .find(|u| u.username == "bob")
                .expect("bob listed");
            assert_eq!(b.avatar, None, "nobody else gained a picture");
        }
        other => panic!("users: {other:?}"),
    }

    let (status, h, png) = fetch(&server, Some(&b_token), alice.id, Some(v1)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), "image/png");
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert!(
        header(&h, "content-security-policy").starts_with("default-src 'none'"),
        "{h:?}"
    );
    let cache = header(&h, "cache-control");
    assert!(
        cache.contains("private") && cache.contains("max-age=31536000"),
        "{cache}"
    );
    let decoded =
        image::load_from_memory_with_format(&png, image::ImageFormat::Png).expect("a PNG");
    assert_eq!((decoded.width(), decoded.height()), (128, 128));

    // Without the version (or with a stale one) it is not cached.
    let (status, h, _) = fetch(&server, Some(&b_token), alice.id, None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "cache-control"), "no-store");
    // No token, no picture.
    let (status, _, _) = fetch(&server, None, alice.id, Some(v1)).await;
    assert_eq!(status, 401);

    // Removed: bob hears it, and the picture is gone.
    let (status, body) = remove(&server, &a_token).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("avatar").is_none(), "{body}");
    assert_eq!(updated(&mut bob, alice.id).await.avatar, None);
    let (status, _, _) = fetch(&server, Some(&b_token), alice.id, Some(v1)).await;
    assert_eq!(status, 404);

    // A new picture gets a new version (its URL is never an old one's).
    let (status, body) = upload(&server, &a_token, jpeg(64, 64), "image/jpeg").await;
    assert_eq!(status, 200, "{body}");
    let v2 = body["avatar"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .expect("version");
    assert!(v2 > v1, "{v2} after {v1}");
    assert_eq!(updated(&mut bob, alice.id).await.avatar, Some(v2));

    // Unknown users and users without a picture: 404.
    let (status, _, _) = fetch(&server, Some(&b_token), UserId::new(), Some(1)).await;
    assert_eq!(status, 404);
    let bob_id = server.login("bob", "bob-password").await.user.id;
    let (status, _, _) = fetch(&server, Some(&a_token), bob_id, None).await;
    assert_eq!(status, 404);

    // Her data-protection export starts with her picture, as served.
    let (_, _, served) = fetch(&server, Some(&b_token), alice.id, Some(v2)).await;
    let archive = reqwest::Client::new()
        .get(server.http("/api/admin/export?user=alice"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("archive");
    let name = String::from_utf8_lossy(&archive[..100])
        .trim_end_matches('\0')
        .to_string();
    assert_eq!(name, "avatar.png");
    let size_field = String::from_utf8_lossy(&archive[124..136]).to_string();
    let size = usize::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
        .expect("octal size");
    assert_eq!(&archive[512..512 + size], served.as_slice());
    // Bob's (he has no picture) starts with the messages, as before.
    let archive = reqwest::Client::new()
        .get(server.http("/api/admin/export?user=bob"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .expect("export")
        .bytes()
        .await
        .expect("archive");
    assert!(archive.starts_with(b"messages-000001.jsonl"));

    // A disabled account's picture is not served (clients show initials).
    let r = reqwest::Client::new()
        .patch(server.http("/api/admin/users/alice"))
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({ "disabled": true }))
        .send()
        .await
        .expect("disable");
    assert!(r.status().is_success(), "{}", r.status());
    let (status, _, _) = fetch(&server, Some(&b_token), alice.id, Some(v2)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn markup_non_images_and_bombs_are_refused_with_their_codes() {
    let server = TestServer::start().await;
    let (alice, token) = server.user("alice").await;
    let html = b"<!DOCTYPE html><script>alert(1)</script>".to_vec();
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec();
    let fake_png = b"\x89PNG\r\n\x1a\nnot an image at all".to_vec();
    for (what, bytes) in [
        ("html", html),
        ("svg", svg),
        ("png magic, no image", fake_png),
    ] {
        let (status, body) = upload(&server, &token, bytes, "image/png").await;
        assert_eq!(status, 415, "{what}: {body}");
        assert_eq!(body["code"], "unsupported_media_type", "{what}: {body}");
    }
    // 20,000 × 20,000 declared in a few hundred bytes: refused before decoding.
    let bomb = bomb_png(20_000, 20_000);
    assert!(bomb.len() < 1024);
    let (status, body) = upload(&server, &token, bomb, "image/png").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "limit_reached");
    // An empty body.
    let (status, body) = upload(&server, &token, Vec::new(), "image/png").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_field");
    // Nothing was set by any of them.
    assert_eq!(
        server.login("alice", "alice-password").await.user.avatar,
        None
    );
    let (status, _, _) = fetch(&server, Some(&token), alice.id, None).await;
    assert_eq!(status, 404);
    // No token: 401 for setting and removing.
    let r = reqwest::Client::new()
        .post(server.http("/api/avatar"))
        .body(jpeg(8, 8))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 401);
    let r = reqwest::Client::new()
        .delete(server.http("/api/avatar"))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn an_oversize_picture_is_refused_while_it_streams() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    // A declared length past 5 MiB: refused before a byte of it is sent.
    let stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("tcp");
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /api/avatar HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
         content-type: image/jpeg\r\ncontent-length: {}\r\n\r\n",
        server.addr,
        5 * 1024 * 1024 + 1
    );
    wr.write_all(head.as_bytes()).await.expect("head");
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), rd.read(&mut answer))
        .await
        .expect("an answer without the body")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("body_too_large"), "{text}");
    drop((rd, wr));

    // Chunked, with no length: the answer comes once 5 MiB have passed,
    // long before the 64 MiB the client would send.
    let stream = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("tcp");
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /api/avatar HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
         content-type: image/jpeg\r\ntransfer-encoding: chunked\r\n\r\n",
        server.addr
    );
    wr.write_all(head.as_bytes()).await.expect("head");
    let writer = tokio::spawn(async move {
        let piece = vec![0xffu8; 64 * 1024];
        let mut sent = 0usize;
        while sent < 64 * 1024 * 1024 {
            let frame = format!("{:x}\r\n", piece.len());
            if wr.write_all(frame.as_bytes()).await.is_err()
                || wr.write_all(&piece).await.is_err()
                || wr.write_all(b"\r\n").await.is_err()
            {
                break;
            }
            sent += piece.len();
        }
        sent
    });
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), rd.read(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("body_too_large"), "{text}");
    drop(rd);
    let sent = tokio::time::timeout(Duration::from_secs(30), writer)
        .await
        .expect("the writer stops")
        .expect("writer task");
    assert!(sent < 64 * 1024 * 1024, "the server read all {sent} bytes");
}

#[tokio::test]
async fn changes_are_rate_limited_per_user() {
    let server = TestServer::start().await;
    let (_, carol) = server.user("carol").await;
    let (_, dave) = server.user("dave").await;
    for i in 0..5 {
        let (status, body) = remove(&server, &carol).await;
        assert_eq!(status, 200, "change {i}: {body}");
    }
    let (status, body) = upload(&server, &carol, jpeg(16, 16), "image/jpeg").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "rate_limited");
    // Someone else is not held back by carol.
    let (status, body) = upload(&server, &dave, jpeg(16, 16), "image/jpeg").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn in_a_cluster_a_picture_set_through_one_node_is_served_by_another_from_the_log() {
    let cluster = townhall_tests::cluster::TownhallCluster::start(2).await;
    let (n0, n1) = (cluster.node(0), cluster.node(1));
    let (ann, _) = n0.user("ann").await;
    n0.user("bob").await;
    let ann_token = n0.login("ann", "ann-password").await.token;
    let bob_token = n1.login("bob", "bob-password").await.token;
    let (mut bob, _, _) = n1.connect_caught_up(&bob_token, None, None).await;

    let (status, body) = upload(n0, &ann_token, jpeg(200, 300), "image/jpeg").await;
    assert_eq!(status, 200, "{body}");
    let v = body["avatar"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .expect("version");
    // Bob, on the other node, hears it and fetches it there: no file store,
    // the picture came with the log entry.
    assert_eq!(updated(&mut bob, ann.id).await.avatar, Some(v));
    let (status, _, png) = fetch(n1, Some(&bob_token), ann.id, Some(v)).await;
    assert_eq!(status, 200);
    let decoded =
        image::load_from_memory_with_format(&png, image::ImageFormat::Png).expect("a PNG");
    assert_eq!((decoded.width(), decoded.height()), (128, 128));
    // Both nodes hold the same state, `user_avatar` included.
    let digest = cluster.assert_converged().await;
    assert!(
        digest.trees.contains_key("user_avatar"),
        "{:?}",
        digest.trees.keys()
    );
}
