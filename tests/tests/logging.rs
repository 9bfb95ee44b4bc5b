//! Logs as an operator's log shipper sees them: with `--log-format json`
//! every line (stderr and stdout) is one JSON object with `timestamp`,
//! `level` and `message`; in both formats, at the default level, no
//! message body, session token or password ever appears.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use townhall_protocol::{ClientFrame, PROTOCOL_VERSION, ServerFrame, Visibility};
use townhall_tests::{ADMIN_PASSWORD, Client, WAIT, binary};

/// What one run printed, line by line, per stream.
#[derive(Default)]
struct Output {
    stdout: Vec<String>,
    stderr: Vec<String>,
}

/// The secrets of one run: none of them may be in its output.
struct Secrets {
    body: String,
    tokens: Vec<String>,
    passwords: Vec<String>,
}

/// Start the real binary with `args` (no RUST_LOG: the default level),
/// log in, post a message with a unique body, fail a login, stop it with
/// SIGTERM, and return all it printed with the secrets it was given.
async fn a_short_run(args: &[&str], env: &[(&str, &str)]) -> (Output, Secrets) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = tokio::process::Command::new(binary());
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .args(args)
        .env("TOWNHALL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("RUST_LOG")
        .env_remove("TOWNHALL_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn townhall");
    let output = Arc::new(Mutex::new(Output::default()));
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let err_out = output.clone();
    let stderr_done = tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            err_out.lock().expect("output lock").stderr.push(line);
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let out = output.clone();
    let stdout_done = tokio::spawn(async move {
        let mut addr_tx = Some(addr_tx);
        while let Ok(Some(line)) = stdout.next_line().await {
            // Text: the line itself; json: its `message`.
            let message = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| line.clone());
            if let Some(addr) = message.strip_prefix("listening on http://")
                && let Some(tx) = addr_tx.take()
            {
                let _ = tx.send(addr.to_owned());
            }
            out.lock().expect("output lock").stdout.push(line);
        }
    });
    let addr = tokio::time::timeout(WAIT, addr_rx)
        .await
        .expect("townhall did not start in time")
        .unwrap_or_else(|_| {
            panic!(
                "townhall exited before listening: {:?}",
                output.lock().expect("output lock").stderr
            )
        });

    let marker = format!("marker-body-{}", uuid::Uuid::new_v4());
    let http = reqwest::Client::new();
    let login = |username: &str, password: &str| {
        http.post(format!("http://{addr}/api/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
    };
    let admin: townhall_protocol::http::LoginResponse = login("admin", ADMIN_PASSWORD)
        .await
        .expect("admin login")
        .json()
        .await
        .expect("admin login body");
    let ann_password = format!("ann-password-{}", uuid::Uuid::new_v4());
    let created = http
        .post(format!("http://{addr}/api/admin/users"))
        .bearer_auth(&admin.token)
        .json(&serde_json::json!({"username": "ann", "password": ann_password, "role": "staff"}))
        .send()
        .await
        .expect("create ann");
    assert_eq!(created.status().as_u16(), 201, "create ann");
    let ann: townhall_protocol::http::LoginResponse = login("ann", &ann_password)
        .await
        .expect("ann login")
        .json()
        .await
        .expect("ann login body");

    let mut ws = Client::open(&format!("ws://{addr}/ws")).await;
    ws.send(&ClientFrame::Hello {
        version: PROTOCOL_VERSION,
        token: ann.token.clone(),
        resume: None,
        device: None,
    })
    .await;
    match ws.next().await {
        ServerFrame::Welcome { .. } => {}
        other => panic!("expected welcome, got {other:?}"),
    }
    let room = ws.create_room("logbook", Visibility::Public).await;
    ws.post(room.id, &marker).await;
    // A body that is refused (too long) is not logged either.
    let refused = format!(
        "{marker}-refused-{}",
        "x".repeat(townhall_protocol::MAX_BODY_BYTES)
    );
    ws.send(&ClientFrame::Send {
        req_id: Some("too-long".into()),
        room: room.id,
        client_id: uuid::Uuid::new_v4(),
        body: refused,
        thread: None,
        question: false,
        attachments: Vec::new(),
    })
    .await;
    ws.expect("the refusal of the long body", |f| {
        matches!(f, ServerFrame::Error { .. })
    })
    .await;
    // A bad token at hello is not logged.
    let bad_token = format!("bad-token-{}", uuid::Uuid::new_v4());
    let mut intruder = Client::open(&format!("ws://{addr}/ws")).await;
    intruder
        .send(&ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            token: bad_token.clone(),
            resume: None,
            device: None,
        })
        .await;
    intruder.expect_close().await;

    let wrong_password = format!("wrong-password-{}", uuid::Uuid::new_v4());
    let failed = login("ann", &wrong_password).await.expect("failed login");
    assert_eq!(failed.status().as_u16(), 401, "a wrong password is refused");
    ws.close().await;

    // SIGTERM: every line is written before the streams end.
    let pid = child.id().expect("running");
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("townhall did not stop in time")
        .expect("wait");
    tokio::time::timeout(WAIT, async {
        let _ = stderr_done.await;
        let _ = stdout_done.await;
    })
    .await
    .expect("output did not end");
    let output = std::mem::take(&mut *output.lock().expect("output lock"));
    let secrets = Secrets {
        body: marker,
        tokens: vec![admin.token, ann.token, bad_token],
        passwords: vec![ADMIN_PASSWORD.into(), ann_password, wrong_password],
    };
    (output, secrets)
}

