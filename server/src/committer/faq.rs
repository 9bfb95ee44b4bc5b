//! The FAQ at apply: publishing an answered question (its text and its
//! answer's, copied), changing an entry's tags, unpublishing, and removing
//! an entry whose question or answer is erased (deleted, or expired by
//! retention).
//!
//! Every decision reads store state only (the team flag, who may read the
//! room, the messages), and ids come from a stored counter, so each
//! cluster node applying the same entry ends with the same FAQ.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch, FaqRecord};
use townhall_protocol::faq::{MAX_FAQ_ENTRIES, normalise_tags};
use townhall_protocol::{Content, RoomId, RoomSeq, UserInfo};

/// A change to the FAQ (transformation team).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaqOp {
    Publish {
        actor: UserInfo,
        room: RoomId,
        seq: RoomSeq,
        tags: Vec<String>,
    },
    Tags {
        actor: UserInfo,
        id: u64,
        tags: Vec<String>,
    },
    Unpublish {
        actor: UserInfo,
        id: u64,
    },
}

/// Normalise tags as apply does; the handler checks with the same rule
/// before submitting.
pub fn check_faq_tags(tags: &[String]) -> Result<Vec<String>> {
    normalise_tags(tags).map_err(ServerError::Invalid)
}

impl Worker {
    pub(super) fn faq_op(&mut self, b: &mut Batch, _p: &mut Pending, op: FaqOp) -> Result<Reply> {
        let actor = match &op {
            FaqOp::Publish { actor, .. }
            | FaqOp::Tags { actor, .. }
            | FaqOp::Unpublish { actor, .. } => actor.clone(),
        };
        let team = self
            .store
            .user(actor.id)?
            .is_some_and(|u| u.transformation_team && !u.disabled);
        if !team {
            return Err(ServerError::Forbidden(
                "only the transformation team publishes to the FAQ",
            ));
        }
        match op {
            FaqOp::Publish {
                actor,
                room,
                seq,
                tags,
            } => self.faq_publish(b, actor, room, seq, tags),
            FaqOp::Tags { actor, id, tags } => {
                let tags = check_faq_tags(&tags)?;
                let mut r = self.store.faq_entry(id)?.ok_or(ServerError::NotFound)?;
                r.tags = tags;
                store::put_faq_entry(b, &r);
                self.audit(b, &actor, "faq_tags", Some(r.room), None, Some(r.seq));
                Ok(Reply::Done(0))
            }
            FaqOp::Unpublish { actor, id } => {
                let r = self.store.faq_entry(id)?.ok_or(ServerError::NotFound)?;
                store::delete_faq_entry(b, &r);
                self.audit(b, &actor, "faq_unpublish", Some(r.room), None, Some(r.seq));
                Ok(Reply::Done(0))
            }
        }
    }

    fn faq_publish(
        &mut self,
        b: &mut Batch,
        actor: UserInfo,
        room: RoomId,
        seq: RoomSeq,
        tags: Vec<String>,
    ) -> Result<Reply> {
        let tags = check_faq_tags(&tags)?;
        // Only what the publisher can read may be published: the same
        // `not_found` as for a room or message that does not exist.
        if !self.may_read(room, actor.id)? {
            return Err(ServerError::NotFound);
        }
        // A direct message stays between its two people.
        match self.store.room(room)? {
            Some(r) if r.kind == townhall_protocol::RoomKind::Room => {}
            _ => return Err(ServerError::NotFound),
        }
        let (_, q) = self.message(room, seq)?;
        let Content::Message {
            body: question,
            question: true,
            ..
        } = &q.content
        else {
            return Err(ServerError::Invalid(format!("seq {seq} is not a question")));
        };
        if q.state.deleted {
            return Err(ServerError::Invalid(format!("seq {seq} is not a question")));
        }
        let answer_seq = q.state.answer.ok_or(ServerError::NotAnswered)?;
        let (_, a) = self.message(room, answer_seq)?;
        let answer = match &a.content {
            Content::Message { body, .. } if !a.state.deleted && !body.is_empty() => body.clone(),
            _ => return Err(ServerError::NotAnswered),
        };
        let existing = match self.store.faq_of_message(room, seq)? {
            Some(id) => self.store.faq_entry(id)?,
            None => None,
        };
        let id = match &existing {
            Some(old) => {
                if old.answer_seq != answer_seq {
                    store::delete_faq_source(b, room, old.answer_seq);
                }
                old.id
            }
            None => {
                if self.store.faq_count()? >= MAX_FAQ_ENTRIES {
                    return Err(ServerError::LimitReached(format!(
                        "the FAQ holds at most {MAX_FAQ_ENTRIES} entries"
                    )));
                }
                let id = self.store.faq_last_id()? + 1;
                store::put_faq_last_id(b, id);
                id
            }
        };
        let record = FaqRecord {
            id,
            room,
            seq,
            answer_seq,
            question: question.clone(),
            answer,
            tags,
            published_by: actor.clone(),
            published_at: self.now(),
        };
        store::put_faq_entry(b, &record);
        // No target: the asker (perhaps anonymous) is never named here.
        self.audit(b, &actor, "faq_publish", Some(room), None, Some(seq));
        Ok(Reply::Done(0))
    }

    /// The message `room`/`seq` is being erased: an FAQ entry that copied
    /// its text (as question or as answer) goes with it.
    pub(super) fn faq_message_erased(
        &mut self,
        b: &mut Batch,
        room: RoomId,
        seq: RoomSeq,
    ) -> Result<()> {
        let Some(id) = self.store.faq_of_message(room, seq)? else {
            return Ok(());
        };
        if let Some(r) = self.store.faq_entry(id)? {
            store::delete_faq_entry(b, &r);
        } else {
            store::delete_faq_source(b, room, seq);
        }
        Ok(())
    }

    /// The message `room`/`seq` was edited to `body`: an FAQ entry that
    /// copied its text shows the new text (the old one is readable nowhere
    /// else any more).
    pub(super) fn faq_message_edited(
        &mut self,
        b: &mut Batch,
        room: RoomId,
        seq: RoomSeq,
        body: &str,
    ) -> Result<()> {
        let Some(id) = self.store.faq_of_message(room, seq)? else {
            return Ok(());
        };
        let Some(mut r) = self.store.faq_entry(id)? else {
            return Ok(());
        };
        if r.room == room && r.seq == seq {
            r.question = body.to_owned();
        } else if r.room == room && r.answer_seq == seq {
            r.answer = body.to_owned();
        }
        store::put_faq_entry(b, &r);
        Ok(())
    }
}
