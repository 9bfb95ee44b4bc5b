//! `typing` and `online`: ephemeral, never stored.

use super::{Ctx, require_member};
use crate::error::Result;
use crate::frame::shared;
use townhall_protocol::{RoomId, ServerFrame};

pub fn typing(ctx: &Ctx, room: RoomId) -> Result<()> {
    require_member(ctx, room)?;
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
        more: false,
    }
}
