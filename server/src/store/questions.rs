//! Votes for questions, follows of questions and threads, and the notices
//! followers are owed.
//!
//! - `room_seq_user_vote`: room ‖ seq ‖ user → time voted (ms). Once per
//!   person: the key is the person. The count shown to readers is kept in
//!   the question's stored state (`state.votes`), so listing a queue reads
//!   no vote rows.
//! - `room_seq_user_follow`: room ‖ seq ‖ user → (nothing): whom to tell
//!   when the question is answered or the thread gets a reply (a prefix
//!   scan of the message).
//! - `user_room_seq_follow`: user ‖ room ‖ seq → (nothing): the same follow
//!   the other way round, so the per-user limit ([`MAX_FOLLOWS`]) is a
//!   bounded prefix scan.
//! - `user_pos_notice`: user ‖ pos → the serialized `notice` frame. The pos
//!   is the causing event's, so a login's catch-up reads the notices in
//!   `(resume, H]` exactly as it reads events, and later ones come live.
//!   One event makes at most one notice per person, so the key is unique.

use super::kv::{Batch, StoreError, Tree, prefix_successor, scan_prefix};
use super::{Store, keys};
use std::ops::Bound;
use townhall_protocol::{Millis, Pos, RoomId, RoomSeq, UserId};

/// Most questions and threads one person may follow at once: each follow is
/// a row read every time the thread gets a reply, and an unbounded list
/// would let one script make every reply in the organisation write for it.
/// Far more than anyone reads.
pub const MAX_FOLLOWS: usize = 1_000;

/// Followers read per scan when a question is answered or a thread gets a
/// reply: large ordered reads, never all of a 10,000-follower question in
/// one allocation of keys and values at once.
const FOLLOWERS_CHUNK: usize = 4_096;

/// Most notices one login's catch-up sends (the newest): a person away for
/// months gets what happened lately, not an unbounded burst; older ones
/// are still in the store (see docs/architecture.md).
pub const MAX_NOTICES_AT_LOGIN: usize = 500;

impl Store {
    /// Did `user` vote for this question?
    pub fn voted(&self, room: RoomId, seq: RoomSeq, user: UserId) -> Result<bool, StoreError> {
        Ok(self
            .kv()
            .get(Tree::RoomSeqUserVote, &keys::room_seq_user(room, seq, user))?
            .is_some())
    }

    /// Does `user` follow this question or thread?
    pub fn follows(&self, room: RoomId, seq: RoomSeq, user: UserId) -> Result<bool, StoreError> {
        Ok(self
            .kv()
            .get(
                Tree::RoomSeqUserFollow,
                &keys::room_seq_user(room, seq, user),
            )?
            .is_some())
    }

    /// How many questions and threads `user` follows, counted up to
    /// [`MAX_FOLLOWS`] (so a caller can tell the limit is reached).
    pub fn follow_count(&self, user: UserId) -> Result<usize, StoreError> {
        Ok(scan_prefix(
            self.kv(),
            Tree::UserRoomSeqFollow,
            &keys::user(user),
            MAX_FOLLOWS,
        )?
        .len())
    }

    /// Everyone who follows this question or thread, in id order.
    pub fn followers(&self, room: RoomId, seq: RoomSeq) -> Result<Vec<UserId>, StoreError> {
        self.people_of(Tree::RoomSeqUserFollow, room, seq)
    }

    /// Everyone who voted for this question, in id order.
    pub fn voters(&self, room: RoomId, seq: RoomSeq) -> Result<Vec<UserId>, StoreError> {
        self.people_of(Tree::RoomSeqUserVote, room, seq)
    }

    /// The users of every `room ‖ seq ‖ user` key of one message in `tree`.
    fn people_of(&self, tree: Tree, room: RoomId, seq: RoomSeq) -> Result<Vec<UserId>, StoreError> {
        let prefix = keys::room_seq(room, seq);
        let end = match prefix_successor(&prefix) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        let mut start = Bound::Included(prefix);
        let mut out = Vec::new();
        loop {
            let rows = self
                .kv()
                .range(tree, start, end.clone(), false, FOLLOWERS_CHUNK)?;
            let done = rows.len() < FOLLOWERS_CHUNK;
            let Some((last, _)) = rows.last() else {
                return Ok(out);
            };
            start = Bound::Excluded(last.clone());
            for (k, _) in &rows {
                out.push(keys::user_of_room_seq_user(k)?);
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// The user's notices with `after < pos <= upto`, oldest first; at most
    /// [`MAX_NOTICES_AT_LOGIN`] (the newest of them).
    pub fn notices(
        &self,
        user: UserId,
        after: Pos,
        upto: Pos,
    ) -> Result<Vec<(Pos, Vec<u8>)>, StoreError> {
        if upto <= after {
            return Ok(Vec::new());
        }
        let rows = self.kv().range(
            Tree::UserPosNotice,
            Bound::Excluded(keys::user_pos(user, after)),
            Bound::Included(keys::user_pos(user, upto)),
            true,
            MAX_NOTICES_AT_LOGIN,
        )?;
        let mut out = rows
            .into_iter()
            .map(|(k, v)| {
                let pos = k
                    .get(16..24)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| super::corrupt(Tree::UserPosNotice, "key is not 24 bytes"))?;
                Ok((pos, v))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.reverse();
        Ok(out)
    }
}

pub fn put_vote(b: &mut Batch, room: RoomId, seq: RoomSeq, user: UserId, at: Millis) {
    b.put(
        Tree::RoomSeqUserVote,
        keys::room_seq_user(room, seq, user),
        keys::u64_value(at),
    );
}

pub fn delete_vote(b: &mut Batch, room: RoomId, seq: RoomSeq, user: UserId) {
    b.delete(Tree::RoomSeqUserVote, keys::room_seq_user(room, seq, user));
}

pub fn put_follow(b: &mut Batch, room: RoomId, seq: RoomSeq, user: UserId) {
    b.put(
        Tree::RoomSeqUserFollow,
        keys::room_seq_user(room, seq, user),
        Vec::new(),
    );
    b.put(
        Tree::UserRoomSeqFollow,
        keys::user_room_seq(user, room, seq),
        Vec::new(),
    );
}

pub fn delete_follow(b: &mut Batch, room: RoomId, seq: RoomSeq, user: UserId) {
    b.delete(
        Tree::RoomSeqUserFollow,
        keys::room_seq_user(room, seq, user),
    );
    b.delete(
        Tree::UserRoomSeqFollow,
        keys::user_room_seq(user, room, seq),
    );
}

pub fn put_notice(b: &mut Batch, user: UserId, pos: Pos, frame: &[u8]) {
    b.put(
        Tree::UserPosNotice,
        keys::user_pos(user, pos),
        frame.to_vec(),
    );
}