fn assert_no_secrets(output: &Output, secrets: &Secrets) {
    for (stream, lines) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        let all = lines.join("\n");
        assert!(
            !all.contains(&secrets.body),
            "a message body is in {stream}:\n{all}"
        );
        for token in &secrets.tokens {
            assert!(!all.contains(token), "a token is in {stream}:\n{all}");
        }
        for password in &secrets.passwords {
            assert!(!all.contains(password), "a password is in {stream}:\n{all}");
        }
    }
}

/// The log has the events the run made (so the checks above were not made
/// on an empty log): the logins and the refused one.
fn assert_logins_logged(stderr: &str) {
    assert!(
        stderr.contains("ann"),
        "ann's login is not logged:\n{stderr}"
    );
    assert!(
        stderr.contains("login refused"),
        "the refused login is not logged:\n{stderr}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_without_bodies_or_tokens() {
    let (output, secrets) = a_short_run(&["--log-format", "json"], &[]).await;
    assert!(!output.stderr.is_empty(), "no log lines at all");
    for (stream, lines) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{stream} line is not JSON ({e}): {line}"));
            for field in ["timestamp", "level", "message"] {
                assert!(
                    v.get(field).is_some_and(|f| f.is_string()),
                    "{stream} line without a string `{field}`: {line}"
                );
            }
        }
    }
    // Fields are at the top level (flattened), as shippers expect.
    let refused: Vec<serde_json::Value> = output
        .stderr
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "login refused")
        .collect();
    assert_eq!(refused.len(), 1, "one refused login: {:?}", output.stderr);
    // The name tried is logged quoted and escaped (`?`), so it cannot forge fields.
    assert_eq!(refused[0]["user"], "\"ann\"");
    assert_eq!(refused[0]["code"], "invalid_credentials");
    assert_eq!(refused[0]["level"], "INFO");
    assert_logins_logged(&output.stderr.join("\n"));
    assert_no_secrets(&output, &secrets);
}

#[tokio::test]
async fn text_logs_carry_no_bodies_or_tokens_either() {
    let (output, secrets) = a_short_run(&[], &[]).await;
    let stderr = output.stderr.join("\n");
    assert!(stderr.contains("INFO"), "no log lines at all:\n{stderr}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&output.stderr[0]).is_err(),
        "text is the default:\n{stderr}"
    );
    assert_logins_logged(&stderr);
    assert_no_secrets(&output, &secrets);
}

#[tokio::test]
async fn the_log_format_can_come_from_the_environment() {
    let (output, secrets) = a_short_run(&[], &[("TOWNHALL_LOG_FORMAT", "json")]).await;
    for line in output.stderr.iter().chain(&output.stdout) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "not JSON with TOWNHALL_LOG_FORMAT=json: {line}"
        );
    }
    assert_no_secrets(&output, &secrets);
}
