//! `block` and `blocked`: a person's own block list (see
//! `committer/contacts.rs` for what a block stops, and why the blocked
//! person is told `not_found`).

use super::Ctx;
use crate::committer::{Command, ContactOp, Reply};
use crate::error::{Result, ServerError};
use townhall_protocol::{ServerFrame, UserInfo};

/// Block (`on`) or unblock a user by username. Idempotent; `not_found` for
/// an unknown username (a disabled account can still be blocked or
/// unblocked).
pub async fn block(
    ctx: &Ctx,
    req_id: Option<String>,
    username: String,
    on: bool,
) -> Result<ServerFrame> {
    let target = ctx
        .app
        .read(move |s| Ok(s.user_by_name(&username)?))
        .await?
        .ok_or(ServerError::NotFound)?;
    let op = ContactOp::Block {
        user: ctx.user.info(),
        target: target.info(),
        on,
    };
    match ctx.app.committer.submit(Command::Contact(op)).await? {
        Reply::Done(pos) => Ok(ServerFrame::Ok { req_id, pos }),
        other => Err(ServerError::Internal(format!(
            "expected done, got {other:?}"
        ))),
    }
}

/// The users I block, by username.
pub async fn blocked(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let me = ctx.user.id;
    let users = ctx
        .app
        .read(move |s| {
            let mut users: Vec<UserInfo> = Vec::new();
            for id in s.blocked_by(me)? {
                if let Some(u) = s.user(id)? {
                    users.push(u.info());
                }
            }
            users.sort_by(|a, b| a.username.cmp(&b.username));
            Ok(users)
        })
        .await?;
    Ok(ServerFrame::Blocked {
        req_id,
        users,
        more: false,
    })
}
