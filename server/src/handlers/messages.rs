//! `send`, `history` and `thread`.

use super::{Ctx, readable_room, require_member};
use crate::committer::{Command, Reply};
use crate::error::{Result, ServerError};
use crate::frame::shared;
use townhall_protocol::{
    Content, MAX_BODY_BYTES, MAX_PAGE, MAX_REPLY_BYTES, RoomId, RoomSeq, ServerFrame,
};
use uuid::Uuid;

/// Queue a message for the committer; the `ack` (or `error`) follows once it
/// is durable. Sends of one connection enter the committer in the order they
/// arrived, so they keep that order in the room.
/// A body must be 1 to `MAX_BODY_BYTES` bytes.
pub(crate) fn check_body(body: &str) -> Result<()> {
    if body.is_empty() || body.len() > MAX_BODY_BYTES {
        return Err(ServerError::BodyTooLarge {
            got: body.len(),
            max: MAX_BODY_BYTES,
        });
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn send(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    client_id: Uuid,
    body: String,
    thread: Option<RoomSeq>,
    question: bool,
    attachments: Vec<Uuid>,
) -> Result<()> {
    if attachments.len() > townhall_protocol::MAX_ATTACHMENTS {
        return Err(ServerError::Invalid(format!(
            "a message carries at most {} files",
            townhall_protocol::MAX_ATTACHMENTS
        )));
    }
    // With files the body is their caption, and may be empty.
    if attachments.is_empty() || !body.is_empty() {
        check_body(&body)?;
    }
    require_member(ctx, room)?;
    let permit = ctx
        .in_flight
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ServerError::ShuttingDown)?;
    let cmd = Command::Post {
        user: ctx.user.info(),
        room,
        client_id,
        body,
        thread,
        question,
        attachments,
    };
    // Ack latency starts when the send reaches the committer's queue: the
    // wait for a permit above is this client's own pipelining limit.
    let queued = std::time::Instant::now();
    let ack_to = crate::committer::AckTo {
        frames: ctx.frames.clone(),
        req_id: req_id.clone(),
        client_id,
        queued,
    };
    let reply = ctx.app.committer.enqueue_acked(cmd, Some(ack_to)).await?;
    let frames = ctx.frames.clone();
    tokio::spawn(async move {
        let frame = match reply.await {
            Ok(Ok(Reply::Delivered)) => {
                // The worker wrote the ack into the queue itself (and
                // recorded its latency).
                drop(permit);
                return;
            }
            Ok(Ok(Reply::Ack { ack, duplicate })) => {
                crate::metrics::record_ack(queued.elapsed());
                ServerFrame::Ack {
                    req_id,
                    client_id,
                    room: ack.room,
                    seq: ack.seq,
                    pos: ack.pos,
                    ts: ack.ts,
                    duplicate,
                }
            }
            Ok(Ok(_)) => {
                // Not the reply itself: a `User` reply's Debug would carry
                // a password hash into the log.
                tracing::error!("committer answered a post with a non-ack");
                error_frame(req_id, &ServerError::Internal("unexpected reply".into()))
            }
            Ok(Err(e)) => error_frame(req_id, &e),
            Err(_) => error_frame(req_id, &ServerError::ShuttingDown),
        };
        let _ = frames.send(shared(&frame)).await;
        drop(permit);
    });
    Ok(())
}

fn error_frame(req_id: Option<String>, e: &ServerError) -> ServerFrame {
    if e.is_server_side() {
        tracing::error!(error = %e, "send failed");
    }
    ServerFrame::error(req_id, e.code(), e.client_message())
}

pub async fn history(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    before: Option<RoomSeq>,
    after: Option<RoomSeq>,
    limit: Option<u32>,
) -> Result<ServerFrame> {
    if before.is_some() && after.is_some() {
        return Err(ServerError::Invalid(
            "give `before` or `after`, not both".into(),
        ));
    }
    readable_room(ctx, room).await?;
    let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE) as usize;
    let visible = ctx.app.hub.published();
    let (mut page, mut has_more) = ctx
        .app
        .read(move |s| Ok(s.history(room, before, after, limit, visible)?))
        .await?;
    // A page ends early at the reply budget: a few hundred maximal bodies
    // would be tens of megabytes. Keep the end nearest the cursor.
    has_more |= crate::reply::fit_page(&mut page, after.is_none(), MAX_REPLY_BYTES);
    let events = page
        .iter()
        .map(|e| e.decode())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ServerFrame::History {
        req_id,
        room,
        events,
        has_more,
    })
}

/// Replies a `thread` reply carries when the client gives no `limit`.
const THREAD_PAGE: usize = 100;

/// One thread: its first message as it is now, and a page of its replies.
///
/// The committer indexes each reply under its thread (`room_thread_reply`),
/// so a page costs one range read of the index and a point read per reply,
/// however long the room's timeline is between them.
pub async fn thread(
    ctx: &Ctx,
    req_id: Option<String>,
    room: RoomId,
    seq: RoomSeq,
    after: Option<RoomSeq>,
    limit: Option<u32>,
) -> Result<ServerFrame> {
    readable_room(ctx, room).await?;
    let limit = limit.map_or(THREAD_PAGE, |l| l.clamp(1, MAX_PAGE) as usize);
    let visible = ctx.app.hub.published();
    let (parent, replies, has_more) = ctx
        .app
        .read(move |s| {
            let stored = s
                .event(room, seq)?
                .filter(|e| e.pos <= visible)
                .ok_or(ServerError::NotFound)?;
            let parent = stored.decode()?;
            match parent.content {
                Content::Message { thread: None, .. } | Content::Broadcast { .. } => {}
                _ => {
                    return Err(ServerError::Invalid(format!(
                        "seq {seq} does not start a thread"
                    )));
                }
            }
            // One more than a page tells whether another page follows.
            let seqs = s.thread_replies(room, seq, after.unwrap_or(0), limit + 1)?;
            let mut page = Vec::with_capacity(seqs.len().min(limit));
            let mut has_more = false;
            for reply in seqs {
                // Not yet durable and published: not visible to anyone yet.
                let Some(stored) = s.event(room, reply)?.filter(|e| e.pos <= visible) else {
                    break;
                };
                if page.len() == limit {
                    has_more = true;
                    break;
                }
                page.push(stored);
            }
            // The parent travels beside the page: the replies get the rest
            // of the reply budget (and one reply at least).
            let budget = MAX_REPLY_BYTES.saturating_sub(stored.json.len());
            has_more |= crate::reply::fit_page(&mut page, false, budget);
            let replies = page
                .iter()
                .map(|e| e.decode())
                .collect::<Result<Vec<_>, _>>()?;
            Ok((parent, replies, has_more))
        })
        .await?;
    Ok(ServerFrame::Thread {
        req_id,
        room,
        parent,
        replies,
        has_more,
    })
}
