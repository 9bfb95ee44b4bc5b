//! `set_display_name`: a person changes their own display name (see
//! `committer/profile.rs` for how it is applied and who is told).

use super::Ctx;
use crate::committer::{Command, ProfileOp, Reply};
use crate::error::{Result, ServerError};
use townhall_protocol::{ServerFrame, clean_display_name};

/// Validate (trimmed, 1 to 64 characters, no control or bidi characters;
/// each refusal `invalid_field` with its reason), check the person's
/// profile-change budget (`rate_limited` past 5 changes in 10 minutes:
/// `profile_limit.rs`) and apply through the log.
/// An account from the company directory or login provider gets its name
/// from there, and a later sync may set it back (docs/protocol.md).
pub async fn set_display_name(
    ctx: &Ctx,
    req_id: Option<String>,
    display_name: String,
) -> Result<ServerFrame> {
    let display_name =
        clean_display_name(&display_name).map_err(|why| ServerError::Invalid(why.message()))?;
    // After validation, so a mistyped name does not spend the budget.
    if !ctx.app.profile_changes.allow(ctx.user.id) {
        return Err(ServerError::RateLimited);
    }
    let op = ProfileOp::SetDisplayName {
        user: ctx.user.id,
        display_name,
    };
    match ctx.app.committer.submit(Command::Profile(op)).await? {
        Reply::User(record) => Ok(ServerFrame::UserUpdated {
            req_id,
            user: record.info(),
        }),
        other => Err(ServerError::Internal(format!(
            "expected a user, got {other:?}"
        ))),
    }
}
