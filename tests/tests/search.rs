//! Message search against the real binary: what is found, what never is
//! (visibility is history's), edits and deletes, the query filters, and
//! rebuilding the index (`townhall reindex`, and a deleted index folder).
//!
//! The index is filled in the background, so a test never sleeps: it asks
//! again until the expected result is there (within `WAIT`). To show that
//! something is *not* found, it first waits until a later message of the
//! same room is found: the indexer works through a room in seq order, so
//! everything before that message has been indexed by then.

use std::time::Duration;
use townhall_protocol::{
    ClientFrame, ErrorCode, RoomId, SearchResult, SearchSort, ServerFrame, Visibility,
};
use townhall_tests::{Client, TestServer, WAIT};

async fn search_page(c: &mut Client, query: &str, sort: Option<SearchSort>) -> ServerFrame {
    c.request(ClientFrame::Search {
        req_id: None,
        query: query.into(),
        sort,
        before_cursor: None,
        limit: Some(50),
    })
    .await
}

async fn search(c: &mut Client, query: &str) -> Vec<SearchResult> {
    match search_page(c, query, None).await {
        ServerFrame::SearchResults { results, .. } => results,
        other => panic!("search {query:?}: {other:?}"),
    }
}

/// The snippets of a search, newest first.
async fn snippets(c: &mut Client, query: &str) -> Vec<String> {
    search(c, query)
        .await
        .into_iter()
        .map(|r| r.snippet)
        .collect()
}

