//! Security review, issue 17, findings 2, 4 and 5: a guesser cannot lock
//! anyone else out, the API takes only JSON, every answer carries the
//! security headers, and `--static-dir` and `/ws` serve only what they
//! should.

use std::time::Duration;
use townhall_tests::TestServer;

/// `(status, error code)` of a JSON login as `user` from `source`
/// (the client address a trusted proxy would forward).
async fn login_from(
    server: &TestServer,
    source: &str,
    user: &str,
    password: &str,
) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(server.http("/api/login"))
        .header("x-forwarded-for", source)
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login");
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn the_right_password_passes_right_after_ten_wrong_ones_from_another_address() {
    // Behind a same-host proxy, as operations.md advises.
    let server = TestServer::start_with(&["--trust-forwarded-for"]).await;
    server.user("bob").await;
    let guesser = "203.0.113.7";
    let mut seen = Vec::new();
    for _ in 0..10 {
        seen.push(login_from(&server, guesser, "bob", "a-wrong-guess").await.0);
    }
    assert_eq!(&seen[..5], &[401; 5], "five free failures: {seen:?}");
    assert!(
        seen[6..].iter().all(|&s| s == 429),
        "then back-off: {seen:?}"
    );
    // Bob, elsewhere, logs in at once.
    assert_eq!(
        login_from(&server, "198.51.100.9", "bob", "bob-password")
            .await
            .0,
        200,
        "a guesser locked bob out"
    );
    // The guesser is still held off, even with the right password.
    assert_eq!(
        login_from(&server, guesser, "bob", "bob-password").await,
        (429, "rate_limited".to_owned())
    );
}

#[tokio::test]
async fn ipv6_guessers_are_held_off_per_64_not_per_address() {
    let server = TestServer::start_with(&["--trust-forwarded-for"]).await;
    server.user("bob").await;
    // Rotating addresses inside one /64 gains nothing.
    for i in 1..=8 {
        login_from(
            &server,
            &format!("2001:db8:1:1::{i:x}"),
            "bob",
            "a-wrong-guess",
        )
        .await;
    }
    assert_eq!(
        login_from(&server, "2001:db8:1:1::ffff", "bob", "bob-password").await,
        (429, "rate_limited".to_owned()),
        "a fresh address in the guesser's /64 is the same source"
    );
    assert_eq!(
        login_from(&server, "2001:db8:1:2::1", "bob", "bob-password")
            .await
            .0,
        200,
        "the next /64 is someone else"
    );
}

