//! Storage: the [`Kv`] trait, its sled and in-memory implementations, and
//! [`Store`], the typed layer that owns what every key and value means.
//!
//! Only the committer writes (through [`Batch`]es it builds with the `put_*`
//! helpers here); everyone reads. Reads of timelines take a `visible` bound:
//! events above the last fsynced-and-published position are skipped, so no
//! one sees a message before it, and every lower position, is durable.

mod anon;
mod avatar;
mod contacts;
mod cow_kv;
mod digest;
mod directory;
mod faq;
mod files;
mod invite;
mod keys;
mod kv;
mod memory_kv;
mod my_questions;
mod oidc;
mod overlay_kv;
mod pulse;
mod questions;
mod reactions;
mod received;
mod records;
mod reminders;
mod retention;
mod room_admin;
mod sled_kv;
mod snapshot;
#[cfg(test)]
mod tests;
mod watch;

pub use anon::{AnonRecord, MAX_ANON_ROOMS, put_anon_question, put_anon_setting};
pub use avatar::{StoredAvatar, put_avatar};
pub use contacts::{MAX_BLOCKS, delete_block, delete_hidden_dm, put_block, put_dm, put_hidden_dm};
pub use cow_kv::CowCopy;
use cow_kv::CowKv;
pub use directory::{DirectoryLink, put_directory_link};
pub use faq::{FaqRecord, delete_faq_entry, delete_faq_source, put_faq_entry, put_faq_last_id};
pub use files::{FileRecord, MAX_FILES_PER_USER, MAX_SWEPT, UserFile, delete_file, put_file};
pub use invite::{MAX_INVITATIONS, put_invitation};
pub use kv::{Batch, Kv, Op, StoreError, Tree, prefix_successor, scan_prefix};
pub use memory_kv::MemoryKv;
pub use my_questions::put_asked;
pub use oidc::put_oidc_user;
pub use overlay_kv::OverlayKv;
pub use pulse::{
    ANSWER_BUCKETS, ANSWER_BUCKETS_MS, DAY_MS, DayCounts, META_PULSE_POS, PulseUnflushed,
    answer_bucket, day_of, put_pulse_day, put_pulse_pos,
};
pub use questions::{
    MAX_FOLLOWS, MAX_NOTICES_AT_LOGIN, delete_follow, delete_vote, put_follow, put_notice, put_vote,
};
pub use reactions::{delete_extra_reactor, put_extra_reactor};
pub use records::{
    AckRecord, BroadcastRecord, MemberRecord, OPEN, RoomRecord, SessionRecord, UserRecord,
};
pub use reminders::put_reminder;
pub use retention::{
    delete_legal_hold, delete_retention_cursor, put_global_retention, put_legal_hold,
    put_retention_cursor, put_retention_run, put_room_retention,
};
pub use sled_kv::{DEFAULT_CACHE_BYTES, SledKv};
pub(crate) use snapshot::{MAGIC as SNAPSHOT_MAGIC, MAGIC_V1 as SNAPSHOT_MAGIC_V1};
pub use snapshot::{SnapshotCopy, SnapshotFile, SnapshotInfo, SnapshotWriter};
pub use watch::{
    WatchPhraseRecord, delete_watch_phrase, put_watch_alert, put_watch_phrase, put_watch_week_count,
};

use crate::mentions::MentionRecord;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::VecDeque;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use townhall_protocol::{
    Event, Millis, Pos, RoomId, RoomKind, RoomSeq, ServerFrame, UserId, Visibility,
};

/// The schema this build writes. Opening a folder with a newer one fails
/// rather than misreading it; numbered migrations go in `Store::init`.
/// 2: the indexes derived from messages (`room_seq_mention`,
/// `room_thread_reply`) exist. A build of schema 1 refuses a folder of
/// schema 2, so it can never add messages the indexes miss.
/// 3: on disk, every tree lives in one sled tree, keys prefixed by
/// [`Tree::tag`]. [`SledKv::open`] moves the data before `init` runs, and
/// leaves schema 3 where a build of schema 2 reads it (the old named `meta`
/// sled tree), so that build refuses the folder instead of finding it empty.
/// Nothing changes for the memory store; `init` only records the number.
/// 4: `public_name_room` indexes the public rooms' names (built from the
/// rooms by `init`). A build of schema 3 refuses the folder, so it can never
/// make a public room the index misses.
/// 5: public room names under one case-folded key form.
/// 6: pulse counters written every few seconds, under meta `pulse_pos`
/// (`committer/pulse.rs`); a build of schema 5 would count into them per
/// message and be counted again, so it refuses the folder.
pub const SCHEMA_VERSION: u64 = 6;

/// Mention rows `summary` reads per room, newest first: a room with more
/// unread mentions than this shows this many.
pub const MENTION_COUNT_LIMIT: usize = 10_000;

/// How many rows one scan of a whole relation may return. A guard against a
/// runaway read, far above any real company's rooms or users.
const SCAN_LIMIT: usize = 1_000_000;

/// Events buffered across all rooms while merging a backlog. Each room's
/// refill reads `BACKLOG_BUFFER / rooms` events (at least 4, at most 128):
/// large ordered scans for a user in a few busy rooms, and bounded memory
/// (about this many events) for a user in thousands.
const BACKLOG_BUFFER: usize = 2048;

/// A stored timeline event. `json` is the serialized `event` frame, exactly
/// the bytes sent to clients.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub seq: RoomSeq,
    pub pos: Pos,
    /// Message events in the room up to and including this one.
    pub ordinal: u64,
    pub json: Vec<u8>,
}

