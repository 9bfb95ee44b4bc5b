//! Retention through the log: policies, legal holds, and expiry.
//!
//! Expiry is a command like any other ([`RetentionOp::Expire`]): a
//! node-local timer (`crate::retention`) only *submits* it; every node
//! applies the same entry and deletes the same messages, deciding from the
//! store and the entry's apply time alone. One entry erases at most
//! [`MAX_EXPIRED_PER_ENTRY`] messages and looks at most at
//! [`MAX_SCANNED_PER_ENTRY`] events, so the committer is never held for
//! long; the reply says whether more remain and the timer submits again.
//! Two timers submitting at once (two nodes) are harmless: the second entry
//! finds the messages already deleted and the cursors advanced.
//!
//! An expired message is erased exactly as a delete erases it
//! (`erase_message`: body, edits, files, reactions, mentions, alert
//! snippets) and a `deleted` event follows it in its room, so readers
//! online, a reconnecting client's catch-up and the search indexer all
//! learn of it; the message stays as a tombstone so seqs stay gap-free.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch};
use std::collections::{BTreeMap, BTreeSet};
use townhall_protocol::retention::{
    HoldTarget, LegalHold, MAX_HOLD_REASON_BYTES, MAX_RETENTION_DAYS, RetentionPolicy, RetentionRun,
};
use townhall_protocol::{Content, Pos, Role, RoomId, RoomSeq, UserInfo};

/// Messages one expiry entry erases at most: each is a rewrite, its edits'
/// rewrites and a new event, so 500 keep one entry's batch to a few
/// hundred KB and its apply to milliseconds.
pub const MAX_EXPIRED_PER_ENTRY: u64 = 500;

/// Events one expiry entry reads at most (tombstones, edits, reactions,
/// held users' messages are read and passed over): bounds the entry's
/// reads when little is left to erase.
pub const MAX_SCANNED_PER_ENTRY: usize = 5_000;

/// Events read from a room per range read.
const CHUNK: usize = 256;

/// A change to retention, or an expiry run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionOp {
    /// Set the global policy (`room: None`) or a room's own.
    SetPolicy {
        actor: UserInfo,
        room: Option<RoomId>,
        days: u32,
    },
    /// Remove the global policy or a room's own.
    ClearPolicy {
        actor: UserInfo,
        room: Option<RoomId>,
    },
    SetHold {
        actor: UserInfo,
        target: HoldTarget,
        reason: String,
    },
    ClearHold {
        actor: UserInfo,
        target: HoldTarget,
    },
    /// Expire what the policies say is too old at the entry's apply time.
    /// `day_ms` is the length of a policy's day: 86,400,000 except in tests
    /// (`--retention-day-secs`); carried in the entry so every node counts
    /// alike.
    Expire {
        day_ms: u64,
    },
}

/// Check a policy's days (also done by the handler before submitting).
pub fn check_days(days: u32) -> Result<()> {
    if (1..=MAX_RETENTION_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(ServerError::Invalid(format!(
            "days is 1 to {MAX_RETENTION_DAYS}"
        )))
    }
}

/// Check a hold's reason (also done by the handler).
pub fn check_reason(reason: &str) -> Result<()> {
    if reason.len() > MAX_HOLD_REASON_BYTES {
        return Err(ServerError::Invalid(format!(
            "a hold's reason is at most {MAX_HOLD_REASON_BYTES} bytes"
        )));
    }
    Ok(())
}

impl Worker {
    /// The actor as stored now, who must be an admin.
    fn retention_admin(&self, actor: &UserInfo) -> Result<UserInfo> {
        match self.store.user(actor.id)? {
            Some(u) if !u.disabled && u.role == Role::Admin => Ok(u.info()),
            Some(u) if !u.disabled => Err(ServerError::Forbidden(
                "only admins set retention and legal holds",
            )),
            _ => Err(ServerError::BadToken),
        }
    }

