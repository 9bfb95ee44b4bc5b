//! Retention in the store: policies, legal holds, the last run, and where
//! each room's expiry stands.
//!
//! Two trees (tags 39 and 40):
//! - `retention` (tag 39), one relation per one-byte prefix, values JSON:
//!   - `0x00` → the global [`RetentionPolicy`];
//!   - `0x01` ‖ room id → that room's own [`RetentionPolicy`];
//!   - `0x02` ‖ room id → a [`LegalHold`] on the room;
//!   - `0x03` ‖ user id → a [`LegalHold`] on the user;
//!   - `0x04` → the last [`RetentionRun`].
//! - `room_retention_cursor` (tag 40): room id → the last seq (u64,
//!   big-endian) expiry has looked at. Messages at or below it were
//!   expired, already deleted, or written by a user under hold then:
//!   lifting a user hold forgets every cursor (so the next run looks again).

use super::kv::{Batch, StoreError, Tree, scan_prefix};
use super::{Store, corrupt, keys};
use townhall_protocol::retention::{HoldTarget, LegalHold, RetentionPolicy, RetentionRun};
use townhall_protocol::{RoomId, RoomSeq};

const GLOBAL: u8 = 0x00;
const ROOM_POLICY: u8 = 0x01;
const ROOM_HOLD: u8 = 0x02;
const USER_HOLD: u8 = 0x03;
const LAST_RUN: u8 = 0x04;

/// Room policies and holds read at once at most: every room of a large
/// server (rooms are tens of thousands, not millions).
const MAX_LISTED: usize = 1_000_000;

fn room_policy_key(room: RoomId) -> Vec<u8> {
    let mut k = vec![ROOM_POLICY];
    k.extend_from_slice(room.as_bytes());
    k
}

fn hold_key(target: HoldTarget) -> Vec<u8> {
    match target {
        HoldTarget::Room(room) => {
            let mut k = vec![ROOM_HOLD];
            k.extend_from_slice(room.as_bytes());
            k
        }
        HoldTarget::User(user) => {
            let mut k = vec![USER_HOLD];
            k.extend_from_slice(user.as_bytes());
            k
        }
    }
}

fn room_of(key: &[u8]) -> Result<RoomId, StoreError> {
    key.get(1..17)
        .and_then(|b| uuid::Uuid::from_slice(b).ok())
        .map(RoomId)
        .ok_or_else(|| corrupt(Tree::Retention, "short room key"))
}

fn decode<T: serde::de::DeserializeOwned>(v: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(v).map_err(|e| corrupt(Tree::Retention, e))
}

fn get<T: serde::de::DeserializeOwned>(store: &Store, key: &[u8]) -> Result<Option<T>, StoreError> {
    store
        .kv()
        .get(Tree::Retention, key)?
        .map(|v| decode(&v))
        .transpose()
}

impl Store {
    pub fn global_retention(&self) -> Result<Option<RetentionPolicy>, StoreError> {
        get(self, &[GLOBAL])
    }

    pub fn room_retention(&self, room: RoomId) -> Result<Option<RetentionPolicy>, StoreError> {
        get(self, &room_policy_key(room))
    }

    /// Every room's own policy, in room id order.
    pub fn room_retentions(&self) -> Result<Vec<(RoomId, RetentionPolicy)>, StoreError> {
        scan_prefix(self.kv(), Tree::Retention, &[ROOM_POLICY], MAX_LISTED)?
            .into_iter()
            .map(|(k, v)| Ok((room_of(&k)?, decode(&v)?)))
            .collect()
    }

    pub fn legal_hold(&self, target: HoldTarget) -> Result<Option<LegalHold>, StoreError> {
        get(self, &hold_key(target))
    }

    /// Every hold in force: rooms first, then users, each in id order.
    pub fn legal_holds(&self) -> Result<Vec<LegalHold>, StoreError> {
        let mut out = Vec::new();
        for prefix in [ROOM_HOLD, USER_HOLD] {
            for (_, v) in scan_prefix(self.kv(), Tree::Retention, &[prefix], MAX_LISTED)? {
                out.push(decode(&v)?);
            }
        }
        Ok(out)
    }

    pub fn retention_run(&self) -> Result<RetentionRun, StoreError> {
        Ok(get(self, &[LAST_RUN])?.unwrap_or_default())
    }

    /// The last seq of `room` expiry has looked at (0: none yet).
    pub fn retention_cursor(&self, room: RoomId) -> Result<RoomSeq, StoreError> {
        match self
            .kv()
            .get(Tree::RoomRetentionCursor, &keys::room(room))?
        {
            None => Ok(0),
            Some(v) => <[u8; 8]>::try_from(v.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| corrupt(Tree::RoomRetentionCursor, "not an 8-byte seq")),
        }
    }

