//! Positions and markers: `ack_pos`, `mark_read`, `summary`.

use super::{Ctx, require_member};
use crate::committer::{Command, Reply};
use crate::error::{Result, ServerError};
use townhall_protocol::{Pos, RoomId, RoomSeq, RoomSummary, ServerFrame};

/// Store this device's position. Without a `req_id` it is fire-and-forget
/// (dropped when the committer's queue is full: a later `ack_pos` or the
/// client's own `resume` covers it); with one, the reply `ok` comes only
/// once it is durable, so a client about to close can wait for it.
pub async fn ack_pos(ctx: &Ctx, req_id: Option<String>, pos: Pos) -> Result<Option<ServerFrame>> {
    let Some(device) = &ctx.device else {
        // Nothing to store without a device name; still answer a request.
        return Ok(req_id.map(|req_id| ServerFrame::Ok {
            req_id: Some(req_id),
            pos: 0,
        }));
    };
    let cmd = Command::DevicePos {
        user: ctx.user.id,
        device: device.clone(),
        pos,
    };
    if req_id.is_none() {
        ctx.app.committer.fire_and_forget(cmd);
        return Ok(None);
    }
    ctx.app.committer.submit(cmd).await?;
    Ok(Some(ServerFrame::Ok { req_id, pos: 0 }))
}

pub async fn mark_read(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
) -> Result<ServerFrame> {
    require_member(ctx, room)?;
    match ctx
        .app
        .committer
        .submit(Command::MarkRead {
            user: ctx.user.id,
            room,
            seq,
        })
        .await?
    {
        Reply::ReadMarker(_) => Ok(ServerFrame::Ok { req_id, pos: 0 }),
        other => Err(ServerError::Internal(format!(
            "expected a read marker, got {other:?}"
        ))),
    }
}

pub async fn summary(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let app = ctx.app.clone();
    let user = ctx.user.clone();
    let rooms = ctx
        .app
        .read(move |s| {
            let visible = app.hub.published();
            let mut out = Vec::new();
            for room in app.hub.rooms_of(user.id) {
                let Some(record) = s.room(room)? else {
                    continue;
                };
                let info = app.room_info(&record, user.id)?;
                let latest = s.last_event(room, visible)?;
                let read_seq = s.read_marker(user.id, room)?;
                let (last_seq, last_ordinal) =
                    latest.as_ref().map_or((0, 0), |e| (e.seq, e.ordinal));
                if record.kind == townhall_protocol::RoomKind::Dm
                    && s.dm_closed(user.id, room, last_seq)?
                {
                    continue;
                }
                let read_ordinal = match s.event(room, read_seq.min(last_seq))? {
                    Some(e) if read_seq > 0 => e.ordinal,
                    _ => 0,
                };
                let unread = last_ordinal.saturating_sub(read_ordinal);
                let mentions = if unread > 0 {
                    s.mention_count(room, read_seq, last_seq, user.id)?
                } else {
                    0
                };
                out.push(RoomSummary {
                    room: info,
                    last_seq,
                    read_seq,
                    unread,
                    mentions,
                    latest: latest.map(|e| e.decode()).transpose()?,
                });
            }
            // What changed most recently first.
            out.sort_by(|a, b| {
                let ta = a.latest.as_ref().map_or(0, |e| e.pos);
                let tb = b.latest.as_ref().map_or(0, |e| e.pos);
                tb.cmp(&ta)
            });
            Ok(out)
        })
        .await?;
    Ok(ServerFrame::Summary {
        req_id,
        rooms,
        more: false,
    })
}
