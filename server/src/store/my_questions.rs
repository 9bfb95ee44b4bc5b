//! "My questions" (issue 13): the questions a person asked under their
//! name, in the order asked.
//!
//! - `user_pos_asked`: user ‖ pos (big-endian) → room ‖ seq. Written when a
//!   named question is posted (`committer.rs`, `Command::Post` with
//!   `question: true`); never for an anonymous one, whose asker is stored
//!   nowhere in the clear (`store/anon.rs`). Read newest first with one
//!   bounded reverse range. Questions asked before this tree existed are
//!   not in it (a new tree starts empty).

use super::Store;
use super::kv::{Batch, StoreError, Tree, prefix_successor};
use std::ops::Bound;
use townhall_protocol::{Pos, RoomId, RoomSeq, UserId};

fn user_pos(user: UserId, pos: Pos) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    k.extend_from_slice(user.as_bytes());
    k.extend_from_slice(&pos.to_be_bytes());
    k
}

/// Note that `user` asked the question at `room`/`seq` (committed at `pos`).
pub fn put_asked(b: &mut Batch, user: UserId, pos: Pos, room: RoomId, seq: RoomSeq) {
    let mut v = Vec::with_capacity(24);
    v.extend_from_slice(room.as_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    b.put(Tree::UserPosAsked, user_pos(user, pos), v);
}

impl Store {
    /// The newest `limit` questions `user` asked under their name, newest
    /// first, as (room, seq).
    pub fn asked_by(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<Vec<(RoomId, RoomSeq)>, StoreError> {
        let prefix = user.as_bytes().to_vec();
        let end = match prefix_successor(&prefix) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        self.kv()
            .range(
                Tree::UserPosAsked,
                Bound::Included(prefix),
                end,
                true,
                limit,
            )?
            .into_iter()
            .map(|(_, v)| {
                let room: [u8; 16] = v
                    .get(..16)
                    .and_then(|r| r.try_into().ok())
                    .ok_or_else(|| super::corrupt(Tree::UserPosAsked, "value is not 24 bytes"))?;
                let seq: [u8; 8] = v
                    .get(16..24)
                    .and_then(|r| r.try_into().ok())
                    .ok_or_else(|| super::corrupt(Tree::UserPosAsked, "value is not 24 bytes"))?;
                Ok((RoomId::from_bytes(room), RoomSeq::from_be_bytes(seq)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Kv, MemoryKv};

    #[test]
    fn asked_questions_come_back_newest_first_and_only_the_askers() {
        let kv = MemoryKv::default();
        let (ann, bob) = (UserId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
        let room = RoomId::from_bytes([9; 16]);
        let mut b = Batch::default();
        put_asked(&mut b, ann, 5, room, 3);
        put_asked(&mut b, ann, 300, room, 40);
        put_asked(&mut b, bob, 7, room, 4);
        kv.apply(&b).expect("apply");
        let store = Store::new(std::sync::Arc::new(kv));
        assert_eq!(
            store.asked_by(ann, 10).expect("read"),
            vec![(room, 40), (room, 3)]
        );
        assert_eq!(store.asked_by(ann, 1).expect("read"), vec![(room, 40)]);
        assert_eq!(store.asked_by(bob, 10).expect("read"), vec![(room, 4)]);
    }
}
