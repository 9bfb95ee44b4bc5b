//! Replies that always fit the socket.
//!
//! How big a reply gets depends on data that other people control: how many
//! rooms I am in, how many members a room has, what was posted. The socket
//! writes a frame only up to its buffer ([`MAX_SERVER_FRAME_BYTES`]), and a
//! frame beyond it would end the connection, at every login, for good. So
//! no reply is sent whole without a size check:
//! - a list reply over [`MAX_REPLY_BYTES`] leaves as several parts that
//!   share the `req_id`, all but the last marked `more: true` ([`parts`]);
//! - a `history` or `thread` page stops at [`MAX_REPLY_BYTES`] of events
//!   with `has_more: true` ([`fit_page`]), so the client asks for the rest;
//! - no single item can exceed [`MAX_EVENT_BYTES`] (bodies, names and
//!   reaction lists are bounded), so a part holds at most
//!   `MAX_REPLY_BYTES` + one item + the frame's own fields.
//!
//! A frame that still came out over the cap is a bug: it is logged and
//! replaced by an `internal` error with the same `req_id`, never sent.
//!
//! [`MAX_EVENT_BYTES`]: townhall_protocol::MAX_EVENT_BYTES

use crate::frame::{SharedFrame, shared};
use crate::store::StoredEvent;
use serde::Serialize;
use townhall_protocol::{ErrorCode, MAX_REPLY_BYTES, MAX_SERVER_FRAME_BYTES, ServerFrame};

/// The frames that carry `frame`: itself when it fits in
/// [`MAX_REPLY_BYTES`], otherwise its list split into parts.
pub fn parts(frame: ServerFrame) -> Vec<SharedFrame> {
    let whole = shared(&frame);
    if whole.len() <= MAX_REPLY_BYTES {
        return vec![whole];
    }
    drop(whole);
    let req_id = frame.req_id().map(str::to_owned);
    let parts: Vec<SharedFrame> = split(frame).iter().map(shared).collect();
    match parts.iter().map(|p| p.len()).max() {
        Some(largest) if largest > MAX_SERVER_FRAME_BYTES => {
            // One error for the whole reply, not a reply with a hole: a
            // client joining parts would wait for the rest forever.
            tracing::error!(
                bytes = largest,
                "a reply part is over the frame cap; answering `internal`"
            );
            vec![shared(&ServerFrame::error(
                req_id,
                ErrorCode::Internal,
                "the reply is too large to send",
            ))]
        }
        _ => parts,
    }
}

/// Trim a page of stored events (oldest first) to [`MAX_REPLY_BYTES`],
/// keeping the end nearest the cursor: the newest events when paging
/// backwards (`keep_newest`), the oldest when paging forwards. At least one
/// event is always kept. Returns whether any were dropped.
pub fn fit_page(page: &mut Vec<StoredEvent>, keep_newest: bool, budget: usize) -> bool {
    let mut used = 0;
    let mut kept = 0;
    let sizes: Vec<usize> = page.iter().map(|e| e.json.len() + 1).collect();
    let order: Box<dyn Iterator<Item = &usize>> = if keep_newest {
        Box::new(sizes.iter().rev())
    } else {
        Box::new(sizes.iter())
    };
    for size in order {
        if kept > 0 && used + size > budget {
            break;
        }
        used += size;
        kept += 1;
    }
    let dropped = page.len() - kept;
    if dropped == 0 {
        return false;
    }
    if keep_newest {
        page.drain(..dropped);
    } else {
        page.truncate(kept);
    }
    true
}

/// A stored event as a frame for the backlog. Events are bounded by
/// construction (`MAX_EVENT_BYTES`), but the backlog sends what is stored,
/// and data written before a bound existed (reaction lists before
/// `REACTORS_LISTED`) could be larger than the socket takes: such an event
/// goes out without its `state` (history shows the state, paged), never as
/// a frame that would end the connection at every login. `None` for a
/// stored event that is not an event at all (logged).
pub fn stored_event_frame(e: StoredEvent) -> Option<SharedFrame> {
    if e.json.len() <= MAX_SERVER_FRAME_BYTES {
        return match String::from_utf8(e.json) {
            Ok(text) => Some(SharedFrame::from(text)),
            Err(_) => {
                tracing::error!("stored event is not UTF-8");
                None
            }
        };
    }
    let mut event = match e.decode() {
        Ok(event) => event,
        Err(err) => {
            tracing::error!(error = %err, "stored event does not decode");
            return None;
        }
    };
    tracing::error!(
        room = %event.room,
        seq = event.seq,
        bytes = e.json.len(),
        "a stored event is over the frame cap; sending it without its state"
    );
    event.state = Default::default();
    Some(shared(&ServerFrame::Event(event)))
}

