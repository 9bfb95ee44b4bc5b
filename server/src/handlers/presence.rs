//! `typing` and `online`: ephemeral, never stored.

use super::{Ctx, require_member};
use crate::error::Result;
use crate::frame::shared;
use crate::typing::TYPING_ROOM_LIMIT;
use townhall_protocol::{RoomId, ServerFrame};

/// Relay "I am typing" to the room's other online members, unless the
/// throttle says this (user, room) already did within the interval or the
/// room is too big (see `typing.rs`). A dropped frame is silent: typing is
/// best-effort, and an error would only tell a flooder to slow down.
pub fn typing(ctx: &Ctx, room: RoomId) -> Result<()> {
    require_member(ctx, room)?;
    if ctx.app.hub.member_count(room) > TYPING_ROOM_LIMIT
        || !ctx.app.typing.allow(ctx.user.id, room)
    {
        return Ok(());
    }
    let frame = shared(&ServerFrame::Typing {
        room,
        user: ctx.user.info(),
    });
    ctx.app.hub.send_to_room_except(room, ctx.user.id, frame);
    Ok(())
}

pub fn online(ctx: &Ctx, req_id: Option<String>) -> ServerFrame {
    ServerFrame::Online {
        req_id,
        users: ctx.app.hub.online_users(),
    }
}
