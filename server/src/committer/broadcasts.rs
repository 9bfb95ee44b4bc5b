//! Broadcasts and their reach ledger.
//!
//! A leader's broadcast is one `broadcast` event in each room of its
//! audience (the organisation room for "everyone"): the body is stored once
//! per room, never per person, and reaches every member live or in their
//! backlog like any message. The audience as it was when posted is written
//! down (24 bytes a reader: delivered, opened, acknowledged times), with
//! running counts on the broadcast, so reach is "of the people it was meant
//! for", and each receipt updates it in O(1). The sender's sessions are told
//! of every change (`reach_update`).

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::frame::shared;
use crate::store::{self, AckRecord, Batch, BroadcastRecord};
use std::collections::BTreeSet;
use townhall_protocol::{
    Content, ReachCounts, ReceiptKind, Role, RoomId, ServerFrame, UserId, UserInfo,
};
use uuid::Uuid;

/// Most rooms one broadcast may name: an audience, not a spam run.
const MAX_ROOMS: usize = 100;

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn broadcast(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: UserInfo,
        client_id: Uuid,
        body: String,
        rooms: Vec<RoomId>,
        ack_requested: bool,
    ) -> Result<Reply> {
        if let Some(ack) = self.store.ack(user.id, client_id)? {
            let id = ack
                .broadcast
                .ok_or_else(|| ServerError::Invalid("client_id was used for a message".into()))?;
            let audience = self.store.broadcast(id)?.map_or(0, |r| r.counts.audience);
            return Ok(Reply::Broadcast {
                id,
                audience,
                duplicate: true,
            });
        }
        if !matches!(user.role, Role::Leader | Role::Admin) {
            return Err(ServerError::Forbidden("only leaders and admins broadcast"));
        }
        let mut rooms = if rooms.is_empty() {
            vec![self.store.org_room()?.ok_or(ServerError::NotFound)?]
        } else {
            rooms
        };
        // Followers get it in the sender's followers room, wherever it went.
        if let Some(followers) = self.store.followers_room(user.id)? {
            rooms.push(followers);
        }
        let rooms: Vec<RoomId> = rooms
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if rooms.len() > MAX_ROOMS {
            return Err(ServerError::Invalid(format!("at most {MAX_ROOMS} rooms")));
        }
        // The sender must be in every room: a broadcast is a post there.
        let mut audience: BTreeSet<UserId> = BTreeSet::new();
        for room in &rooms {
            if !self
                .store
                .membership(*room, user.id)?
                .is_some_and(|m| m.is_current())
            {
                return Err(ServerError::NotFound);
            }
            // An archived room is read-only, broadcasts included.
            if self.store.room(*room)?.is_some_and(|r| r.archived) {
                return Err(ServerError::RoomArchived);
            }
            for (member, m) in self.store.room_members(*room)? {
                if m.is_current() && member != user.id {
                    audience.insert(member);
                }
            }
        }
        let id = self.new_id();
        let mut placed = Vec::with_capacity(rooms.len());
        let mut first = None;
        for room in &rooms {
            let content = Content::Broadcast {
                body: body.clone(),
                broadcast: id,
                ack_requested,
            };
            let ev = self.append(b, p, *room, user.clone(), Some(client_id), content, None)?;
            first.get_or_insert(AckRecord {
                room: *room,
                seq: ev.seq,
                pos: ev.pos,
                ts: ev.ts,
                broadcast: Some(id),
            });
            placed.push((*room, ev.seq));
            self.read_own(b, p, user.id, *room, ev.seq)?;
        }
        for reader in &audience {
            store::put_reach(b, id, *reader, [0, 0, 0]);
            if ack_requested {
                store::put_pending_ack(b, *reader, id);
            }
        }
        let counts = ReachCounts {
            audience: audience.len() as u64,
            ..ReachCounts::default()
        };
        let record = BroadcastRecord {
            id,
            sender: user.clone(),
            body,
            rooms: placed,
            ack_requested,
            created_at: self.now(),
            counts,
        };
        store::put_broadcast(b, &record);
        if let Some(ack) = first {
            store::put_ack(b, user.id, client_id, &ack);
        }
        Ok(Reply::Broadcast {
            id,
            audience: audience.len() as u64,
            duplicate: false,
        })
    }

    /// Following a leader is membership of their followers room (private,
    /// announce-only, owned by the leader, made on the first follow).
    pub(super) fn follow(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: UserInfo,
        leader: UserInfo,
        on: bool,
    ) -> Result<Reply> {
        use townhall_protocol::{MemberAction, RoomKind, RoomRole, Visibility};
        if !matches!(leader.role, Role::Leader | Role::Admin) {
            return Err(ServerError::Invalid(
                "only leaders and admins can be followed".into(),
            ));
        }
        if leader.id == user.id {
            return Err(ServerError::Invalid("you cannot follow yourself".into()));
        }
        let room = match self.store.followers_room(leader.id)? {
            Some(room) => room,
            None if !on => return Ok(Reply::Done(0)),
            None => {
                let record = crate::store::RoomRecord {
                    id: RoomId(self.new_id()),
                    name: format!("Followers of {}", leader.display_name),
                    topic: format!("Broadcasts from {}", leader.display_name),
                    visibility: Visibility::Private,
                    kind: RoomKind::Room,
                    created_by: leader.id,
                    created_at: self.now(),
                    announce_only: true,
                    org_wide: false,
                    archived: false,
                };
                let owner = [(leader.clone(), RoomRole::Owner, MemberAction::Joined)];
                self.create_room(b, p, &record, &leader, &owner)?;
                store::put_followers_room(b, leader.id, record.id);
                record.id
            }
        };
        let existing = self.store.membership(room, user.id)?;
        let member = existing.as_ref().is_some_and(|m| m.is_current());
        let pos = match (on, member, existing) {
            (true, false, existing) => self.add_membership(
                b,
                p,
                room,
                &user,
                &user,
                RoomRole::Member,
                MemberAction::Joined,
                existing,
            )?,
            (false, true, Some(existing)) => {
                self.end_membership(b, p, room, &user, &user, MemberAction::Left, existing)?
            }
            _ => 0,
        };
        Ok(Reply::Done(pos))
    }

    pub(super) fn receipt(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: UserId,
        id: Uuid,
        kind: ReceiptKind,
    ) -> Result<Reply> {
        let Some(mut times) = self.store.reach(id, user)? else {
            return Err(ServerError::NotFound); // not in its audience
        };
        let Some(mut record) = self.store.broadcast(id)? else {
            return Err(ServerError::NotFound);
        };
        let now = self.now();
        // Acknowledging implies opening, opening implies delivery.
        let upto = match kind {
            ReceiptKind::Delivered => 0,
            ReceiptKind::Opened => 1,
            ReceiptKind::Acknowledged => 2,
        };
        let mut changed = false;
        for (i, slot) in times.iter_mut().enumerate().take(upto + 1) {
            if *slot == 0 {
                *slot = now;
                changed = true;
                match i {
                    0 => record.counts.delivered += 1,
                    1 => record.counts.opened += 1,
                    _ => record.counts.acknowledged += 1,
                }
            }
        }
        if !changed {
            return Ok(Reply::Done(0));
        }
        store::put_reach(b, id, user, times);
        if kind == ReceiptKind::Acknowledged {
            store::delete_pending_ack(b, user, id);
        }
        store::put_broadcast(b, &record);
        let update = ServerFrame::ReachUpdate {
            broadcast: id,
            counts: record.counts.clone(),
        };
        p.frames_to_user.push((record.sender.id, shared(&update)));
        Ok(Reply::Done(0))
    }
}