/// Cut `items` into runs of at most [`MAX_REPLY_BYTES`] serialized bytes
/// (a run holds one item at least; there is always one run).
fn runs<T: Serialize>(items: Vec<T>) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    let mut used = 0;
    for item in items {
        // Items are plain data: serializing cannot fail; 0 would only make
        // a run longer, and `parts` still checks the frame.
        let size = serde_json::to_vec(&item).map_or(0, |v| v.len()) + 1;
        if !run.is_empty() && used + size > MAX_REPLY_BYTES {
            out.push(std::mem::take(&mut run));
            used = 0;
        }
        used += size;
        run.push(item);
    }
    out.push(run);
    out
}

/// Build one frame per run; every part but the last has `more: true`.
fn assemble<T>(
    runs: Vec<Vec<T>>,
    mut build: impl FnMut(Vec<T>, bool) -> ServerFrame,
) -> Vec<ServerFrame> {
    let n = runs.len();
    runs.into_iter()
        .enumerate()
        .map(|(i, run)| build(run, i + 1 < n))
        .collect()
}

fn split(frame: ServerFrame) -> Vec<ServerFrame> {
    use ServerFrame as F;
    match frame {
        F::Rooms { req_id, rooms, .. } => assemble(runs(rooms), |rooms, more| F::Rooms {
            req_id: req_id.clone(),
            rooms,
            more,
        }),
        F::Members {
            req_id,
            room,
            members,
            ..
        } => assemble(runs(members), |members, more| F::Members {
            req_id: req_id.clone(),
            room,
            members,
            more,
        }),
        F::Users { req_id, users, .. } => assemble(runs(users), |users, more| F::Users {
            req_id: req_id.clone(),
            users,
            more,
        }),
        F::Summary { req_id, rooms, .. } => assemble(runs(rooms), |rooms, more| F::Summary {
            req_id: req_id.clone(),
            rooms,
            more,
        }),
        F::Following { req_id, users, .. } => assemble(runs(users), |users, more| F::Following {
            req_id: req_id.clone(),
            users,
            more,
        }),
        F::Reach {
            req_id,
            broadcast,
            counts,
            readers,
            ack_requested,
            reminders,
            ..
        } => assemble(runs(readers), |readers, more| F::Reach {
            req_id: req_id.clone(),
            broadcast,
            counts: counts.clone(),
            readers,
            ack_requested,
            // At most `MAX_REMINDERS_LISTED` small entries: repeated in
            // each part, like the counts.
            reminders: reminders.clone(),
            more,
        }),
        F::PendingAcks {
            req_id, broadcasts, ..
        } => assemble(runs(broadcasts), |broadcasts, more| F::PendingAcks {
            req_id: req_id.clone(),
            broadcasts,
            more,
        }),
        F::Questions {
            req_id,
            questions,
            open,
            median_answer_ms_7d,
            median_answer_ms_30d,
            ..
        } => assemble(runs(questions), |questions, more| F::Questions {
            req_id: req_id.clone(),
            questions,
            open,
            median_answer_ms_7d,
            median_answer_ms_30d,
            more,
        }),
        F::Online { req_id, users, .. } => assemble(runs(users), |users, more| F::Online {
            req_id: req_id.clone(),
            users,
            more,
        }),
        F::Blocked { req_id, users, .. } => assemble(runs(users), |users, more| F::Blocked {
            req_id: req_id.clone(),
            users,
            more,
        }),
        // Not a list: `history` and `thread` are paged by their handlers,
        // everything else is small by construction; `parts` checks it.
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use townhall_protocol::{RoomId, UserId};

    #[test]
    fn a_long_list_leaves_in_parts_that_fit_and_join_back_whole() {
        let users: Vec<UserId> = (0..40_000).map(|_| UserId::new()).collect();
        let frame = ServerFrame::Online {
            req_id: Some("o".into()),
            users: users.clone(),
            more: false,
        };
        let parts = parts(frame);
        assert!(parts.len() > 1, "{} parts", parts.len());
        let mut joined: Option<ServerFrame> = None;
        for (i, p) in parts.iter().enumerate() {
            assert!(
                p.len() <= MAX_REPLY_BYTES + 64,
                "part {i}: {} bytes",
                p.len()
            );
            let f: ServerFrame = serde_json::from_str(p.as_str()).expect("part decodes");
            assert_eq!(f.has_more_parts(), i + 1 < parts.len());
            match &mut joined {
                None => joined = Some(f),
                Some(j) => j.absorb(f).expect("same kind"),
            }
        }
        match joined {
            Some(ServerFrame::Online {
                users: got, more, ..
            }) => {
                assert!(!more);
                assert_eq!(got, users);
            }
            other => panic!("joined into {other:?}"),
        }
    }

    #[test]
    fn a_small_reply_is_one_frame_without_more() {
        let frame = ServerFrame::Rooms {
            req_id: None,
            rooms: Vec::new(),
            more: false,
        };
        let parts = parts(frame);
        assert_eq!(parts.len(), 1);
        assert!(!parts[0].as_str().contains("more"));
        let _ = RoomId::new();
    }
}
