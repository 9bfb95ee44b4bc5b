//! The NATS cluster harness (`townhall_tests::nats`) against a real 3-node
//! nats-server 2.15.1 cluster and the async-nats 0.51 client: every server
//! fsyncs each write (`sync_always`), a stream with 3 replicas keeps every
//! acknowledged message when its leader is killed with SIGKILL, and
//! publishing resumes after a bounded pause. docs/nats-notes.md has the
//! client API notes drawn from this test.

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull, push},
    context::PublishErrorKind,
    message::PublishMessage,
    stream::{Config, StorageType},
};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
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
    // async-nats does not split a comma-separated list: it is one bad URL.
    let err = async_nats::connect(cluster.urls())
        .await
        .expect_err("a comma-separated list is one URL");
    eprintln!("connect(\"{}\"): {err}", cluster.urls());

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
    // (Here with publish_with_headers and a HeaderMap, the other way to set it.)
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Nats-Msg-Id", "m7");
    let dup = js
        .publish_with_headers("harness.js.a", headers, "again".into())
        .await
        .expect("publish");
    let dup = tokio::time::timeout(Duration::from_secs(5), dup.into_future())
        .await
        .expect("ack in time")
        .expect("ack");
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
    // A second client connected to the leader itself (servers in the given
    // order), to see what a publisher whose server dies gets.
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut on_leader_first = vec![cluster.url(leader)];
    on_leader_first.extend(
        (0..cluster.len())
            .filter(|&i| i != leader)
            .map(|i| cluster.url(i)),
    );
    let seen = events.clone();
    let client_b = async_nats::ConnectOptions::new()
        .name("nats-harness-on-leader")
        .retain_servers_order()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        .request_timeout(Some(Duration::from_secs(5)))
        .event_callback(move |event| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("events").push(event.to_string());
            }
        })
        .connect(on_leader_first)
        .await
        .expect("connect to the leader");
    assert_eq!(client_b.server_info().server_name, cluster.name(leader));
    let js_b = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .build(client_b.clone());

    // 50 publishes in flight, then SIGKILL of the leader (the server this
    // client is connected to): what do the PubAck futures give, and when?
    let mut in_flight = Vec::new();
    for n in 100..150 {
        let id = format!("m{n}");
        let msg = PublishMessage::build()
            .payload(id.clone().into())
            .message_id(&id);
        let fut = js_b
            .send_publish("harness.js.b", msg)
            .await
            .expect("publish sent");
        in_flight.push((id, fut));
    }
    let killed = Instant::now();
    cluster.kill(leader).await;
    let outcomes =
        futures_util::future::join_all(in_flight.into_iter().map(|(id, fut)| async move {
            let r = tokio::time::timeout(Duration::from_secs(10), fut.into_future()).await;
            (id, r, killed.elapsed())
        }))
        .await;
    let mut in_flight_outcomes: BTreeMap<String, (usize, Duration)> = BTreeMap::new();
    let mut lost_acks = Vec::new();
    for (id, r, at) in outcomes {
        let what = match r {
            Ok(Ok(ack)) => {
                assert!(acked.insert(id, ack.sequence).is_none());
                "acked".to_owned()
            }
            Ok(Err(e)) => {
                lost_acks.push(id);
                format!("{:?}", e.kind())
            }
            Err(_) => {
                lost_acks.push(id);
                "ack future still pending after 10 s".to_owned()
            }
        };
        let e = in_flight_outcomes
            .entry(what)
            .or_insert((0, Duration::ZERO));
        e.0 += 1;
        e.1 = e.1.max(at);
    }
    // Their retries, same Nats-Msg-Id: a copy stored before the kill is
    // answered duplicate: true with its sequence.
    let mut duplicates_on_retry = 0;
    for id in &lost_acks {
        let ack = publish_until_acked(&js_b, "harness.js.b", id, id, &mut errors).await;
        if ack.duplicate {
            duplicates_on_retry += 1;
        }
        assert!(
            acked.insert(id.clone(), ack.sequence).is_none(),
            "{id} twice"
        );
    }
    let first_ack_after_kill = killed.elapsed();

    let mut pause = Duration::ZERO;
    for n in 150..300 {
        let id = format!("m{n}");
        let t = Instant::now();
        let ack = publish_until_acked(&js_b, "harness.js.b", &id, &id, &mut errors).await;
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
        "killed {} (client B's server); in-flight PubAck futures: {in_flight_outcomes:?} \
         (count, latest outcome after the kill); their retries done {first_ack_after_kill:?} \
         after the kill, {duplicates_on_retry} answered duplicate: true; 150 more acked by \
         {:?}, longest single publish after that {pause:?}; new leader {}; failed attempts \
         before the kill {before_kill_errors:?}, after {errors:?}; client B events {:?}; \
         client B now on {}; p50 before the kill {:?}",
        cluster.name(leader),
        killed.elapsed(),
        cluster.name(new_leader),
        events.lock().expect("events"),
        client_b.server_info().server_name,
        latencies[latencies.len() / 2],
    );
    assert!(
        first_ack_after_kill < Duration::from_secs(30),
        "publishing paused {first_ack_after_kill:?}"
    );
    assert_eq!(acked.len(), 300);

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
    // Right after a leader change a JetStream API request can time out
    // (2 s here) while the cluster settles: retried, within a bound.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let consumer = loop {
        let made = stream
            .create_consumer(pull::OrderedConfig {
                deliver_policy: DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ..Default::default()
            })
            .await;
        match made {
            Ok(c) => break c,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("ordered consumer not made yet ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("ordered consumer: {e}"),
        }
    };
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

    // The same with an ordered push consumer (deliver subject: an inbox),
    // on a stream handle from get_stream.
    let mut stream2 = js.get_stream(STREAM).await.expect("get_stream");
    assert_eq!(
        stream2.info().await.expect("info").state.last_sequence,
        state.last_sequence
    );
    let push = stream2
        .create_consumer(push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        })
        .await
        .expect("ordered push consumer");
    let mut messages = push.messages().await.expect("push messages");
    for next in start..start + 10 {
        let msg = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .unwrap_or_else(|_| panic!("push: stream sequence {next} not delivered in time"))
            .expect("consumer open")
            .expect("message");
        assert_eq!(msg.info().expect("info").stream_sequence, next);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_server_without_cluster_block() {
    let mut cluster = NatsCluster::start(1).await;
    assert!(cluster.sync_always(0).await);
    assert_eq!(cluster.meta_leader(0).await, None, "no meta group alone");
    let client = async_nats::connect(cluster.url(0)).await.expect("connect");
    let js = jetstream::new(client);
    js.create_stream(Config {
        name: "ONE".to_owned(),
        subjects: vec!["one".to_owned()],
        ..Default::default()
    })
    .await
    .expect("create stream");
    let ack = js
        .publish("one", "x".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    assert_eq!(ack.sequence, 1);
    assert_eq!(cluster.stream_leader("ONE").await, Some(0));
    cluster.kill(0).await;
    cluster.start_again(0).await;
    let mut stream = js.get_stream("ONE").await.expect("stream after restart");
    assert_eq!(stream.info().await.expect("info").state.messages, 1);
    assert_eq!(cluster.stop(0).await, Some(0));
}
