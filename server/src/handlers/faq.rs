//! The FAQ: publishing, retagging and unpublishing entries (transformation
//! team: `faq_publish`, `faq_tags`, `faq_unpublish`), reading and searching
//! them (everyone: `faq`), and answering a question with an entry
//! (`faq_answer`).
//!
//! Changes go through the log (`committer/faq.rs`). `faq_answer` is two
//! logged commands, the same a person would send: a thread reply that links
//! the entry and carries its answer (`Command::Post`), then `mark_answer`
//! on that reply, so the asker, voters and followers are told exactly as
//! for any answer. Who may answer is checked before the reply is posted;
//! should the second command still fail, the reply stays as an ordinary
//! message.

use super::{Ctx, require_member, require_team};
use crate::committer::{Command, FaqOp, MessageOp, Reply, check_faq_tags};
use crate::error::{Result, ServerError};
use std::collections::{BTreeMap, HashMap};
use townhall_protocol::faq::{FaqEntry, FaqTag, MAX_FAQ_QUERY_CHARS, normalise_tag};
use townhall_protocol::{Content, Role, RoomId, RoomRole, RoomSeq, ServerFrame};

/// Why someone off the transformation team is refused.
const NOT_TEAM: &str = "only the transformation team publishes to the FAQ";

/// The entry `id` as `ctx`'s user sees it.
async fn entry_frame(ctx: &Ctx, req_id: Option<String>, id: u64) -> Result<ServerFrame> {
    let record = ctx
        .app
        .read(move |s| Ok(s.faq_entry(id)?))
        .await?
        .ok_or(ServerError::NotFound)?;
    let room_name = super::readable_room(ctx, record.room)
        .await
        .ok()
        .map(|r| r.name);
    Ok(ServerFrame::FaqEntry {
        req_id,
        entry: record.shown(room_name),
    })
}

pub async fn publish(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    tags: Vec<String>,
) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    let tags = check_faq_tags(&tags)?;
    let op = FaqOp::Publish {
        actor: ctx.user.info(),
        room,
        seq,
        tags,
    };
    ctx.app.committer.submit(Command::Faq(op)).await?;
    let id = ctx
        .app
        .read(move |s| Ok(s.faq_of_message(room, seq)?))
        .await?
        .ok_or(ServerError::NotFound)?;
    entry_frame(ctx, req_id, id).await
}

pub async fn tags(
    ctx: &Ctx,
    req_id: Option<String>,
    id: u64,
    tags: Vec<String>,
) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    let tags = check_faq_tags(&tags)?;
    let op = FaqOp::Tags {
        actor: ctx.user.info(),
        id,
        tags,
    };
    ctx.app.committer.submit(Command::Faq(op)).await?;
    entry_frame(ctx, req_id, id).await
}

pub async fn unpublish(ctx: &Ctx, req_id: Option<String>, id: u64) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    let op = FaqOp::Unpublish {
        actor: ctx.user.info(),
        id,
    };
    ctx.app.committer.submit(Command::Faq(op)).await?;
    Ok(ServerFrame::Ok { req_id, pos: 0 })
}

/// Lowercased words of a search text.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_lowercase).collect()
}

pub async fn list(
    ctx: &Ctx,
    req_id: Option<String>,
    tag: Option<String>,
    q: Option<String>,
) -> Result<ServerFrame> {
    let tag = match tag.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(
            normalise_tag(t)
                .ok_or_else(|| ServerError::Invalid(format!("tag {t:?} is not a tag")))?,
        ),
    };
    let q = q.unwrap_or_default();
    if q.chars().count() > MAX_FAQ_QUERY_CHARS {
        return Err(ServerError::Invalid(format!(
            "a search has at most {MAX_FAQ_QUERY_CHARS} characters"
        )));
    }
    let wanted = words(&q);
    let records = ctx.app.read(|s| Ok(s.faq_entries()?)).await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        for t in &r.tags {
            *counts.entry(t.clone()).or_default() += 1;
        }
    }
    let mut readable: HashMap<RoomId, Option<String>> = HashMap::new();
    let mut entries: Vec<FaqEntry> = Vec::new();
    // Newest first: ids grow with publication.
    for r in records.iter().rev() {
        if tag.as_ref().is_some_and(|t| !r.tags.contains(t)) {
            continue;
        }
        if !wanted.is_empty() {
            let text = format!(
                "{}\n{}\n{}",
                r.question.to_lowercase(),
                r.answer.to_lowercase(),
                r.tags.join(" ")
            );
            if !wanted.iter().all(|w| text.contains(w.as_str())) {
                continue;
            }
        }
        let room_name = match readable.get(&r.room) {
            Some(n) => n.clone(),
            None => {
                let n = super::readable_room(ctx, r.room).await.ok().map(|r| r.name);
                readable.insert(r.room, n.clone());
                n
            }
        };
        entries.push(r.shown(room_name));
    }
    Ok(ServerFrame::FaqEntries {
        req_id,
        entries,
        tags: counts
            .into_iter()
            .map(|(tag, count)| FaqTag { tag, count })
            .collect(),
    })
}

pub async fn answer(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    id: u64,
) -> Result<ServerFrame> {
    // Posting needs membership; answering, the right to answer (checked
    // here so that a refused answer leaves no reply behind).
    require_member(ctx, room)?;
    let role = ctx.app.hub.role_in(room, ctx.user.id);
    let user_id = ctx.user.id;
    let (entry, question, team) = ctx
        .app
        .read(move |s| {
            let team = s.user(user_id)?.is_some_and(|u| u.transformation_team);
            let question = match s.event(room, seq)? {
                Some(stored) => Some(stored.decode()?),
                None => None,
            };
            Ok((s.faq_entry(id)?, question, team))
        })
        .await?;
    let may_answer = team
        || matches!(ctx.user.role, Role::Admin | Role::Leader)
        || matches!(role, Some(RoomRole::Owner | RoomRole::Moderator));
    if !may_answer {
        return Err(ServerError::Forbidden(
            "only moderators, leaders, admins and the transformation team answer questions",
        ));
    }
    let entry = entry.ok_or(ServerError::NotFound)?;
    let question = question.ok_or(ServerError::NotFound)?;
    let thread = match &question.content {
        Content::Message {
            question: true,
            thread,
            ..
        } if !question.state.deleted => thread.unwrap_or(seq),
        _ => return Err(ServerError::Invalid(format!("seq {seq} is not a question"))),
    };
    let link = format!("Answered in the FAQ: [FAQ #{id}](#/faq/{id})");
    let mut body = format!("{link}\n\n{}", entry.answer);
    if super::messages::check_body(&body).is_err() {
        body = link;
    }
    let post = Command::Post {
        user: ctx.user.info(),
        room,
        client_id: uuid::Uuid::now_v7(),
        body,
        thread: Some(thread),
        question: false,
        attachments: Vec::new(),
    };
    let answer = match ctx.app.committer.submit(post).await? {
        Reply::Ack { ack, .. } => ack.seq,
        _ => {
            return Err(ServerError::Internal(
                "a post answered without an ack".into(),
            ));
        }
    };
    let mark = MessageOp::MarkAnswer {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
        question: seq,
        answer,
    };
    match ctx.app.committer.submit(Command::Message(mark)).await? {
        Reply::Done(pos) => Ok(ServerFrame::Ok { req_id, pos }),
        _ => Err(ServerError::Internal(
            "mark_answer answered without done".into(),
        )),
    }
}
