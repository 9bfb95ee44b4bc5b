//! `received_broadcasts`: the broadcasts I received, newest first, with my
//! own reach times, a page at a time.

use super::Ctx;
use crate::error::{Result, ServerError};
use townhall_protocol::received::{MAX_RECEIVED_PAGE, ReceivedBroadcast};
use townhall_protocol::{Content, ServerFrame};
use uuid::Uuid;

/// Broadcast records looked at per request, received by me or not. Every
/// broadcast of the organisation is a record, and most people receive
/// most of them; the bound keeps a request cheap for someone who received
/// few (the reply then carries `before` and the client asks again).
const SCAN_PER_REQUEST: usize = 1_000;

pub async fn received_broadcasts(
    ctx: &Ctx,
    req_id: Option<String>,
    before: Option<Uuid>,
    limit: Option<u32>,
) -> Result<ServerFrame> {
    let limit = limit.unwrap_or(MAX_RECEIVED_PAGE);
    if limit == 0 || limit > MAX_RECEIVED_PAGE {
        return Err(ServerError::Invalid(format!(
            "limit is 1 to {MAX_RECEIVED_PAGE}"
        )));
    }
    let user = ctx.user.id;
    let visible = ctx.app.hub.published();
    ctx.app
        .read(move |s| {
            let records = s.broadcasts_before(before, SCAN_PER_REQUEST)?;
            let scanned_all = records.len() < SCAN_PER_REQUEST;
            let mut out = Vec::new();
            let mut last_seen = None;
            for record in records {
                if out.len() == limit as usize {
                    break;
                }
                last_seen = Some(record.id);
                let Some([delivered_at, opened_at, acknowledged_at]) = s.reach(record.id, user)?
                else {
                    continue;
                };
                // Shown where the reader can see it: the first of its rooms
                // they are in, if the message is still there (not deleted).
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
                        out.push(ReceivedBroadcast {
                            broadcast: record.id,
                            room: *room,
                            seq: *seq,
                            sender: ev.sender,
                            body,
                            ts: ev.ts,
                            ack_requested: record.ack_requested,
                            delivered_at,
                            opened_at,
                            acknowledged_at,
                        });
                        break;
                    }
                }
            }
            // More may exist unless every older record was looked at.
            let full_page = out.len() == limit as usize;
            let before = if full_page || !scanned_all {
                last_seen
            } else {
                None
            };
            Ok(ServerFrame::ReceivedBroadcasts {
                req_id,
                broadcasts: out,
                before,
            })
        })
        .await
}
