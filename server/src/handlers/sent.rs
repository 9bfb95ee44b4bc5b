//! `sent_broadcasts`: a leader's own past broadcasts, newest first, each
//! with its rooms, reach counts and text as history shows it now, a page at
//! a time. Read-only: no command, no tree of its own.
//!
//! **Who.** Leaders and admins (as their account is stored now); anyone
//! else gets `forbidden`. Each sees only the broadcasts they sent
//! themselves, admins included: the list is "what I sent", and an admin
//! looks at someone else's broadcast through `reach` with its id.
//!
//! **Cost.** One range read of at most [`SCAN_PER_REQUEST`] broadcast
//! records (tree `broadcast_record`, v7 ids so key order is sending order),
//! read newest first; for each of mine (at most `limit`, ≤ 100) one event
//! read per copy until a live one is found, and one room record per room.
//! The counts are the record's own (kept by the committer on each
//! receipt), so nothing scales with the audience.

use super::Ctx;
use crate::error::{Result, ServerError};
use townhall_protocol::sent::{
    DEFAULT_SENT_PAGE, MAX_SENT_PAGE, SENT_TEXT_CHARS, SentBroadcast, SentRoom,
};
use townhall_protocol::{Role, ServerFrame};
use uuid::Uuid;

/// Broadcast records looked at per request, mine or not. Every broadcast of
/// the organisation is a record and a leader sends few of them; the bound
/// keeps one request cheap however many others sent (the reply then
/// carries `before` and the client asks again).
const SCAN_PER_REQUEST: usize = 5_000;

/// Why someone who is neither a leader nor an admin is refused.
const NOT_ALLOWED: &str = "only leaders and admins list the broadcasts they sent";

pub async fn sent_broadcasts(
    ctx: &Ctx,
    req_id: Option<String>,
    before: Option<Uuid>,
    limit: Option<u32>,
) -> Result<ServerFrame> {
    let limit = limit.unwrap_or(DEFAULT_SENT_PAGE);
    if limit == 0 || limit > MAX_SENT_PAGE {
        return Err(ServerError::Invalid(format!(
            "limit is 1 to {MAX_SENT_PAGE}"
        )));
    }
    let me = ctx.user.id;
    ctx.app
        .read(move |s| {
            // Decided from the account as stored now, not as at login.
            let allowed = s
                .user(me)?
                .is_some_and(|u| !u.disabled && matches!(u.role, Role::Admin | Role::Leader));
            if !allowed {
                return Err(ServerError::Forbidden(NOT_ALLOWED));
            }
            let records = s.broadcasts_before(before, SCAN_PER_REQUEST)?;
            let scanned_all = records.len() < SCAN_PER_REQUEST;
            let mut out = Vec::new();
            let mut last_seen = None;
            for record in records {
                if out.len() == limit as usize {
                    break;
                }
                last_seen = Some(record.id);
                if record.sender.id != me {
                    continue;
                }
                let text = super::pulse::current_text(s, &record.rooms)?
                    .map(|t| t.chars().take(SENT_TEXT_CHARS).collect::<String>());
                let mut rooms = Vec::with_capacity(record.rooms.len());
                for (room, _) in &record.rooms {
                    let name = s.room(*room)?.map(|r| r.name).unwrap_or_default();
                    rooms.push(SentRoom { id: *room, name });
                }
                out.push(SentBroadcast {
                    broadcast: record.id,
                    sent_at: record.created_at,
                    rooms,
                    ack_requested: record.ack_requested,
                    counts: record.counts,
                    deleted: text.is_none(),
                    text,
                });
            }
            // More may exist unless every older record was looked at.
            let full_page = out.len() == limit as usize;
            let before = if full_page || !scanned_all {
                last_seen
            } else {
                None
            };
            Ok(ServerFrame::SentBroadcasts {
                req_id,
                broadcasts: out,
                before,
            })
        })
        .await
}
