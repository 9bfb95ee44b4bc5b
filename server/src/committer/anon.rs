//! Anonymous questions at apply: settings, asking, the asker's edits and
//! withdrawals, and the transformation team's moderation.
//!
//! No command here carries the asker's user id: an ask, edit or withdrawal
//! carries the asker's [`OwnerKey`], computed by the receiving node from
//! the authenticated user (`handlers/anon.rs`), so the log entry every node
//! and the NATS stream keep names nobody. What the receiving node checked
//! before logging (the caller is a member of the room, their per-user rate
//! limits) cannot be checked again here; what can be decided from the store
//! (the room allows anonymous questions, the asker's pending count, the
//! question's status, the moderator's team flag) is decided here, the same
//! on every node.
//!
//! An approved question becomes an ordinary question in its room (votable,
//! answerable, mergeable) whose sender is [`anonymous_sender`]: the same
//! "Anonymous" for every anonymous question, so no stable pseudonym links
//! two of them in a room. Audit entries name the moderator, never the asker.

use super::{Pending, Reply, Worker};
use crate::anon::OwnerKey;
use crate::error::{Result, ServerError};
use crate::frame::{SharedFrame, shared};
use crate::store::{self, AnonRecord, Batch, MemberRecord};
use townhall_protocol::{
    AnonQuestion, AnonStatus, Content, Event, MAX_EDITS, MAX_REJECT_REASON_BYTES, ModerationAction,
    Role, RoomId, RoomKind, RoomRole, ServerFrame, UserInfo, anonymous_sender,
};
use uuid::Uuid;

/// Pending anonymous questions one asker may have at once: the team reads
/// every one, so one person cannot flood the queue; five is more than
/// anyone waits on honestly.
pub const MAX_PENDING_PER_ASKER: usize = 5;

/// Of an asker's newest questions, how many are looked at to count the
/// pending ones (pending ones are recent: the queue is worked daily).
const PENDING_SCAN: usize = 100;

/// A change to anonymous questions.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnonOp {
    /// Allow or stop anonymous questions in a room (`Some`) or everywhere.
    SetAllowed {
        actor: UserInfo,
        room: Option<RoomId>,
        on: bool,
    },
    Ask {
        owner: OwnerKey,
        room: RoomId,
        body: String,
    },
    Edit {
        owner: OwnerKey,
        id: Uuid,
        body: String,
    },
    Withdraw {
        owner: OwnerKey,
        id: Uuid,
    },
    Moderate {
        moderator: UserInfo,
        id: Uuid,
        action: ModerationAction,
    },
}

/// Who a live frame about an anonymous question goes to.
#[derive(Debug)]
pub(super) enum AnonTo {
    /// The asker's sessions (found by key in memory, `anon::Routes`).
    Owner(OwnerKey),
    /// The transformation team's online members who may read the room
    /// (a member, or anyone for a public room): a private room's
    /// questions are never shown to a team member outside it.
    Team { room: RoomId, public: bool },
}

impl Worker {
    pub(super) fn anon_op(&mut self, b: &mut Batch, p: &mut Pending, op: AnonOp) -> Result<Reply> {
        match op {
            AnonOp::SetAllowed { actor, room, on } => self.set_anon_allowed(b, &actor, room, on),
            AnonOp::Ask { owner, room, body } => self.ask_anon(b, p, owner, room, body),
            AnonOp::Edit { owner, id, body } => self.edit_anon(b, p, &owner, id, body),
            AnonOp::Withdraw { owner, id } => self.withdraw_anon(b, p, &owner, id),
            AnonOp::Moderate {
                moderator,
                id,
                action,
            } => self.moderate_anon(b, p, &moderator, id, action),
        }
    }

