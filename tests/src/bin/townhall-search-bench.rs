//! Search figures (issue 12): post N messages through a real server, wait
//! until the last one is searchable, then time queries.
//!
//! ```text
//! cargo build --release -p townhall-server
//! TOWNHALL_BIN=target/release/townhall cargo run --release -p townhall-tests \
//!     --bin townhall-search-bench -- --messages 100000 --queries 300
//! ```
//! Prints: send time, how long after the last ack the last message became
//! searchable, index disk per message, and p50/p99 of single-word, phrase
//! and filtered queries (each timed from the request to its reply, over
//! the WebSocket, as a client sees it).

use clap::Parser;
use std::time::{Duration, Instant};
use townhall_protocol::{ClientFrame, ServerFrame, Visibility};
use townhall_tests::{Client, TestServer, dir_bytes};

#[derive(Parser)]
struct Args {
    /// Messages to post.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Queries of each kind to time.
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// Distinct words the bodies are made of.
    #[arg(long, default_value_t = 20_000)]
    vocabulary: usize,
}

/// Sends waiting for their ack at once: the server's per-connection cap.
const WINDOW: usize = 256;

/// Words in a body.
const WORDS_PER_MESSAGE: usize = 12;

/// A small deterministic generator (xorshift): the same corpus every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Skewed towards low indexes (a few words are common, most are rare),
    /// as in real text.
    fn word(&mut self, n: usize) -> usize {
        let a = self.next() as usize % n;
        let b = self.next() as usize % n;
        a.min(b)
    }
}

/// Makes one query of a kind.
type MakeQuery<'a> = Box<dyn Fn(&mut Rng) -> String + 'a>;

fn make_word(i: usize) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ten", "sor", "bu", "ne", "dra", "vel", "po", "chi", "ran", "tu", "gel",
        "fa", "sil",
    ];
    let mut w = String::new();
    let mut x = i + 16;
    while x > 0 {
        w.push_str(SYL[x % 16]);
        x /= 16;
    }
    w
}

async fn timed_search(c: &mut Client, query: &str) -> (Duration, usize) {
    let started = Instant::now();
    let reply = c
        .request(ClientFrame::Search {
            req_id: None,
            query: query.into(),
            sort: None,
            before_cursor: None,
            limit: Some(20),
        })
        .await;
    let took = started.elapsed();
    match reply {
        ServerFrame::SearchResults { results, .. } => (took, results.len()),
        other => panic!("search {query:?}: {other:?}"),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let vocab: Vec<String> = (0..args.vocabulary).map(make_word).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let mut alice = server.connect(&token).await;
    let room = alice.create_room("bench", Visibility::Public).await.id;

    let mut phrases = Vec::new();
    let sent_at = Instant::now();
    let mut waiting = 0usize;
    for i in 0..args.messages {
        let words: Vec<&str> = (0..WORDS_PER_MESSAGE)
            .map(|_| vocab[rng.word(vocab.len())].as_str())
            .collect();
        if i % 997 == 0 {
            phrases.push(format!("\"{} {}\"", words[3], words[4]));
        }
        let body = if i + 1 == args.messages {
            "the last one zzlastmessage".to_owned()
        } else {
            words.join(" ")
        };
        alice
            .send(&ClientFrame::Send {
                req_id: None,
                room,
                client_id: uuid::Uuid::new_v4(),
                body,
                thread: None,
                question: false,
                attachments: Vec::new(),
            })
            .await;
        waiting += 1;
        if waiting == WINDOW {
            alice
                .expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
                .await;
            waiting -= 1;
            // Our own messages come back as live events: drop them, and
            // the client's record of frames, so memory stays flat.
            while alice.pending_frame().is_some() {}
            alice.seen.clear();
        }
    }
    for _ in 0..waiting {
        alice
            .expect("ack", |f| matches!(f, ServerFrame::Ack { .. }))
            .await;
    }
    alice.seen.clear();
    let sent = sent_at.elapsed();
    let acked = Instant::now();
    loop {
        if timed_search(&mut alice, "zzlastmessage").await.1 == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let caught_up = acked.elapsed();
    let index_bytes = dir_bytes(&server.data.join("search"));
    println!(
        "posted {} messages in {:.1} s ({:.0}/s, acks durable); the last searchable {:.0} ms after its ack",
        args.messages,
        sent.as_secs_f64(),
        args.messages as f64 / sent.as_secs_f64(),
        caught_up.as_secs_f64() * 1000.0
    );
    println!(
        "index: {:.1} MiB, {:.0} bytes per message",
        index_bytes as f64 / 1048576.0,
        index_bytes as f64 / args.messages as f64
    );

    let kinds: [(&str, MakeQuery); 3] = [
        (
            "single word",
            Box::new(|r: &mut Rng| vocab[r.word(vocab.len())].clone()),
        ),
        (
            "phrase",
            Box::new(|r: &mut Rng| phrases[r.next() as usize % phrases.len()].clone()),
        ),
        (
            "word + from: in: after:",
            Box::new(|r: &mut Rng| {
                format!(
                    "{} from:@alice in:#bench after:2000-01-01",
                    vocab[r.word(vocab.len())]
                )
            }),
        ),
    ];
    for (name, make) in kinds.iter() {
        let mut times = Vec::with_capacity(args.queries);
        let mut hits = 0;
        for _ in 0..args.queries {
            let q = make(&mut rng);
            let (took, n) = timed_search(&mut alice, &q).await;
            times.push(took);
            hits += n;
            alice.seen.clear();
        }
        times.sort();
        println!(
            "{name:>24}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} queries, {:.1} results each)",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0,
            times.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
            args.queries,
            hits as f64 / args.queries as f64
        );
    }
}
