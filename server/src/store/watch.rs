//! Rumour watch in the store: the transformation team's watch list, the
//! weekly counts per phrase, and each team member's alerts.
//!
//! Two trees (the feature's two free tags), each holding two relations
//! under a one-byte prefix:
//! - `watch_index` (tag 37):
//!   - `0x00` ‖ folded phrase (UTF-8, the phrase's words folded and joined
//!     by one space; see `watch.rs`) → [`WatchPhraseRecord`] (JSON);
//!   - `0x01` ‖ folded phrase ‖ `0xff` ‖ ISO year (u16, big-endian) ‖ ISO
//!     week (u8) → matches that week (u64, big-endian). UTF-8 never holds
//!     `0xff`, so one phrase's weeks never mix with a longer phrase's.
//! - `user_pos_watch_alert` (tag 38):
//!   - `0x00` ‖ user id ‖ pos (u64, big-endian) → [`WatchAlert`] (JSON):
//!     a user's alerts in the order their messages were applied;
//!   - `0x01` ‖ room id ‖ seq (u64, big-endian) ‖ user id → pos: who was
//!     alerted about a message, so deleting it marks their alerts deleted.

use super::kv::{Batch, StoreError, Tree, scan_prefix};
use super::{Store, corrupt};
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use townhall_protocol::watch::{MAX_WATCH_PHRASES, WatchAlert, WatchPhrase};
use townhall_protocol::{Millis, Pos, RoomId, RoomSeq, UserId, UserInfo};

const PHRASE: u8 = 0x00;
const WEEK: u8 = 0x01;
const ALERT: u8 = 0x00;
const MESSAGE: u8 = 0x01;

/// One phrase on the watch list as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchPhraseRecord {
    /// As typed (trimmed).
    pub phrase: String,
    /// Its folded words joined by one space: what matching compares.
    pub key: String,
    pub added_by: UserInfo,
    pub added_at: Millis,
}

impl WatchPhraseRecord {
    pub fn shown(&self) -> WatchPhrase {
        WatchPhrase {
            phrase: self.phrase.clone(),
            added_by: self.added_by.clone(),
            added_at: self.added_at,
        }
    }
}

fn phrase_key(key: &str) -> Vec<u8> {
    let mut k = vec![PHRASE];
    k.extend_from_slice(key.as_bytes());
    k
}

fn week_prefix(key: &str) -> Vec<u8> {
    let mut k = vec![WEEK];
    k.extend_from_slice(key.as_bytes());
    k.push(0xff);
    k
}

fn week_key(key: &str, year: i32, week: u32) -> Vec<u8> {
    let mut k = week_prefix(key);
    // ISO years of real messages fit u16; a clock beyond that saturates.
    k.extend_from_slice(&(year.clamp(0, i32::from(u16::MAX)) as u16).to_be_bytes());
    k.push(week.min(255) as u8);
    k
}

fn alert_key(user: UserId, pos: Pos) -> Vec<u8> {
    let mut k = vec![ALERT];
    k.extend_from_slice(user.as_bytes());
    k.extend_from_slice(&pos.to_be_bytes());
    k
}

