//! Changes to existing messages: thread replies, edits, deletes, reactions
//! and answers to questions.
//!
//! Each change is a new timeline event (so it reaches every member live or
//! in their backlog, like any message) **and** a rewrite of the target's
//! stored frame, so that history and later backlogs show the message as it
//! is now (edited mark, tombstone, reactions, answer). The rewrite keeps the
//! target's position and seq: nothing moves in the timeline.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch, MemberRecord, StoredEvent};
use townhall_protocol::{
    Content, Event, MAX_EDITS, MAX_MERGED, REACTIONS, REACTORS_LISTED, Role, RoomId, RoomRole,
    RoomSeq, ServerFrame, UserId, UserInfo,
};

/// A change to an existing message.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageOp {
    Edit {
        user: UserInfo,
        room: RoomId,
        seq: RoomSeq,
        body: String,
    },
    Delete {
        user: UserInfo,
        server_role: Role,
        room: RoomId,
        seq: RoomSeq,
    },
    React {
        user: UserInfo,
        room: RoomId,
        seq: RoomSeq,
        emoji: String,
        on: bool,
    },
    MarkAnswer {
        user: UserInfo,
        server_role: Role,
        room: RoomId,
        question: RoomSeq,
        answer: RoomSeq,
    },
    MergeQuestions {
        user: UserInfo,
        server_role: Role,
        room: RoomId,
        questions: Vec<RoomSeq>,
        into: RoomSeq,
    },
}

impl Worker {
    /// The message at `room`/`seq`, with its stored form. Missing:
    /// `NotFound`; another kind of event: `Invalid`.
    pub(super) fn message(&self, room: RoomId, seq: RoomSeq) -> Result<(StoredEvent, Event)> {
        let stored = self.store.event(room, seq)?.ok_or(ServerError::NotFound)?;
        let event = stored.decode()?;
        match event.content {
            Content::Message { .. } | Content::Broadcast { .. } => Ok((stored, event)),
            _ => Err(ServerError::Invalid(format!("seq {seq} is not a message"))),
        }
    }

    /// Store the message's new state in place (same position and seq).
    /// Add (`on`) or take back `user`'s reaction in `event`'s state: listed
    /// while the emoji has fewer than `REACTORS_LISTED` people listed,
    /// otherwise counted in `reactions_more` and remembered in the
    /// extra-reactor index. `false` when nothing changes (already so).
    #[allow(clippy::too_many_arguments)]
    fn react(
        &self,
        b: &mut Batch,
        room: RoomId,
        seq: RoomSeq,
        event: &mut Event,
        emoji: &str,
        index: u8,
        user: UserId,
        on: bool,
    ) -> Result<bool> {
        let state = &mut event.state;
        let listed = state
            .reactions
            .get(emoji)
            .is_some_and(|who| who.contains(&user));
        let extra = !listed && self.store.is_extra_reactor(room, seq, index, user)?;
        if (listed || extra) == on {
            return Ok(false);
        }
        let more = state.reactions_more.get(emoji).copied().unwrap_or(0);
        if on {
            let who = state.reactions.entry(emoji.to_owned()).or_default();
            if who.len() < REACTORS_LISTED {
                who.push(user);
            } else {
                store::put_extra_reactor(b, room, seq, index, user);
                state.reactions_more.insert(emoji.to_owned(), more + 1);
            }
        } else if listed {
            if let Some(who) = state.reactions.get_mut(emoji) {
                who.retain(|u| *u != user);
            }
        } else {
            store::delete_extra_reactor(b, room, seq, index, user);
            if more > 1 {
                state.reactions_more.insert(emoji.to_owned(), more - 1);
            } else {
                state.reactions_more.remove(emoji);
            }
        }
        // An emoji with nobody left, listed or counted, disappears.
        let empty = state.reactions.get(emoji).is_none_or(Vec::is_empty);
        if empty && !state.reactions_more.contains_key(emoji) {
            state.reactions.remove(emoji);
        }
        Ok(true)
    }

    pub(super) fn rewrite(&self, b: &mut Batch, stored: &StoredEvent, event: &Event) {
        let json = ServerFrame::Event(event.clone()).to_json();
        store::put_event(
            b,
            event.room,
            event.seq,
            stored.pos,
            stored.ordinal,
            json.as_bytes(),
        );
    }

