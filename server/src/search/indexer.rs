//! The search indexer: a background task that follows what this node
//! applied, off the ack path.
//!
//! It reads the store, not the committer: for each room with new events
//! it reads `room_seq_event` from the seq after the one saved with the last
//! index commit, up to the published position. So it needs nothing from
//! the committer but the hub's note of which rooms had events published
//! (`Hub::take_search_dirty`), survives crashes (the positions are the
//! commit's payload, committed with the documents), and works the same on
//! every cluster node, each following its own sled. A sender never waits
//! for it; the price is a lag, reported in `search_results.index_lag_ms`
//! and `townhall_search_index_lag_seconds`.
//!
//! Events, as met in seq order: a message, thread reply, broadcast copy or
//! question is (re)indexed as the store holds it now (edited text, deleted
//! state); `edited` and `answered` re-index their target from the store;
//! `deleted` removes its target's document.

use super::index::{MessageDoc, Positions, SearchIndex};
use super::{Search, SearchError};
use crate::hub::Hub;
use crate::idhash::IdSet;
use crate::store::{Store, StoredEvent};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use townhall_protocol::{Content, Event, Pos, RoomId, RoomSeq};

/// Events read from the store per range read of a room.
const CHUNK: usize = 256;

/// Pause after each round before the next: commits (an fsync each) are
/// grouped over this window under load, and the lag it adds stays far
/// below the 1 s goal.
const ROUND_GAP: Duration = Duration::from_millis(50);

/// With nothing published, look again this often anyway (a room carried
/// over from a round whose events were not yet published).
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// After an error, wait this long before starting over: long enough not to
/// spin on a full disk, short enough that search recovers soon after.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Start the indexer. It stops when `stop` fires. An error (the disk full,
/// a store read failing) is logged, and the indexer starts over from the
/// last commit after [`RETRY_AFTER`]: search meanwhile reports a growing
/// lag, and the server goes on.
pub fn start(
    search: Search,
    store: Store,
    hub: Hub,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match run(search.clone(), store.clone(), hub.clone(), stop.clone()).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(error = %e, "search indexer failed; starting over shortly")
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(RETRY_AFTER) => {}
            }
        }
    })
}

async fn run(
    search: Search,
    store: Store,
    hub: Hub,
    stop: CancellationToken,
) -> Result<(), SearchError> {
    let mut published_rx = hub.watch_published();
    let (writer, positions) = {
        let s = search.clone();
        tokio::task::spawn_blocking(move || -> Result<_, SearchError> {
            Ok((s.index().writer()?, s.index().positions()?))
        })
        .await
        .map_err(|e| SearchError::Index(format!("indexer task: {e}")))??
    };
    let mut state = Some((writer, positions));
    // The first round looks at every room: what was published while no
    // indexer ran (or since the index was made new) is found by seq.
    let mut carry: IdSet<RoomId> = store.rooms()?.into_iter().map(|r| r.id).collect();
    loop {
        let started = crate::committer::now_millis();
        let mut rooms = hub.take_search_dirty();
        rooms.extend(carry.drain());
        let target = hub.published();
        if !rooms.is_empty() {
            search.mark_behind(started);
            let (s, st, taken) = (search.clone(), store.clone(), state.take());
            let Some((mut writer, mut positions)) = taken else {
                return Err(SearchError::Index("indexer lost its writer".into()));
            };
            let (writer, positions, left) = tokio::task::spawn_blocking(move || {
                let mut left = IdSet::default();
                let out = (|| -> Result<(), SearchError> {
                    for room in rooms {
                        index_room(&st, s.index(), &writer, &mut positions, room, target)?;
                        // Events stored above `target` (not yet published):
                        // this room is looked at again next round.
                        let done = positions.get(&room).copied().unwrap_or(0);
                        if st.last_event_any(room)?.is_some_and(|e| e.seq > done) {
                            left.insert(room);
                        }
                    }
                    s.index().commit(&mut writer, &positions)
                })();
                (writer, positions, left, out)
            })
            .await
            .map(|(w, p, l, out)| out.map(|()| (w, p, l)))
            .map_err(|e| SearchError::Index(format!("indexer task: {e}")))??;
            state = Some((writer, positions));
            carry = left;
        }
        let caught_up = carry.is_empty() && hub.published() <= target;
        search.mark_indexed(target, started, caught_up);
        crate::metrics::set_search_index(
            Duration::from_millis(search.lag_ms(hub.published())),
            search.index().num_docs(),
        );
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = wait_published(published_rx.as_mut()) => {}
            () = tokio::time::sleep(IDLE_WAKE) => {}
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(ROUND_GAP) => {}
        }
    }
}

async fn wait_published(rx: Option<&mut tokio::sync::watch::Receiver<Pos>>) {
    match rx {
        Some(rx) => {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

/// Index a room's events after its saved position, up to `visible`.
pub fn index_room(
    store: &Store,
    index: &SearchIndex,
    writer: &tantivy::IndexWriter,
    positions: &mut Positions,
    room: RoomId,
    visible: Pos,
) -> Result<(), SearchError> {
    let mut from = positions.get(&room).copied().unwrap_or(0) + 1;
    loop {
        let events = store.events(room, from, RoomSeq::MAX, false, CHUNK, visible)?;
        let n = events.len();
        for stored in events {
            from = stored.seq + 1;
            apply_event(store, index, writer, room, &stored)?;
            positions.insert(room, stored.seq);
        }
        if n < CHUNK {
            return Ok(());
        }
    }
}

fn apply_event(
    store: &Store,
    index: &SearchIndex,
    writer: &tantivy::IndexWriter,
    room: RoomId,
    stored: &StoredEvent,
) -> Result<(), SearchError> {
    let event = stored.decode()?;
    match &event.content {
        Content::Message { .. } | Content::Broadcast { .. } => {
            index_message(store, index, writer, &event)
        }
        Content::Edited { target, .. }
        | Content::Answered {
            question: target, ..
        } => match store.event(room, *target)? {
            Some(t) => index_message(store, index, writer, &t.decode()?),
            None => Ok(()),
        },
        Content::Deleted { target } => {
            index.delete(writer, room, *target);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// (Re)write one message's document from its stored state.
fn index_message(
    store: &Store,
    index: &SearchIndex,
    writer: &tantivy::IndexWriter,
    event: &Event,
) -> Result<(), SearchError> {
    let (body, mut flags) = match &event.content {
        Content::Message {
            body,
            thread,
            question,
        } => {
            let mut flags = Vec::new();
            if thread.is_some() {
                flags.push("thread");
            }
            if *question {
                flags.push("question");
                if event.state.answer.is_none() {
                    flags.push("unanswered");
                }
            }
            (body, flags)
        }
        Content::Broadcast { body, .. } => (body, vec!["broadcast"]),
        _ => return Ok(()),
    };
    if event.state.deleted {
        index.delete(writer, event.room, event.seq);
        return Ok(());
    }
    if has_link(body) {
        flags.push("link");
    }
    let mentions = match store.mention_record(event.room, event.seq)? {
        Some(m) => {
            let mut v: Vec<String> = m.users.iter().map(|u| u.to_string()).collect();
            if m.room {
                v.push("@room".to_owned());
            }
            v
        }
        None => Vec::new(),
    };
    index.upsert(
        writer,
        &MessageDoc {
            room: event.room,
            seq: event.seq,
            author: event.sender.id,
            ts: event.ts,
            body,
            flags,
            mentions,
        },
    )
}

/// Whether a body holds a link (what `has:link` finds).
pub fn has_link(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("http://") || lower.contains("https://") || lower.contains("www.")
}