impl StoredEvent {
    pub fn decode(&self) -> Result<Event, StoreError> {
        match serde_json::from_slice::<ServerFrame>(&self.json) {
            Ok(ServerFrame::Event(e)) => Ok(e),
            Ok(_) => Err(corrupt(Tree::RoomSeqEvent, "stored frame is not an event")),
            Err(e) => Err(corrupt(Tree::RoomSeqEvent, e)),
        }
    }
}

fn corrupt(tree: Tree, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree: tree.name(),
        detail: detail.to_string(),
    }
}

/// The typed store: a cheap-to-clone handle over a [`Kv`].
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn Kv>,
    /// The copy-on-write layer over the base store (snapshots read through
    /// it while writes go on); `None` for the committer's overlay view.
    cow: Option<Arc<CowKv>>,
    /// Pulse counter rows not yet written (`store/pulse.rs`), shared by
    /// every clone and the committer's overlay view.
    pulse: Arc<PulseUnflushed>,
}

impl Store {
    pub fn new(kv: Arc<dyn Kv>) -> Store {
        let cow = Arc::new(CowKv::new(kv));
        Store {
            kv: cow.clone(),
            cow: Some(cow),
            pulse: Arc::default(),
        }
    }

    pub fn open_sled(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        Ok(Store::new(Arc::new(SledKv::open(path, cache_bytes)?)))
    }

