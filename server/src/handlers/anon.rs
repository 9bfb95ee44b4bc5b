//! Anonymous questions (`ask_anonymously`, `my_anonymous_questions`,
//! `edit_anonymous`, `withdraw_anonymous`), their settings
//! (`set_anonymous_questions`, `anonymous_settings`) and the
//! transformation team's queue (`moderation_queue`, `moderate`).
//!
//! This node is the only place that sees who asks: it checks the caller
//! (a member of the room, within their per-person ask limit), computes
//! their asker key and submits a command that carries the key, never the
//! user id (see `anon/` and `committer/anon.rs`). Nothing here logs the
//! caller.

use super::{Ctx, require_member, require_team};
use crate::anon::Anon;
use crate::committer::{AnonOp, Command, Reply};
use crate::error::{Result, ServerError};
use crate::store::{AnonRecord, Store};
use std::sync::Arc;
use townhall_protocol::{
    AnonQuestion, AnonStatus, MAX_REPLY_BYTES, ModerationAction, Role, RoomId, ServerFrame,
};
use uuid::Uuid;

/// An asker's questions listed at most (newest first).
/// Why someone off the transformation team is refused.
const NOT_TEAM: &str = "only the transformation team moderates anonymous questions";

const MINE_LIMIT: usize = 200;

/// Pending questions read for one `moderation_queue` reply (oldest first);
/// the reply also stops at `MAX_REPLY_BYTES` of questions: the team works
/// from the oldest, and asks again.
const QUEUE_LIMIT: usize = 500;

fn anon(ctx: &Ctx) -> Result<&Arc<Anon>> {
    ctx.app.anon.as_ref().ok_or_else(|| {
        ServerError::Unavailable(
            "anonymous questions are off on this node (no --anon-secret-file)".into(),
        )
    })
}

async fn submit(ctx: &Ctx, op: AnonOp) -> Result<Reply> {
    ctx.app.committer.submit(Command::Anon(op)).await
}

fn ok(req_id: Option<String>, reply: Reply) -> Result<ServerFrame> {
    match reply {
        Reply::Done(pos) => Ok(ServerFrame::Ok { req_id, pos }),
        other => Err(ServerError::Internal(format!(
            "expected done, got {other:?}"
        ))),
    }
}

/// `record` as a client sees it: `approved` shown as `answered` once its
/// room message has an answer.
fn shown(s: &Store, record: AnonRecord, mine: bool) -> Result<AnonQuestion> {
    let mut status = record.status;
    if let AnonStatus::Approved { seq } = status
        && let Some(ev) = s.event(record.room, seq)?
        && let Some(answer) = ev.decode()?.state.answer
    {
        status = AnonStatus::Answered { seq, answer };
    }
    let room_name = s.room(record.room)?.map(|r| r.name).unwrap_or_default();
    Ok(AnonQuestion {
        id: record.id,
        room: record.room,
        room_name,
        body: record.body,
        asked_at: record.asked_at,
        edited: record.edited,
        status,
        mine,
    })
}

/// As many of `records` as fit in one reply (at least one).
fn shown_list(s: &Store, records: Vec<AnonRecord>, mine: bool) -> Result<Vec<AnonQuestion>> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for r in records {
        let q = shown(s, r, mine)?;
        // Bodies dominate; names and ids are a couple of hundred bytes.
        bytes += q.body.len() + q.room_name.len() + 200;
        if bytes > MAX_REPLY_BYTES && !out.is_empty() {
            break;
        }
        out.push(q);
    }
    Ok(out)
}

pub async fn set_allowed(
    ctx: &Ctx,
    req_id: Option<String>,
    room: Option<RoomId>,
    on: bool,
) -> Result<ServerFrame> {
    if let Some(room) = room
        && ctx.user.role != Role::Admin
    {
        require_member(ctx, room)?;
    }
    let op = AnonOp::SetAllowed {
        actor: ctx.user.info(),
        room,
        on,
    };
    ok(req_id, submit(ctx, op).await?)
}

pub async fn settings(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let (org, rooms) = ctx.app.read(|s| Ok(s.anon_settings()?)).await?;
    // Only rooms the caller may read: a private room's setting would tell
    // an outsider that it exists.
    let mut readable = Vec::with_capacity(rooms.len());
    for room in rooms {
        if super::readable_room(ctx, room).await.is_ok() {
            readable.push(room);
        }
    }
    Ok(ServerFrame::AnonymousSettings {
        req_id,
        org,
        rooms: readable,
    })
}

