//! The search indexer: a background task that follows what this node
//! applied, off the ack path.
//!
//! It reads the store, not the committer: each round reads the published
//! position P, takes the hub's note of which rooms had events published
//! (`Hub::take_search_dirty`), reads each such room's `room_seq_event` from
//! where it left off up to P, and commits the index with P as the commit's
//! payload. Rooms are noted before `published` passes their events, and
//! P is read before the note is taken, so after the round every event at
//! or below P is indexed (a room with events stored above P is looked at
//! again next round). After a crash or restart the indexer continues from
//! the committed P: in each room, from the first seq above P (a binary
//! search over the room's seqs). So it needs nothing from the committer,
//! and works the same on every cluster node, each following its own sled. A sender never waits
//! for it; the price is a lag, reported in `search_results.index_lag_ms`
//! and `townhall_search_index_lag_seconds`.
//!
//! Events, as met in seq order: a message, thread reply, broadcast copy or
//! question is (re)indexed as the store holds it now (edited text, deleted
//! state); `edited` and `answered` re-index their target from the store;
//! `deleted` removes its target's document.

use super::index::{MessageDoc, SearchIndex};
use super::{Search, SearchError};
use crate::hub::Hub;
use crate::idhash::IdSet;
use crate::store::{Store, StoredEvent};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use townhall_protocol::{Content, Event, Pos, RoomId, RoomSeq};

/// Where the indexer is in each room, in memory: the last seq indexed. A
/// room it has not met yet since its start continues after `base`, the
/// position of the last commit.
pub struct Cursor {
    base: Pos,
    rooms: BTreeMap<RoomId, RoomSeq>,
    /// The position of the last commit.
    committed: Pos,
    /// Events applied since the last commit.
    uncommitted: usize,
}

impl Cursor {
    pub fn new(base: Pos) -> Cursor {
        Cursor {
            base,
            rooms: BTreeMap::new(),
            committed: base,
            uncommitted: 0,
        }
    }

    /// Commit everything up to `pos` (a round is complete).
    pub fn commit(
        &mut self,
        index: &SearchIndex,
        writer: &mut tantivy::IndexWriter,
        pos: Pos,
    ) -> Result<(), SearchError> {
        index.commit(writer, pos)?;
        self.committed = pos;
        self.uncommitted = 0;
        Ok(())
    }

    /// In a long round (a rebuild), commit what is done so far every
    /// [`COMMIT_EVERY`] events, so searches see it, under the *previous*
    /// position: a crash replays from there, and replaying is idempotent
    /// (every document is written by key, deletes of nothing are no-ops).
    fn commit_if_long(
        &mut self,
        index: &SearchIndex,
        writer: &mut tantivy::IndexWriter,
    ) -> Result<(), SearchError> {
        if self.uncommitted >= COMMIT_EVERY {
            let pos = self.committed;
            self.commit(index, writer, pos)?;
        }
        Ok(())
    }
}

/// Events between intermediate commits of a long round: a rebuild of a
/// million messages becomes searchable step by step, not all at the end.
const COMMIT_EVERY: usize = 50_000;

/// Events read from the store per range read of a room.
const CHUNK: usize = 256;