    fn set_anon_allowed(
        &mut self,
        b: &mut Batch,
        actor: &UserInfo,
        room: Option<RoomId>,
        on: bool,
    ) -> Result<Reply> {
        let admin = self
            .store
            .user(actor.id)?
            .is_some_and(|u| u.role == Role::Admin && !u.disabled);
        if let Some(room) = room {
            let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
            let owner = self
                .store
                .membership(room, actor.id)?
                .filter(MemberRecord::is_current)
                .is_some_and(|m| m.role == RoomRole::Owner);
            if !admin && !owner {
                return Err(ServerError::Forbidden(
                    "only the room's owners and admins allow anonymous questions in a room",
                ));
            }
            if record.kind != RoomKind::Room {
                return Err(ServerError::Invalid(
                    "anonymous questions are for rooms, not direct messages".into(),
                ));
            }
        } else if !admin {
            return Err(ServerError::Forbidden(
                "only admins allow anonymous questions in every room",
            ));
        }
        store::put_anon_setting(b, room, on);
        let action = if on {
            "allow_anonymous_questions"
        } else {
            "stop_anonymous_questions"
        };
        self.audit(b, actor, action, room, None, None);
        Ok(Reply::Done(0))
    }

    fn ask_anon(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        owner: OwnerKey,
        room: RoomId,
        body: String,
    ) -> Result<Reply> {
        let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
        if record.kind != RoomKind::Room || !self.store.anon_allowed(room)? {
            return Err(ServerError::Forbidden(
                "this room does not take anonymous questions",
            ));
        }
        if record.archived {
            return Err(ServerError::RoomArchived);
        }
        let pending = self
            .store
            .anon_of_owner(&owner, PENDING_SCAN)?
            .iter()
            .filter(|q| q.status == AnonStatus::Pending)
            .count();
        if pending >= MAX_PENDING_PER_ASKER {
            return Err(ServerError::LimitReached(format!(
                "at most {MAX_PENDING_PER_ASKER} anonymous questions waiting for moderation at once"
            )));
        }
        let q = AnonRecord {
            id: self.new_id(),
            room,
            owner,
            body,
            asked_at: self.now(),
            edited: false,
            status: AnonStatus::Pending,
        };
        store::put_anon_question(b, &q);
        self.tell_anon(p, &q, q.status.clone(), true)?;
        Ok(Reply::AnonAsked(q.id))
    }

    /// The record `id` if `owner` asked it; `NotFound` otherwise (the same
    /// answer for someone else's question and for none).
    fn own_anon(&self, owner: &OwnerKey, id: Uuid) -> Result<AnonRecord> {
        self.store
            .anon_question(id)?
            .filter(|q| q.owner == *owner)
            .ok_or(ServerError::NotFound)
    }

    fn edit_anon(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        owner: &OwnerKey,
        id: Uuid,
        body: String,
    ) -> Result<Reply> {
        let mut q = self.own_anon(owner, id)?;
        let mut pos = 0;
        match q.status {
            AnonStatus::Pending => {}
            AnonStatus::Approved { seq } => {
                let (stored, mut ev) = self.message(q.room, seq)?;
                if ev.state.deleted {
                    return Err(ServerError::Invalid("the question is deleted".into()));
                }
                if ev.state.edits.len() >= MAX_EDITS {
                    return Err(ServerError::LimitReached(format!(
                        "a message can be edited {MAX_EDITS} times"
                    )));
                }
                let before = ev.clone();
                let mut old_text = String::new();
                if let Content::Message { body: old, .. } = &mut ev.content {
                    old_text = std::mem::replace(old, body.clone());
                }
                let edit = self.append(
                    b,
                    p,
                    q.room,
                    anonymous_sender(),
                    None,
                    Content::Edited {
                        target: seq,
                        body: body.clone(),
                    },
                    None,
                )?;
                self.watch_edited(b, p, &before, &old_text, &body, &edit)?;
                self.faq_message_edited(b, q.room, seq, &body)?;
                ev.state.edited_at = Some(edit.ts);
                ev.state.edits.push(edit.seq);
                self.rewrite(b, &stored, &ev);
                pos = edit.pos;
            }
            _ => {
                return Err(ServerError::Invalid(
                    "only a pending or approved question can be edited".into(),
                ));
            }
        }
        q.body = body;
        q.edited = true;
        store::put_anon_question(b, &q);
        let status = self.shown_status(&q)?;
        let pending = q.status == AnonStatus::Pending;
        self.tell_anon(p, &q, status, pending)?;
        Ok(Reply::Done(pos))
    }

