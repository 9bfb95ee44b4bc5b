//! Who may reach whom: direct-message pairs, blocks, and direct
//! conversations a user has closed ("left").
//!
//! - `user_pair_dm`: lower user id ‖ higher user id → the DM room id.
//! - `user_user_block`: blocker ‖ blocked → time blocked (ms). One-way: a
//!   prefix scan of the blocker lists whom they block.
//! - `user_room_hidden`: user ‖ DM room → the room's last seq when the user
//!   closed it. The room stays out of their room list and summary until an
//!   event with a higher seq arrives (the other person writes again); the
//!   membership itself never ends, so history and delivery are unchanged.

use super::kv::{Batch, StoreError, Tree, scan_prefix};
use super::{Store, corrupt, keys};
use townhall_protocol::{Millis, RoomId, RoomSeq, UserId};

/// Most users one person may block: bounds the `blocked` reply and the
/// scan behind it; far more than anyone needs against harassment.
pub const MAX_BLOCKS: usize = 1_000;

impl Store {
    pub fn dm_room(&self, a: UserId, b: UserId) -> Result<Option<RoomId>, StoreError> {
        match self.kv.get(Tree::UserPairDm, &keys::user_pair(a, b))? {
            Some(id) => {
                let id: [u8; 16] = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(Tree::UserPairDm, "id is not 16 bytes"))?;
                Ok(Some(RoomId::from_bytes(id)))
            }
            None => Ok(None),
        }
    }

    /// Does `blocker` block `blocked`?
    pub fn blocks(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
        Ok(self
            .kv
            .get(Tree::UserUserBlock, &keys::user_user(blocker, blocked))?
            .is_some())
    }

    /// Whom `blocker` blocks (at most [`MAX_BLOCKS`] + 1, so a caller can
    /// tell the limit is reached).
    pub fn blocked_by(&self, blocker: UserId) -> Result<Vec<UserId>, StoreError> {
        scan_prefix(
            self.kv.as_ref(),
            Tree::UserUserBlock,
            &keys::user(blocker),
            MAX_BLOCKS + 1,
        )?
        .into_iter()
        .map(|(k, _)| Ok(UserId::from_bytes(keys::second_id("user_user_block", &k)?)))
        .collect()
    }

    /// Has `user` closed this DM with nothing newer than `last_seq` since
    /// (so it stays out of their room list and summary)?
    pub fn dm_closed(
        &self,
        user: UserId,
        room: RoomId,
        last_seq: RoomSeq,
    ) -> Result<bool, StoreError> {
        Ok(self.hidden_dm(user, room)?.is_some_and(|at| last_seq <= at))
    }

    /// The room's last seq when `user` closed this DM, if they did.
    pub fn hidden_dm(&self, user: UserId, room: RoomId) -> Result<Option<RoomSeq>, StoreError> {
        match self
            .kv
            .get(Tree::UserRoomHidden, &keys::user_room(user, room))?
        {
            Some(v) => Ok(Some(keys::read_u64("user_room_hidden", &v)?)),
            None => Ok(None),
        }
    }
}

pub fn put_dm(b: &mut Batch, a: UserId, c: UserId, room: RoomId) {
    b.put(Tree::UserPairDm, keys::user_pair(a, c), keys::room(room));
}

pub fn put_block(b: &mut Batch, blocker: UserId, blocked: UserId, at: Millis) {
    b.put(
        Tree::UserUserBlock,
        keys::user_user(blocker, blocked),
        keys::u64_value(at),
    );
}

pub fn delete_block(b: &mut Batch, blocker: UserId, blocked: UserId) {
    b.delete(Tree::UserUserBlock, keys::user_user(blocker, blocked));
}

pub fn put_hidden_dm(b: &mut Batch, user: UserId, room: RoomId, seq: RoomSeq) {
    b.put(
        Tree::UserRoomHidden,
        keys::user_room(user, room),
        keys::u64_value(seq),
    );
}

pub fn delete_hidden_dm(b: &mut Batch, user: UserId, room: RoomId) {
    b.delete(Tree::UserRoomHidden, keys::user_room(user, room));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_one_way_listed_and_removable_and_closed_dms_reopen_on_news() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sled = Store::open_sled(&dir.path().join("db"), 8 * 1024 * 1024).expect("open sled");
        for (name, store) in [("sled", sled), ("memory", Store::memory())] {
            let (alice, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
            let dm = RoomId::new();
            let mut b = Batch::default();
            put_block(&mut b, alice, bob, 5);
            put_block(&mut b, alice, carol, 6);
            put_block(&mut b, bob, carol, 7);
            put_hidden_dm(&mut b, bob, dm, 4);
            store.apply(&b).expect("apply");
            assert!(store.blocks(alice, bob).expect("get"), "{name}");
            assert!(!store.blocks(bob, alice).expect("get"), "{name}: one-way");
            let mut mine = store.blocked_by(alice).expect("scan");
            mine.sort();
            let mut want = vec![bob, carol];
            want.sort();
            assert_eq!(mine, want, "{name}: only alice's blocks");
            assert!(store.dm_closed(bob, dm, 4).expect("get"), "{name}");
            assert!(!store.dm_closed(bob, dm, 5).expect("get"), "{name}: news");
            assert!(!store.dm_closed(alice, dm, 4).expect("get"), "{name}");

            let mut b = Batch::default();
            delete_block(&mut b, alice, bob);
            delete_hidden_dm(&mut b, bob, dm);
            store.apply(&b).expect("apply");
            assert!(!store.blocks(alice, bob).expect("get"), "{name}");
            assert_eq!(
                store.blocked_by(alice).expect("scan"),
                vec![carol],
                "{name}"
            );
            assert_eq!(store.hidden_dm(bob, dm).expect("get"), None, "{name}");
        }
    }
}