    pub(super) fn retention_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: RetentionOp,
    ) -> Result<Reply> {
        match op {
            RetentionOp::SetPolicy { actor, room, days } => {
                let actor = self.retention_admin(&actor)?;
                check_days(days)?;
                let policy = RetentionPolicy {
                    days,
                    set_by: actor.clone(),
                    set_at: self.now(),
                };
                match room {
                    None => store::put_global_retention(b, Some(&policy)),
                    Some(room) => {
                        self.store.room(room)?.ok_or(ServerError::NotFound)?;
                        store::put_room_retention(b, room, Some(&policy));
                    }
                }
                self.audit(
                    b,
                    &actor,
                    "set_retention",
                    room,
                    None,
                    Some(u64::from(days)),
                );
                Ok(Reply::Done(0))
            }
            RetentionOp::ClearPolicy { actor, room } => {
                let actor = self.retention_admin(&actor)?;
                match room {
                    None => store::put_global_retention(b, None),
                    Some(room) => store::put_room_retention(b, room, None),
                }
                self.audit(b, &actor, "clear_retention", room, None, None);
                Ok(Reply::Done(0))
            }
            RetentionOp::SetHold {
                actor,
                target,
                reason,
            } => {
                let actor = self.retention_admin(&actor)?;
                check_reason(&reason)?;
                let (name, room, user) = self.hold_subject(target)?;
                let hold = LegalHold {
                    target,
                    name,
                    reason,
                    set_by: actor.clone(),
                    set_at: self.now(),
                };
                store::put_legal_hold(b, &hold);
                self.audit(b, &actor, "set_legal_hold", room, user, None);
                Ok(Reply::Done(0))
            }
            RetentionOp::ClearHold { actor, target } => {
                let actor = self.retention_admin(&actor)?;
                if self.store.legal_hold(target)?.is_none() {
                    return Err(ServerError::NotFound);
                }
                let (_, room, user) = self.hold_subject(target)?;
                store::delete_legal_hold(b, target);
                if let HoldTarget::User(_) = target {
                    // The cursors went past this user's messages while they
                    // were held: the next runs look at every room again.
                    for key in self.store.retention_cursor_rooms()? {
                        store::delete_retention_cursor(b, key);
                    }
                }
                self.audit(b, &actor, "clear_legal_hold", room, user, None);
                Ok(Reply::Done(0))
            }
            RetentionOp::Expire { day_ms } => self.expire(b, p, day_ms.max(1)),
        }
    }

    /// The name of what a hold covers, and the room or user the audit
    /// entry names. A room or user that does not exist: `NotFound`.
    fn hold_subject(
        &self,
        target: HoldTarget,
    ) -> Result<(String, Option<RoomId>, Option<UserInfo>)> {
        match target {
            HoldTarget::Room(room) => {
                let r = self.store.room(room)?.ok_or(ServerError::NotFound)?;
                Ok((r.name, Some(room), None))
            }
            HoldTarget::User(user) => {
                let u = self.store.user(user)?.ok_or(ServerError::NotFound)?;
                Ok((u.username.clone(), None, Some(u.info())))
            }
        }
    }

    /// A broadcast's record keeps its body for `pending_acks`: erase it
    /// once no copy of the broadcast is live (every room's copy expired or
    /// deleted), so a copy in a held room keeps it.
    fn erase_broadcast_body(
        &self,
        b: &mut Batch,
        id: uuid::Uuid,
        erased: &BTreeSet<(uuid::Uuid, RoomSeq)>,
    ) -> Result<()> {
        let Some(mut record) = self.store.broadcast(id)? else {
            return Ok(());
        };
        for (room, seq) in &record.rooms {
            if erased.contains(&(room.0, *seq)) {
                continue;
            }
            let live = match self.store.event(*room, *seq)? {
                Some(stored) => !stored.decode()?.state.deleted,
                None => false,
            };
            if live {
                return Ok(());
            }
        }
        record.body.clear();
        store::put_broadcast(b, &record);
        Ok(())
    }

    /// One bounded step of expiry (see the module header).
    fn expire(&mut self, b: &mut Batch, p: &mut Pending, day_ms: u64) -> Result<Reply> {
        let global = self.store.global_retention()?;
        let own: BTreeMap<RoomId, u32> = self
            .store
            .room_retentions()?
            .into_iter()
            .map(|(room, policy)| (room, policy.days))
            .collect();
        if global.is_none() && own.is_empty() {
            return Ok(Reply::Expired {
                expired: 0,
                more: false,
            });
        }
        // Rooms in id order, each with the days that apply to it.
        let rooms: Vec<(RoomId, u32)> = match &global {
            Some(g) => self
                .store
                .rooms()?
                .into_iter()
                .map(|r| (r.id, own.get(&r.id).copied().unwrap_or(g.days)))
                .collect(),
            None => own.into_iter().collect(),
        };
        let mut held_rooms = BTreeSet::new();
        let mut held_users = BTreeSet::new();
        for hold in self.store.legal_holds()? {
            match hold.target {
                HoldTarget::Room(r) => held_rooms.insert(r.0),
                HoldTarget::User(u) => held_users.insert(u.0),
            };
        }
        let now = self.now();
        let mut expired = 0u64;
        let mut scanned = 0usize;
        let mut more = false;
        // What this step erased: its own writes are not visible to its reads.
        let mut erased: BTreeSet<(uuid::Uuid, RoomSeq)> = BTreeSet::new();
        'rooms: for (room, days) in rooms {
            if held_rooms.contains(&room.0) {
                continue;
            }
            let cutoff = now.saturating_sub(u64::from(days).saturating_mul(day_ms));
            let cursor = self.store.retention_cursor(room)?;
            let mut last: RoomSeq = cursor;
            // A room with nothing old enough costs one event's read, not a
            // chunk's, and is not counted: with thousands of rooms,
            // counting it would end every step before the later rooms.
            match self
                .store
                .events(room, last + 1, RoomSeq::MAX, false, 1, Pos::MAX)?
                .first()
            {
                None => continue 'rooms,
                Some(first) if first.decode()?.ts >= cutoff => continue 'rooms,
                Some(_) => {}
            }
            'scan: loop {
                if scanned >= MAX_SCANNED_PER_ENTRY || expired >= MAX_EXPIRED_PER_ENTRY {
                    more = true;
                    break 'scan;
                }
                let want = CHUNK.min(MAX_SCANNED_PER_ENTRY - scanned);
                let chunk =
                    self.store
                        .events(room, last + 1, RoomSeq::MAX, false, want, Pos::MAX)?;
                if chunk.is_empty() {
                    break 'scan;
                }
                for stored in chunk {
                    if expired >= MAX_EXPIRED_PER_ENTRY {
                        more = true;
                        break 'scan;
                    }
                    let mut event = stored.decode()?;
                    // Times never go back along a room's seqs: the first
                    // young event ends this room's run.
                    if event.ts >= cutoff {
                        break 'scan;
                    }
                    scanned += 1;
                    let live = matches!(
                        event.content,
                        Content::Message { .. } | Content::Broadcast { .. }
                    ) && !event.state.deleted;
                    if live && !held_users.contains(&event.sender.id.0) {
                        let broadcast = match &event.content {
                            Content::Broadcast { broadcast, .. } => Some(*broadcast),
                            _ => None,
                        };
                        self.erase_message(b, p, &stored, &mut event)?;
                        erased.insert((room.0, event.seq));
                        if let Some(id) = broadcast {
                            self.erase_broadcast_body(b, id, &erased)?;
                        }
                        self.append(
                            b,
                            p,
                            room,
                            event.sender.clone(),
                            None,
                            Content::Deleted { target: event.seq },
                            None,
                        )?;
                        expired += 1;
                    }
                    last = stored.seq;
                }
            }
            if last != cursor {
                store::put_retention_cursor(b, room, last);
            }
            if more {
                break 'rooms;
            }
        }
        let previous = self.store.retention_run()?;
        store::put_retention_run(
            b,
            &RetentionRun {
                at: now,
                expired,
                expired_total: previous.expired_total + expired,
            },
        );
        if expired > 0 {
            tracing::info!(expired, more, "retention expired messages");
        }
        Ok(Reply::Expired { expired, more })
    }
}