    /// [`Store::open_sled`] of a folder this process just closed: sled
    /// 0.34's background flusher holds the folder's lock a moment after the
    /// last handle drops (sled issues 1234, 1289), so `Locked` is tried
    /// again every 20 ms for up to `within`. For a reopen in one process
    /// (tests that crash and restart a store); a folder locked by another
    /// process is refused after `within` all the same.
    pub fn open_sled_after_close(
        path: &Path,
        cache_bytes: u64,
        within: std::time::Duration,
    ) -> Result<Store, StoreError> {
        let deadline = std::time::Instant::now() + within;
        loop {
            match Store::open_sled(path, cache_bytes) {
                Err(StoreError::Locked(_)) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    pub fn memory() -> Store {
        Store::new(Arc::new(MemoryKv::new()))
    }

    pub fn kv(&self) -> &dyn Kv {
        self.kv.as_ref()
    }

    /// A store for the committer over this one: its writes stay in memory
    /// (where its own reads see them) until it applies them here as one
    /// batch with [`OverlayKv::take_batch`].
    pub fn with_overlay(&self) -> (Store, Arc<OverlayKv>) {
        let overlay = Arc::new(OverlayKv::new(self.kv.clone()));
        let store = Store {
            kv: overlay.clone(),
            cow: None,
            pulse: self.pulse.clone(),
        };
        (store, overlay)
    }

    /// Check or write the schema version; return the last committed position.
    pub fn init(&self) -> Result<Pos, StoreError> {
        match self.kv.get(Tree::Meta, keys::META_SCHEMA_VERSION)? {
            None => {
                let mut b = Batch::default();
                b.put(
                    Tree::Meta,
                    keys::META_SCHEMA_VERSION,
                    keys::u64_value(SCHEMA_VERSION),
                );
                self.kv.apply(&b)?;
                self.kv.sync()?;
            }
            Some(v) => {
                let mut found = keys::read_u64("meta", &v)?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::Backend(format!(
                        "data folder has schema {found}, this build knows up to {SCHEMA_VERSION}"
                    )));
                }
                // Migration 1 → 2: build the indexes from the messages.
                if found < 2 {
                    self.build_indexes()?;
                    found = 2;
                }
                // Migration 2 → 3: the data already moved into one sled tree
                // when `SledKv::open` ran; record that it did.
                if found < 3 {
                    let mut b = Batch::default();
                    b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(3));
                    self.kv.apply(&b)?;
                    self.kv.sync()?;
                    tracing::info!("schema 3: one sled tree for every relation");
                    found = 3;
                }
                // Migration 3 → 4: index the public rooms' names.
                if found < 4 {
                    self.build_public_names()?;
                }
                // Migration 4 → 5: public room names under one key form.
                if found < 5 {
                    let mut b = Batch::default();
                    let rewritten = self.fold_public_names(&mut b)?;
                    b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(5));
                    self.kv.apply(&b)?;
                    self.kv.sync()?;
                    tracing::info!(rewritten, "schema 5: public room names case-folded");
                }
                // Migration 5 → 6: nothing to rewrite. From 6 the pulse
                // counters are written every few seconds with `pulse_pos`
                // (`committer/pulse.rs`); an older build must not count
                // into the rows under it (the next start would count its
                // messages again), so it must refuse the folder.
                if found < 6 {
                    let mut b = Batch::default();
                    b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(6));
                    self.kv.apply(&b)?;
                    self.kv.sync()?;
                    tracing::info!("schema 6: pulse counters written in bulk");
                }
            }
        }
        self.last_pos()
    }

    /// The organisation-wide room, once made.
    pub fn org_room(&self) -> Result<Option<RoomId>, StoreError> {
        match self.kv.get(Tree::Meta, keys::META_ORG_ROOM)? {
            Some(id) => {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(Tree::Meta, "org room id is not 16 bytes"))?;
                Ok(Some(RoomId::from_bytes(id)))
            }
            None => Ok(None),
        }
    }

    pub fn last_pos(&self) -> Result<Pos, StoreError> {
        match self.kv.get(Tree::Meta, keys::META_LAST_POS)? {
            Some(v) => keys::read_u64("meta", &v),
            None => Ok(0),
        }
    }

    pub fn sync(&self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let synced = self.kv.sync();
        crate::metrics::record_fsync(started.elapsed());
        synced
    }

    /// The time the last command was applied under (0 if none yet).
    pub fn apply_clock(&self) -> Result<Millis, StoreError> {
        self.meta_u64(keys::META_APPLY_CLOCK)
    }

    /// Cluster mode: the last log sequence applied here (0 if none).
    pub fn log_seq(&self) -> Result<u64, StoreError> {
        self.meta_u64(keys::META_LOG_SEQ)
    }

    fn meta_u64(&self, key: &[u8]) -> Result<u64, StoreError> {
        match self.kv.get(Tree::Meta, key)? {
            Some(v) => keys::read_u64("meta", &v),
            None => Ok(0),
        }
    }

    pub fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        self.kv.apply(batch)
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        tree: Tree,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.kv.get(tree, key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt(tree, e)),
            None => Ok(None),
        }
    }

    fn scan_json<T: DeserializeOwned>(
        &self,
        tree: Tree,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        scan_prefix(self.kv.as_ref(), tree, prefix, SCAN_LIMIT)?
            .into_iter()
            .map(|(k, v)| Ok((k, serde_json::from_slice(&v).map_err(|e| corrupt(tree, e))?)))
            .collect()
    }

    // ---- users and sessions ----

    pub fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.get_json(Tree::UserRecord, &keys::user(id))
    }

    pub fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        match self.kv.get(Tree::UsernameUser, &keys::username(name))? {
            Some(id) => {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(Tree::UsernameUser, "id is not 16 bytes"))?;
                self.user(UserId::from_bytes(id))
            }
            None => Ok(None),
        }
    }

    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Ok(self
            .scan_json::<UserRecord>(Tree::UserRecord, &[])?
            .into_iter()
            .map(|(_, u)| u)
            .collect())
    }

    pub fn session(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError> {
        self.get_json(Tree::TokenSession, token_hash)
    }

    /// Every session of a user (to revoke them all).
    pub fn sessions_of(&self, user: UserId) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .scan_json::<SessionRecord>(Tree::TokenSession, &[])?
            .into_iter()
            .filter(|(_, s)| s.user == user)
            .map(|(k, _)| k)
            .collect())
    }

    // ---- rooms and memberships ----

    pub fn room(&self, id: RoomId) -> Result<Option<RoomRecord>, StoreError> {
        self.get_json(Tree::RoomRecord, &keys::room(id))
    }

    /// The public room that has this name without regard to case.
    pub fn public_room_named(&self, name: &str) -> Result<Option<RoomId>, StoreError> {
        self.public_name_row(&keys::public_room_name(name))
    }

    /// The room a `public_name_room` key points to.
    pub(crate) fn public_name_row(&self, key: &[u8]) -> Result<Option<RoomId>, StoreError> {
        match self.kv.get(Tree::PublicNameRoom, key)? {
            Some(id) => {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(Tree::PublicNameRoom, "room id is not 16 bytes"))?;
                Ok(Some(RoomId::from_bytes(id)))
            }
            None => Ok(None),
        }
    }

    /// Migration 3 → 4: one `public_name_room` row per public room name.
    /// Rooms made before names were unique may share a name: the first in
    /// key order (the oldest, ids are time-ordered) holds it; they keep
    /// their names, and a new room can take none of them.
    fn build_public_names(&self) -> Result<(), StoreError> {
        let mut b = Batch::default();
        let mut seen = std::collections::HashSet::new();
        for r in self.rooms()? {
            if r.kind == RoomKind::Room
                && r.visibility == Visibility::Public
                && seen.insert(keys::public_room_name(&r.name))
            {
                put_public_name(&mut b, &r);
            }
        }
        let rooms = seen.len();
        // In the same batch: a crash before it reruns the build.
        b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(4));
        self.kv.apply(&b)?;
        self.kv.sync()?;
        tracing::info!(rooms, "schema 4: indexed the public room names");
        Ok(())
    }

    pub fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        Ok(self
            .scan_json::<RoomRecord>(Tree::RoomRecord, &[])?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    pub fn membership(
        &self,
        room: RoomId,
        user: UserId,
    ) -> Result<Option<MemberRecord>, StoreError> {
        self.get_json(Tree::RoomUserMember, &keys::room_user(room, user))
    }

    /// Every membership record of a room, past ones included.
    pub fn room_members(&self, room: RoomId) -> Result<Vec<(UserId, MemberRecord)>, StoreError> {
        self.scan_json::<MemberRecord>(Tree::RoomUserMember, &keys::room(room))?
            .into_iter()
            .map(|(k, m)| {
                Ok((
                    UserId::from_bytes(keys::second_id("room_user_member", &k)?),
                    m,
                ))
            })
            .collect()
    }

    /// Every membership record of a user, past ones included.
    pub fn user_memberships(
        &self,
        user: UserId,
    ) -> Result<Vec<(RoomId, MemberRecord)>, StoreError> {
        self.scan_json::<MemberRecord>(Tree::UserRoomMember, &keys::user(user))?
            .into_iter()
            .map(|(k, m)| {
                Ok((
                    RoomId::from_bytes(keys::second_id("user_room_member", &k)?),
                    m,
                ))
            })
            .collect()
    }

    /// Every current membership, for loading the hub at start.
    pub fn current_memberships(&self) -> Result<Vec<(RoomId, UserId, MemberRecord)>, StoreError> {
        self.scan_json::<MemberRecord>(Tree::RoomUserMember, &[])?
            .into_iter()
            .filter(|(_, m)| m.is_current())
            .map(|(k, m)| {
                let room: [u8; 16] = k
                    .get(..16)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| corrupt(Tree::RoomUserMember, "short key"))?;
                let user = keys::second_id("room_user_member", &k)?;
                Ok((RoomId::from_bytes(room), UserId::from_bytes(user), m))
            })
            .collect()
    }

    // ---- timelines ----

    pub fn event(&self, room: RoomId, seq: RoomSeq) -> Result<Option<StoredEvent>, StoreError> {
        match self
            .kv
            .get(Tree::RoomSeqEvent, &keys::room_seq(room, seq))?
        {
            Some(v) => Ok(Some(stored_event(seq, &v)?)),
            None => Ok(None),
        }
    }

    /// The latest event of a room, committed or not (the committer's view).
    pub fn last_event_any(&self, room: RoomId) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.events(room, 0, RoomSeq::MAX, true, 1, Pos::MAX)?.pop())
    }

    /// The latest event of a room visible at `visible`.
    pub fn last_event(
        &self,
        room: RoomId,
        visible: Pos,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let seq = self.last_visible_seq(room, visible)?;
        if seq == 0 {
            return Ok(None);
        }
        self.event(room, seq)
    }

    /// The seq of the last event of `room` at or below position `visible`
    /// (0 when none): the tail itself, or a binary search when the newest
    /// events are not yet published.
    pub fn last_visible_seq(&self, room: RoomId, visible: Pos) -> Result<RoomSeq, StoreError> {
        match self.last_event_any(room)? {
            None => Ok(0),
            Some(last) if last.pos <= visible => Ok(last.seq),
            Some(_) => Ok(self.first_seq_after(room, visible)?.saturating_sub(1)),
        }
    }

    /// Events of a room with `from <= seq <= to`, ascending (or descending
    /// when `reverse`), at most `limit`, stopping at the first one above
    /// `visible` in ascending order (and skipping those in descending).
    pub fn events(
        &self,
        room: RoomId,
        from: RoomSeq,
        to: RoomSeq,
        reverse: bool,
        limit: usize,
        visible: Pos,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if from > to {
            return Ok(Vec::new());
        }
        let rows = self.kv.range(
            Tree::RoomSeqEvent,
            Bound::Included(keys::room_seq(room, from)),
            Bound::Included(keys::room_seq(room, to)),
            reverse,
            limit,
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let e = stored_event(keys::seq_of(&k)?, &v)?;
            if e.pos > visible {
                if reverse {
                    continue;
                }
                break;
            }
            out.push(e);
        }
        Ok(out)
    }

    /// A page of history: oldest first, and whether more lie beyond it.
    pub fn history(
        &self,
        room: RoomId,
        before: Option<RoomSeq>,
        after: Option<RoomSeq>,
        limit: usize,
        visible: Pos,
    ) -> Result<(Vec<StoredEvent>, bool), StoreError> {
        let limit = limit.max(1);
        match (before, after) {
            (_, Some(after)) => {
                let mut page = self.events(
                    room,
                    after.saturating_add(1),
                    RoomSeq::MAX,
                    false,
                    limit + 1,
                    visible,
                )?;
                let more = page.len() > limit;
                page.truncate(limit);
                Ok((page, more))
            }
            (before, None) => {
                // Start below anything not yet visible, so a page under load
                // is full and `has_more` stays true.
                let last = self.last_visible_seq(room, visible)?;
                let to = before.map_or(last, |b| b.saturating_sub(1).min(last));
                if to == 0 {
                    return Ok((Vec::new(), false));
                }
                let mut page = self.events(room, 1, to, true, limit + 1, visible)?;
                let more = page.len() > limit;
                page.truncate(limit);
                page.reverse();
                Ok((page, more))
            }
        }
    }

    /// The first seq of `room` whose position is above `after` (one past the
    /// last seq when there is none). Binary search over the seq range using
    /// the position prefix of each stored event: about 20 point reads for a
    /// room of a million events.
    pub fn first_seq_after(&self, room: RoomId, after: Pos) -> Result<RoomSeq, StoreError> {
        let Some(last) = self.last_event_any(room)? else {
            return Ok(1);
        };
        let (mut lo, mut hi) = (1, last.seq + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let pos = match self
                .kv
                .get(Tree::RoomSeqEvent, &keys::room_seq(room, mid))?
            {
                Some(v) => keys::split_event(&v)?.0,
                None => return Err(corrupt(Tree::RoomSeqEvent, format!("gap at seq {mid}"))),
            };
            if pos <= after {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// Everything a user may see with `after < pos <= upto`, read in chunks.
    pub fn backlog(&self, user: UserId, after: Pos, upto: Pos) -> Result<Backlog, StoreError> {
        let mut rooms = Vec::new();
        for (room, membership) in self.user_memberships(user)? {
            if after >= upto || !membership.overlaps(after, upto) {
                continue;
            }
            let next_seq = self.first_seq_after(room, after)?;
            // Nothing after the end of the last membership interval is theirs.
            let until = membership
                .intervals
                .last()
                .map_or(upto, |(_, left)| (*left).min(upto));
            rooms.push(RoomCursor {
                room,
                membership,
                next_seq,
                until,
                buf: VecDeque::new(),
                exhausted: false,
            });
        }
        let block = (BACKLOG_BUFFER / rooms.len().max(1)).clamp(4, 128);
        Ok(Backlog {
            heads: std::collections::BinaryHeap::with_capacity(rooms.len()),
            rooms,
            block,
            primed: false,
            failed: false,
        })
    }

    // ---- idempotency, markers, devices ----

    pub fn ack(
        &self,
        user: UserId,
        client_id: uuid::Uuid,
    ) -> Result<Option<AckRecord>, StoreError> {
        self.get_json(Tree::UserClientAck, &keys::user_client(user, client_id))
    }

    pub fn read_marker(&self, user: UserId, room: RoomId) -> Result<RoomSeq, StoreError> {
        match self
            .kv
            .get(Tree::UserRoomRead, &keys::user_room(user, room))?
        {
            Some(v) => keys::read_u64("user_room_read", &v),
            None => Ok(0),
        }
    }

    pub fn device_pos(&self, user: UserId, device: &str) -> Result<Option<Pos>, StoreError> {
        match self
            .kv
            .get(Tree::UserDevicePos, &keys::user_device(user, device))?
        {
            Some(v) => Ok(Some(keys::read_u64("user_device_pos", &v)?)),
            None => Ok(None),
        }
    }

    /// The furthest position any of the user's devices has acknowledged.
    pub fn max_device_pos(&self, user: UserId) -> Result<Option<Pos>, StoreError> {
        let mut max = None;
        for (_, v) in scan_prefix(
            self.kv.as_ref(),
            Tree::UserDevicePos,
            &keys::user(user),
            SCAN_LIMIT,
        )? {
            let pos = keys::read_u64("user_device_pos", &v)?;
            max = Some(max.map_or(pos, |m: Pos| m.max(pos)));
        }
        Ok(max)
    }

    /// The room a leader's followers are members of, once someone followed.
    pub fn followers_room(&self, leader: UserId) -> Result<Option<RoomId>, StoreError> {
        match self.kv.get(Tree::UserFollowersRoom, &keys::user(leader))? {
            Some(id) => {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(Tree::UserFollowersRoom, "id is not 16 bytes"))?;
                Ok(Some(RoomId::from_bytes(id)))
            }
            None => Ok(None),
        }
    }

    pub fn broadcast(&self, id: uuid::Uuid) -> Result<Option<BroadcastRecord>, StoreError> {
        self.get_json(Tree::BroadcastRecord, id.as_bytes())
    }

    /// A reader's times for a broadcast; `None` if not in its audience.
    pub fn reach(
        &self,
        broadcast: uuid::Uuid,
        user: UserId,
    ) -> Result<Option<[u64; 3]>, StoreError> {
        match self
            .kv
            .get(Tree::BroadcastUserReach, &reach_key(broadcast, user))?
        {
            Some(v) => Ok(Some(read_times(&v)?)),
            None => Ok(None),
        }
    }

    /// Every reader of a broadcast with their times.
    pub fn reach_all(&self, broadcast: uuid::Uuid) -> Result<Vec<(UserId, [u64; 3])>, StoreError> {
        scan_prefix(
            self.kv.as_ref(),
            Tree::BroadcastUserReach,
            broadcast.as_bytes(),
            SCAN_LIMIT,
        )?
        .into_iter()
        .map(|(k, v)| {
            Ok((
                UserId::from_bytes(keys::second_id("broadcast_user_reach", &k)?),
                read_times(&v)?,
            ))
        })
        .collect()
    }

    /// Broadcasts waiting for this user's acknowledgement.
    pub fn pending_acks(&self, user: UserId) -> Result<Vec<uuid::Uuid>, StoreError> {
        scan_prefix(
            self.kv.as_ref(),
            Tree::UserBroadcastPending,
            &keys::user(user),
            SCAN_LIMIT,
        )?
        .into_iter()
        .map(|(k, _)| {
            Ok(uuid::Uuid::from_bytes(keys::second_id(
                "user_broadcast_pending",
                &k,
            )?))
        })
        .collect()
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit(
        &self,
        limit: usize,
    ) -> Result<Vec<townhall_protocol::http::AuditEntry>, StoreError> {
        self.kv
            .range(
                Tree::TimeAudit,
                Bound::Unbounded,
                Bound::Unbounded,
                true,
                limit,
            )?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(|e| corrupt(Tree::TimeAudit, e)))
            .collect()
    }

    /// Every open question: (room, seq, asked at).
    pub fn open_questions(&self) -> Result<Vec<(RoomId, RoomSeq, u64)>, StoreError> {
        scan_prefix(self.kv.as_ref(), Tree::RoomSeqOpenQuestion, &[], SCAN_LIMIT)?
            .into_iter()
            .map(|(k, v)| {
                let (room, seq) = keys::split_room_seq(&k)?;
                Ok((room, seq, keys::read_u64("room_seq_open_question", &v)?))
            })
            .collect()
    }

    /// Questions answered at or after `since`: (answered at, room, time to answer in ms).
    pub fn answered_since(&self, since: u64) -> Result<Vec<(u64, RoomId, u64)>, StoreError> {
        let rows = self.kv.range(
            Tree::TimeAnsweredQuestion,
            Bound::Included(since.to_be_bytes().to_vec()),
            Bound::Unbounded,
            false,
            SCAN_LIMIT,
        )?;
        rows.into_iter()
            .map(|(k, v)| {
                let at = keys::read_u64("time_answered_question", &k)?;
                let (room, _) = keys::split_room_seq(k.get(8..).unwrap_or_default())?;
                Ok((at, room, keys::read_u64("time_answered_question", &v)?))
            })
            .collect()
    }

    /// Messages in `room` with seq in `(after, upto]` that mention `user`
    /// (by name or `@room`, not sent by them), over the newest
    /// [`MENTION_COUNT_LIMIT`] messages that mention anyone.
    pub fn mention_count(
        &self,
        room: RoomId,
        after: RoomSeq,
        upto: RoomSeq,
        user: UserId,
    ) -> Result<u64, StoreError> {
        if upto <= after {
            return Ok(0);
        }
        let rows = self.kv.range(
            Tree::RoomSeqMention,
            Bound::Excluded(keys::room_seq(room, after)),
            Bound::Included(keys::room_seq(room, upto)),
            true,
            MENTION_COUNT_LIMIT,
        )?;
        let mut count = 0;
        for (_, v) in rows {
            let record = MentionRecord::decode(&v)
                .ok_or_else(|| corrupt(Tree::RoomSeqMention, "bad mention record"))?;
            count += u64::from(record.mentions(user));
        }
        Ok(count)
    }

    /// The mention record of one message, if it mentions anyone.
    pub fn mention_record(
        &self,
        room: RoomId,
        seq: RoomSeq,
    ) -> Result<Option<MentionRecord>, StoreError> {
        match self
            .kv
            .get(Tree::RoomSeqMention, &keys::room_seq(room, seq))?
        {
            Some(v) => {
                Ok(Some(MentionRecord::decode(&v).ok_or_else(|| {
                    corrupt(Tree::RoomSeqMention, "bad mention record")
                })?))
            }
            None => Ok(None),
        }
    }

    /// Who a body mentions, resolved against the usernames stored now;
    /// `None` when it mentions nobody.
    pub fn resolve_mentions(
        &self,
        sender: UserId,
        body: &str,
    ) -> Result<Option<MentionRecord>, StoreError> {
        if !body.contains('@') {
            return Ok(None);
        }
        let found = crate::mentions::candidates(body);
        let mut record = MentionRecord {
            sender,
            room: found.room,
            users: Vec::new(),
        };
        for name in found.names {
            if let Some(u) = self.user_by_name(&name)?
                && !record.users.contains(&u.id)
            {
                record.users.push(u.id);
            }
        }
        Ok((record.room || !record.users.is_empty()).then_some(record))
    }

    /// Build the indexes derived from messages (`room_seq_mention`,
    /// `room_thread_reply`) for a data folder written before them. Every
    /// write is a put of what the message says now, so a run cut short by a
    /// crash is simply run again.
    fn build_indexes(&self) -> Result<(), StoreError> {
        let mut start = Bound::Unbounded;
        let (mut mentions, mut replies) = (0u64, 0u64);
        loop {
            let rows = self
                .kv
                .range(Tree::RoomSeqEvent, start, Bound::Unbounded, false, 4096)?;
            let Some((last, _)) = rows.last() else { break };
            start = Bound::Excluded(last.clone());
            let mut b = Batch::default();
            for (k, v) in &rows {
                let (_, _, json) = keys::split_event(v)?;
                // Neither index concerns a message without '@' or a thread.
                if !json.contains(&b'@') && !contains(json, br#""thread":"#) {
                    continue;
                }
                let (room, seq) = keys::split_room_seq(k)?;
                let stored = StoredEvent {
                    seq,
                    pos: 0,
                    ordinal: 0,
                    json: json.to_vec(),
                };
                let event = stored.decode()?;
                let townhall_protocol::Content::Message { body, thread, .. } = &event.content
                else {
                    continue;
                };
                if let Some(parent) = thread {
                    put_thread_reply(&mut b, room, *parent, seq);
                    replies += 1;
                }
                if !event.state.deleted
                    && let Some(record) = self.resolve_mentions(event.sender.id, body)?
                {
                    put_mentions(&mut b, room, seq, &record);
                    mentions += 1;
                }
            }
            self.kv.apply(&b)?;
        }
        // Last, after every index row: a crash before this reruns the build.
        let mut b = Batch::default();
        b.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(2));
        self.kv.apply(&b)?;
        self.kv.sync()?;
        tracing::info!(mentions, replies, "schema 2: built the message indexes");
        Ok(())
    }

    /// The seqs of a thread's replies after `after`, oldest first, up to `limit`.
    pub fn thread_replies(
        &self,
        room: RoomId,
        parent: RoomSeq,
        after: RoomSeq,
        limit: usize,
    ) -> Result<Vec<RoomSeq>, StoreError> {
        let rows = self.kv.range(
            Tree::RoomThreadReply,
            Bound::Excluded(keys::room_thread_reply(room, parent, after)),
            Bound::Included(keys::room_thread_reply(room, parent, RoomSeq::MAX)),
            false,
            limit,
        )?;
        rows.iter()
            .map(|(k, _)| keys::read_u64("room_thread_reply", k.get(24..).unwrap_or_default()))
            .collect()
    }

    pub fn size_on_disk(&self) -> u64 {
        self.kv.size_on_disk()
    }

    pub fn free_space(&self) -> u64 {
        self.kv.free_space()
    }
}

