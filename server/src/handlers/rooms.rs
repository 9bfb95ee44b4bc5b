//! Room requests: create, direct messages, join, leave, add and remove
//! members, and the listings (my rooms, directory, members, users).

use super::{Ctx, readable_room};
use crate::committer::{Command, Reply};
use crate::error::{Result, ServerError};
use crate::store::RoomRecord;
use townhall_protocol::{MemberInfo, RoomId, RoomKind, ServerFrame, UserInfo, Visibility};

/// Longest room name and topic, in characters: a name is a label in a
/// sidebar, a topic a sentence or two.
pub(super) const MAX_NAME_CHARS: usize = 80;
pub(super) const MAX_TOPIC_CHARS: usize = 500;

pub(super) fn expect_room(reply: Reply) -> Result<RoomRecord> {
    match reply {
        Reply::Room(r) => Ok(r),
        other => Err(ServerError::Internal(format!(
            "expected a room, got {other:?}"
        ))),
    }
}

fn expect_done(reply: Reply) -> Result<u64> {
    match reply {
        Reply::Done(pos) => Ok(pos),
        other => Err(ServerError::Internal(format!(
            "expected done, got {other:?}"
        ))),
    }
}

pub(super) async fn room_frame(
    ctx: &Ctx,
    req_id: Option<String>,
    record: RoomRecord,
) -> Result<ServerFrame> {
    let app = ctx.app.clone();
    let viewer = ctx.user.id;
    let room = tokio::task::spawn_blocking(move || app.room_info(&record, viewer))
        .await
        .map_err(|e| ServerError::Internal(e.to_string()))??;
    Ok(ServerFrame::Room { req_id, room })
}

/// An active user by username, or `NotFound`.
async fn active_user(ctx: &Ctx, username: String) -> Result<UserInfo> {
    let user = ctx
        .app
        .read(move |s| Ok(s.user_by_name(&username)?))
        .await?;
    match user {
        Some(u) if !u.disabled => Ok(u.info()),
        _ => Err(ServerError::NotFound),
    }
}

pub async fn create(
    ctx: &Ctx,
    req_id: Option<String>,
    name: String,
    topic: String,
    visibility: Visibility,
    announce_only: bool,
) -> Result<ServerFrame> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ServerError::Invalid(format!(
            "a room name is 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    crate::names::refuse_bidi("room name", &name)?;
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(ServerError::Invalid(format!(
            "a topic is at most {MAX_TOPIC_CHARS} characters"
        )));
    }
    let reply = ctx
        .app
        .committer
        .submit(Command::CreateRoom {
            user: ctx.user.info(),
            name,
            topic,
            visibility,
            announce_only,
        })
        .await?;
    room_frame(ctx, req_id, expect_room(reply)?).await
}

pub async fn open_dm(ctx: &Ctx, req_id: Option<String>, username: String) -> Result<ServerFrame> {
    let peer = active_user(ctx, username).await?;
    if peer.id == ctx.user.id {
        return Err(ServerError::Invalid(
            "a direct conversation needs another person".into(),
        ));
    }
    let reply = ctx
        .app
        .committer
        .submit(Command::OpenDm {
            user: ctx.user.info(),
            peer,
        })
        .await?;
    room_frame(ctx, req_id, expect_room(reply)?).await
}

pub async fn join(ctx: &Ctx, req_id: Option<String>, room: RoomId) -> Result<ServerFrame> {
    let cmd = Command::Join {
        user: ctx.user.info(),
        server_role: ctx.user.role,
        room,
    };
    let reply = ctx.app.committer.submit(cmd).await?;
    room_frame(ctx, req_id, expect_room(reply)?).await
}

pub async fn leave(ctx: &Ctx, req_id: Option<String>, room: RoomId) -> Result<ServerFrame> {
    let reply = ctx
        .app
        .committer
        .submit(Command::Leave {
            user: ctx.user.info(),
            room,
        })
        .await?;
    Ok(ServerFrame::Ok {
        req_id,
        pos: expect_done(reply)?,
    })
}

pub async fn add_member(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    username: String,
) -> Result<ServerFrame> {
    // A private room the caller is not in must answer not_found even when
    // the username is wrong too, so check the room first.
    visible_for_management(ctx, room).await?;
    let target = active_user(ctx, username).await?;
    if ctx.user.role != townhall_protocol::Role::Admin
        && target.id != ctx.user.id
        && !ctx.app.adds.allow(ctx.user.id, target.id)
    {
        return Err(ServerError::RateLimited);
    }
    let cmd = Command::AddMember {
        actor: ctx.user.info(),
        actor_role: ctx.user.role,
        room,
        target,
    };
    let reply = ctx.app.committer.submit(cmd).await?;
    Ok(ServerFrame::Ok {
        req_id,
        pos: expect_done(reply)?,
    })
}

