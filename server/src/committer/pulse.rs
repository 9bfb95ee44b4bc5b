//! Pulse counters at apply: each room message, question asked and question
//! answered adds one to its room's row of that UTC day (`store/pulse.rs`).
//!
//! Deterministic: the day comes from the event's committed time (`ev.ts`)
//! or the command's stamped time (`self.now()`), and the row is read from
//! the group's overlay, so two messages of one group both count and every
//! cluster node writes the same rows. Cost per message: one room record
//! read (to skip direct messages, which are never counted) and one 160-byte
//! row read and written; nothing else is scanned.

use super::Worker;
use crate::error::Result;
use crate::store::{self, Batch, day_of};
use townhall_protocol::{Millis, RoomId, RoomKind};

impl Worker {
    /// Whether `room` is counted: a room, never a direct message.
    fn pulse_counted(&self, room: RoomId) -> Result<bool> {
        Ok(self
            .store
            .room(room)?
            .is_some_and(|r| r.kind == RoomKind::Room))
    }

    /// A message was posted in `room` at `ts` (a question if `question`).
    pub(super) fn pulse_message(
        &self,
        b: &mut Batch,
        room: RoomId,
        ts: Millis,
        question: bool,
    ) -> Result<()> {
        if !self.pulse_counted(room)? {
            return Ok(());
        }
        let day = day_of(ts);
        let mut counts = self.store.pulse_day(room, day)?;
        counts.messages += 1;
        if question {
            counts.asked += 1;
        }
        store::put_pulse_day(b, room, day, &counts);
        Ok(())
    }

    /// A question of `room` was answered at `at`, `took_ms` after it was
    /// asked.
    pub(super) fn pulse_answered(
        &self,
        b: &mut Batch,
        room: RoomId,
        at: Millis,
        took_ms: u64,
    ) -> Result<()> {
        if !self.pulse_counted(room)? {
            return Ok(());
        }
        let day = day_of(at);
        let mut counts = self.store.pulse_day(room, day)?;
        counts.add_answer(took_ms);
        store::put_pulse_day(b, room, day, &counts);
        Ok(())
    }
}