fn stored_event(seq: RoomSeq, value: &[u8]) -> Result<StoredEvent, StoreError> {
    let (pos, ordinal, json) = keys::split_event(value)?;
    Ok(StoredEvent {
        seq,
        pos,
        ordinal,
        json: json.to_vec(),
    })
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Records are plain structs of strings, numbers and enums: serializing
    // them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

// ---- batch builders: the only way records get written ----

pub fn put_user(b: &mut Batch, u: &UserRecord) {
    b.put(Tree::UserRecord, keys::user(u.id), json(u));
    b.put(
        Tree::UsernameUser,
        keys::username(&u.username),
        keys::user(u.id),
    );
}

pub fn put_session(b: &mut Batch, token_hash: &[u8], s: &SessionRecord) {
    b.put(Tree::TokenSession, token_hash.to_vec(), json(s));
}

pub fn delete_session(b: &mut Batch, token_hash: &[u8]) {
    b.delete(Tree::TokenSession, token_hash.to_vec());
}

pub fn put_room(b: &mut Batch, r: &RoomRecord) {
    b.put(Tree::RoomRecord, keys::room(r.id), json(r));
}

/// Claims a public room's name (see [`Store::public_room_named`]).
pub fn put_public_name(b: &mut Batch, r: &RoomRecord) {
    b.put(
        Tree::PublicNameRoom,
        keys::public_room_name(&r.name),
        r.id.as_bytes().to_vec(),
    );
}

pub fn put_membership(b: &mut Batch, room: RoomId, user: UserId, m: &MemberRecord) {
    let value = json(m);
    b.put(
        Tree::RoomUserMember,
        keys::room_user(room, user),
        value.clone(),
    );
    b.put(Tree::UserRoomMember, keys::user_room(user, room), value);
}

pub fn put_event(
    b: &mut Batch,
    room: RoomId,
    seq: RoomSeq,
    pos: Pos,
    ordinal: u64,
    frame_json: &[u8],
) {
    b.put(
        Tree::RoomSeqEvent,
        keys::room_seq(room, seq),
        keys::event_value(pos, ordinal, frame_json),
    );
}

pub fn put_thread_reply(b: &mut Batch, room: RoomId, parent: RoomSeq, reply: RoomSeq) {
    b.put(
        Tree::RoomThreadReply,
        keys::room_thread_reply(room, parent, reply),
        Vec::new(),
    );
}

/// Whether `needle` occurs in `haystack` (raw JSON prefilters).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn put_mentions(b: &mut Batch, room: RoomId, seq: RoomSeq, record: &MentionRecord) {
    b.put(
        Tree::RoomSeqMention,
        keys::room_seq(room, seq),
        record.encode(),
    );
}