    fn withdraw_anon(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        owner: &OwnerKey,
        id: Uuid,
    ) -> Result<Reply> {
        let mut q = self.own_anon(owner, id)?;
        let mut pos = 0;
        let was_pending = q.status == AnonStatus::Pending;
        if let AnonStatus::Approved { seq } = q.status {
            pos = self.erase_anon_message(b, p, q.room, seq)?;
        }
        if q.status == AnonStatus::Withdrawn {
            return Ok(Reply::Done(0));
        }
        q.body.clear();
        q.status = AnonStatus::Withdrawn;
        store::put_anon_question(b, &q);
        self.tell_anon(p, &q, AnonStatus::Withdrawn, was_pending)?;
        Ok(Reply::Done(pos))
    }

    /// Delete an approved anonymous question from its room, as a delete by
    /// its sender would: the body and its edits erased everywhere stored.
    fn erase_anon_message(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        room: RoomId,
        seq: u64,
    ) -> Result<u64> {
        let (stored, mut ev) = self.message(room, seq)?;
        if ev.state.deleted {
            return Ok(0);
        }
        for edit_seq in std::mem::take(&mut ev.state.edits) {
            if let Some(edit_stored) = self.store.event(room, edit_seq)? {
                let mut edit = edit_stored.decode()?;
                if let Content::Edited { body, .. } = &mut edit.content {
                    body.clear();
                    self.rewrite(b, &edit_stored, &edit);
                }
            }
        }
        let open = ev.state.answer.is_none() && ev.state.merged_into.is_none();
        if let Content::Message { body, .. } = &mut ev.content {
            body.clear();
        }
        ev.state.deleted = true;
        ev.state.edited_at = None;
        ev.state.reactions.clear();
        ev.state.reactions_more.clear();
        self.store.clear_extra_reactors(b, room, seq)?;
        self.rewrite(b, &stored, &ev);
        if open {
            store::delete_open_question(b, room, seq);
        }
        self.faq_message_erased(b, room, seq)?;
        Ok(self
            .append(
                b,
                p,
                room,
                anonymous_sender(),
                None,
                Content::Deleted { target: seq },
                None,
            )?
            .pos)
    }

    fn moderate_anon(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        moderator: &UserInfo,
        id: Uuid,
        action: ModerationAction,
    ) -> Result<Reply> {
        let team = self
            .store
            .user(moderator.id)?
            .is_some_and(|u| u.transformation_team && !u.disabled);
        if !team {
            return Err(ServerError::Forbidden(
                "only the transformation team moderates anonymous questions",
            ));
        }
        let mut q = self.store.anon_question(id)?.ok_or(ServerError::NotFound)?;
        if q.status != AnonStatus::Pending {
            return Err(ServerError::Invalid(
                "the question is no longer waiting for moderation".into(),
            ));
        }
        let room = q.room;
        let (status, audit, seq, pos) = match action {
            ModerationAction::Approve => {
                // Archived since it was asked: it stays pending until the
                // room is unarchived (or is rejected).
                let record = self.store.room(room)?.ok_or(ServerError::NotFound)?;
                if record.archived {
                    return Err(ServerError::RoomArchived);
                }
                let content = Content::Message {
                    body: q.body.clone(),
                    thread: None,
                    question: true,
                    attachments: Vec::new(),
                };
                let ev = self.append(b, p, room, anonymous_sender(), None, content, None)?;
                store::put_open_question(b, room, ev.seq, ev.ts);
                self.watch_message(b, p, &ev)?;
                self.pulse_message(record.kind, room, ev.ts, true)?;
                (
                    AnonStatus::Approved { seq: ev.seq },
                    "approve_anonymous_question",
                    Some(ev.seq),
                    ev.pos,
                )
            }
            ModerationAction::Reject { reason } => {
                let reason = reason.trim().to_owned();
                if reason.is_empty() || reason.len() > MAX_REJECT_REASON_BYTES {
                    return Err(ServerError::Invalid(format!(
                        "a rejection needs a reason of 1 to {MAX_REJECT_REASON_BYTES} bytes"
                    )));
                }
                (
                    AnonStatus::Rejected { reason },
                    "reject_anonymous_question",
                    None,
                    0,
                )
            }
            ModerationAction::Merge { into } => {
                let (_, target) = self.message(room, into)?;
                let question = matches!(target.content, Content::Message { question: true, .. });
                if !question || target.state.deleted || target.state.merged_into.is_some() {
                    return Err(ServerError::Invalid(format!(
                        "seq {into} is not a question this one can be merged into"
                    )));
                }
                (
                    AnonStatus::Merged { into },
                    "merge_anonymous_question",
                    Some(into),
                    0,
                )
            }
        };
        q.status = status;
        store::put_anon_question(b, &q);
        self.audit(b, moderator, audit, Some(room), None, seq);
        let shown = self.shown_status(&q)?;
        self.tell_anon(p, &q, shown, true)?;
        Ok(Reply::Done(pos))
    }

