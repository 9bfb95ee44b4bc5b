//! `typing` and `online`: ephemeral, never stored.

use super::{Ctx, require_member};
use crate::error::Result;
use crate::frame::shared;
use crate::typing::TYPING_ROOM_LIMIT;
use townhall_protocol::{RoomId, RoomKind, ServerFrame};

/// Relay "I am typing" to the room's other online members, unless the
/// throttle says this (user, room) already did within the interval, the
/// room is too big (see `typing.rs`), or it is a DM whose other member
/// blocks me. A dropped frame is silent: typing is best-effort, and an
/// error would only tell a flooder to slow down (or reveal a block).
pub async fn typing(ctx: &Ctx, room: RoomId) -> Result<()> {
    require_member(ctx, room)?;
    if ctx.app.hub.member_count(room) > TYPING_ROOM_LIMIT
        || !ctx.app.typing.allow(ctx.user.id, room)
    {
        return Ok(());
    }
    // After the throttle, so this read happens at most once per 3 s per
    // (user, room).
    let me = ctx.user.id;
    let blocked = ctx
        .app
        .read(move |s| {
            if s.room(room)?.is_none_or(|r| r.kind != RoomKind::Dm) {
                return Ok(false);
            }
            for (member, _) in s.room_members(room)? {
                if member != me && s.blocks(member, me)? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await?;
    if blocked {
        return Ok(());
    }
    let frame = shared(&ServerFrame::Typing {
        room,
        user: ctx.user.info(),
    });
    ctx.app.hub.send_to_room_except(room, ctx.user.id, frame);
    if let Some(cluster) = &ctx.app.cluster {
        cluster.bus.typing(room, ctx.user.info());
    }
    Ok(())
}

pub fn online(ctx: &Ctx, req_id: Option<String>) -> ServerFrame {
    ServerFrame::Online {
        req_id,
        users: ctx.app.hub.online_users(),
        more: false,
    }
}