fn message_prefix(room: RoomId, seq: RoomSeq) -> Vec<u8> {
    let mut k = vec![MESSAGE];
    k.extend_from_slice(room.as_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn u64_at(tree: Tree, v: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(v)
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt(tree, "not an 8-byte number"))
}

impl Store {
    /// The watch list, in the order of its folded phrases.
    pub fn watch_list(&self) -> Result<Vec<WatchPhraseRecord>, StoreError> {
        // The list never holds more than MAX_WATCH_PHRASES (apply refuses).
        let rows = scan_prefix(
            self.kv(),
            Tree::WatchIndex,
            &[PHRASE],
            MAX_WATCH_PHRASES + 1,
        )?;
        rows.into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(|e| corrupt(Tree::WatchIndex, e)))
            .collect()
    }

    pub fn watch_phrase(&self, key: &str) -> Result<Option<WatchPhraseRecord>, StoreError> {
        match self.kv().get(Tree::WatchIndex, &phrase_key(key))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(Tree::WatchIndex, e)),
        }
    }

    /// Matches of the folded phrase `key` in ISO week `year`/`week`.
    pub fn watch_week_count(&self, key: &str, year: i32, week: u32) -> Result<u64, StoreError> {
        match self
            .kv()
            .get(Tree::WatchIndex, &week_key(key, year, week))?
        {
            None => Ok(0),
            Some(v) => u64_at(Tree::WatchIndex, &v),
        }
    }

    /// `user`'s alerts, newest first, below `before`, at most `limit`.
    pub fn watch_alerts(
        &self,
        user: UserId,
        before: Option<Pos>,
        limit: usize,
    ) -> Result<Vec<WatchAlert>, StoreError> {
        let start = Bound::Included(alert_key(user, 0));
        let end = match before {
            Some(pos) => Bound::Excluded(alert_key(user, pos)),
            None => Bound::Included(alert_key(user, Pos::MAX)),
        };
        let rows = self
            .kv()
            .range(Tree::UserPosWatchAlert, start, end, true, limit)?;
        rows.into_iter()
            .map(|(_, v)| {
                serde_json::from_slice(&v).map_err(|e| corrupt(Tree::UserPosWatchAlert, e))
            })
            .collect()
    }

    /// The alerts raised by the message `room`/`seq`: (user, alert).
    pub fn watch_alerts_of_message(
        &self,
        room: RoomId,
        seq: RoomSeq,
    ) -> Result<Vec<(UserId, WatchAlert)>, StoreError> {
        let prefix = message_prefix(room, seq);
        // One alert per team member: a team is far smaller than this.
        let rows = scan_prefix(self.kv(), Tree::UserPosWatchAlert, &prefix, 100_000)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, v) in rows {
            let user = k
                .get(prefix.len()..)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(UserId::from_bytes)
                .ok_or_else(|| corrupt(Tree::UserPosWatchAlert, "index key is not 41 bytes"))?;
            let pos = u64_at(Tree::UserPosWatchAlert, &v)?;
            if let Some(a) = self
                .kv()
                .get(Tree::UserPosWatchAlert, &alert_key(user, pos))?
            {
                let alert =
                    serde_json::from_slice(&a).map_err(|e| corrupt(Tree::UserPosWatchAlert, e))?;
                out.push((user, alert));
            }
        }
        Ok(out)
    }
}

pub fn put_watch_phrase(b: &mut Batch, r: &WatchPhraseRecord) {
    // A record of plain data always serializes.
    let json = serde_json::to_vec(r).unwrap_or_default();
    b.put(Tree::WatchIndex, phrase_key(&r.key), json);
}

/// Remove a phrase from the list; its weekly counts stay (history, shown
/// again if the phrase comes back).
pub fn delete_watch_phrase(b: &mut Batch, key: &str) {
    b.delete(Tree::WatchIndex, phrase_key(key));
}

pub fn put_watch_week_count(b: &mut Batch, key: &str, year: i32, week: u32, count: u64) {
    b.put(
        Tree::WatchIndex,
        week_key(key, year, week),
        count.to_be_bytes().to_vec(),
    );
}

/// Write (or rewrite) `user`'s alert and its message index.
pub fn put_watch_alert(b: &mut Batch, user: UserId, alert: &WatchAlert) {
    let json = serde_json::to_vec(alert).unwrap_or_default();
    b.put(Tree::UserPosWatchAlert, alert_key(user, alert.pos), json);
    let mut k = message_prefix(alert.room, alert.seq);
    k.extend_from_slice(user.as_bytes());
    b.put(Tree::UserPosWatchAlert, k, alert.pos.to_be_bytes().to_vec());
}