#[tokio::test]
async fn a_text_plain_login_is_refused_with_415_and_cannot_lock_anyone_out() {
    let server = TestServer::start().await;
    server.user("bob").await;
    let http = reqwest::Client::new();
    // What any web page can send cross-site without a preflight.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        for _ in 0..4 {
            let r = http
                .post(server.http("/api/login"))
                .header("content-type", content_type)
                .body(r#"{"username":"bob","password":"a-wrong-guess"}"#)
                .send()
                .await
                .expect("login");
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            assert_eq!(
                (status, body["code"].as_str()),
                (415, Some("unsupported_media_type")),
                "{content_type}: {body}"
            );
        }
    }
    // No Content-Type at all, with a body: refused as well.
    let r = http
        .post(server.http("/api/login"))
        .body(r#"{"username":"bob","password":"a-wrong-guess"}"#)
        .send()
        .await
        .expect("login");
    assert_eq!(r.status().as_u16(), 415);
    // Twelve refused attempts later, bob logs in.
    server.login("bob", "bob-password").await;
    // A bodyless POST (logout) needs no Content-Type.
    let (_, token) = server.user("carol").await;
    let r = http
        .post(server.http("/api/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status().as_u16(), 204);
}

fn assert_security_headers(what: &str, r: &reqwest::Response) {
    let h = r.headers();
    let get = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name} in {h:?}"))
            .to_owned()
    };
    let csp = get("content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing: {csp}"
        );
    }
    assert!(
        csp.contains("connect-src 'self'"),
        "{what}: connect-src: {csp}"
    );
    assert!(!csp.contains("unsafe-"), "{what}: {csp}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "no-referrer", "{what}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_the_api_is_never_cached() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(server.http(path)).send();
    let checks: Vec<(&str, reqwest::Response)> = vec![
        ("GET /", get("/").await.expect("/")),
        ("GET /room/x", get("/room/x").await.expect("client route")),
        ("GET /healthz", get("/healthz").await.expect("healthz")),
        ("GET /metrics", get("/metrics").await.expect("metrics")),
        ("GET /nope.png (404)", get("/nope.png").await.expect("404")),
        ("GET /api/nope (404)", get("/api/nope").await.expect("404")),
        (
            "GET /api/login (405)",
            get("/api/login").await.expect("405"),
        ),
        ("GET /ws without upgrade", get("/ws").await.expect("ws")),
        (
            "GET /api/admin/users without a token",
            get("/api/admin/users").await.expect("401"),
        ),
    ];
    for (what, r) in &checks {
        assert_security_headers(what, r);
    }
    let login = http
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username": "admin", "password": townhall_tests::ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 200);
    assert_security_headers("POST /api/login", &login);
    assert_eq!(
        login
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "the token must not be cached"
    );
    let refused = http
        .post(server.http("/api/login"))
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .expect("415");
    assert_security_headers("POST /api/login text/plain (415)", &refused);
    // A refused WebSocket upgrade (foreign origin) too.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = server.ws_url().into_client_request().expect("request");
    req.headers_mut()
        .insert("Origin", "http://evil.example".parse().expect("header"));
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 403);
            let h = resp.headers();
            assert_eq!(
                h.get("x-frame-options").map(|v| v.as_bytes()),
                Some(&b"DENY"[..])
            );
            assert!(h.contains_key("content-security-policy"), "{h:?}");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}

#[tokio::test]
async fn no_source_map_is_served_embedded_or_from_a_folder() {
    // The embedded client: whatever its script is called, no map of it.
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let index = http
        .get(server.http("/"))
        .send()
        .await
        .expect("/")
        .text()
        .await
        .expect("text");
    if let Some(script) = index
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
    {
        let js = http.get(server.http(script)).send().await.expect("js");
        assert_eq!(js.status().as_u16(), 200, "{script}");
        let map = http
            .get(server.http(&format!("{script}.map")))
            .send()
            .await
            .expect("map");
        assert_eq!(map.status().as_u16(), 404, "{script}.map is served");
    }
    // A folder that still holds a map (an old build) does not serve it.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::create_dir(dir.path().join("assets")).expect("mkdir");
    std::fs::write(dir.path().join("index.html"), "<!doctype html>app").expect("write");
    std::fs::write(dir.path().join("assets/app.js"), "console.log(1)").expect("write");
    std::fs::write(
        dir.path().join("assets/app.js.map"),
        r#"{"version":3,"sourcesContent":["secret source"]}"#,
    )
    .expect("write");
    let folder = dir.path().to_str().expect("utf-8 path");
    let server = TestServer::start_with(&["--static-dir", folder]).await;
    let js = http
        .get(server.http("/assets/app.js"))
        .send()
        .await
        .expect("js");
    assert_eq!(js.status().as_u16(), 200);
    let map = http
        .get(server.http("/assets/app.js.map"))
        .send()
        .await
        .expect("map");
    let status = map.status().as_u16();
    let text = map.text().await.unwrap_or_default();
    assert!(
        status == 404 && !text.contains("secret source"),
        "{status}: {text}"
    );
}

