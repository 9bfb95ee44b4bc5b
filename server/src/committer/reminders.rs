//! Broadcast reminders (issue 13): "remind those who have not acknowledged".
//!
//! Applied through the log like every write, so every node reminds the
//! same people at the same position. The reminder takes one position of
//! its own (no timeline event carries it: a room event would tell every
//! member, acknowledgers included, who was nudged) and each reminded
//! person gets a `broadcast_reminder` stored at that position in their
//! notices, so it reaches them live, or in order in their next login's
//! catch-up, exactly like a `notice`. The frame names only the broadcast
//! and who reminded: nobody learns who else was reminded. The sender
//! learns how many, which `reach` already tells them.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::frame::SharedFrame;
use crate::hub::Published;
use crate::store;
use townhall_protocol::{REMINDER_INTERVAL_MS, Reminder, Role, ServerFrame, UserInfo};
use uuid::Uuid;

impl Worker {
    pub(super) fn remind(
        &mut self,
        b: &mut store::Batch,
        p: &mut Pending,
        user: UserInfo,
        id: Uuid,
    ) -> Result<Reply> {
        let record = self.store.broadcast(id)?.ok_or(ServerError::NotFound)?;
        // The same rule as `reach`: its sender and admins (roles as stored
        // now, see `with_current_roles`); anyone else is told it does not exist.
        if record.sender.id != user.id && user.role != Role::Admin {
            return Err(ServerError::NotFound);
        }
        if !record.ack_requested {
            return Err(ServerError::Invalid(
                "this broadcast does not ask for acknowledgement".into(),
            ));
        }
        let now = self.now();
        // Decided on the apply time, so every node refuses the same ones.
        if let Some(last) = self.store.reminders(id, 1)?.first() {
            let next_at = last.at.saturating_add(REMINDER_INTERVAL_MS);
            if now < next_at {
                return Err(ServerError::RemindTooSoon { next_at });
            }
        }
        // Who is still waiting: in the audience as posted, not acknowledged,
        // not disabled, and still in one of the broadcast's rooms (the first
        // such room is where their copy is shown).
        let mut targets = Vec::new();
        for (reader, [_, _, acknowledged_at]) in self.store.reach_all(id)? {
            if acknowledged_at != 0 {
                continue;
            }
            if self.store.user(reader)?.is_none_or(|u| u.disabled) {
                continue;
            }
            for (room, seq) in &record.rooms {
                if self
                    .store
                    .membership(*room, reader)?
                    .is_some_and(|m| m.is_current())
                {
                    targets.push((reader, *room, *seq));
                    break;
                }
            }
        }
        if targets.is_empty() {
            // Nothing sent, nothing recorded: the hourly limit is not used up.
            return Ok(Reply::Reminded {
                reminded: 0,
                at: now,
            });
        }
        self.last_pos += 1;
        let pos = self.last_pos;
        store::put_last_pos(b, pos);
        // Moves `published` past this position once durable (see `Published::marker`).
        p.events.push(Published::marker(pos));
        for (reader, room, seq) in &targets {
            let frame = ServerFrame::BroadcastReminder {
                pos,
                broadcast: id,
                room: *room,
                seq: *seq,
                sender: record.sender.clone(),
                by: user.clone(),
                at: now,
            };
            let json = frame.to_json();
            store::put_notice(b, *reader, pos, json.as_bytes());
            p.notices.push((*reader, pos, SharedFrame::from(json)));
        }
        let reminded = targets.len() as u64;
        store::put_reminder(
            b,
            id,
            &Reminder {
                at: now,
                reminded,
                by: user,
            },
        );
        Ok(Reply::Reminded { reminded, at: now })
    }
}
