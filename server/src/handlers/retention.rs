//! Retention policies and legal holds (admin only): `retention_set`,
//! `retention_clear`, `legal_hold_set`, `legal_hold_clear`, and
//! `retention` (the whole picture). Every change goes through the log
//! (`committer/retention.rs`), which checks the admin role again as stored
//! then; each reply is the `retention` frame as it stands after the change.

use super::Ctx;
use crate::committer::{Command, RetentionOp, check_days, check_reason};
use crate::error::{Result, ServerError};
use townhall_protocol::retention::{HoldTarget, RoomRetention};
use townhall_protocol::{Role, RoomId, ServerFrame};

/// The caller's role as stored now (it may have changed since login).
async fn require_admin(ctx: &Ctx) -> Result<()> {
    let id = ctx.user.id;
    let admin = ctx
        .app
        .read(move |s| Ok(s.user(id)?.is_some_and(|u| u.role == Role::Admin)))
        .await?;
    if admin {
        Ok(())
    } else {
        Err(ServerError::Forbidden(
            "only admins set retention and legal holds",
        ))
    }
}

async fn retention_frame(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    ctx.app
        .read(move |s| {
            let global = s.global_retention()?;
            let mut rooms = Vec::new();
            for (room, policy) in s.room_retentions()? {
                // A policy of a room since removed is still listed, nameless.
                let room_name = s.room(room)?.map(|r| r.name).unwrap_or_default();
                rooms.push(RoomRetention {
                    room,
                    room_name,
                    policy,
                });
            }
            let mut holds = s.legal_holds()?;
            // Names as they are now (a room renamed since the hold was set).
            for hold in &mut holds {
                match hold.target {
                    HoldTarget::Room(r) => {
                        if let Some(room) = s.room(r)? {
                            hold.name = room.name;
                        }
                    }
                    HoldTarget::User(u) => {
                        if let Some(user) = s.user(u)? {
                            hold.name = user.username;
                        }
                    }
                }
            }
            Ok(ServerFrame::Retention {
                req_id,
                global,
                rooms,
                holds,
                last_run: s.retention_run()?,
            })
        })
        .await
}

pub async fn show(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    require_admin(ctx).await?;
    retention_frame(ctx, req_id).await
}

pub async fn set(
    ctx: &Ctx,
    req_id: Option<String>,
    room: Option<RoomId>,
    days: u32,
) -> Result<ServerFrame> {
    require_admin(ctx).await?;
    check_days(days)?;
    let op = RetentionOp::SetPolicy {
        actor: ctx.user.info(),
        room,
        days,
    };
    ctx.app.committer.submit(Command::Retention(op)).await?;
    retention_frame(ctx, req_id).await
}

pub async fn clear(ctx: &Ctx, req_id: Option<String>, room: Option<RoomId>) -> Result<ServerFrame> {
    require_admin(ctx).await?;
    let op = RetentionOp::ClearPolicy {
        actor: ctx.user.info(),
        room,
    };
    ctx.app.committer.submit(Command::Retention(op)).await?;
    retention_frame(ctx, req_id).await
}

pub async fn hold(
    ctx: &Ctx,
    req_id: Option<String>,
    target: HoldTarget,
    reason: String,
) -> Result<ServerFrame> {
    require_admin(ctx).await?;
    check_reason(&reason)?;
    let op = RetentionOp::SetHold {
        actor: ctx.user.info(),
        target,
        reason,
    };
    ctx.app.committer.submit(Command::Retention(op)).await?;
    retention_frame(ctx, req_id).await
}

pub async fn release(ctx: &Ctx, req_id: Option<String>, target: HoldTarget) -> Result<ServerFrame> {
    require_admin(ctx).await?;
    let op = RetentionOp::ClearHold {
        actor: ctx.user.info(),
        target,
    };
    ctx.app.committer.submit(Command::Retention(op)).await?;
    retention_frame(ctx, req_id).await
}
