//! Who reacted beyond the listed few.
//!
//! A message's state lists at most [`REACTORS_LISTED`] people per emoji, so
//! that one popular broadcast (thousands of 👍) stays a small event: every
//! history page, thread and backlog that holds it carries its state, and a
//! full list (39 bytes a person) would outgrow any frame. The people past
//! the list are only counted in the state (`reactions_more`); this index
//! remembers exactly who they are, so that reacting twice changes nothing
//! and taking a reaction back removes exactly one.
//!
//! Key: room ‖ seq ‖ emoji index (in `REACTIONS`) ‖ user → (nothing).
//!
//! [`REACTORS_LISTED`]: townhall_protocol::REACTORS_LISTED

use super::kv::{Batch, StoreError, Tree, prefix_successor};
use super::{Store, keys};
use std::ops::Bound;
use townhall_protocol::{RoomId, RoomSeq, UserId};

/// Rows deleted per read when a message's extra reactors are cleared: the
/// whole index of one message is at most 8 emoji × every member.
const CLEAR_CHUNK: usize = 4096;

impl Store {
    /// Did `user` react with emoji number `emoji` beyond the listed few?
    pub fn is_extra_reactor(
        &self,
        room: RoomId,
        seq: RoomSeq,
        emoji: u8,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let key = keys::room_seq_emoji_user(room, seq, emoji, user);
        Ok(self.kv().get(Tree::RoomSeqExtraReactor, &key)?.is_some())
    }

    /// Write, in `b`, the deletion of every extra reactor of a message
    /// (it was deleted: its reactions go with it).
    pub fn clear_extra_reactors(
        &self,
        b: &mut Batch,
        room: RoomId,
        seq: RoomSeq,
    ) -> Result<(), StoreError> {
        let prefix = keys::room_seq(room, seq);
        let end = match prefix_successor(&prefix) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        let mut start = Bound::Included(prefix);
        loop {
            let rows = self.kv().range(
                Tree::RoomSeqExtraReactor,
                start,
                end.clone(),
                false,
                CLEAR_CHUNK,
            )?;
            let done = rows.len() < CLEAR_CHUNK;
            let Some((last, _)) = rows.last() else {
                return Ok(());
            };
            start = Bound::Excluded(last.clone());
            for (k, _) in rows {
                b.delete(Tree::RoomSeqExtraReactor, k);
            }
            if done {
                return Ok(());
            }
        }
    }
}

pub fn put_extra_reactor(b: &mut Batch, room: RoomId, seq: RoomSeq, emoji: u8, user: UserId) {
    b.put(
        Tree::RoomSeqExtraReactor,
        keys::room_seq_emoji_user(room, seq, emoji, user),
        Vec::new(),
    );
}

pub fn delete_extra_reactor(b: &mut Batch, room: RoomId, seq: RoomSeq, emoji: u8, user: UserId) {
    b.delete(
        Tree::RoomSeqExtraReactor,
        keys::room_seq_emoji_user(room, seq, emoji, user),
    );
}