pub fn delete_mentions(b: &mut Batch, room: RoomId, seq: RoomSeq) {
    b.delete(Tree::RoomSeqMention, keys::room_seq(room, seq));
}

pub fn put_open_question(b: &mut Batch, room: RoomId, seq: RoomSeq, asked_at: u64) {
    b.put(
        Tree::RoomSeqOpenQuestion,
        keys::room_seq(room, seq),
        keys::u64_value(asked_at),
    );
}

pub fn delete_open_question(b: &mut Batch, room: RoomId, seq: RoomSeq) {
    b.delete(Tree::RoomSeqOpenQuestion, keys::room_seq(room, seq));
}

pub fn put_answered_question(b: &mut Batch, at: u64, room: RoomId, seq: RoomSeq, took_ms: u64) {
    b.put(
        Tree::TimeAnsweredQuestion,
        keys::time_room_seq(at, room, seq),
        keys::u64_value(took_ms),
    );
}

pub fn put_org_room(b: &mut Batch, room: RoomId) {
    b.put(Tree::Meta, keys::META_ORG_ROOM, keys::room(room));
}

/// Record a moderation or admin action. `nonce` keeps entries of the same
/// millisecond apart (the committer passes a counter).
pub fn put_audit(b: &mut Batch, nonce: u64, entry: &townhall_protocol::http::AuditEntry) {
    let mut key = entry.at.to_be_bytes().to_vec();
    key.extend_from_slice(&nonce.to_be_bytes());
    b.put(Tree::TimeAudit, key, json(entry));
}

