//! Votes for questions, follows of questions and threads, and the notices
//! their followers get (`vote`, `follow_thread`; the notices of
//! `mark_answer` and of thread replies).
//!
//! Who may vote or follow: whoever can read the room at that entry (a
//! current member, or anyone for a public room), decided from the store so
//! every node decides the same; anyone else is told `not_found`, exactly as
//! for a message that does not exist. A vote rewrites the question's stored
//! state (`state.votes`, same position and seq) and sends the new count to
//! the room's online members (`question_votes`): no timeline event, so a
//! thousand votes are not a thousand unread lines. Voting follows the
//! question, and asking one follows it (unless the person is at
//! [`MAX_FOLLOWS`]).
//!
//! A notice is written per recipient (`user_pos_notice`, at the causing
//! event's position) and pushed live after the group is durable; a login's
//! catch-up reads the rest. Recipients of an answer: the asker, the voters
//! and the followers; of a thread reply: the followers. Never the person who
//! answered or replied, and never someone who can no longer read the room.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::frame::SharedFrame;
use crate::store::{self, Batch, MAX_FOLLOWS, MemberRecord};
use std::collections::BTreeSet;
use townhall_protocol::{
    Content, Event, NoticeKind, RoomId, RoomKind, RoomSeq, ServerFrame, UserId, UserInfo,
    Visibility,
};

/// A vote or a follow.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionOp {
    Vote {
        user: UserInfo,
        room: RoomId,
        seq: RoomSeq,
        on: bool,
    },
    Follow {
        user: UserInfo,
        room: RoomId,
        seq: RoomSeq,
        on: bool,
    },
}

