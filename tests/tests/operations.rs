//! What an operator sees: health, metrics, and group commit at work.

use townhall_protocol::Visibility;
use townhall_tests::TestServer;

fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

#[tokio::test]
async fn health_and_metrics_report_durable_progress_and_group_commit() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let (mut a, _, _) = server.connect_caught_up(&token, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    let http = reqwest::Client::new();
    let before = http
        .get(server.http("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let fsyncs_before = counter(&before, "townhall_fsyncs_total");

    // 400 pipelined sends: many share each fsync.
    a.post_pipelined(room.id, 400).await;
    let after = http
        .get(server.http("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert_eq!(counter(&after, "townhall_messages_committed_total"), 400);
    let fsyncs = counter(&after, "townhall_fsyncs_total") - fsyncs_before;
    assert!(
        (1..400).contains(&fsyncs),
        "group commit: {fsyncs} fsyncs for 400 messages"
    );
    assert_eq!(counter(&after, "townhall_sessions"), 1);
    assert!(counter(&after, "townhall_store_bytes") > 0);

    let health: serde_json::Value = http
        .get(server.http("/healthz"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    assert!(health["published_pos"].as_u64().expect("pos") >= 402);
}

/// Run the real binary with stderr on a pipe (as under a log collector or
/// `./scripts/run.sh > townhall.log 2>&1`), stop it (SIGTERM) once it
/// listens, and return everything it logged.
async fn log_of_a_short_run(env: &[(&str, &str)]) -> String {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = tokio::process::Command::new(townhall_tests::binary());
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .env("TOWNHALL_ADMIN_PASSWORD", townhall_tests::ADMIN_PASSWORD)
        .env("RUST_LOG", "info")
        .env_remove("TOWNHALL_LOG_COLOR")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn townhall");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stdout).lines();
    tokio::time::timeout(townhall_tests::WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.starts_with("listening on") {
                return;
            }
        }
        panic!("townhall exited before listening");
    })
    .await
    .expect("townhall did not start in time");
    // SIGTERM, not a kill: the lines after "listening on" (and the
    // shutdown's) are then surely written before stderr ends.
    let pid = child.id().expect("running");
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let mut log = String::new();
    tokio::time::timeout(townhall_tests::WAIT, stderr.read_to_string(&mut log))
        .await
        .expect("stderr did not end")
        .expect("read stderr");
    let _ = child.wait().await;
    log
}

#[tokio::test]
async fn logs_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let log = log_of_a_short_run(&[]).await;
    assert!(log.contains("INFO"), "no log lines at all:\n{log}");
    assert!(
        !log.contains("\x1b["),
        "ANSI escape codes in a piped log:\n{log:?}"
    );
    // The override still gives colour (and shows this check would see it).
    let forced = log_of_a_short_run(&[("TOWNHALL_LOG_COLOR", "always")]).await;
    assert!(
        forced.contains("\x1b["),
        "TOWNHALL_LOG_COLOR=always gave no colour:\n{forced:?}"
    );
}

/// The `_count` of a histogram series (`name_count` or `name_count{labels}`).
fn histogram_count(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{series} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} missing from /metrics:\n{text}"))
}

#[tokio::test]
async fn metrics_show_ack_fan_out_catch_up_and_request_latencies_after_traffic() {
    let server = TestServer::start().await;
    let (_, alice) = server.user("alice").await;
    let (bob_info, bob) = server.user("bob").await;
    let (mut a, _, _) = server.connect_caught_up(&alice, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    a.add_member(room.id, &bob_info.username).await;
    // Bob is offline while alice posts: his connect catches up a backlog.
    a.post_pipelined(room.id, 50).await;
    let (_b, backlog, _) = server.connect_caught_up(&bob, None, None).await;
    assert!(
        backlog.len() >= 50,
        "bob's backlog: {} events",
        backlog.len()
    );
    a.request(townhall_protocol::ClientFrame::MyRooms { req_id: None })
        .await;

    let text = reqwest::get(server.http("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for name in [
        "townhall_ack_seconds",
        "townhall_fanout_seconds",
        "townhall_catch_up_seconds",
        "townhall_request_seconds",
        // The older ones keep their names.
        "townhall_fsync_seconds",
        "townhall_commit_group_jobs",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} histogram")),
            "{name} is not a histogram:\n{text}"
        );
    }
    assert_eq!(histogram_count(&text, "townhall_ack_seconds_count"), 50);
    assert!(histogram_count(&text, "townhall_fanout_seconds_count") >= 1);
    // Alice's and bob's connections.
    assert_eq!(histogram_count(&text, "townhall_catch_up_seconds_count"), 2);
    assert_eq!(
        histogram_count(&text, "townhall_request_seconds_count{type=\"send\"}"),
        50
    );
    assert_eq!(
        histogram_count(&text, "townhall_request_seconds_count{type=\"my_rooms\"}"),
        1
    );
    assert!(
        text.contains("townhall_request_seconds_bucket{type=\"create_room\",le=\"0.1\"}"),
        "{text}"
    );
    assert!(
        text.contains("townhall_ack_seconds_bucket{le=\"+Inf\"} 50"),
        "{text}"
    );
}

/// The `townhall_*` series names in a PromQL expression (a name is
/// `townhall_` followed by `[a-z0-9_]`).
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("townhall_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// Every `expr` (panel targets, and the variables' queries) in a Grafana
/// dashboard, wherever it is nested.
fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr" | "definition", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

/// The series a scrape exposes, by name (`name`, `name_bucket`, …): what a
/// dashboard query can select.
fn exposed_series(text: &str) -> std::collections::HashSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// The Grafana dashboard in docs/ never asks for a metric the server does
/// not export: every `townhall_*` series named in its queries is in a real
/// scrape after some traffic (histograms by their `_bucket`/`_sum`/`_count`
/// series, which only a histogram has).
#[tokio::test]
async fn the_grafana_dashboard_uses_only_metrics_the_server_exports() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/grafana/townhall.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read the dashboard"))
            .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    exprs(&dashboard, &mut queries);
    let wanted: std::collections::BTreeSet<String> =
        queries.iter().flat_map(|q| metric_names(q)).collect();
    // The panels the operations issue asks for are there.
    for must in [
        "townhall_ack_seconds_bucket",
        "townhall_fanout_seconds_bucket",
        "townhall_fsync_seconds_bucket",
        "townhall_request_seconds_bucket",
        "townhall_catch_up_seconds_bucket",
        "townhall_backlog_events_bucket",
        "townhall_sessions",
        "townhall_online_users",
        "townhall_committer_queue_jobs",
        "townhall_search_queue_positions",
        "townhall_search_index_lag_seconds",
        "townhall_store_bytes",
        "townhall_login_failures_total",
        "townhall_cluster_barrier_timeouts_total",
    ] {
        assert!(
            wanted.contains(must),
            "the dashboard has no panel on {must}"
        );
    }

    // Traffic that makes every histogram record: logins (one refused),
    // bob offline while alice posts (a backlog at his connect), a live
    // fan-out to him, a search (the indexer runs a round).
    let server = TestServer::start().await;
    let (_, alice) = server.user("alice").await;
    let (bob_info, bob) = server.user("bob").await;
    let refused = reqwest::Client::new()
        .post(server.http("/api/login"))
        .json(&serde_json::json!({"username": "bob", "password": "wrong"}))
        .send()
        .await
        .expect("login");
    assert_eq!(refused.status().as_u16(), 401);
    let (mut a, _, _) = server.connect_caught_up(&alice, None, None).await;
    let room = a.create_room("r", Visibility::Public).await;
    a.add_member(room.id, &bob_info.username).await;
    a.post_pipelined(room.id, 20).await;
    let (_b, backlog, _) = server.connect_caught_up(&bob, None, None).await;
    assert!(backlog.len() >= 20, "bob's backlog: {}", backlog.len());
    a.post(room.id, "live to bob").await;

    let deadline = tokio::time::Instant::now() + townhall_tests::WAIT;
    loop {
        let text = reqwest::get(server.http("/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let exposed = exposed_series(&text);
        let missing: Vec<&String> = wanted.iter().filter(|n| !exposed.contains(*n)).collect();
        if missing.is_empty() {
            // The new gauges carry what happened.
            assert_eq!(counter(&text, "townhall_online_users"), 2, "{text}");
            assert!(
                histogram_count(&text, "townhall_backlog_events_count") >= 2,
                "{text}"
            );
            break;
        }
        // The search indexer's first round may still be running.
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dashboard asks for series /metrics does not have: {missing:?}\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