    /// Every room that has a cursor (to forget them all).
    pub fn retention_cursor_rooms(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(
            scan_prefix(self.kv(), Tree::RoomRetentionCursor, &[], MAX_LISTED)?
                .into_iter()
                .map(|(k, _)| k)
                .collect(),
        )
    }
}

pub fn put_global_retention(b: &mut Batch, policy: Option<&RetentionPolicy>) {
    match policy {
        Some(p) => b.put(Tree::Retention, vec![GLOBAL], super::json(p)),
        None => b.delete(Tree::Retention, vec![GLOBAL]),
    }
}

pub fn put_room_retention(b: &mut Batch, room: RoomId, policy: Option<&RetentionPolicy>) {
    match policy {
        Some(p) => b.put(Tree::Retention, room_policy_key(room), super::json(p)),
        None => b.delete(Tree::Retention, room_policy_key(room)),
    }
}

pub fn put_legal_hold(b: &mut Batch, hold: &LegalHold) {
    b.put(Tree::Retention, hold_key(hold.target), super::json(hold));
}

pub fn delete_legal_hold(b: &mut Batch, target: HoldTarget) {
    b.delete(Tree::Retention, hold_key(target));
}

pub fn put_retention_run(b: &mut Batch, run: &RetentionRun) {
    b.put(Tree::Retention, vec![LAST_RUN], super::json(run));
}

pub fn put_retention_cursor(b: &mut Batch, room: RoomId, seq: RoomSeq) {
    b.put(
        Tree::RoomRetentionCursor,
        keys::room(room),
        seq.to_be_bytes().to_vec(),
    );
}

pub fn delete_retention_cursor(b: &mut Batch, key: Vec<u8>) {
    b.delete(Tree::RoomRetentionCursor, key);
}

#[cfg(test)]
mod tests {
    use super::*;
    use townhall_protocol::{Role, UserId, UserInfo};

    fn admin() -> UserInfo {
        UserInfo {
            id: UserId::new(),
            username: "admin".into(),
            display_name: "Admin".into(),
            role: Role::Admin,
            transformation_team: false,
            avatar: None,
        }
    }

    #[test]
    fn policies_holds_and_cursors_round_trip_and_stay_apart() {
        let store = Store::memory();
        let (r1, r2, u) = (RoomId::new(), RoomId::new(), UserId::new());
        let policy = |days| RetentionPolicy {
            days,
            set_by: admin(),
            set_at: 1,
        };
        let hold = |target| LegalHold {
            target,
            name: "x".into(),
            reason: "case".into(),
            set_by: admin(),
            set_at: 2,
        };
        let mut b = Batch::default();
        put_global_retention(&mut b, Some(&policy(365)));
        put_room_retention(&mut b, r1, Some(&policy(30)));
        put_legal_hold(&mut b, &hold(HoldTarget::Room(r2)));
        put_legal_hold(&mut b, &hold(HoldTarget::User(u)));
        put_retention_cursor(&mut b, r1, 42);
        put_retention_run(
            &mut b,
            &RetentionRun {
                at: 5,
                expired: 3,
                expired_total: 9,
            },
        );
        store.apply(&b).expect("apply");

        assert_eq!(
            store.global_retention().expect("read").map(|p| p.days),
            Some(365)
        );
        assert_eq!(
            store.room_retention(r1).expect("read").map(|p| p.days),
            Some(30)
        );
        assert_eq!(store.room_retention(r2).expect("read"), None);
        let rooms = store.room_retentions().expect("read");
        assert_eq!(rooms.len(), 1);
        assert_eq!(rooms[0].0, r1);
        let targets: Vec<HoldTarget> = store
            .legal_holds()
            .expect("read")
            .iter()
            .map(|h| h.target)
            .collect();
        assert_eq!(targets, [HoldTarget::Room(r2), HoldTarget::User(u)]);
        assert!(
            store
                .legal_hold(HoldTarget::Room(r1))
                .expect("read")
                .is_none()
        );
        assert_eq!(store.retention_cursor(r1).expect("read"), 42);
        assert_eq!(store.retention_cursor(r2).expect("read"), 0);
        assert_eq!(store.retention_run().expect("read").expired_total, 9);

        let mut b = Batch::default();
        put_global_retention(&mut b, None);
        put_room_retention(&mut b, r1, None);
        delete_legal_hold(&mut b, HoldTarget::User(u));
        for key in store.retention_cursor_rooms().expect("read") {
            delete_retention_cursor(&mut b, key);
        }
        store.apply(&b).expect("apply");
        assert!(store.global_retention().expect("read").is_none());
        assert!(store.room_retentions().expect("read").is_empty());
        assert_eq!(store.legal_holds().expect("read").len(), 1);
        assert_eq!(store.retention_cursor(r1).expect("read"), 0);
    }
}
