//! Rooms and memberships: join, leave, add, remove, room roles, and the
//! helpers that make rooms and change memberships (every one an event in
//! the room's timeline). Applied by the single writer, deterministically.

use super::{Pending, Reply, RoomTail, Worker};
use crate::error::{Result, ServerError};
use crate::hub::MembershipChange;
use crate::store::{self, Batch, MemberRecord, OPEN, RoomRecord};
use townhall_protocol::{
    Content, MemberAction, Pos, Role, RoomId, RoomKind, RoomRole, UserInfo, Visibility,
};

impl Worker {
    /// `join`: a public room, or any room for an admin.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn join(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: UserInfo,
        server_role: Role,
        room: RoomId,
    ) -> Result<Reply> {
        let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
        let existing = self.store.membership(room, user.id)?;
        if existing.as_ref().is_some_and(MemberRecord::is_current) {
            return Err(ServerError::AlreadyMember);
        }
        let may_join = record.kind == RoomKind::Room
            && (record.visibility == Visibility::Public || server_role == Role::Admin);
        if !may_join {
            return Err(ServerError::NotFound);
        }
        self.add_membership(
            b,
            p,
            room,
            &user,
            &user,
            RoomRole::Member,
            MemberAction::Joined,
            existing,
        )?;
        Ok(Reply::Room(record))
    }

    /// `leave`: a room (not the organisation room, for staff), or close a DM.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn leave(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: UserInfo,
        room: RoomId,
    ) -> Result<Reply> {
        let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
        let existing = self.store.membership(room, user.id)?;
        let Some(existing) = existing.filter(MemberRecord::is_current) else {
            return Err(if record.visibility == Visibility::Public {
                ServerError::NotMember
            } else {
                ServerError::NotFound
            });
        };
        if record.kind == RoomKind::Dm {
            return self.close_dm(b, room, user.id);
        }
        if record.org_wide && user.role == Role::Staff {
            return Err(ServerError::OrganisationRoom(
                "everyone stays in the organisation room",
            ));
        }
        let pos = self.end_membership(b, p, room, &user, &user, MemberAction::Left, existing)?;
        Ok(Reply::Done(pos))
    }

    /// `add_member`: by the owner or moderators of a private room, any member of a public one, or an admin.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_member(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        actor: UserInfo,
        actor_role: Role,
        room: RoomId,
        target: UserInfo,
    ) -> Result<Reply> {
        let (record, actor_m) = self.managed_room(room, &actor, actor_role)?;
        let allowed = actor_role == Role::Admin
            || match (&actor_m, record.visibility) {
                (Some(m), Visibility::Private) => {
                    matches!(m.role, RoomRole::Owner | RoomRole::Moderator)
                }
                (Some(_), Visibility::Public) => true,
                (None, _) => false,
            };
        if !allowed {
            return Err(ServerError::Forbidden(
                "only the room's owner or moderators may add people",
            ));
        }
        self.refuse_if_blocked(target.id, actor.id)?;
        let existing = self.store.membership(room, target.id)?;
        if existing.as_ref().is_some_and(MemberRecord::is_current) {
            return Err(ServerError::AlreadyMember);
        }
        let pos = self.add_membership(
            b,
            p,
            room,
            &actor,
            &target,
            RoomRole::Member,
            MemberAction::Added,
            existing,
        )?;
        self.audit(b, &actor, "add_member", Some(room), Some(target), None);
        Ok(Reply::Done(pos))
    }

    /// `remove_member`: by someone of a higher room role, or an admin.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn remove_member(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        actor: UserInfo,
        actor_role: Role,
        room: RoomId,
        target: UserInfo,
    ) -> Result<Reply> {
        let (record, actor_m) = self.managed_room(room, &actor, actor_role)?;
        if record.org_wide && actor_role != Role::Admin {
            return Err(ServerError::OrganisationRoom(
                "everyone stays in the organisation room",
            ));
        }
        let actor_rank = if actor_role == Role::Admin {
            3
        } else {
            actor_m.as_ref().map_or(0, |m| rank(m.role))
        };
        if actor_rank < rank(RoomRole::Moderator) {
            return Err(ServerError::Forbidden(
                "only the room's owner or moderators may remove people",
            ));
        }
        let Some(existing) = self
            .store
            .membership(room, target.id)?
            .filter(MemberRecord::is_current)
        else {
            return Err(ServerError::NotMember);
        };
        if rank(existing.role) >= actor_rank {
            return Err(ServerError::Forbidden(
                "cannot remove someone of equal or higher room role",
            ));
        }
        let pos =
            self.end_membership(b, p, room, &actor, &target, MemberAction::Removed, existing)?;
        self.audit(b, &actor, "remove_member", Some(room), Some(target), None);
        Ok(Reply::Done(pos))
    }

    /// `set_room_role`: by the owner or an admin; never the owner's own role.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn set_room_role(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        actor: UserInfo,
        actor_role: Role,
        room: RoomId,
        target: UserInfo,
        role: RoomRole,
    ) -> Result<Reply> {
        self.store.room(room)?.ok_or(ServerError::NotFound)?;
        let actor_m = self
            .store
            .membership(room, actor.id)?
            .filter(MemberRecord::is_current);
        if actor_m.is_none() && actor_role != Role::Admin {
            return Err(ServerError::NotFound);
        }
        let is_owner = actor_m.as_ref().is_some_and(|m| m.role == RoomRole::Owner);
        if !is_owner && actor_role != Role::Admin {
            return Err(ServerError::Forbidden(
                "only the room's owner or an admin sets room roles",
            ));
        }
        if role == RoomRole::Owner {
            return Err(ServerError::Invalid(
                "a room has one owner; set moderator or member".into(),
            ));
        }
        let Some(mut m) = self
            .store
            .membership(room, target.id)?
            .filter(MemberRecord::is_current)
        else {
            return Err(ServerError::NotMember);
        };
        if m.role == RoomRole::Owner {
            return Err(ServerError::Forbidden("the owner's role cannot be changed"));
        }
        if m.role == role {
            return Ok(Reply::Done(0));
        }
        m.role = role;
        store::put_membership(b, room, target.id, &m);
        let content = Content::RoomRoleSet {
            user: target.clone(),
            role,
        };
        let change = Some(MembershipChange::Joined(target.id, role));
        self.audit(b, &actor, "set_room_role", Some(room), Some(target), None);
        let ev = self.append(b, p, room, actor, None, content, change)?;
        Ok(Reply::Done(ev.pos))
    }

    /// A room someone adds people to or removes them from: it exists and
    /// the actor can see it (a member, or an admin; a private room is
    /// otherwise "not found"), and it is not a direct conversation. Returns
    /// the room and the actor's current membership.
    pub(super) fn managed_room(
        &self,
        room: RoomId,
        actor: &UserInfo,
        actor_role: Role,
    ) -> Result<(RoomRecord, Option<MemberRecord>)> {
        let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
        let actor_m = self
            .store
            .membership(room, actor.id)?
            .filter(MemberRecord::is_current);
        if actor_m.is_none()
            && actor_role != Role::Admin
            && record.visibility == Visibility::Private
        {
            return Err(ServerError::NotFound);
        }
        if record.kind == RoomKind::Dm {
            return Err(ServerError::Forbidden(
                "a direct conversation has exactly two people",
            ));
        }
        Ok((record, actor_m))
    }

    pub(super) fn create_room(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        record: &RoomRecord,
        creator: &UserInfo,
        members: &[(UserInfo, RoomRole, MemberAction)],
    ) -> Result<()> {
        store::put_room(b, record);
        if record.kind == RoomKind::Room && record.visibility == Visibility::Public {
            store::put_public_name(b, record);
        }
        self.rooms
            .insert(record.id, RoomTail { seq: 0, ordinal: 0 });
        let created = Content::Created {
            name: record.name.clone(),
            topic: record.topic.clone(),
            visibility: record.visibility,
            room_kind: record.kind,
        };
        self.append(b, p, record.id, creator.clone(), None, created, None)?;
        for (user, role, action) in members {
            self.add_membership(b, p, record.id, creator, user, *role, *action, None)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_membership(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        room: RoomId,
        actor: &UserInfo,
        target: &UserInfo,
        role: RoomRole,
        action: MemberAction,
        existing: Option<MemberRecord>,
    ) -> Result<Pos> {
        let content = Content::Member {
            user: target.clone(),
            action,
        };
        let change = Some(MembershipChange::Joined(target.id, role));
        let ev = self.append(b, p, room, actor.clone(), None, content, change)?;
        let mut m = existing.unwrap_or(MemberRecord {
            role,
            intervals: Vec::new(),
        });
        m.role = role;
        m.intervals.push((ev.pos, OPEN));
        store::put_membership(b, room, target.id, &m);
        Ok(ev.pos)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn end_membership(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        room: RoomId,
        actor: &UserInfo,
        target: &UserInfo,
        action: MemberAction,
        mut existing: MemberRecord,
    ) -> Result<Pos> {
        let content = Content::Member {
            user: target.clone(),
            action,
        };
        let change = Some(MembershipChange::Left(target.id));
        let ev = self.append(b, p, room, actor.clone(), None, content, change)?;
        if let Some(last) = existing.intervals.last_mut() {
            last.1 = ev.pos;
        }
        store::put_membership(b, room, target.id, &existing);
        Ok(ev.pos)
    }
}

fn rank(role: RoomRole) -> u8 {
    match role {
        RoomRole::Member => 0,
        RoomRole::Moderator => 1,
        RoomRole::Owner => 2,
    }
}
