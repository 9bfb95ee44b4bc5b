//! Who may reach whom, inside the single writer: direct conversations
//! (open, close), blocks, and the checks that make a block hold.
//!
//! A block is one-way: when alice blocks mallory, mallory can no longer
//! open a DM with alice, post in their existing DM, or add alice to a room.
//! Each of these answers `not_found`, exactly as for a username that does
//! not exist, so the refusal itself is not a "you are blocked" signal (an
//! answer that says "blocked" would invite working around it). Alice keeps
//! every power she had; mallory's messages in shared rooms are untouched.
//!
//! Closing ("leaving") a DM works like Slack's "close conversation": the
//! membership stays (history, delivery and the pair record are unchanged)
//! and the room drops out of the closer's room list and summary until a
//! newer event arrives in it (the other person writes again), or the closer
//! opens it again with `open_dm`. The checks run here, against the latest
//! state, so a block committed before a post always stops it.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch, RoomRecord};
use townhall_protocol::{MemberAction, RoomId, RoomKind, RoomRole, UserId, UserInfo, Visibility};

/// A change to who may reach whom.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactOp {
    /// `user` blocks (`on`) or unblocks `target`.
    Block {
        user: UserInfo,
        target: UserInfo,
        on: bool,
    },
}

impl Worker {
    pub(super) fn contact_op(&mut self, b: &mut Batch, op: ContactOp) -> Result<Reply> {
        match op {
            ContactOp::Block { user, target, on } => {
                if user.id == target.id {
                    return Err(ServerError::Invalid("you cannot block yourself".into()));
                }
                let blocked = self.store.blocks(user.id, target.id)?;
                if on && !blocked {
                    if self.store.blocked_by(user.id)?.len() >= store::MAX_BLOCKS {
                        return Err(ServerError::Invalid(format!(
                            "you block {} people already; unblock someone first",
                            store::MAX_BLOCKS
                        )));
                    }
                    store::put_block(b, user.id, target.id, self.now());
                } else if !on && blocked {
                    store::delete_block(b, user.id, target.id);
                }
                Ok(Reply::Done(0))
            }
        }
    }

    /// Find or make the DM of `user` and `peer`. Refused (`not_found`) when
    /// `peer` blocks `user`; opening it un-closes it for `user`.
    pub(super) fn open_dm(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: UserInfo,
        peer: UserInfo,
    ) -> Result<Reply> {
        if self.store.blocks(peer.id, user.id)? {
            return Err(ServerError::NotFound);
        }
        if let Some(room) = self.store.dm_room(user.id, peer.id)? {
            let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
            if self.store.hidden_dm(user.id, room)?.is_some() {
                store::delete_hidden_dm(b, user.id, room);
            }
            return Ok(Reply::Room(record));
        }
        let record = RoomRecord {
            id: RoomId(self.new_id()),
            name: String::new(),
            topic: String::new(),
            visibility: Visibility::Private,
            kind: RoomKind::Dm,
            created_by: user.id,
            created_at: self.now(),
            announce_only: false,
            org_wide: false,
            archived: false,
        };
        self.create_room(
            b,
            p,
            &record,
            &user,
            &[
                (user.clone(), RoomRole::Member, MemberAction::Joined),
                (peer.clone(), RoomRole::Member, MemberAction::Added),
            ],
        )?;
        store::put_dm(b, user.id, peer.id, record.id);
        Ok(Reply::Room(record))
    }

    /// `leave` of a DM (the caller is a current member): close it for them.
    pub(super) fn close_dm(&mut self, b: &mut Batch, room: RoomId, user: UserId) -> Result<Reply> {
        let seq = self.tail(room)?.seq;
        store::put_hidden_dm(b, user, room, seq);
        Ok(Reply::Done(0))
    }

    /// May `user` post in `room`: top-level posts follow the room's
    /// announce-only rule, and nobody posts in a DM whose other member
    /// blocks them (`not_found`, as if the conversation were gone).
    /// Returns the room's kind (the pulse counts rooms, not DMs).
    pub(super) fn check_may_post(
        &self,
        room: RoomId,
        user: &UserInfo,
        top_level: bool,
    ) -> Result<RoomKind> {
        let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
        if record.archived {
            return Err(ServerError::RoomArchived);
        }
        if top_level {
            self.check_may_post_top_level(&record, user)?;
        }
        if record.kind != RoomKind::Dm {
            return Ok(record.kind);
        }
        for (member, _) in self.store.room_members(room)? {
            if member != user.id && self.store.blocks(member, user.id)? {
                return Err(ServerError::NotFound);
            }
        }
        Ok(record.kind)
    }

    /// `actor` may not add `target` to a room if `target` blocks them
    /// (`not_found`, the answer for an unknown username).
    pub(super) fn refuse_if_blocked(&self, target: UserId, actor: UserId) -> Result<()> {
        if self.store.blocks(target, actor)? {
            return Err(ServerError::NotFound);
        }
        Ok(())
    }
}