    /// The status to show: `approved` becomes `answered` once its room
    /// message has an answer.
    fn shown_status(&self, q: &AnonRecord) -> Result<AnonStatus> {
        if let AnonStatus::Approved { seq } = q.status
            && let Some(ev) = self.store.event(q.room, seq)?
            && let Some(answer) = ev.decode()?.state.answer
        {
            return Ok(AnonStatus::Answered { seq, answer });
        }
        Ok(q.status.clone())
    }

    /// Queue the live frames about `q`: to its asker, and (when `team`) to
    /// the transformation team's moderation queue.
    fn tell_anon(
        &mut self,
        p: &mut Pending,
        q: &AnonRecord,
        status: AnonStatus,
        team: bool,
    ) -> Result<()> {
        let record = self.store.room(q.room)?;
        let public = record.as_ref().is_some_and(|r| {
            r.visibility == townhall_protocol::Visibility::Public
                && r.kind == townhall_protocol::RoomKind::Room
        });
        let room_name = record.map(|r| r.name).unwrap_or_default();
        let mut shown = AnonQuestion {
            id: q.id,
            room: q.room,
            room_name,
            body: q.body.clone(),
            asked_at: q.asked_at,
            edited: q.edited,
            status,
            mine: false,
        };
        if team {
            let frame = ServerFrame::ModerationItem {
                question: shown.clone(),
            };
            p.anon.push((
                AnonTo::Team {
                    room: q.room,
                    public,
                },
                shared(&frame),
            ));
        }
        shown.mine = true;
        let frame = ServerFrame::AnonymousQuestion { question: shown };
        p.anon.push((AnonTo::Owner(q.owner), shared(&frame)));
        Ok(())
    }

    /// `event` answered `question`: if that is an approved anonymous
    /// question, tell its asker (who, having no user id in the store, gets
    /// no stored notice: their next `my_anonymous_questions` shows it).
    pub(super) fn notify_anon_answered(
        &mut self,
        p: &mut Pending,
        question: &Event,
        event: &Event,
    ) -> Result<()> {
        let Some(q) = self.store.anon_by_message(question.room, question.seq)? else {
            return Ok(());
        };
        let Content::Answered { answer, .. } = event.content else {
            return Ok(());
        };
        let status = AnonStatus::Answered {
            seq: question.seq,
            answer,
        };
        self.tell_anon(p, &q, status, false)
    }

    /// Send the live anonymous-question frames of a durable group.
    pub(super) fn deliver_anon(&self, frames: Vec<(AnonTo, SharedFrame)>) {
        let routes = self.hub.anon();
        for (to, frame) in frames {
            match to {
                AnonTo::Owner(key) => {
                    if let Some(user) = routes.owner(&key) {
                        self.hub.send_to_user(user, frame);
                    }
                }
                AnonTo::Team { room, public } => {
                    for user in routes.team() {
                        if public || self.hub.role_in(room, user).is_some() {
                            self.hub.send_to_user(user, frame.clone());
                        }
                    }
                }
            }
        }
    }
}
