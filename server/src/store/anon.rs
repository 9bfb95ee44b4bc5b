//! Anonymous questions in the store. No key or value here holds a user id:
//! the asker is an [`OwnerKey`] (see `anon/`).
//!
//! - `anon_question` (tag 32): question id → [`AnonRecord`] (JSON). The id
//!   is a v7 UUID made at apply, so ids sort by time asked.
//! - `owner_anon_question` (tag 33): owner key (32) ‖ question id (16) →
//!   (nothing): one asker's questions, for "my anonymous questions" and the
//!   per-asker limit of pending ones. This links an asker's questions to
//!   each other (not to a person): the price of listing them on any device.
//! - `anon_index` (tag 34): three small relations under a one-byte prefix
//!   (only three tree tags were free for this feature):
//!   - `0x00` ‖ scope (16: a room id, or 16 zero bytes for the whole
//!     organisation) → (nothing): anonymous questions are allowed there;
//!   - `0x01` ‖ question id → (nothing): the moderation queue (pending
//!     questions, oldest first);
//!   - `0x02` ‖ room ‖ seq (8, big-endian) → question id: which anonymous
//!     question an approved room message is, so its answer reaches the
//!     asker and the asker can edit or withdraw it.

use super::kv::{Batch, StoreError, Tree, scan_prefix};
use super::{Store, corrupt};
use crate::anon::OwnerKey;
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use townhall_protocol::{AnonStatus, Millis, RoomId, RoomSeq};
use uuid::Uuid;

/// Rooms listed in the anonymous-question settings at most: far more rooms
/// than a company allows it in one by one (it would allow it org-wide).
pub const MAX_ANON_ROOMS: usize = 10_000;

const SETTING: u8 = 0x00;
const PENDING: u8 = 0x01;
const MESSAGE: u8 = 0x02;

/// The scope key of the organisation-wide setting.
const ORG_SCOPE: [u8; 16] = [0; 16];

/// One anonymous question as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnonRecord {
    pub id: Uuid,
    pub room: RoomId,
    /// The asker's key: not a user id (see `anon/`).
    pub owner: OwnerKey,
    pub body: String,
    pub asked_at: Millis,
    #[serde(default)]
    pub edited: bool,
    /// `approved`, never `answered`: whether it was answered is the room
    /// message's state, read when the record is shown.
    pub status: AnonStatus,
}

fn setting_key(room: Option<RoomId>) -> Vec<u8> {
    let mut k = vec![SETTING];
    k.extend_from_slice(room.map_or(ORG_SCOPE, |r| *r.as_bytes()).as_slice());
    k
}

fn pending_key(id: Uuid) -> Vec<u8> {
    let mut k = vec![PENDING];
    k.extend_from_slice(id.as_bytes());
    k
}

