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