pub async fn remove_member(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    username: String,
) -> Result<ServerFrame> {
    let target = managed_member(ctx, room, username).await?;
    let cmd = Command::RemoveMember {
        actor: ctx.user.info(),
        actor_role: ctx.user.role,
        room,
        target: target.info(),
    };
    let reply = ctx.app.committer.submit(cmd).await?;
    Ok(ServerFrame::Ok {
        req_id,
        pos: expect_done(reply)?,
    })
}

/// The room must be one the caller may manage; the user named is looked
/// up (unknown: `NotMember`, like a user who is not in the room).
async fn managed_member(
    ctx: &Ctx,
    room: RoomId,
    username: String,
) -> Result<crate::store::UserRecord> {
    visible_for_management(ctx, room).await?;
    ctx.app
        .read(move |s| Ok(s.user_by_name(&username)?))
        .await?
        .ok_or(ServerError::NotMember)
}

/// Admins manage every room (the committer still checks it exists);
/// everyone else must be able to read it.
async fn visible_for_management(ctx: &Ctx, room: RoomId) -> Result<()> {
    if ctx.user.role == townhall_protocol::Role::Admin {
        return Ok(());
    }
    readable_room(ctx, room).await.map(|_| ())
}

pub async fn my_rooms(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let app = ctx.app.clone();
    let viewer = ctx.user.id;
    let rooms = app
        .clone()
        .read(move |s| {
            let mut out = Vec::new();
            for id in app.hub.rooms_of(viewer) {
                let Some(record) = s.room(id)? else {
                    continue;
                };
                if record.kind == RoomKind::Dm {
                    let last = s.last_event(id, app.hub.published())?.map_or(0, |e| e.seq);
                    if s.dm_closed(viewer, id, last)? {
                        continue;
                    }
                }
                out.push(app.room_info(&record, viewer)?);
            }
            Ok(out)
        })
        .await?;
    Ok(ServerFrame::Rooms {
        req_id,
        rooms,
        more: false,
    })
}

pub async fn directory(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let app = ctx.app.clone();
    let viewer = ctx.user.id;
    let rooms = app
        .clone()
        .read(move |s| {
            s.rooms()?
                .into_iter()
                .filter(|r| {
                    r.visibility == Visibility::Public && r.kind == RoomKind::Room && !r.archived
                })
                .map(|r| app.room_info(&r, viewer))
                .collect()
        })
        .await?;
    Ok(ServerFrame::Rooms {
        req_id,
        rooms,
        more: false,
    })
}

pub async fn members(ctx: &Ctx, req_id: Option<String>, room: RoomId) -> Result<ServerFrame> {
    readable_room(ctx, room).await?;
    let roles = ctx.app.hub.members(room);
    let members = ctx
        .app
        .read(move |s| {
            let mut out = Vec::with_capacity(roles.len());
            for (user, role) in roles {
                if let Some(u) = s.user(user)? {
                    out.push(MemberInfo {
                        user: u.info(),
                        role,
                    });
                }
            }
            out.sort_by(|a, b| a.user.username.cmp(&b.user.username));
            Ok(out)
        })
        .await?;
    Ok(ServerFrame::Members {
        req_id,
        room,
        members,
        more: false,
    })
}

pub async fn users(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let users = ctx
        .app
        .read(|s| {
            let mut users: Vec<UserInfo> = s
                .users()?
                .into_iter()
                .filter(|u| !u.disabled)
                .map(|u| u.info())
                .collect();
            users.sort_by(|a, b| a.username.cmp(&b.username));
            Ok(users)
        })
        .await?;
    Ok(ServerFrame::Users {
        req_id,
        users,
        more: false,
    })
}

/// `set_room_role`: the room's owner (or an admin) makes a member a
/// moderator, or a plain member again.
pub async fn set_room_role(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    username: String,
    role: townhall_protocol::RoomRole,
) -> Result<ServerFrame> {
    let target = managed_member(ctx, room, username).await?;
    let cmd = Command::SetRoomRole {
        actor: ctx.user.info(),
        actor_role: ctx.user.role,
        room,
        target: target.info(),
        role,
    };
    let reply = ctx.app.committer.submit(cmd).await?;
    Ok(ServerFrame::Ok {
        req_id,
        pos: expect_done(reply)?,
    })
}
