//! `broadcast`, `broadcast_receipt`, `reach`, `broadcast_remind`, `pending_acks`,
//! `follow`, `following`.

use super::Ctx;
use crate::committer::{Command, Reply};
use crate::error::{Result, ServerError};
use townhall_protocol::{Content, PendingAck, ReachEntry, ReceiptKind, Role, RoomId, ServerFrame};
use uuid::Uuid;

pub async fn broadcast(
    ctx: &Ctx,
    req_id: Option<String>,
    client_id: Uuid,
    body: String,
    rooms: Vec<RoomId>,
    ack_requested: bool,
) -> Result<ServerFrame> {
    super::messages::check_body(&body)?;
    let cmd = Command::Broadcast {
        user: ctx.user.info(),
        client_id,
        body,
        rooms,
        ack_requested,
    };
    match ctx.app.committer.submit(cmd).await? {
        Reply::Broadcast {
            id,
            audience,
            duplicate,
        } => Ok(ServerFrame::BroadcastPosted {
            req_id,
            broadcast: id,
            audience,
            duplicate,
        }),
        other => Err(ServerError::Internal(format!(
            "expected a broadcast, got {other:?}"
        ))),
    }
}

/// Fire and forget: a receipt for something not in my audience is ignored.
pub fn receipt(ctx: &Ctx, broadcast: Uuid, kind: ReceiptKind) {
    ctx.app.committer.fire_and_forget(Command::Receipt {
        user: ctx.user.id,
        broadcast,
        kind,
    });
}

/// Reach of a broadcast, for its sender and admins; anyone else is told it
/// does not exist.
pub async fn reach(ctx: &Ctx, req_id: Option<String>, broadcast: Uuid) -> Result<ServerFrame> {
    let viewer = ctx.user.clone();
    ctx.app
        .read(move |s| {
            let record = s.broadcast(broadcast)?.ok_or(ServerError::NotFound)?;
            if record.sender.id != viewer.id && viewer.role != Role::Admin {
                return Err(ServerError::NotFound);
            }
            let mut readers = Vec::new();
            for (user, [delivered_at, opened_at, acknowledged_at]) in s.reach_all(broadcast)? {
                if let Some(u) = s.user(user)? {
                    readers.push(ReachEntry {
                        user: u.info(),
                        delivered_at,
                        opened_at,
                        acknowledged_at,
                    });
                }
            }
            // Who has not yet acknowledged (then opened, then received) first.
            readers.sort_by_key(|r| {
                (
                    r.acknowledged_at != 0,
                    r.opened_at != 0,
                    r.delivered_at != 0,
                    r.user.username.clone(),
                )
            });
            let reminders = s.reminders(broadcast, townhall_protocol::MAX_REMINDERS_LISTED)?;
            Ok(ServerFrame::Reach {
                req_id,
                broadcast,
                counts: record.counts,
                readers,
                ack_requested: record.ack_requested,
                reminders,
                more: false,
            })
        })
        .await
}

/// Remind those of the audience who have not acknowledged (the sender and
/// admins; the rules are applied in `committer/reminders.rs`).
pub async fn remind(ctx: &Ctx, req_id: Option<String>, broadcast: Uuid) -> Result<ServerFrame> {
    let cmd = Command::Remind {
        user: ctx.user.info(),
        broadcast,
    };
    match ctx.app.committer.submit(cmd).await? {
        Reply::Reminded { reminded, at } => Ok(ServerFrame::BroadcastReminded {
            req_id,
            broadcast,
            reminded,
            at,
        }),
        other => Err(ServerError::Internal(format!(
            "expected a reminder, got {other:?}"
        ))),
    }
}

pub async fn pending_acks(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let user = ctx.user.id;
    let visible = ctx.app.hub.published();
    ctx.app
        .read(move |s| {
            let mut broadcasts = Vec::new();
            for id in s.pending_acks(user)? {
                let Some(record) = s.broadcast(id)? else {
                    continue;
                };
                // Show it where the reader can see it: the first room they are in.
                for (room, seq) in &record.rooms {
                    if !s.membership(*room, user)?.is_some_and(|m| m.is_current()) {
                        continue;
                    }
                    let Some(stored) = s.event(*room, *seq)? else {
                        continue;
                    };
                    if stored.pos > visible {
                        continue;
                    }
                    let ev = stored.decode()?;
                    if let Content::Broadcast { body, .. } = ev.content {
                        broadcasts.push(PendingAck {
                            broadcast: id,
                            room: *room,
                            seq: *seq,
                            sender: ev.sender,
                            body,
                            ts: ev.ts,
                        });
                        break;
                    }
                }
            }
            broadcasts.sort_by_key(|b| b.ts);
            Ok(ServerFrame::PendingAcks {
                req_id,
                broadcasts,
                more: false,
            })
        })
        .await
}

pub async fn follow(
    ctx: &Ctx,
    req_id: Option<String>,
    username: String,
    on: bool,
) -> Result<ServerFrame> {
    let leader = ctx
        .app
        .read(move |s| Ok(s.user_by_name(&username)?))
        .await?;
    let leader = match leader {
        Some(u) if !u.disabled => u.info(),
        _ => return Err(ServerError::NotFound),
    };
    match ctx
        .app
        .committer
        .submit(Command::Follow {
            user: ctx.user.info(),
            leader,
            on,
        })
        .await?
    {
        Reply::Done(pos) => Ok(ServerFrame::Ok { req_id, pos }),
        other => Err(ServerError::Internal(format!(
            "expected done, got {other:?}"
        ))),
    }
}

/// The leaders I follow: those whose followers room I am a member of.
pub async fn following(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let rooms = ctx
        .app
        .read(|s| {
            let mut out = Vec::new();
            for user in s.users()? {
                if let Some(room) = s.followers_room(user.id)? {
                    out.push((user.info(), room));
                }
            }
            Ok(out)
        })
        .await?;
    let me = ctx.user.id;
    let users = rooms
        .into_iter()
        // A leader is a member (the owner) of their own followers room.
        .filter(|(user, room)| user.id != me && ctx.app.hub.role_in(*room, me).is_some())
        .map(|(user, _)| user)
        .collect();
    Ok(ServerFrame::Following {
        req_id,
        users,
        more: false,
    })
}
