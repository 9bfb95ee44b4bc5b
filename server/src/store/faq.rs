//! The FAQ in the store: published entries and the index from a source
//! message to its entry.
//!
//! One tree, `faq_entry` (tag 41), holding three relations under a
//! one-byte prefix:
//! - `0x00` ‖ entry id (u64, big-endian) → [`FaqRecord`] (JSON): the
//!   entries in publication order (a reverse scan lists newest first);
//! - `0x01` ‖ room id ‖ seq (u64, big-endian) → entry id: the entry that
//!   copied this message's text (its question and its answer each have a
//!   row), so deleting or expiring either removes the entry;
//! - `0x02` → the last entry id given (u64, big-endian): ids are never
//!   reused, so an old link to `FAQ #N` never shows another answer.

use super::kv::{Batch, StoreError, Tree, scan_prefix};
use super::{Store, corrupt};
use serde::{Deserialize, Serialize};
use townhall_protocol::faq::{FaqEntry, MAX_FAQ_ENTRIES};
use townhall_protocol::{Millis, RoomId, RoomSeq, UserInfo};

const ENTRY: u8 = 0x00;
const SOURCE: u8 = 0x01;
const LAST_ID: u8 = 0x02;

/// One FAQ entry as stored. No field names the asker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqRecord {
    pub id: u64,
    pub room: RoomId,
    /// The question's seq.
    pub seq: RoomSeq,
    /// The answer's seq when published.
    pub answer_seq: RoomSeq,
    pub question: String,
    pub answer: String,
    pub tags: Vec<String>,
    pub published_by: UserInfo,
    pub published_at: Millis,
}

impl FaqRecord {
    /// The entry as a reader sees it; the source room only for a reader
    /// who can read it (`room_name` given).
    pub fn shown(&self, room_name: Option<String>) -> FaqEntry {
        let source = room_name.is_some();
        FaqEntry {
            id: self.id,
            question: self.question.clone(),
            answer: self.answer.clone(),
            tags: self.tags.clone(),
            published_by: self.published_by.clone(),
            published_at: self.published_at,
            room: source.then_some(self.room),
            room_name,
            seq: source.then_some(self.seq),
        }
    }
}

fn entry_key(id: u64) -> Vec<u8> {
    let mut k = vec![ENTRY];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn source_key(room: RoomId, seq: RoomSeq) -> Vec<u8> {
    let mut k = vec![SOURCE];
    k.extend_from_slice(room.as_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn u64_of(v: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(v)
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt(Tree::FaqEntry, "not an 8-byte number"))
}

impl Store {
    /// Every entry, oldest first (at most [`MAX_FAQ_ENTRIES`]; apply
    /// refuses more).
    pub fn faq_entries(&self) -> Result<Vec<FaqRecord>, StoreError> {
        scan_prefix(self.kv(), Tree::FaqEntry, &[ENTRY], MAX_FAQ_ENTRIES + 1)?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(|e| corrupt(Tree::FaqEntry, e)))
            .collect()
    }

    pub fn faq_entry(&self, id: u64) -> Result<Option<FaqRecord>, StoreError> {
        match self.kv().get(Tree::FaqEntry, &entry_key(id))? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(Tree::FaqEntry, e)),
        }
    }

    /// The entry that copied the message `room`/`seq` (its question or
    /// its answer), if any.
    pub fn faq_of_message(&self, room: RoomId, seq: RoomSeq) -> Result<Option<u64>, StoreError> {
        match self.kv().get(Tree::FaqEntry, &source_key(room, seq))? {
            None => Ok(None),
            Some(v) => u64_of(&v).map(Some),
        }
    }

    /// How many entries exist, counted up to [`MAX_FAQ_ENTRIES`].
    pub fn faq_count(&self) -> Result<usize, StoreError> {
        Ok(scan_prefix(self.kv(), Tree::FaqEntry, &[ENTRY], MAX_FAQ_ENTRIES)?.len())
    }

    /// The last id given (0: none yet).
    pub fn faq_last_id(&self) -> Result<u64, StoreError> {
        match self.kv().get(Tree::FaqEntry, &[LAST_ID])? {
            None => Ok(0),
            Some(v) => u64_of(&v),
        }
    }
}

/// Write `r` and its two source rows (question and answer).
pub fn put_faq_entry(b: &mut Batch, r: &FaqRecord) {
    // A record of strings and numbers always serializes.
    let json = serde_json::to_vec(r).unwrap_or_default();
    b.put(Tree::FaqEntry, entry_key(r.id), json);
    b.put(
        Tree::FaqEntry,
        source_key(r.room, r.seq),
        r.id.to_be_bytes().to_vec(),
    );
    b.put(
        Tree::FaqEntry,
        source_key(r.room, r.answer_seq),
        r.id.to_be_bytes().to_vec(),
    );
}

/// Remove `r` and its source rows.
pub fn delete_faq_entry(b: &mut Batch, r: &FaqRecord) {
    b.delete(Tree::FaqEntry, entry_key(r.id));
    b.delete(Tree::FaqEntry, source_key(r.room, r.seq));
    b.delete(Tree::FaqEntry, source_key(r.room, r.answer_seq));
}

/// Remove only the source row of `room`/`seq` (an entry's old answer).
pub fn delete_faq_source(b: &mut Batch, room: RoomId, seq: RoomSeq) {
    b.delete(Tree::FaqEntry, source_key(room, seq));
}

pub fn put_faq_last_id(b: &mut Batch, id: u64) {
    b.put(Tree::FaqEntry, vec![LAST_ID], id.to_be_bytes().to_vec());
}