/// Ask again until `pred` holds for the results; panics with the last
/// results after `WAIT`.
async fn until(
    c: &mut Client,
    query: &str,
    what: &str,
    pred: impl Fn(&[SearchResult]) -> bool,
) -> Vec<SearchResult> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let results = search(c, query).await;
        if pred(&results) {
            return results;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("search {query:?}: waited {WAIT:?} for {what}; last results: {results:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until `query` finds the message `seq` of `room`.
async fn until_found(c: &mut Client, query: &str, room: RoomId, seq: u64) -> Vec<SearchResult> {
    until(c, query, &format!("seq {seq}"), |r| {
        r.iter().any(|h| h.room == room && h.seq == seq)
    })
    .await
}

fn seqs(results: &[SearchResult]) -> Vec<u64> {
    results.iter().map(|r| r.seq).collect()
}

#[tokio::test]
async fn words_phrases_stemming_accents_and_highlights() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let mut alice = server.connect(&alice_token).await;
    let room = alice.create_room("plans", Visibility::Public).await.id;
    let (_, runs, _) = alice.post(room, "Bob runs the standup every day").await;
    let (_, cafe, _) = alice.post(room, "Lunch at the Café Zürich?").await;
    let (_, chart, _) = alice
        .post(
            room,
            "The new org chart is on the wiki https://wiki.example/org",
        )
        .await;
    let (_, other, _) = alice.post(room, "chart of the org, unrelated").await;

    // A word, with its snippet and the highlighted word in it.
    let found = until_found(&mut alice, "standup", room, runs).await;
    assert_eq!(seqs(&found), [runs]);
    let hit = &found[0];
    assert_eq!(hit.author.username, "alice");
    let [start, end] = hit.highlights[0];
    let utf16: Vec<u16> = hit.snippet.encode_utf16().collect();
    assert_eq!(
        String::from_utf16_lossy(&utf16[start as usize..end as usize]),
        "standup"
    );
    // Stemming: "running" finds "runs"; case and accents are folded.
    until_found(&mut alice, "running", room, runs).await;
    until_found(&mut alice, "cafe ZURICH", room, cafe).await;
    // A phrase matches its words in order only; words match anywhere.
    let phrase = until_found(&mut alice, "\"org chart\"", room, chart).await;
    assert_eq!(seqs(&phrase), [chart], "{phrase:#?}");
    let words = until_found(&mut alice, "org chart", room, other).await;
    assert_eq!(seqs(&words), [other, chart], "newest first");
    // The indexer's gauges are on /metrics.
    let metrics = reqwest::get(server.http("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{metrics}"))
    };
    assert!(gauge("townhall_search_documents") >= 1.0);
    assert!(gauge("townhall_search_index_lag_seconds") >= 0.0);
    // has:link
    let links = until_found(&mut alice, "has:link", room, chart).await;
    assert_eq!(seqs(&links), [chart]);
    // Relevance order is accepted; the same hits.
    match search_page(&mut alice, "org chart", Some(SearchSort::Relevance)).await {
        ServerFrame::SearchResults { results, .. } => {
            let mut got = seqs(&results);
            got.sort();
            assert_eq!(got, [chart, other]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn filters_in_from_before_and_after() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let mut alice = server.connect(&alice_token).await;
    let mut bob = server.connect(&bob_token).await;
    let design = alice.create_room("design", Visibility::Public).await.id;
    let ops = alice.create_room("ops", Visibility::Public).await.id;
    bob.join(design).await;
    bob.join(ops).await;
    let (_, a1, _) = alice.post(design, "budget review in design").await;
    let (_, a2, _) = alice.post(ops, "budget review in ops").await;
    let (_, b1, _) = bob.post(ops, "budget numbers from bob").await;

    until_found(&mut alice, "budget", ops, b1).await;
    let in_ops = search(&mut alice, "budget in:#ops").await;
    assert_eq!(seqs(&in_ops), [b1, a2]);
    assert!(in_ops.iter().all(|r| r.room == ops));
    let from_bob = search(&mut alice, "budget from:@bob").await;
    assert_eq!(seqs(&from_bob), [b1]);
    let from_alice_in_design = search(&mut alice, "from:@alice in:#design budget").await;
    assert_eq!(seqs(&from_alice_in_design), [a1]);
    assert!(search(&mut alice, "budget from:@nobody").await.is_empty());
    assert!(search(&mut alice, "budget in:#nowhere").await.is_empty());
    assert!(
        search(&mut alice, "budget before:2000-01-01")
            .await
            .is_empty()
    );
    assert_eq!(search(&mut alice, "budget after:2000-01-01").await.len(), 3);
    assert_eq!(
        search(&mut alice, "budget before:2999-01-01").await.len(),
        3
    );

    // A query the server cannot read is a `bad_query`, never a dropped
    // connection.
    for bad in ["\"unclosed", "is:pinned", "before:tomorrow", "   "] {
        alice
            .expect_error(
                ClientFrame::Search {
                    req_id: None,
                    query: bad.into(),
                    sort: None,
                    before_cursor: None,
                    limit: None,
                },
                ErrorCode::BadQuery,
            )
            .await;
    }
}

#[tokio::test]
async fn a_private_room_a_dm_and_a_removed_member_see_exactly_what_history_shows() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (_, carol_token) = server.user("carol").await;
    let mut alice = server.connect(&alice_token).await;
    let mut bob = server.connect(&bob_token).await;
    let mut carol = server.connect(&carol_token).await;

    // A private room with alice and bob; carol is not in it.
    let secret = alice.create_room("secret", Visibility::Private).await.id;
    alice.add_member(secret, "bob").await;
    let (_, s1, _) = alice
        .post(secret, "the acquisition codename is heron")
        .await;
    until_found(&mut bob, "heron", secret, s1).await;
    assert!(
        search(&mut carol, "heron").await.is_empty(),
        "carol is not a member"
    );
    assert!(search(&mut carol, "in:#secret heron").await.is_empty());

    // A DM between alice and bob: only the two of them find it.
    let dm = match alice
        .request(ClientFrame::OpenDm {
            req_id: None,
            user: "bob".into(),
        })
        .await
    {
        ServerFrame::Room { room, .. } => room.id,
        other => panic!("open_dm: {other:?}"),
    };
    let (_, d1, _) = alice.post(dm, "pelican is the dm word").await;
    until_found(&mut bob, "pelican", dm, d1).await;
    until_found(&mut alice, "pelican", dm, d1).await;
    assert!(
        search(&mut carol, "pelican").await.is_empty(),
        "not carol's DM"
    );

    // Bob is removed; what is posted afterwards is never his to find.
    match alice
        .request(ClientFrame::RemoveMember {
            req_id: None,
            room: secret,
            user: "bob".into(),
        })
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("remove: {other:?}"),
    }
    let (_, s2, _) = alice.post(secret, "heron closes on friday").await;
    until_found(&mut alice, "heron friday", secret, s2).await;
    assert!(
        search(&mut bob, "heron").await.is_empty(),
        "a removed member finds nothing in the room"
    );
}

#[tokio::test]
async fn an_edit_is_found_by_its_new_text_only_and_a_delete_is_never_found() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let mut alice = server.connect(&alice_token).await;
    let room = alice.create_room("edits", Visibility::Public).await.id;
    let (_, edited, _) = alice.post(room, "meeting at the lighthouse").await;
    let (_, deleted, _) = alice.post(room, "lighthouse keys are under the mat").await;
    until_found(&mut alice, "lighthouse", room, deleted).await;

    for frame in [
        ClientFrame::Edit {
            req_id: None,
            room,
            seq: edited,
            body: "meeting at the harbour".into(),
        },
        ClientFrame::Delete {
            req_id: None,
            room,
            seq: deleted,
        },
    ] {
        match alice.request(frame).await {
            ServerFrame::Ok { .. } | ServerFrame::Ack { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let found = until_found(&mut alice, "harbour", room, edited).await;
    assert_eq!(seqs(&found), [edited]);
    // A later message, once found, shows the edit and delete were indexed.
    let (_, marker, _) = alice.post(room, "marker walrus").await;
    until_found(&mut alice, "walrus", room, marker).await;
    assert!(
        search(&mut alice, "lighthouse").await.is_empty(),
        "neither the old text nor the deleted message"
    );
    assert!(search(&mut alice, "keys mat").await.is_empty());
}

#[tokio::test]
async fn reindex_and_a_deleted_index_folder_give_the_same_results() {
    let mut server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let mut alice = server.connect(&alice_token).await;
    let room = alice.create_room("archive", Visibility::Public).await.id;
    let mut last = 0;
    for i in 0..30 {
        let word = if i % 3 == 0 { "otter" } else { "badger" };
        last = alice
            .post(room, &format!("{word} sighting number {i}"))
            .await
            .1;
    }
    alice.post(room, "one more otter").await;
    until_found(&mut alice, "badger", room, last - 1).await;
    until(&mut alice, "otter", "11 otters", |r| r.len() == 11).await;
    let before_otter = snippets(&mut alice, "otter").await;
    let before_badger = snippets(&mut alice, "badger").await;
    alice.close().await;

    // `townhall reindex` on the stopped server's folder.
    assert_eq!(server.stop().await, Some(0));
    let out = std::process::Command::new(townhall_tests::binary())
        .arg("reindex")
        .arg("--data")
        .arg(&server.data)
        .output()
        .expect("run townhall reindex");
    assert!(
        out.status.success(),
        "reindex failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("reindexed 31 messages"), "{said}");
    server.restart().await;
    let mut alice = server.connect(&alice_token).await;
    assert_eq!(snippets(&mut alice, "otter").await, before_otter);
    assert_eq!(snippets(&mut alice, "badger").await, before_badger);
    alice.close().await;

    // The index folder deleted: the server rebuilds it by itself.
    assert_eq!(server.stop().await, Some(0));
    std::fs::remove_dir_all(server.data.join("search")).expect("remove the index");
    server.restart().await;
    let mut alice = server.connect(&alice_token).await;
    until(&mut alice, "otter", "the rebuilt index", |r| r.len() == 11).await;
    assert_eq!(snippets(&mut alice, "otter").await, before_otter);
    assert_eq!(snippets(&mut alice, "badger").await, before_badger);

    // A corrupt index is rebuilt, not fatal.
    alice.close().await;
    assert_eq!(server.stop().await, Some(0));
    std::fs::write(server.data.join("search/meta.json"), "{ not json").expect("write");
    server.restart().await;
    let mut alice = server.connect(&alice_token).await;
    until(&mut alice, "otter", "the rebuilt index", |r| r.len() == 11).await;
    assert_eq!(snippets(&mut alice, "badger").await, before_badger);

    // A folder from another version is rebuilt too.
    alice.close().await;
    assert_eq!(server.stop().await, Some(0));
    std::fs::write(server.data.join("search/TOWNHALL_VERSION"), "old").expect("write");
    server.restart().await;
    let mut alice = server.connect(&alice_token).await;
    until(&mut alice, "otter", "the rebuilt index", |r| r.len() == 11).await;
    assert_eq!(snippets(&mut alice, "badger").await, before_badger);
}

#[tokio::test]
async fn questions_unanswered_questions_and_mentions_of_me() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let mut alice = server.connect(&alice_token).await;
    let mut bob = server.connect(&bob_token).await;
    let room = alice.create_room("help", Visibility::Public).await.id;
    bob.join(room).await;
    let ask = |body: &str| ClientFrame::Send {
        req_id: None,
        room,
        client_id: uuid::Uuid::new_v4(),
        body: body.into(),
        thread: None,
        question: true,
        attachments: Vec::new(),
    };
    let q1 = match bob.request(ask("how do I reset the printer?")).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("{other:?}"),
    };
    let q2 = match bob.request(ask("where is the printer manual?")).await {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("{other:?}"),
    };
    let (_, answer, _) = alice.post(room, "hold the printer button for 5 s").await;
    let (_, mention, _) = bob.post(room, "@alice thanks for the printer tip").await;
    until_found(&mut alice, "printer", room, mention).await;
    assert_eq!(
        seqs(&search(&mut alice, "printer is:question").await),
        [q2, q1]
    );
    assert_eq!(
        seqs(&search(&mut alice, "printer mentions:me").await),
        [mention]
    );
    assert!(search(&mut bob, "printer mentions:me").await.is_empty());

    match alice
        .request(ClientFrame::MarkAnswer {
            req_id: None,
            room,
            question: q1,
            answer,
        })
        .await
    {
        ServerFrame::Ok { .. } => {}
        other => panic!("mark_answer: {other:?}"),
    }
    until(
        &mut alice,
        "is:unanswered printer",
        "only q2 unanswered",
        |r| seqs(r) == [q2],
    )
    .await;
    assert_eq!(seqs(&search(&mut alice, "is:question").await), [q2, q1]);
}

/// Thread replies and broadcasts are found like messages, by those who
/// may read them only.
#[tokio::test]
async fn thread_replies_and_broadcasts_are_found_by_their_readers() {
    let server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let (_, bob_token) = server.user("bob").await;
    let (_, carol_token) = server.user("carol").await;
    let (_, lead_token) = server.user_with_role("lead", "leader").await;
    let (mut alice, _, _) = server.connect_caught_up(&alice_token, None, None).await;
    let (mut bob, _, _) = server.connect_caught_up(&bob_token, None, None).await;
    let (mut carol, _, _) = server.connect_caught_up(&carol_token, None, None).await;
    let (mut lead, _, _) = server.connect_caught_up(&lead_token, None, None).await;
    let room = alice.create_room("planning", Visibility::Private).await.id;
    alice.add_member(room, "bob").await;
    let (_, parent, _) = alice.post(room, "the new rota").await;
    let reply = match bob
        .request(ClientFrame::Send {
            req_id: None,
            room,
            client_id: uuid::Uuid::new_v4(),
            body: "the wombat shift starts at six".into(),
            thread: Some(parent),
            question: false,
            attachments: Vec::new(),
        })
        .await
    {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("reply: {other:?}"),
    };
    let found = until_found(&mut alice, "wombat", room, reply).await;
    assert_eq!(seqs(&found), [reply]);

    let posted = lead
        .request(ClientFrame::Broadcast {
            req_id: None,
            client_id: uuid::Uuid::new_v4(),
            body: "The capybara programme starts on Monday.".into(),
            rooms: vec![],
            ack_requested: false,
        })
        .await;
    assert!(
        matches!(posted, ServerFrame::BroadcastPosted { .. }),
        "{posted:?}"
    );
    let copy = carol
        .event_where("the broadcast", |e| {
            matches!(e.content, townhall_protocol::Content::Broadcast { .. })
        })
        .await;
    let found = until_found(&mut carol, "capybara", copy.room, copy.seq).await;
    assert!(
        found
            .iter()
            .all(|r| r.snippet.to_lowercase().contains("capybara"))
    );
    // Carol reads no thread of the private room: its reply, which alice
    // already found above (so it is indexed), is not found for her.
    assert!(search(&mut carol, "wombat").await.is_empty());
}

#[tokio::test]
async fn a_server_killed_while_indexing_finds_everything_once_after_restart() {
    let mut server = TestServer::start().await;
    let (_, alice_token) = server.user("alice").await;
    let mut alice = server.connect(&alice_token).await;
    let room = alice.create_room("crash", Visibility::Public).await.id;
    let (_, first, _) = alice.post(room, "heron sighting early").await;
    until_found(&mut alice, "heron", room, first).await;
    // Acknowledged, then killed before (or while) the indexer gets to them.
    for i in 0..40 {
        alice.post(room, &format!("heron sighting {i}")).await;
    }
    server.kill9().await;
    server.restart().await;
    let mut alice = server.connect(&alice_token).await;
    let found = until(&mut alice, "heron", "41 herons", |r| r.len() == 41).await;
    let mut seqs = seqs(&found);
    seqs.dedup();
    assert_eq!(seqs.len(), 41, "each message once");
    // And the indexer goes on after the restart.
    let (_, after, _) = alice.post(room, "heron after the restart").await;
    until_found(&mut alice, "heron restart", room, after).await;
}

/// In a cluster every node applies the log to its own store, and its own
/// indexer follows what it applied: a message posted through one node is
/// found through every node.
#[tokio::test]
async fn every_cluster_node_indexes_what_it_applied() {
    let cluster = townhall_tests::cluster::TownhallCluster::start(2).await;
    let (_, token0) = cluster.node(0).user("alice").await;
    let mut on0 = cluster.node(0).connect(&token0).await;
    let room = on0.create_room("clustered", Visibility::Public).await.id;
    let (_, seq, _) = on0.post(room, "a kingfisher by the river").await;
    let token1 = cluster.node(1).login("alice", "alice-password").await.token;
    let mut on1 = cluster.node(1).connect(&token1).await;
    let via1 = until_found(&mut on1, "kingfishers", room, seq).await;
    let via0 = until_found(&mut on0, "kingfishers", room, seq).await;
    assert_eq!(seqs(&via0), seqs(&via1));
    cluster.assert_converged().await;
}

/// The value of the metric line `name` (exact, labels included).
async fn metric(server: &TestServer, name: &str) -> Option<f64> {
    let text = reqwest::get(server.http("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(n, _)| *n == name)
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test]
async fn each_indexing_round_records_its_lag_and_no_search_turns_the_index_off() {
    let server = TestServer::start().await;
    let (_, token) = server.user("alice").await;
    let mut alice = server.connect(&token).await;
    let room = alice.create_room("lag", Visibility::Public).await.id;
    let (_, seq, _) = alice.post(room, "pelican sighting").await;
    until_found(&mut alice, "pelican", room, seq).await;
    // Found means a round committed it, and every round records its lag.
    let rounds = metric(&server, "townhall_search_lag_seconds_count")
        .await
        .expect("the lag histogram once a round ran");
    assert!(rounds >= 1.0, "{rounds}");
    let sum = metric(&server, "townhall_search_lag_seconds_sum").await;
    assert!(sum.is_some_and(|s| (0.0..60.0).contains(&s)), "{sum:?}");

    let off = TestServer::start_with(&["--no-search"]).await;
    let (_, token) = off.user("bob").await;
    let mut bob = off.connect(&token).await;
    let room = bob.create_room("quiet", Visibility::Public).await.id;
    bob.post(room, "pelican sighting").await;
    match search_page(&mut bob, "pelican", None).await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::Unavailable),
        other => panic!("search with --no-search: {other:?}"),
    }
    assert!(!off.data.join("search").exists(), "no index folder is made");
}