impl Worker {
    pub(super) fn question_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: QuestionOp,
    ) -> Result<Reply> {
        match op {
            QuestionOp::Vote {
                user,
                room,
                seq,
                on,
            } => self.vote(b, p, &user, room, seq, on),
            QuestionOp::Follow {
                user,
                room,
                seq,
                on,
            } => self.follow_thread(b, &user, room, seq, on),
        }
    }

    /// Can `user` read `room` now (a current member, or a public room)?
    /// Nothing here may tell a private room's existence to anyone else.
    pub(super) fn may_read(&self, room: RoomId, user: UserId) -> Result<bool> {
        if self
            .store
            .membership(room, user)?
            .as_ref()
            .is_some_and(MemberRecord::is_current)
        {
            return Ok(true);
        }
        Ok(self
            .store
            .room(room)?
            .is_some_and(|r| r.visibility == Visibility::Public && r.kind == RoomKind::Room))
    }

    fn vote(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: &UserInfo,
        room: RoomId,
        seq: RoomSeq,
        on: bool,
    ) -> Result<Reply> {
        if !self.may_read(room, user.id)? {
            return Err(ServerError::NotFound);
        }
        // Someone blocked in a DM reaches the blocker through no change,
        // a vote count included (as for edits and reactions).
        self.check_may_post(room, user, false)?;
        let (stored, mut q) = self.message(room, seq)?;
        if !matches!(q.content, Content::Message { question: true, .. }) || q.state.deleted {
            return Err(ServerError::Invalid(format!("seq {seq} is not a question")));
        }
        let voted = self.store.voted(room, seq, user.id)?;
        if voted == on {
            // Once per person: voting twice (or taking back twice) changes nothing.
            return Ok(Reply::Done(0));
        }
        if on {
            if q.state.answer.is_some() || q.state.merged_into.is_some() {
                return Err(ServerError::Invalid(format!(
                    "question {seq} is no longer open"
                )));
            }
            if q.sender.id == user.id {
                return Err(ServerError::Forbidden(
                    "you asked this question: it counts as wanted by you already",
                ));
            }
            store::put_vote(b, room, seq, user.id, self.now());
            q.state.votes += 1;
            if !self.store.follows(room, seq, user.id)?
                && self.store.follow_count(user.id)? < MAX_FOLLOWS
            {
                store::put_follow(b, room, seq, user.id);
            }
        } else {
            store::delete_vote(b, room, seq, user.id);
            q.state.votes = q.state.votes.saturating_sub(1);
        }
        self.rewrite(b, &stored, &q);
        let frame = ServerFrame::QuestionVotes {
            room,
            seq,
            votes: q.state.votes,
        };
        p.frames_to_room.push((room, crate::frame::shared(&frame)));
        Ok(Reply::Done(0))
    }

    fn follow_thread(
        &mut self,
        b: &mut Batch,
        user: &UserInfo,
        room: RoomId,
        seq: RoomSeq,
        on: bool,
    ) -> Result<Reply> {
        if !self.may_read(room, user.id)? {
            return Err(ServerError::NotFound);
        }
        let (_, m) = self.message(room, seq)?;
        // A question asked inside a thread can be followed (for its answer);
        // another reply cannot: replies have no thread of their own.
        let reply = matches!(
            m.content,
            Content::Message {
                thread: Some(_),
                question: false,
                ..
            }
        );
        if reply || m.state.deleted {
            return Err(ServerError::Invalid(format!(
                "seq {seq} is not a question or the first message of a thread"
            )));
        }
        if self.store.follows(room, seq, user.id)? == on {
            return Ok(Reply::Done(0));
        }
        if on {
            if self.store.follow_count(user.id)? >= MAX_FOLLOWS {
                return Err(ServerError::LimitReached(format!(
                    "at most {MAX_FOLLOWS} questions and threads followed (MAX_FOLLOWS)"
                )));
            }
            store::put_follow(b, room, seq, user.id);
        } else {
            store::delete_follow(b, room, seq, user.id);
        }
        Ok(Reply::Done(0))
    }

    /// The asker of a new question follows it (within their limit).
    pub(super) fn follow_own_question(
        &mut self,
        b: &mut Batch,
        room: RoomId,
        seq: RoomSeq,
        user: UserId,
    ) -> Result<()> {
        if self.store.follow_count(user)? < MAX_FOLLOWS {
            store::put_follow(b, room, seq, user);
        }
        Ok(())
    }

    /// Tell the asker, the voters and the followers of question `seq` that
    /// `event` (an `answered` event) answered it.
    pub(super) fn notify_answered(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        question: &Event,
        event: &Event,
    ) -> Result<()> {
        let mut to: BTreeSet<UserId> = self
            .store
            .followers(question.room, question.seq)?
            .into_iter()
            .collect();
        to.extend(self.store.voters(question.room, question.seq)?);
        if question.sender.id == townhall_protocol::ANONYMOUS {
            // An anonymous asker has no user id here: told by key instead.
            self.notify_anon_answered(p, question, event)?;
        } else {
            to.insert(question.sender.id);
        }
        self.notify(b, p, to, question.seq, NoticeKind::Answered, event)
    }

    /// Tell the followers of thread `parent` of the reply `event`.
    pub(super) fn notify_reply(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        parent: RoomSeq,
        event: &Event,
    ) -> Result<()> {
        let to: BTreeSet<UserId> = self
            .store
            .followers(event.room, parent)?
            .into_iter()
            .collect();
        self.notify(b, p, to, parent, NoticeKind::Reply, event)
    }

    /// One notice per recipient who can read the room, except the sender
    /// of `event`; serialized once.
    fn notify(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        to: BTreeSet<UserId>,
        seq: RoomSeq,
        kind: NoticeKind,
        event: &Event,
    ) -> Result<()> {
        if to.iter().all(|u| *u == event.sender.id) {
            return Ok(());
        }
        let Some(record) = self.store.room(event.room)? else {
            return Ok(());
        };
        let frame = ServerFrame::Notice {
            pos: event.pos,
            room: event.room,
            room_name: record.name,
            seq,
            kind,
            event_seq: event.seq,
            by: event.sender.clone(),
        };
        let json = frame.to_json();
        let shared = SharedFrame::from(json.clone());
        for user in to {
            if user == event.sender.id || !self.may_read(event.room, user)? {
                continue;
            }
            store::put_notice(b, user, event.pos, json.as_bytes());
            p.notices.push((user, event.pos, shared.clone()));
        }
        Ok(())
    }
}