pub fn put_broadcast(b: &mut Batch, r: &BroadcastRecord) {
    b.put(Tree::BroadcastRecord, r.id.as_bytes().to_vec(), json(r));
}

/// A reader's times for a broadcast: delivered, opened, acknowledged (0 = not yet).
pub fn put_reach(b: &mut Batch, broadcast: uuid::Uuid, user: UserId, times: [u64; 3]) {
    let mut v = Vec::with_capacity(24);
    for t in times {
        v.extend_from_slice(&t.to_be_bytes());
    }
    b.put(Tree::BroadcastUserReach, reach_key(broadcast, user), v);
}

pub fn put_pending_ack(b: &mut Batch, user: UserId, broadcast: uuid::Uuid) {
    b.put(
        Tree::UserBroadcastPending,
        pending_key(user, broadcast),
        Vec::new(),
    );
}

pub fn delete_pending_ack(b: &mut Batch, user: UserId, broadcast: uuid::Uuid) {
    b.delete(Tree::UserBroadcastPending, pending_key(user, broadcast));
}

fn reach_key(broadcast: uuid::Uuid, user: UserId) -> Vec<u8> {
    let mut k = broadcast.as_bytes().to_vec();
    k.extend_from_slice(user.as_bytes());
    k
}

fn pending_key(user: UserId, broadcast: uuid::Uuid) -> Vec<u8> {
    let mut k = user.as_bytes().to_vec();
    k.extend_from_slice(broadcast.as_bytes());
    k
}