/// Pause after each round before the next. A commit has a fixed cost
/// whatever it holds: tantivy closes the segment (a term dictionary per
/// field) and opens the next one (fresh arenas and hash tables, several MB
/// to fault in and zero), plus an fsync and, later, merges. With a 50 ms
/// gap a 100-member room at 100 msgs/s committed about 14 times a second
/// for a few messages each, and the indexer was 38 % of the server's CPU
/// (docs/benchmarks.md, finding 14). 200 ms groups them, and the lag it
/// adds stays far below the 1 s goal.
const ROUND_GAP: Duration = Duration::from_millis(200);

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
    let (writer, base) = {
        let s = search.clone();
        // Made at low priority: tantivy's threads inherit it.
        super::low_priority::run(move || -> Result<_, SearchError> {
            Ok((s.index().writer()?, s.index().indexed_pos()?))
        })
        .await??
    };
    let mut state = Some((writer, Cursor::new(base)));
    // The first round looks at every room: what was published while no
    // indexer ran (or since the index was made new) is found by seq.
    let mut carry: IdSet<RoomId> = store.rooms()?.into_iter().map(|r| r.id).collect();
    // When the events of the rooms in `carry` were published, at the latest.
    let mut carry_since = crate::committer::now_millis();
    loop {
        let started = crate::committer::now_millis();
        // `published` first, then the rooms (see the module header).
        let target = hub.published();
        let (mut rooms, dirty_since) = hub.take_search_dirty();
        // The oldest message this round makes searchable was published at
        // `dirty_since` (or, for rooms carried over, before this round).
        let oldest = match (rooms.is_empty(), carry.is_empty()) {
            (false, true) => dirty_since.min(started),
            (_, false) => carry_since.min(started),
            (true, true) => started,
        };
        rooms.extend(carry.drain());
        let indexing = !rooms.is_empty();
        if indexing {
            search.mark_behind(oldest);
            let (s, st, taken) = (search.clone(), store.clone(), state.take());
            let Some((mut writer, mut cursor)) = taken else {
                return Err(SearchError::Index("indexer lost its writer".into()));
            };
            let (writer, cursor, left) = super::low_priority::run(move || {
                let mut left = IdSet::default();
                let out = (|| -> Result<(), SearchError> {
                    for room in rooms {
                        let done =
                            index_room(&st, s.index(), &mut writer, &mut cursor, room, target)?;
                        // Events stored above `target` (not yet published):
                        // this room is looked at again next round.
                        if st.last_event_any(room)?.is_some_and(|e| e.seq > done) {
                            left.insert(room);
                        }
                    }
                    cursor.commit(s.index(), &mut writer, target)
                })();
                (writer, cursor, left, out)
            })
            .await
            .map(|(w, c, l, out)| out.map(|()| (w, c, l)))??;
            state = Some((writer, cursor));
            carry = left;
        }
        let caught_up = carry.is_empty() && hub.published() <= target;
        search.mark_indexed(target, started, caught_up);
        if indexing {
            let done = crate::committer::now_millis();
            crate::metrics::record_search_round(Duration::from_millis(done.saturating_sub(oldest)));
            // Rooms carried over hold events stored above `target`, so
            // published after this round started.
            carry_since = started;
        }
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

/// Index a room's events from where the cursor is, up to `visible`;
/// returns the last seq indexed.
pub fn index_room(
    store: &Store,
    index: &SearchIndex,
    writer: &mut tantivy::IndexWriter,
    cursor: &mut Cursor,
    room: RoomId,
    visible: Pos,
) -> Result<RoomSeq, SearchError> {
    let mut from = match cursor.rooms.get(&room) {
        Some(seq) => seq + 1,
        None => store.first_seq_after(room, cursor.base)?,
    };
    loop {
        let events = store.events(room, from, RoomSeq::MAX, false, CHUNK, visible)?;
        let n = events.len();
        for stored in events {
            apply_event(store, index, writer, room, &stored)?;
            from = stored.seq + 1;
        }
        cursor.uncommitted += n;
        cursor.commit_if_long(index, writer)?;
        if n < CHUNK {
            break;
        }
    }
    let done = from.saturating_sub(1);
    cursor.rooms.insert(room, done);
    Ok(done)
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
            index_message(store, index, writer, &event, stored.pos)
        }
        Content::Edited { target, .. }
        | Content::Answered {
            question: target, ..
        } => match store.event(room, *target)? {
            Some(t) => index_message(store, index, writer, &t.decode()?, t.pos),
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
    pos: Pos,
) -> Result<(), SearchError> {
    let (body, mut flags) = match &event.content {
        Content::Message {
            thread,
            question,
            attachments,
            ..
        } => {
            let mut flags = Vec::new();
            if !attachments.is_empty() {
                flags.push("file");
            }
            if thread.is_some() {
                flags.push("thread");
            }
            if *question {
                flags.push("question");
                if event.state.answer.is_none() {
                    flags.push("unanswered");
                }
            }
            (searchable_text(&event.content).unwrap_or_default(), flags)
        }
        Content::Broadcast { body, .. } => (body.clone(), vec!["broadcast"]),
        _ => return Ok(()),
    };
    if event.state.deleted {
        index.delete(writer, event.room, event.seq);
        return Ok(());
    }
    if has_link(&body) {
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
            pos,
            body: &body,
            flags,
            mentions,
        },
    )
}

/// The text a message is found by: its body, then its files' names (one a
/// line), so `budget.xlsx` finds the message it was posted with. History's
/// recheck of a hit (`handlers/search.rs`) reads the same text.
pub fn searchable_text(content: &Content) -> Option<String> {
    match content {
        Content::Message {
            body, attachments, ..
        } => {
            let mut text = body.clone();
            for a in attachments {
                text.push('\n');
                text.push_str(&a.name);
            }
            Some(text)
        }
        Content::Broadcast { body, .. } => Some(body.clone()),
        _ => None,
    }
}

/// Whether a body holds a link (what `has:link` finds).
pub fn has_link(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    lower.contains("http://") || lower.contains("https://") || lower.contains("www.")
}
