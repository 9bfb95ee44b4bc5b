//! Room management by its owner or an admin: rename, change the topic,
//! archive and unarchive (`update_room`).
//!
//! A change is a `room_updated` event in the room's own timeline, so it
//! reaches every member live or in their backlog like any event, and the
//! room list of every client can follow it without another frame. An
//! archived room is read-only: [`Worker::refuse_if_archived`] refuses what
//! would write into it (sends are refused in `check_may_post`). Applied by
//! the single writer from store reads only, so every replica agrees.

use super::{Command, Pending, QuestionOp, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch, MemberRecord};
use serde::{Deserialize, Serialize};
use townhall_protocol::{Content, Role, RoomId, RoomKind, RoomRole, UserInfo, Visibility};

/// A change to a room's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomAdminOp {
    /// Absent fields stay as they are. The actor's server role is read
    /// from the store when applied (it may have changed since).
    Update {
        actor: UserInfo,
        room: RoomId,
        name: Option<String>,
        topic: Option<String>,
        archived: Option<bool>,
    },
}

impl Worker {
    pub(super) fn room_admin_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: RoomAdminOp,
    ) -> Result<Reply> {
        match op {
            RoomAdminOp::Update {
                actor,
                room,
                name,
                topic,
                archived,
            } => self.update_room(b, p, actor, room, name, topic, archived),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn update_room(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        actor: UserInfo,
        room: RoomId,
        name: Option<String>,
        topic: Option<String>,
        archived: Option<bool>,
    ) -> Result<Reply> {
        let actor = match self.store.user(actor.id)? {
            Some(u) if !u.disabled => u,
            _ => return Err(ServerError::BadToken),
        };
        let mut record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
        let member = self
            .store
            .membership(room, actor.id)?
            .filter(MemberRecord::is_current);
        let admin = actor.role == Role::Admin;
        // A private room the actor cannot see does not exist for them.
        if member.is_none() && !admin && record.visibility == Visibility::Private {
            return Err(ServerError::NotFound);
        }
        if !admin && !member.is_some_and(|m| m.role == RoomRole::Owner) {
            return Err(ServerError::Forbidden(
                "only the room's owner or an admin manages the room",
            ));
        }
        if record.kind == RoomKind::Dm {
            return Err(ServerError::Forbidden(
                "a direct conversation has no settings to manage",
            ));
        }
        if archived == Some(true) && record.org_wide {
            return Err(ServerError::OrganisationRoom(
                "the organisation room cannot be archived",
            ));
        }
        let name = name.filter(|n| *n != record.name);
        let topic = topic.filter(|t| *t != record.topic);
        let archived = archived.filter(|a| *a != record.archived);
        if name.is_none() && topic.is_none() && archived.is_none() {
            return Ok(Reply::Room(record));
        }
        if let Some(new) = &name {
            if record.visibility == Visibility::Public {
                // Case-folded, so "General" → "general" is this room's own
                // name; any other holder (a legacy duplicate's original
                // included) keeps it.
                if self
                    .store
                    .public_room_named(new)?
                    .is_some_and(|r| r != room)
                {
                    return Err(ServerError::NameTaken);
                }
                self.store.release_public_name(b, &record)?;
                record.name = new.clone();
                store::put_public_name(b, &record);
            } else {
                record.name = new.clone();
            }
        }
        if let Some(t) = &topic {
            record.topic = t.clone();
        }
        if let Some(a) = archived {
            record.archived = a;
        }
        store::put_room(b, &record);
        let content = Content::RoomUpdated {
            name,
            topic,
            archived,
        };
        let info = actor.info();
        let ev = self.append(b, p, room, info.clone(), None, content, None)?;
        self.audit(b, &info, "update_room", Some(room), None, Some(ev.seq));
        Ok(Reply::Room(record))
    }

    /// Refuse a change to the messages of an archived room (edits,
    /// deletes, reactions, answers, merges, votes); sends are refused in
    /// `check_may_post`, after their idempotency check, so a retried send
    /// acknowledged before the archive still gets its ack.
    pub(super) fn refuse_if_archived(&self, cmd: &Command) -> Result<()> {
        use super::MessageOp as M;
        let room = match cmd {
            Command::Message(
                M::Edit { room, .. }
                | M::Delete { room, .. }
                | M::React { room, .. }
                | M::MarkAnswer { room, .. }
                | M::MergeQuestions { room, .. },
            )
            | Command::Question(QuestionOp::Vote { room, .. }) => *room,
            _ => return Ok(()),
        };
        match self.store.room(room)? {
            Some(r) if r.archived => Err(ServerError::RoomArchived),
            _ => Ok(()),
        }
    }
}