fn read_times(v: &[u8]) -> Result<[u64; 3], StoreError> {
    let mut t = [0u64; 3];
    for (i, slot) in t.iter_mut().enumerate() {
        *slot = keys::read_u64("broadcast_user_reach", v.get(i * 8..).unwrap_or_default())?;
    }
    Ok(t)
}

pub fn put_followers_room(b: &mut Batch, leader: UserId, room: RoomId) {
    b.put(
        Tree::UserFollowersRoom,
        keys::user(leader),
        keys::room(room),
    );
}

pub fn put_last_pos(b: &mut Batch, pos: Pos) {
    b.put(Tree::Meta, keys::META_LAST_POS, keys::u64_value(pos));
}

/// Stored with every group, so a restarted node applies the rest of the
/// log under the same clock the others did.
pub fn put_apply_clock(b: &mut Batch, at: Millis) {
    b.put(Tree::Meta, keys::META_APPLY_CLOCK, keys::u64_value(at));
}

/// Stored in the same batch as the entries' writes: a node restarts from
/// exactly the entry after the last one its store holds.
pub fn put_log_seq(b: &mut Batch, seq: u64) {
    b.put(Tree::Meta, keys::META_LOG_SEQ, keys::u64_value(seq));
}

pub fn put_ack(b: &mut Batch, user: UserId, client_id: uuid::Uuid, a: &AckRecord) {
    b.put(
        Tree::UserClientAck,
        keys::user_client(user, client_id),
        json(a),
    );
}