fn message_key(room: RoomId, seq: RoomSeq) -> Vec<u8> {
    let mut k = vec![MESSAGE];
    k.extend_from_slice(room.as_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn owner_key(owner: &OwnerKey, id: Uuid) -> Vec<u8> {
    let mut k = owner.0.to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

fn uuid_at(tree: Tree, bytes: Option<&[u8]>) -> Result<Uuid, StoreError> {
    bytes
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .map(Uuid::from_bytes)
        .ok_or_else(|| corrupt(tree, "not a 16-byte question id"))
}

impl Store {
    /// Are anonymous questions allowed in `room` (by itself or org-wide)?
    pub fn anon_allowed(&self, room: RoomId) -> Result<bool, StoreError> {
        let kv = self.kv();
        Ok(kv.get(Tree::AnonIndex, &setting_key(None))?.is_some()
            || kv.get(Tree::AnonIndex, &setting_key(Some(room)))?.is_some())
    }

    /// Allowed org-wide, and the rooms that allow them by themselves.
    pub fn anon_settings(&self) -> Result<(bool, Vec<RoomId>), StoreError> {
        let rows = scan_prefix(self.kv(), Tree::AnonIndex, &[SETTING], MAX_ANON_ROOMS + 1)?;
        let mut org = false;
        let mut rooms = Vec::new();
        for (k, _) in rows {
            let scope = <[u8; 16]>::try_from(&k[1..])
                .map_err(|_| corrupt(Tree::AnonIndex, "setting key is not 17 bytes"))?;
            if scope == ORG_SCOPE {
                org = true;
            } else {
                rooms.push(RoomId::from_bytes(scope));
            }
        }
        Ok((org, rooms))
    }

    pub fn anon_question(&self, id: Uuid) -> Result<Option<AnonRecord>, StoreError> {
        match self.kv().get(Tree::AnonQuestion, id.as_bytes())? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| corrupt(Tree::AnonQuestion, e)),
        }
    }

    /// The questions of one asker, newest first, at most `limit`.
    pub fn anon_of_owner(
        &self,
        owner: &OwnerKey,
        limit: usize,
    ) -> Result<Vec<AnonRecord>, StoreError> {
        let start = Bound::Included(owner.0.to_vec());
        let end = match super::prefix_successor(&owner.0) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        let rows = self
            .kv()
            .range(Tree::OwnerAnonQuestion, start, end, true, limit)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, _) in rows {
            let id = uuid_at(Tree::OwnerAnonQuestion, k.get(32..))?;
            if let Some(r) = self.anon_question(id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The moderation queue: pending questions, oldest first, at most `limit`.
    pub fn anon_pending(&self, limit: usize) -> Result<Vec<AnonRecord>, StoreError> {
        let rows = scan_prefix(self.kv(), Tree::AnonIndex, &[PENDING], limit)?;
        let mut out = Vec::with_capacity(rows.len());
        for (k, _) in rows {
            let id = uuid_at(Tree::AnonIndex, k.get(1..))?;
            if let Some(r) = self.anon_question(id)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The anonymous question that the room message `room`/`seq` is.
    pub fn anon_by_message(
        &self,
        room: RoomId,
        seq: RoomSeq,
    ) -> Result<Option<AnonRecord>, StoreError> {
        match self.kv().get(Tree::AnonIndex, &message_key(room, seq))? {
            None => Ok(None),
            Some(v) => self.anon_question(uuid_at(Tree::AnonIndex, Some(&v))?),
        }
    }
}

pub fn put_anon_setting(b: &mut Batch, room: Option<RoomId>, on: bool) {
    if on {
        b.put(Tree::AnonIndex, setting_key(room), Vec::new());
    } else {
        b.delete(Tree::AnonIndex, setting_key(room));
    }
}

/// Write `record`, keep the asker's index, and keep the moderation queue
/// in step with its status.
pub fn put_anon_question(b: &mut Batch, record: &AnonRecord) {
    // A record of plain data always serializes.
    let json = serde_json::to_vec(record).unwrap_or_default();
    b.put(Tree::AnonQuestion, record.id.as_bytes().to_vec(), json);
    b.put(
        Tree::OwnerAnonQuestion,
        owner_key(&record.owner, record.id),
        Vec::new(),
    );
    if record.status == AnonStatus::Pending {
        b.put(Tree::AnonIndex, pending_key(record.id), Vec::new());
    } else {
        b.delete(Tree::AnonIndex, pending_key(record.id));
    }
    if let AnonStatus::Approved { seq } = record.status {
        b.put(
            Tree::AnonIndex,
            message_key(record.room, seq),
            record.id.as_bytes().to_vec(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn record(id: u8, owner: u8, status: AnonStatus) -> AnonRecord {
        AnonRecord {
            id: Uuid::from_bytes([id; 16]),
            room: RoomId::from_bytes([9; 16]),
            owner: OwnerKey([owner; 32]),
            body: format!("q{id}"),
            asked_at: u64::from(id),
            edited: false,
            status,
        }
    }

    #[test]
    fn queue_owner_index_settings_and_message_index_follow_the_records() {
        let store = Store::memory();
        let mut b = Batch::default();
        put_anon_question(&mut b, &record(1, 1, AnonStatus::Pending));
        put_anon_question(&mut b, &record(2, 1, AnonStatus::Pending));
        put_anon_question(&mut b, &record(3, 2, AnonStatus::Pending));
        put_anon_setting(&mut b, Some(RoomId::from_bytes([9; 16])), true);
        store.kv().apply(&b).expect("apply");
        let ids = |v: Vec<AnonRecord>| {
            v.into_iter()
                .map(|r| r.id.as_bytes()[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(store.anon_pending(10).expect("queue")), [1, 2, 3]);
        assert_eq!(
            ids(store.anon_of_owner(&OwnerKey([1; 32]), 10).expect("mine")),
            [2, 1]
        );
        assert!(
            store
                .anon_allowed(RoomId::from_bytes([9; 16]))
                .expect("allowed")
        );
        assert!(
            !store
                .anon_allowed(RoomId::from_bytes([8; 16]))
                .expect("allowed")
        );

        let mut b = Batch::default();
        put_anon_question(&mut b, &record(2, 1, AnonStatus::Approved { seq: 7 }));
        put_anon_setting(&mut b, None, true);
        store.kv().apply(&b).expect("apply");
        assert_eq!(ids(store.anon_pending(10).expect("queue")), [1, 3]);
        let found = store
            .anon_by_message(RoomId::from_bytes([9; 16]), 7)
            .expect("read")
            .expect("found");
        assert_eq!(found.id, Uuid::from_bytes([2; 16]));
        assert!(
            store
                .anon_allowed(RoomId::from_bytes([8; 16]))
                .expect("allowed")
        );
        let (org, rooms) = store.anon_settings().expect("settings");
        assert!(org);
        assert_eq!(rooms, [RoomId::from_bytes([9; 16])]);
    }
}