#[tokio::test]
async fn the_static_dir_serves_no_dotfiles_and_no_symlink_out_of_it() {
    let outside = tempfile::tempdir().expect("dir");
    std::fs::write(outside.path().join("passwd.txt"), "outside secret").expect("write");
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    std::fs::write(root.join("index.html"), "<!doctype html>app").expect("write");
    std::fs::write(root.join("hello.txt"), "hello").expect("write");
    std::fs::write(root.join(".secret"), "dot secret").expect("write");
    std::fs::create_dir(root.join(".git")).expect("mkdir");
    std::fs::write(root.join(".git/config"), "dot secret").expect("write");
    std::fs::create_dir(root.join("sub")).expect("mkdir");
    std::fs::write(root.join("sub/.env"), "dot secret").expect("write");
    std::os::unix::fs::symlink(outside.path().join("passwd.txt"), root.join("out.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink(outside.path(), root.join("outdir")).expect("symlink");
    std::os::unix::fs::symlink(root.join("hello.txt"), root.join("alias.txt")).expect("symlink");
    let folder = root.to_str().expect("utf-8 path");
    let server = TestServer::start_with(&["--static-dir", folder]).await;
    let http = reqwest::Client::new();
    let fetch = |path: &'static str| {
        let url = server.http(path);
        let http = http.clone();
        async move {
            let r = http.get(url).send().await.expect("get");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(fetch("/hello.txt").await, (200, "hello".to_owned()));
    assert_eq!(
        fetch("/alias.txt").await,
        (200, "hello".to_owned()),
        "a symlink inside the folder is fine"
    );
    for path in [
        "/.secret",
        "/.git/config",
        "/sub/.env",
        "/out.txt",
        "/outdir/passwd.txt",
    ] {
        let (status, text) = fetch(path).await;
        assert!(!text.contains("secret"), "{path} leaked ({status}): {text}");
        assert_ne!(status, 200, "{path}");
    }
    // Percent-encoded, the dot is not decoded into a path: the client app.
    let (_, text) = fetch("/%2esecret").await;
    assert!(!text.contains("secret"), "{text}");
}

/// Open `/ws` with this Origin (and the server's own Host): the status.
async fn upgrade_status(server: &TestServer, origin: &str) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = server.ws_url().into_client_request().expect("request");
    req.headers_mut()
        .insert("Origin", origin.parse().expect("header"));
    let attempt = tokio::time::timeout(
        Duration::from_secs(15),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("upgrade answered in time");
    match attempt {
        Ok((mut ws, resp)) => {
            let _ = ws.close(None).await;
            resp.status().as_u16()
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_pinned_public_origin_stops_trusting_the_host_header_on_ws() {
    let server = TestServer::start_with(&["--public-origin", "https://chat.example.com"]).await;
    // A DNS-rebinding page is same-origin with whatever Host it sends.
    let own = format!("http://{}", server.addr);
    assert_eq!(upgrade_status(&server, &own).await, 403);
    assert_eq!(
        upgrade_status(&server, "https://chat.example.com").await,
        101
    );
    // The CSP names the pinned WebSocket origin.
    let r = reqwest::get(server.http("/healthz")).await.expect("get");
    let csp = r
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("wss://chat.example.com"), "{csp}");
    // Unpinned, the server's own origin is allowed (the web client's case).
    let server = TestServer::start().await;
    let own = format!("http://{}", server.addr);
    assert_eq!(upgrade_status(&server, &own).await, 101);
}

/// Issue 16, point 8: a shared office address where everyone logs in at
/// 9:00 is not refused, since successful logins give their turn back; wrong
/// passwords from that address still spend its budget.
#[tokio::test]
async fn an_office_behind_one_address_logs_in_at_nine_while_failures_still_count() {
    let server = TestServer::start_with(&["--trust-forwarded-for"]).await;
    let office = "203.0.113.50";
    let people = ["ann", "ben", "cat", "dan"];
    for p in people {
        server.user(p).await;
    }
    // 48 logins in well under a minute, more than the 30 a minute budget.
    for i in 0..48 {
        let p = people[i % people.len()];
        let got = login_from(&server, office, p, &format!("{p}-password")).await;
        assert_eq!(
            got.0, 200,
            "login {i} of {p} from the office refused: {got:?}"
        );
    }
    // A password spray from the same address is stopped by the budget.
    let mut statuses = Vec::new();
    for i in 0..40 {
        let got = login_from(&server, office, &format!("nobody{i}"), "guess").await;
        statuses.push(got.0);
        if got.0 == 429 {
            break;
        }
    }
    assert_eq!(
        statuses.last(),
        Some(&429),
        "40 failures in a row were never limited: {statuses:?}"
    );
    assert!(statuses.len() > 25, "limited too early: {statuses:?}");
}