pub fn put_read_marker(b: &mut Batch, user: UserId, room: RoomId, seq: RoomSeq) {
    b.put(
        Tree::UserRoomRead,
        keys::user_room(user, room),
        keys::u64_value(seq),
    );
}

pub fn put_device_pos(b: &mut Batch, user: UserId, device: &str, pos: Pos) {
    b.put(
        Tree::UserDevicePos,
        keys::user_device(user, device),
        keys::u64_value(pos),
    );
}

/// One room's place in a backlog merge.
#[derive(Debug)]
struct RoomCursor {
    room: RoomId,
    membership: MemberRecord,
    next_seq: RoomSeq,
    /// The last position this room can contribute (end of membership or
    /// of the backlog).
    until: Pos,
    buf: VecDeque<StoredEvent>,
    exhausted: bool,
}

/// A user's backlog: the events of every room they belonged to, merged in
/// position order, read a chunk at a time so a large backlog never sits in
/// memory whole and never holds a store iterator across an await.
///
/// The merge keeps the rooms whose next event is buffered in a min-heap by
/// that event's position, so each event costs O(log rooms): a person in
/// 5,000 rooms with news would otherwise pay a scan of every room per
/// event (the login curve in docs/benchmarks.md).
#[derive(Debug)]
pub struct Backlog {
    rooms: Vec<RoomCursor>,
    /// Events read per room refill.
    block: usize,
    /// (position of the buffered front event, index in `rooms`) of every
    /// room with an event still to give; built at the first chunk. Every
    /// room not in it has given all it has.
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(Pos, usize)>>,
    primed: bool,
    /// A read failed: the merge's state is no longer whole, so every later
    /// chunk fails too (the caller ends the session, which resumes).
    failed: bool,
}

impl Backlog {
    /// The next up to `limit` events (the stored frame bytes), in position order.
    pub fn next_chunk(
        &mut self,
        store: &Store,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if self.failed {
            return Err(StoreError::Backend(
                "the backlog stopped at an earlier read error".into(),
            ));
        }
        let merged = self.merge(store, limit);
        self.failed = merged.is_err();
        merged
    }

    fn merge(&mut self, store: &Store, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        if !self.primed {
            self.heads.clear();
            for (i, cursor) in self.rooms.iter_mut().enumerate() {
                cursor.refill(store, self.block)?;
                if let Some(e) = cursor.buf.front() {
                    self.heads.push(std::cmp::Reverse((e.pos, i)));
                }
            }
            self.primed = true;
        }
        let mut out = Vec::with_capacity(limit.min(1024));
        while out.len() < limit {
            let Some(std::cmp::Reverse((_, i))) = self.heads.pop() else {
                break;
            };
            let cursor = &mut self.rooms[i];
            if let Some(e) = cursor.buf.pop_front() {
                out.push(e);
            }
            if cursor.buf.is_empty() {
                // An error ends the backlog (the caller closes the session,
                // which resumes from its last position).
                cursor.refill(store, self.block)?;
            }
            if let Some(e) = cursor.buf.front() {
                self.heads.push(std::cmp::Reverse((e.pos, i)));
            }
        }
        Ok(out)
    }

    pub fn is_empty_room_set(&self) -> bool {
        self.rooms.is_empty()
    }
}

impl RoomCursor {
    fn refill(&mut self, store: &Store, block: usize) -> Result<(), StoreError> {
        while self.buf.is_empty() && !self.exhausted {
            let page = store.events(
                self.room,
                self.next_seq,
                RoomSeq::MAX,
                false,
                block,
                self.until,
            )?;
            if page.len() < block {
                self.exhausted = true;
            }
            for e in page {
                self.next_seq = e.seq + 1;
                if self.membership.covers(e.pos) {
                    self.buf.push_back(e);
                }
            }
        }
        Ok(())
    }
}