pub async fn ask(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    body: String,
) -> Result<ServerFrame> {
    let anon = anon(ctx)?.clone();
    super::messages::check_body(&body)?;
    require_member(ctx, room)?;
    // Refuse early, before spending the person's budget, where the room
    // does not take anonymous questions (apply decides again).
    if !ctx.app.read(move |s| Ok(s.anon_allowed(room)?)).await? {
        return Err(ServerError::Forbidden(
            "this room does not take anonymous questions",
        ));
    }
    if !anon.allow_ask(ctx.user.id) {
        return Err(ServerError::RateLimited);
    }
    let owner = anon.owner(ctx.user.id);
    let id = match submit(ctx, AnonOp::Ask { owner, room, body }).await? {
        Reply::AnonAsked(id) => id,
        other => {
            return Err(ServerError::Internal(format!(
                "expected an anonymous question, got {other:?}"
            )));
        }
    };
    let questions = ctx
        .app
        .read(move |s| {
            let record = s.anon_question(id)?.ok_or(ServerError::NotFound)?;
            Ok(vec![shown(s, record, true)?])
        })
        .await?;
    Ok(ServerFrame::AnonymousQuestions { req_id, questions })
}

/// My anonymous questions as `mine` lists them, for "My questions"; none
/// when anonymous questions are off on this node.
pub(super) async fn mine_list(ctx: &Ctx) -> Result<Vec<AnonQuestion>> {
    let Some(anon) = ctx.app.anon.as_ref() else {
        return Ok(Vec::new());
    };
    let owner = anon.owner(ctx.user.id);
    ctx.app
        .read(move |s| shown_list(s, s.anon_of_owner(&owner, MINE_LIMIT)?, true))
        .await
}

pub async fn mine(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let owner = anon(ctx)?.owner(ctx.user.id);
    let questions = ctx
        .app
        .read(move |s| shown_list(s, s.anon_of_owner(&owner, MINE_LIMIT)?, true))
        .await?;
    Ok(ServerFrame::AnonymousQuestions { req_id, questions })
}

pub async fn edit(
    ctx: &Ctx,
    req_id: Option<String>,
    id: Uuid,
    body: String,
) -> Result<ServerFrame> {
    super::messages::check_body(&body)?;
    let owner = anon(ctx)?.owner(ctx.user.id);
    // An approved question is a room message: editing it writes into the
    // room, which only its current members may do (withdrawing stays
    // allowed). Apply checks the owner.
    let approved_in = ctx
        .app
        .read(move |s| {
            Ok(s.anon_question(id)?
                .filter(|q| q.owner == owner && matches!(q.status, AnonStatus::Approved { .. }))
                .map(|q| q.room))
        })
        .await?;
    if let Some(room) = approved_in {
        require_member(ctx, room)?;
    }
    ok(req_id, submit(ctx, AnonOp::Edit { owner, id, body }).await?)
}

pub async fn withdraw(ctx: &Ctx, req_id: Option<String>, id: Uuid) -> Result<ServerFrame> {
    let owner = anon(ctx)?.owner(ctx.user.id);
    ok(req_id, submit(ctx, AnonOp::Withdraw { owner, id }).await?)
}

pub async fn queue(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    let pending = ctx.app.read(|s| Ok(s.anon_pending(QUEUE_LIMIT)?)).await?;
    // A team member moderates the rooms they may read: a private room's
    // questions stay inside it (its members on the team moderate them).
    let mut visible = Vec::with_capacity(pending.len());
    for record in pending {
        if super::readable_room(ctx, record.room).await.is_ok() {
            visible.push(record);
        }
    }
    let questions = ctx.app.read(move |s| shown_list(s, visible, false)).await?;
    Ok(ServerFrame::ModerationQueue { req_id, questions })
}

pub async fn moderate(
    ctx: &Ctx,
    req_id: Option<String>,
    id: Uuid,
    action: ModerationAction,
) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    // Only for a question of a room the moderator may read (the same
    // `not_found` as an unknown id otherwise).
    let room = ctx
        .app
        .read(move |s| Ok(s.anon_question(id)?.map(|q| q.room)))
        .await?
        .ok_or(ServerError::NotFound)?;
    super::readable_room(ctx, room).await?;
    let op = AnonOp::Moderate {
        moderator: ctx.user.info(),
        id,
        action,
    };
    ok(req_id, submit(ctx, op).await?)
}