    /// The caller's current room role; `NotFound` for a non-member.
    fn room_role(&self, room: RoomId, user: &UserInfo) -> Result<RoomRole> {
        self.store
            .membership(room, user.id)?
            .filter(MemberRecord::is_current)
            .map(|m| m.role)
            .ok_or(ServerError::NotFound)
    }

    /// The room role of someone who must be a member, unless an admin.
    fn role_or_admin(
        &self,
        room: RoomId,
        user: &UserInfo,
        server_role: Role,
    ) -> Result<Option<RoomRole>> {
        match self.room_role(room, user) {
            Ok(r) => Ok(Some(r)),
            Err(ServerError::NotFound) if server_role == Role::Admin => {
                // Admins act on any existing room.
                self.store.room(room)?.ok_or(ServerError::NotFound)?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Room owners and moderators, leaders, admins and the transformation
    /// team may answer (and merge) questions.
    fn check_may_answer(&self, room: RoomId, user: &UserInfo, server_role: Role) -> Result<()> {
        let role = self.role_or_admin(room, user, server_role)?;
        let team = self
            .store
            .user(user.id)?
            .is_some_and(|u| u.transformation_team);
        let may = team
            || matches!(server_role, Role::Admin | Role::Leader)
            || matches!(role, Some(RoomRole::Owner | RoomRole::Moderator));
        if may {
            Ok(())
        } else {
            Err(ServerError::Forbidden(
                "only moderators, leaders, admins and the transformation team answer questions",
            ))
        }
    }

    /// A thread reply counts on its parent, which must be a live top-level message.
    pub(super) fn count_reply(
        &mut self,
        b: &mut Batch,
        room: RoomId,
        parent: RoomSeq,
    ) -> Result<()> {
        let (stored, mut event) = self.message(room, parent)?;
        if event.state.deleted {
            return Err(ServerError::Invalid(
                "cannot reply under a deleted message".into(),
            ));
        }
        if let Content::Message {
            thread: Some(_), ..
        } = event.content
        {
            return Err(ServerError::Invalid(
                "reply under the thread's first message".into(),
            ));
        }
        event.state.replies += 1;
        self.rewrite(b, &stored, &event);
        Ok(())
    }

    /// Erase a live message everywhere it is stored, as a delete does: its
    /// body and every edit's body, its files (their records go, so the
    /// sweep reclaims the bytes), reactions, mentions, open-question entry
    /// and watch alert snippets; it stays in the timeline as a tombstone
    /// (`state.deleted`), so seqs stay gap-free. The caller appends the
    /// `deleted` event that tells readers (and the search indexer).
    pub(super) fn erase_message(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        stored: &StoredEvent,
        event: &mut Event,
    ) -> Result<()> {
        // Erase the body everywhere it is stored: the message and its edits.
        for edit_seq in std::mem::take(&mut event.state.edits) {
            if let Some(edit_stored) = self.store.event(event.room, edit_seq)? {
                let mut edit = edit_stored.decode()?;
                if let Content::Edited { body, .. } = &mut edit.content {
                    body.clear();
                    self.rewrite(b, &edit_stored, &edit);
                }
            }
        }
        let open_question = matches!(event.content, Content::Message { question: true, .. })
            && event.state.answer.is_none();
        if let Content::Message { body, .. } | Content::Broadcast { body, .. } = &mut event.content
        {
            body.clear();
        }
        if let Content::Message { attachments, .. } = &mut event.content {
            self.unbind_attachments(b, attachments)?;
            attachments.clear();
        }
        event.state.deleted = true;
        event.state.edited_at = None;
        event.state.reactions.clear();
        event.state.reactions_more.clear();
        self.store.clear_extra_reactors(b, event.room, event.seq)?;
        self.rewrite(b, stored, event);
        if open_question {
            store::delete_open_question(b, event.room, event.seq);
        }
        store::delete_mentions(b, event.room, event.seq);
        self.watch_deleted(b, p, event.room, event.seq)?;
        // An approved anonymous question: its record's copy of the text
        // goes too, whoever deletes it (a moderator, retention; a withdraw
        // then marks it withdrawn). The record stays: its asker sees it gone.
        if let Some(mut q) = self.store.anon_by_message(event.room, event.seq)? {
            q.body.clear();
            store::put_anon_question(b, &q);
        }
        self.faq_message_erased(b, event.room, event.seq)?;
        Ok(())
    }

    pub(super) fn message_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: MessageOp,
    ) -> Result<Reply> {
        let pos = match op {
            MessageOp::Edit {
                user,
                room,
                seq,
                body,
            } => {
                self.room_role(room, &user)?;
                // A blocked person reaches the blocker by no change either.
                self.check_may_post(room, &user, false)?;
                let (stored, mut event) = self.message(room, seq)?;
                if event.sender.id != user.id {
                    return Err(ServerError::Forbidden("only the sender may edit a message"));
                }
                if event.state.deleted {
                    return Err(ServerError::Invalid("the message is deleted".into()));
                }
                if event.state.edits.len() >= MAX_EDITS {
                    return Err(ServerError::LimitReached(format!(
                        "a message can be edited {MAX_EDITS} times"
                    )));
                }
                let before = event.clone();
                let mut old_text = String::new();
                if let Content::Message { body: old, .. } | Content::Broadcast { body: old, .. } =
                    &mut event.content
                {
                    old_text = std::mem::replace(old, body.clone());
                }
                if matches!(event.content, Content::Message { .. }) {
                    match self.store.resolve_mentions(user.id, &body)? {
                        Some(record) => store::put_mentions(b, room, seq, &record),
                        None => store::delete_mentions(b, room, seq),
                    }
                }
                let ev = self.append(
                    b,
                    p,
                    room,
                    user,
                    None,
                    Content::Edited {
                        target: seq,
                        body: body.clone(),
                    },
                    None,
                )?;
                if matches!(before.content, Content::Message { .. }) {
                    self.watch_edited(b, p, &before, &old_text, &body, &ev)?;
                    self.faq_message_edited(b, room, seq, &body)?;
                }
                event.state.edited_at = Some(ev.ts);
                event.state.edits.push(ev.seq);
                self.rewrite(b, &stored, &event);
                ev.pos
            }
            MessageOp::Delete {
                user,
                server_role,
                room,
                seq,
            } => {
                let role = self.role_or_admin(room, &user, server_role)?;
                let (stored, mut event) = self.message(room, seq)?;
                let moderator = server_role == Role::Admin
                    || matches!(role, Some(RoomRole::Owner | RoomRole::Moderator));
                if event.sender.id != user.id && !moderator {
                    return Err(ServerError::Forbidden(
                        "only the sender or a moderator may delete a message",
                    ));
                }
                if event.state.deleted {
                    return Ok(Reply::Done(0));
                }
                self.erase_message(b, p, &stored, &mut event)?;
                if event.sender.id != user.id {
                    self.audit(
                        b,
                        &user,
                        "delete_message",
                        Some(room),
                        Some(event.sender.clone()),
                        Some(seq),
                    );
                }
                self.append(
                    b,
                    p,
                    room,
                    user,
                    None,
                    Content::Deleted { target: seq },
                    None,
                )?
                .pos
            }
            MessageOp::React {
                user,
                room,
                seq,
                emoji,
                on,
            } => {
                self.room_role(room, &user)?;
                self.check_may_post(room, &user, false)?;
                if !REACTIONS.contains(&emoji.as_str()) {
                    return Err(ServerError::Invalid(format!(
                        "reactions are one of {}",
                        REACTIONS.join(" ")
                    )));
                }
                let (stored, mut event) = self.message(room, seq)?;
                if event.state.deleted {
                    return Err(ServerError::Invalid("the message is deleted".into()));
                }
                let index = REACTIONS.iter().position(|e| *e == emoji).unwrap_or(0) as u8;
                if !self.react(b, room, seq, &mut event, &emoji, index, user.id, on)? {
                    return Ok(Reply::Done(0));
                }
                self.rewrite(b, &stored, &event);
                self.append(
                    b,
                    p,
                    room,
                    user,
                    None,
                    Content::Reaction {
                        target: seq,
                        emoji,
                        on,
                    },
                    None,
                )?
                .pos
            }
            MessageOp::MarkAnswer {
                user,
                server_role,
                room,
                question,
                answer,
            } => {
                self.check_may_answer(room, &user, server_role)?;
                let (q_stored, mut q) = self.message(room, question)?;
                if !matches!(q.content, Content::Message { question: true, .. }) || q.state.deleted
                {
                    return Err(ServerError::Invalid(format!(
                        "seq {question} is not a question"
                    )));
                }
                let (_, a) = self.message(room, answer)?;
                if a.state.deleted || answer == question {
                    return Err(ServerError::Invalid(format!(
                        "seq {answer} cannot be the answer"
                    )));
                }
                let first_answer = q.state.answer.is_none();
                self.audit(
                    b,
                    &user,
                    "mark_answer",
                    Some(room),
                    Some(q.sender.clone()),
                    Some(question),
                );
                q.state.answer = Some(answer);
                self.rewrite(b, &q_stored, &q);
                let ev = self.append(
                    b,
                    p,
                    room,
                    user,
                    None,
                    Content::Answered { question, answer },
                    None,
                )?;
                self.notify_answered(b, p, &q, &ev)?;
                if first_answer {
                    store::delete_open_question(b, room, question);
                    let now = self.now();
                    store::put_answered_question(b, now, room, question, now.saturating_sub(q.ts));
                    self.pulse_answered(room, now, now.saturating_sub(q.ts))?;
                }
                // One answer answers every question merged into this one.
                for merged in q.state.merged.clone() {
                    let Ok((m_stored, mut m)) = self.message(room, merged) else {
                        continue;
                    };
                    if m.state.deleted || m.state.answer.is_some() {
                        continue;
                    }
                    m.state.answer = Some(answer);
                    self.rewrite(b, &m_stored, &m);
                    let m_ev = self.append(
                        b,
                        p,
                        room,
                        q.sender.clone(),
                        None,
                        Content::Answered {
                            question: merged,
                            answer,
                        },
                        None,
                    )?;
                    self.notify_answered(b, p, &m, &m_ev)?;
                    let now = self.now();
                    store::put_answered_question(b, now, room, merged, now.saturating_sub(m.ts));
                    self.pulse_answered(room, now, now.saturating_sub(m.ts))?;
                }
                ev.pos
            }
            MessageOp::MergeQuestions {
                user,
                server_role,
                room,
                questions,
                into,
            } => {
                self.check_may_answer(room, &user, server_role)?;
                let (c_stored, mut canonical) = self.message(room, into)?;
                let is_open_question = |e: &Event| {
                    matches!(e.content, Content::Message { question: true, .. })
                        && !e.state.deleted
                        && e.state.merged_into.is_none()
                };
                if !is_open_question(&canonical) {
                    return Err(ServerError::Invalid(format!(
                        "seq {into} is not a question"
                    )));
                }
                // Each question once: a repeated seq would otherwise be
                // merged again (this job's own rewrite is not yet visible
                // to its reads) and grow the canonical question's list.
                let mut seen = std::collections::HashSet::new();
                let questions: Vec<RoomSeq> = questions
                    .into_iter()
                    .filter(|s| *s != into && seen.insert(*s))
                    .collect();
                if canonical.state.merged.len() + questions.len() > MAX_MERGED {
                    return Err(ServerError::LimitReached(format!(
                        "at most {MAX_MERGED} questions can be merged into one"
                    )));
                }
                let mut last = 0;
                for seq in questions {
                    let (m_stored, mut m) = self.message(room, seq)?;
                    if !is_open_question(&m)
                        || m.state.answer.is_some()
                        || !m.state.merged.is_empty()
                    {
                        return Err(ServerError::Invalid(format!("seq {seq} cannot be merged")));
                    }
                    m.state.merged_into = Some(into);
                    self.rewrite(b, &m_stored, &m);
                    store::delete_open_question(b, room, seq);
                    canonical.state.merged.push(seq);
                    last = self
                        .append(
                            b,
                            p,
                            room,
                            user.clone(),
                            None,
                            Content::Merged {
                                question: seq,
                                into,
                            },
                            None,
                        )?
                        .pos;
                }
                // If the canonical one is answered already, so are the merged ones.
                if let Some(answer) = canonical.state.answer {
                    for seq in canonical.state.merged.clone() {
                        if let Ok((m_stored, mut m)) = self.message(room, seq)
                            && m.state.answer.is_none()
                        {
                            m.state.answer = Some(answer);
                            self.rewrite(b, &m_stored, &m);
                            let m_ev = self.append(
                                b,
                                p,
                                room,
                                user.clone(),
                                None,
                                Content::Answered {
                                    question: seq,
                                    answer,
                                },
                                None,
                            )?;
                            self.notify_answered(b, p, &m, &m_ev)?;
                        }
                    }
                }
                self.rewrite(b, &c_stored, &canonical);
                last
            }
        };
        Ok(Reply::Done(pos))
    }
}
