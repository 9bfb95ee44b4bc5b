//! Changes to messages (`edit`, `delete`, `react`, `mark_answer`) and the
//! unanswered-questions queue (`questions`).

use super::{Ctx, readable_room};
use crate::committer::{Command, MessageOp, Reply, now_millis};
use crate::error::{Result, ServerError};
use std::collections::HashMap;
use townhall_protocol::{
    Content, OpenQuestion, Role, RoomId, RoomKind, RoomRole, RoomSeq, ServerFrame, Visibility,
};

const DAY_MS: u64 = 24 * 3_600_000;

/// Open questions listed at most: the oldest first, an answerable queue,
/// not an archive.
const QUEUE_LIMIT: usize = 500;

async fn submit(ctx: &Ctx, req_id: Option<String>, op: MessageOp) -> Result<ServerFrame> {
    match ctx.app.committer.submit(Command::Message(op)).await? {
        Reply::Done(pos) => Ok(ServerFrame::Ok { req_id, pos }),
        other => Err(ServerError::Internal(format!(
            "expected done, got {other:?}"
        ))),
    }
}

pub async fn edit(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    body: String,
) -> Result<ServerFrame> {
    super::messages::check_body(&body)?;
    super::require_member(ctx, room)?;
    submit(
        ctx,
        req_id,
        MessageOp::Edit {
            user: ctx.user.info(),
            room,
            seq,
            body,
        },
    )
    .await
}

pub async fn delete(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
) -> Result<ServerFrame> {
    if ctx.user.role != Role::Admin {
        super::require_member(ctx, room)?;
    }
    let op = MessageOp::Delete {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
        seq,
    };
    submit(ctx, req_id, op).await
}

pub async fn react(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    emoji: String,
    on: bool,
) -> Result<ServerFrame> {
    super::require_member(ctx, room)?;
    submit(
        ctx,
        req_id,
        MessageOp::React {
            user: ctx.user.info(),
            room,
            seq,
            emoji,
            on,
        },
    )
    .await
}

pub async fn mark_answer(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    question: RoomSeq,
    answer: RoomSeq,
) -> Result<ServerFrame> {
    if ctx.user.role != Role::Admin {
        readable_room(ctx, room).await?;
    }
    let op = MessageOp::MarkAnswer {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
        question,
        answer,
    };
    submit(ctx, req_id, op).await
}

pub async fn merge(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    questions: Vec<RoomSeq>,
    into: RoomSeq,
) -> Result<ServerFrame> {
    if questions.len() > 100 {
        return Err(ServerError::Invalid(
            "merge at most 100 questions at once".into(),
        ));
    }
    if ctx.user.role != Role::Admin {
        readable_room(ctx, room).await?;
    }
    let op = MessageOp::MergeQuestions {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
        questions,
        into,
    };
    submit(ctx, req_id, op).await
}

/// The open questions the caller may answer (oldest first), the number open
/// in rooms they can see, and the median time to answer there.
pub async fn queue(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let app = ctx.app.clone();
    let user = ctx.user.clone();
    app.clone()
        .read(move |s| {
            let now = now_millis();
            let visible = app.hub.published();
            let team = s.user(user.id)?.is_some_and(|u| u.transformation_team);
            // Per room: None = not visible; Some((may answer, name)).
            let mut rooms: HashMap<RoomId, Option<(bool, String)>> = HashMap::new();
            let mut access = |room: RoomId| -> Result<Option<(bool, String)>> {
                if let Some(a) = rooms.get(&room) {
                    return Ok(a.clone());
                }
                let a = s.room(room)?.and_then(|r| {
                    let role = app.hub.role_in(room, user.id);
                    let public = r.visibility == Visibility::Public && r.kind == RoomKind::Room;
                    let sees = role.is_some() || public;
                    let answers = team
                        || matches!(user.role, Role::Admin | Role::Leader)
                        || matches!(role, Some(RoomRole::Owner | RoomRole::Moderator));
                    sees.then_some((answers, r.name))
                });
                rooms.insert(room, a.clone());
                Ok(a)
            };
            let mut open = 0;
            let mut questions = Vec::new();
            for (room, seq, asked_at) in s.open_questions()? {
                let Some((answers, room_name)) = access(room)? else {
                    continue;
                };
                open += 1;
                if !answers || questions.len() >= QUEUE_LIMIT {
                    continue;
                }
                let Some(stored) = s.event(room, seq)? else {
                    continue;
                };
                if stored.pos > visible {
                    continue;
                }
                let ev = stored.decode()?;
                if let Content::Message { body, .. } = ev.content {
                    questions.push(OpenQuestion {
                        room,
                        room_name,
                        seq,
                        asker: ev.sender,
                        body,
                        asked_at,
                        age_ms: now.saturating_sub(asked_at),
                    });
                }
            }
            questions.sort_by_key(|q| q.asked_at);
            // Answer times in rooms the caller can see.
            let week_start = now.saturating_sub(7 * DAY_MS);
            let mut week = Vec::new();
            let mut month = Vec::new();
            for (answered_at, room, took) in s.answered_since(now.saturating_sub(30 * DAY_MS))? {
                if access(room)?.is_none() {
                    continue;
                }
                month.push(took);
                if answered_at >= week_start {
                    week.push(took);
                }
            }
            Ok(ServerFrame::Questions {
                req_id,
                questions,
                open,
                median_answer_ms_7d: median(week),
                median_answer_ms_30d: median(month),
                more: false,
            })
        })
        .await
}

fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}
