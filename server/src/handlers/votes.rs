//! `vote` and `follow_thread`: what a reader of a room may do to a
//! question or thread. The checks that decide (may read the room, an open
//! question, not one's own, the follow limit) are made at apply, in
//! `committer/questions.rs`, so every node decides the same; here only the
//! cheap early answer for a room the caller cannot read.

use super::{Ctx, readable_room};
use crate::committer::{Command, QuestionOp, Reply};
use crate::error::{Result, ServerError};
use townhall_protocol::{RoomId, RoomSeq, ServerFrame};

async fn submit(ctx: &Ctx, req_id: Option<String>, op: QuestionOp) -> Result<ServerFrame> {
    match ctx.app.committer.submit(Command::Question(op)).await? {
        Reply::Done(pos) => Ok(ServerFrame::Ok { req_id, pos }),
        other => Err(ServerError::Internal(format!(
            "expected done, got {other:?}"
        ))),
    }
}

pub async fn vote(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    on: bool,
) -> Result<ServerFrame> {
    readable_room(ctx, room).await?;
    if on {
        refuse_own_anonymous(ctx, room, seq).await?;
    }
    let op = QuestionOp::Vote {
        user: ctx.user.info(),
        room,
        seq,
        on,
    };
    submit(ctx, req_id, op).await
}

pub async fn follow_thread(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    on: bool,
) -> Result<ServerFrame> {
    readable_room(ctx, room).await?;
    let op = QuestionOp::Follow {
        user: ctx.user.info(),
        room,
        seq,
        on,
    };
    submit(ctx, req_id, op).await
}

/// The asker of an approved anonymous question may not vote for it, like
/// any asker. Only this node can tell (the log and the question carry no
/// user id): it recomputes the caller's asker key and compares.
async fn refuse_own_anonymous(ctx: &Ctx, room: RoomId, seq: RoomSeq) -> Result<()> {
    let Some(anon) = ctx.app.anon.as_ref() else {
        return Ok(());
    };
    let key = anon.owner(ctx.user.id);
    let mine = ctx
        .app
        .read(move |s| {
            Ok(s.anon_by_message(room, seq)?
                .is_some_and(|q| q.owner == key))
        })
        .await?;
    if mine {
        return Err(ServerError::Forbidden(
            "you asked this question: it counts as wanted by you already",
        ));
    }
    Ok(())
}
