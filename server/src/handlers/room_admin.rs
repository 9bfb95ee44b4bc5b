//! `update_room`: the room's owner or an admin renames it, changes its
//! topic, archives or unarchives it. The handler checks the shape (length,
//! no bidirectional controls); who may, and whether the name is free, is
//! decided when the command is applied (`committer/room_admin.rs`).

use super::Ctx;
use super::rooms::{MAX_NAME_CHARS, MAX_TOPIC_CHARS, expect_room, room_frame};
use crate::committer::{Command, RoomAdminOp};
use crate::error::{Result, ServerError};
use townhall_protocol::{RoomId, ServerFrame};

pub async fn update_room(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    name: Option<String>,
    topic: Option<String>,
    archived: Option<bool>,
) -> Result<ServerFrame> {
    let name = match name {
        Some(n) => {
            let n = n.trim().to_owned();
            if n.is_empty() || n.chars().count() > MAX_NAME_CHARS {
                return Err(ServerError::Invalid(format!(
                    "a room name is 1 to {MAX_NAME_CHARS} characters"
                )));
            }
            crate::names::refuse_bidi("room name", &n)?;
            Some(n)
        }
        None => None,
    };
    if let Some(t) = &topic
        && t.chars().count() > MAX_TOPIC_CHARS
    {
        return Err(ServerError::Invalid(format!(
            "a topic is at most {MAX_TOPIC_CHARS} characters"
        )));
    }
    let cmd = Command::RoomAdmin(RoomAdminOp::Update {
        actor: ctx.user.info(),
        room,
        name,
        topic,
        archived,
    });
    let reply = ctx.app.committer.submit(cmd).await?;
    room_frame(ctx, req_id, expect_room(reply)?).await
}
