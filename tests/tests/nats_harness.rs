//! The NATS cluster harness (`townhall_tests::nats`) against a real 3-node
//! nats-server 2.15.1 cluster and the async-nats 0.51 client: every server
//! fsyncs each write (`sync_always`), a stream with 3 replicas keeps every
//! acknowledged message when its leader is killed with SIGKILL, and
//! publishing resumes after a bounded pause. docs/nats-notes.md has the
//! client API notes drawn from this test.

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull},
    context::PublishErrorKind,
    message::PublishMessage,
    stream::{Config, StorageType},
};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::time::Instant;
use townhall_tests::nats::NatsCluster;

const STREAM: &str = "HARNESS";
/// How long one attempt (publish + its PubAck) may take before it is retried.
const ATTEMPT: Duration = Duration::from_secs(2);
/// How long one message may take to be acknowledged, retries included.
const MESSAGE_DEADLINE: Duration = Duration::from_secs(30);

/// Publish `payload` with this `Nats-Msg-Id` until a PubAck arrives, each
/// attempt bounded by [`ATTEMPT`]; failed attempts are counted by kind in
/// `errors`. Retrying with the same id is safe: a copy stored by an attempt
/// whose ack was lost comes back as `duplicate: true` with its sequence.
async fn publish_until_acked(
    js: &jetstream::Context,
    subject: &str,
    id: &str,
    payload: &str,
    errors: &mut BTreeMap<String, usize>,
) -> jetstream::publish::PublishAck {
    let deadline = Instant::now() + MESSAGE_DEADLINE;
    loop {
        let attempt = async {
            let msg = PublishMessage::build()
                .payload(payload.to_owned().into())
                .message_id(id);
            js.send_publish(subject.to_owned(), msg).await?.await
        };
        let why = match tokio::time::timeout(ATTEMPT, attempt).await {
            Ok(Ok(ack)) => return ack,
            Ok(Err(e)) => match e.kind() {
                // No stream leader yet: "no responders" to the stream subject.
                PublishErrorKind::StreamNotFound => "StreamNotFound (no responders)".to_owned(),
                PublishErrorKind::TimedOut => "TimedOut".to_owned(),
                other => format!("{other:?}: {e}"),
            },
            Err(_) => "outer timeout".to_owned(),
        };
        *errors.entry(why).or_default() += 1;
        assert!(
            Instant::now() < deadline,
            "{id} not acknowledged within {MESSAGE_DEADLINE:?}; errors: {errors:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_keep_acked_messages_when_the_stream_leader_is_killed() {
    let mut cluster = NatsCluster::start(3).await;
    for i in 0..cluster.len() {
        assert!(
            cluster.sync_always(i).await,
            "{} does not report sync_always: {:?}",
            cluster.name(i),
            cluster.jsz(i).await.map(|j| j["config"].clone())
        );
    }
    assert_eq!(cluster.urls().split(',').count(), 3);

    // Core NATS: every server, reconnecting forever, every wait bounded.
    // No `retry_on_initial_connect()`: with it `connect` returns before any
    // connection exists and `server_info()` is all empty.
    let client = async_nats::ConnectOptions::new()
        .name("nats-harness-test")
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .request_timeout(Some(Duration::from_secs(5)))
        .connect(cluster.url_list())
        .await
        .expect("connect");
    let info = client.server_info();
    assert_eq!(info.version, "2.15.1", "server_info: {info:?}");

    let mut sub = client.subscribe("harness.core").await.expect("subscribe");
    client
        .publish("harness.core", "hello".into())
        .await
        .expect("publish");
    client.flush().await.expect("flush");
    let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("core message in time")
        .expect("subscription open");
    assert_eq!(&got.payload[..], b"hello");

    // JetStream: every API request and PubAck bounded by 2 s.
    let js = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client.clone());
    let config = Config {
        name: STREAM.to_owned(),
        subjects: vec!["harness.js.>".to_owned()],
        num_replicas: 3,
        storage: StorageType::File,
        duplicate_window: Duration::from_secs(120),
        ..Default::default()
    };
    let created = Instant::now();
    let mut stream = loop {
        match js.get_or_create_stream(config.clone()).await {
            Ok(s) => break s,
            Err(e) if created.elapsed() < Duration::from_secs(20) => {
                eprintln!("create stream: {e} (retrying)");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("create stream: {e}\n{}", cluster.all_log_tails()),
        }
    };
    let stream_info = stream.info().await.expect("stream info").clone();
    assert_eq!(stream_info.config.num_replicas, 3);
    assert_eq!(stream_info.config.storage, StorageType::File);
    assert_eq!(
        stream_info.config.duplicate_window,
        Duration::from_secs(120)
    );

    let mut errors = BTreeMap::new();
    // Msg id → stream sequence, for every acknowledged message.
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies = Vec::new();
    for n in 0..100 {
        let id = format!("m{n}");
        let t = Instant::now();
        let ack = publish_until_acked(&js, "harness.js.a", &id, &id, &mut errors).await;
        latencies.push(t.elapsed());
        assert_eq!(ack.stream, STREAM);
        assert!(!ack.duplicate, "{id} is new: {ack:?}");
        acked.insert(id, ack.sequence);
    }
    let before_kill_errors = errors.clone();

    // Publishing the same Nats-Msg-Id again is answered with the first
    // copy's sequence and duplicate: true, and stores nothing.
    let dup = publish_until_acked(&js, "harness.js.a", "m7", "again", &mut errors).await;
    assert!(dup.duplicate, "{dup:?}");
    assert_eq!(dup.sequence, acked["m7"]);

    let leader = cluster
        .wait_stream_leader(STREAM, None, Duration::from_secs(10))
        .await
        .expect("stream leader");
    let from_client = stream_info.cluster.as_ref().and_then(|c| c.leader.clone());
    eprintln!(
        "stream leader: {} (client's stream info said {from_client:?})",
        cluster.name(leader)
    );
    let killed = Instant::now();
    cluster.kill(leader).await;

    let mut pause = Duration::ZERO;
    let mut duplicates_on_retry = 0;
    for n in 100..300 {
        let id = format!("m{n}");
        let t = Instant::now();
        let ack = publish_until_acked(&js, "harness.js.b", &id, &id, &mut errors).await;
        pause = pause.max(t.elapsed());
        if ack.duplicate {
            duplicates_on_retry += 1;
        }
        assert!(
            acked.insert(id.clone(), ack.sequence).is_none(),
            "{id} twice"
        );
    }
    let new_leader = cluster
        .wait_stream_leader(STREAM, Some(leader), Duration::from_secs(10))
        .await
        .expect("a new stream leader");
    latencies.sort();
    eprintln!(
        "killed {} at +0; 200 more acked in {:?}; longest single publish (the pause): {pause:?}; \
         new leader {}; errors before the kill {before_kill_errors:?}, after {errors:?}; \
         retries answered duplicate: {duplicates_on_retry}; p50 before the kill {:?}",
        cluster.name(leader),
        killed.elapsed(),
        cluster.name(new_leader),
        latencies[latencies.len() / 2],
    );
    assert!(
        pause < Duration::from_secs(20),
        "publishing paused {pause:?}"
    );

    // Every acknowledged message is in the stream, once.
    let state = stream.info().await.expect("stream info").state.clone();
    assert_eq!(state.messages, 300, "{state:?}");
    let mut by_seq: HashMap<u64, &str> = HashMap::new();
    for (id, &seq) in &acked {
        assert!(by_seq.insert(seq, id).is_none(), "sequence {seq} twice");
        let msg = stream
            .get_raw_message(seq)
            .await
            .unwrap_or_else(|e| panic!("get {seq} ({id}): {e}"));
        let stored_id = msg.headers.get("Nats-Msg-Id").map(|v| v.as_str());
        assert_eq!(stored_id, Some(id.as_str()), "message {seq}");
        assert_eq!(&msg.payload[..], id.as_bytes(), "message {seq}");
    }

    // An ordered pull consumer from a given stream sequence reads the rest
    // in order, each message with its stream sequence.
    let start = acked["m150"];
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut next = start;
    while next <= state.last_sequence {
        let msg = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .unwrap_or_else(|_| panic!("stream sequence {next} not delivered in time"))
            .expect("consumer open")
            .expect("message");
        let info = msg.info().expect("jetstream message info");
        assert_eq!(info.stream_sequence, next);
        assert_eq!(
            Some(msg.payload.as_ref()),
            by_seq.get(&next).map(|s| s.as_bytes())
        );
        next += 1;
    }

    // The killed server comes back on its store and catches up.
    cluster.start_again(leader).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jsz = cluster.monitor(leader, "/jsz?streams=true").await;
        let messages = jsz.as_ref().and_then(|j| {
            j["account_details"][0]["stream_detail"]
                .as_array()?
                .iter()
                .find(|s| s["name"] == STREAM)?["state"]["messages"]
                .as_u64()
        });
        if messages == Some(300) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not catch up: {messages:?}\n{}",
            cluster.name(leader),
            cluster.log_tail(leader)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A graceful stop exits 0.
    assert_eq!(cluster.stop(leader).await, Some(0));
}
