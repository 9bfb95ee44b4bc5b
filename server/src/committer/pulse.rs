//! Pulse counters at apply: each room message, question asked and question
//! answered adds one to its room's row of that UTC day (`store/pulse.rs`).
//!
//! Deterministic: the day comes from the event's committed time (`ev.ts`)
//! or the command's stamped time (`self.now()`), so every cluster node
//! counts the same rows.
//!
//! Counted in memory, written in bulk. A message changes its row in
//! [`PulseRows`] only (the send path passes the room's kind it has
//! already read, so no extra room read either); the rows changed since the
//! last write go into the batch of the first job applied at least
//! `WRITE_EVERY_MS` (5 s of apply time) after the last write (or once
//! `WRITE_ROWS` wait, or at the end of a job that answered a question),
//! with meta `pulse_pos`: the position they count up to and the apply time.
//! A busy room then costs one row write per 5 s instead of one per
//! message: a store write per message was 12-18 % of saturated durable
//! acks/s (docs/benchmarks.md). What makes the rows due depends on the
//! commands alone, so every cluster node writes the same rows after the
//! same log entry.
//!
//! Nothing is lost or counted twice:
//! - a job that fails, or a group whose apply fails, leaves the rows as
//!   they were before it (an undo log, as the store's overlay is discarded);
//! - once a group is durable, its changed rows are published to
//!   [`crate::store::PulseUnflushed`], which the `pulse` view reads over the
//!   stored rows, so the view lags nothing;
//! - a start counts again the messages above the stored `pulse_pos`
//!   ([`Worker::pulse_recount`]; a stop writes nothing of its own, which
//!   would make this node's store differ from the others'). An answer
//!   writes the rows at the end of its job, so the events above `pulse_pos`
//!   never hold an answer that was counted (whether an answer counted, only
//!   the first one of a question does, is not in its event).

use super::Worker;
use crate::error::Result;
use crate::idhash::{IdMap, IdSet};
use crate::store::{self, Batch, DayCounts, PulseUnflushed, day_of};
use townhall_protocol::{Content, Millis, Pos, RoomId, RoomKind};

/// How long (in apply time, `Worker::clock`) changed rows may wait before
/// they are written, with the first job applied after this long. Bounds the
/// events a start counts again.
const WRITE_EVERY_MS: Millis = 5_000;

/// Changed rows that may wait at most (about 200 bytes each in memory).
const WRITE_ROWS: usize = 20_000;

/// Rows kept in memory after they are written, so the next message in the
/// same room and day need not read its row; the written ones are forgotten
/// above this many.
const CACHE_ROWS: usize = 50_000;

/// Events read per page when counting again at start.
const RECOUNT_PAGE: usize = 1_000;

type Key = (RoomId, u32);

/// One change to undo if its job or group fails.
enum Undo {
    /// A row's value before (`None`: not in memory) and whether it was
    /// changed since the last write.
    Row(Key, Option<DayCounts>, bool),
    /// The rows were written: which were waiting, and the last write's
    /// apply time before.
    Written(Vec<Key>, Millis),
}

/// The (room, UTC day) rows, as counted so far, and what is not written.
///
/// When the rows are written is decided by the commands alone (the apply
/// clock, the rows waiting, an answer), and they go into the batch of the
/// job that made them due, never at a group's end: groups differ between
/// cluster nodes, the stored state after each log entry must not (the
/// state digest compares it).
pub(super) struct PulseRows {
    /// Each row's current value (written or not).
    rows: IdMap<Key, DayCounts>,
    /// Rows changed since the last write.
    dirty: IdSet<Key>,
    /// Rows changed since the last durable group (to publish).
    unpublished: IdSet<Key>,
    /// This group's changes, oldest first.
    undo: Vec<Undo>,
    /// Where the current job's changes start in `undo`.
    job_mark: usize,
    /// The apply time of the last write (stored with it).
    last_write: Millis,
    /// The current job answered a question: write at its end.
    write_now: bool,
    /// This group wrote the rows.
    wrote_in_group: bool,
    /// The rows were written since the last durable group.
    written_since_sync: bool,
    /// Counting is off in this process: the recount at start failed, so
    /// the rows in memory would be partial. Nothing is counted or written;
    /// the stored rows and `pulse_pos` stay as they were, so the next start
    /// counts everything above it again.
    off: bool,
}

impl PulseRows {
    pub(super) fn new(last_write: Millis) -> PulseRows {
        PulseRows {
            rows: IdMap::default(),
            dirty: IdSet::default(),
            unpublished: IdSet::default(),
            undo: Vec::new(),
            job_mark: 0,
            last_write,
            write_now: false,
            wrote_in_group: false,
            written_since_sync: false,
            off: false,
        }
    }

    /// Counting off for this process (see `off`).
    fn turned_off() -> PulseRows {
        PulseRows {
            off: true,
            ..PulseRows::new(0)
        }
    }

    /// A job starts: its changes become the ones to undo if it fails.
    pub(super) fn begin_job(&mut self) {
        self.job_mark = self.undo.len();
        self.write_now = false;
    }

    /// The current job failed: forget its changes.
    pub(super) fn undo_job(&mut self) {
        while self.undo.len() > self.job_mark {
            match self.undo.pop() {
                Some(Undo::Row(key, before, was_dirty)) => {
                    match before {
                        Some(v) => {
                            self.rows.insert(key, v);
                        }
                        None => {
                            self.rows.remove(&key);
                        }
                    }
                    if !was_dirty {
                        self.dirty.remove(&key);
                    }
                }
                Some(Undo::Written(keys, last_write)) => {
                    self.dirty.extend(keys);
                    self.last_write = last_write;
                    // Writes happen once per group at most (then nothing is
                    // dirty for 5 s): undoing it undoes the group's.
                    self.wrote_in_group = false;
                }
                None => break,
            }
        }
        self.write_now = false;
    }

    /// The job succeeded at apply time `clock`, with positions up to
    /// `upto`: if the rows are due, write them (and `upto`, `clock`) into
    /// its batch.
    pub(super) fn write_if_due(&mut self, b: &mut Batch, upto: Pos, clock: Millis) {
        let due = !self.off
            && !self.dirty.is_empty()
            && (self.write_now
                || self.dirty.len() >= WRITE_ROWS
                || clock >= self.last_write.saturating_add(WRITE_EVERY_MS));
        self.write_now = false;
        if !due {
            return;
        }
        let written: Vec<Key> = self.dirty.drain().collect();
        for key in &written {
            if let Some(counts) = self.rows.get(key) {
                store::put_pulse_day(b, key.0, key.1, counts);
            }
        }
        store::put_pulse_pos(b, upto, clock);
        self.undo.push(Undo::Written(written, self.last_write));
        self.last_write = clock;
        self.wrote_in_group = true;
    }

    /// The group failed before reaching the store: undo all of it.
    pub(super) fn group_failed(&mut self) {
        self.job_mark = 0;
        self.undo_job();
        self.wrote_in_group = false;
    }

    /// The group's batch is in the store.
    pub(super) fn group_applied(&mut self) {
        self.undo.clear();
        self.job_mark = 0;
        if std::mem::take(&mut self.wrote_in_group) {
            self.written_since_sync = true;
            if self.rows.len() > CACHE_ROWS {
                let dirty = &self.dirty;
                self.rows.retain(|k, _| dirty.contains(k));
            }
        }
    }

    /// The store is synced: what changed is durable; publish what is not
    /// written yet, for readers (and forget what is).
    pub(super) fn group_synced(&mut self, unflushed: &PulseUnflushed) {
        if std::mem::take(&mut self.written_since_sync) {
            unflushed.clear();
        }
        if self.unpublished.is_empty() {
            return;
        }
        let (rows, dirty) = (&self.rows, &self.dirty);
        unflushed.publish(
            self.unpublished
                .drain()
                .filter(|k| dirty.contains(k))
                .filter_map(|k| rows.get(&k).map(|v| (k, v.clone()))),
        );
    }
}

impl Worker {
    /// Change the row of (`room`, `day`) with `f`.
    fn pulse_change(
        &mut self,
        room: RoomId,
        day: u32,
        f: impl FnOnce(&mut DayCounts),
    ) -> Result<()> {
        if self.pulse.off {
            return Ok(());
        }
        let key = (room, day);
        let pulse = &mut self.pulse;
        let before = pulse.rows.get(&key).cloned();
        let mut counts = match &before {
            Some(c) => c.clone(),
            // Not in memory, so not changed since it was written: the
            // stored row is its value.
            None => self.store.pulse_day(room, day)?,
        };
        f(&mut counts);
        pulse
            .undo
            .push(Undo::Row(key, before, pulse.dirty.contains(&key)));
        pulse.rows.insert(key, counts);
        pulse.dirty.insert(key);
        pulse.unpublished.insert(key);
        Ok(())
    }

    /// A message was posted at `ts` in `room`, of kind `kind` (a question
    /// if `question`).
    pub(super) fn pulse_message(
        &mut self,
        kind: RoomKind,
        room: RoomId,
        ts: Millis,
        question: bool,
    ) -> Result<()> {
        if kind != RoomKind::Room {
            return Ok(());
        }
        self.pulse_change(room, day_of(ts), |c| {
            c.messages += 1;
            if question {
                c.asked += 1;
            }
        })
    }

    /// A question of `room` was answered at `at`, `took_ms` after it was
    /// asked. The rows are written at this group's end (see the header).
    pub(super) fn pulse_answered(&mut self, room: RoomId, at: Millis, took_ms: u64) -> Result<()> {
        // Answers are rare next to messages: reading the room's kind here
        // costs little.
        let counted = self
            .store
            .room(room)?
            .is_some_and(|r| r.kind == RoomKind::Room);
        if !counted {
            return Ok(());
        }
        self.pulse.write_now = true;
        self.pulse_change(room, day_of(at), |c| c.add_answer(took_ms))
    }

    /// At start: count again the messages above the stored `pulse_pos`;
    /// if that fails, counting is off in this process (see
    /// [`PulseRows`]'s `off`) rather than writing partial rows under a
    /// position that claims them whole.
    pub(super) fn pulse_start(&mut self) {
        match self.pulse_recount() {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                messages = n,
                "pulse: counted again the messages above the last written counters"
            ),
            Err(e) => {
                self.pulse = PulseRows::turned_off();
                tracing::error!(error = %e, "pulse: cannot count the messages above the last written counters; the pulse counters stop until the next start, which counts them again");
            }
        }
    }

    /// Count again the messages above the stored `pulse_pos`
    /// (there are some only after a crash), in memory, to be written with
    /// the first group. Returns how many were counted.
    fn pulse_recount(&mut self) -> Result<u64> {
        let Some((from, last_write)) = self.base.pulse_pos()? else {
            // A store from before `pulse_pos`: its rows count everything.
            return Ok(0);
        };
        self.pulse.last_write = last_write;
        if from >= self.last_pos {
            return Ok(0);
        }
        let mut counted = 0;
        for room in self.base.rooms()? {
            if room.kind != RoomKind::Room {
                continue;
            }
            let mut seq = self.base.first_seq_after(room.id, from)?;
            loop {
                let page =
                    self.base
                        .events(room.id, seq, u64::MAX, false, RECOUNT_PAGE, Pos::MAX)?;
                for stored in &page {
                    let ev = stored.decode()?;
                    if let Content::Message { question, .. } = ev.content {
                        self.pulse_message(room.kind, room.id, ev.ts, question)?;
                        counted += 1;
                    }
                }
                match page.last() {
                    Some(last) if page.len() == RECOUNT_PAGE => seq = last.seq + 1,
                    _ => break,
                }
            }
        }
        // These events are durable already: readers see them at once. They
        // are written when the rows are next due, as on every other node.
        self.pulse.undo.clear();
        let unflushed = self.base.pulse_unflushed();
        let rows = &self.pulse.rows;
        unflushed.publish(
            self.pulse
                .unpublished
                .drain()
                .filter_map(|k| rows.get(&k).map(|v| (k, v.clone()))),
        );
        Ok(counted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Op, Tree};

    fn room(n: u128) -> RoomId {
        RoomId(uuid::Uuid::from_u128(n))
    }

    fn counts(messages: u64) -> DayCounts {
        DayCounts {
            messages,
            ..DayCounts::default()
        }
    }

    fn set(p: &mut PulseRows, r: u128, m: u64) {
        let key = (room(r), 7);
        let before = p.rows.insert(key, counts(m));
        let was_dirty = !p.dirty.insert(key);
        p.undo.push(Undo::Row(key, before, was_dirty));
        p.unpublished.insert(key);
    }

    fn pulse_puts(b: &Batch) -> usize {
        b.ops
            .iter()
            .filter(|op| matches!(op, Op::Put(Tree::RoomDayPulse, ..)))
            .count()
    }

    fn writes_pos(b: &Batch) -> bool {
        b.ops
            .iter()
            .any(|op| matches!(op, Op::Put(Tree::Meta, k, _) if k == store::META_PULSE_POS))
    }

    #[test]
    fn rows_are_written_when_due_once_each_and_a_failed_job_or_group_is_undone() {
        let mut p = PulseRows::new(0);
        let shared = PulseUnflushed::default();
        // Job 1 at apply time 1 s (kept): two messages in room 1, one in
        // room 2. Not due: 5 s have not passed since the last write (0).
        p.begin_job();
        set(&mut p, 1, 1);
        set(&mut p, 1, 2);
        set(&mut p, 2, 1);
        let mut b = Batch::default();
        p.write_if_due(&mut b, 3, 1_000);
        assert_eq!(pulse_puts(&b), 0);
        // Job 2 (fails): one more in room 1 and a first in room 3.
        p.begin_job();
        set(&mut p, 1, 3);
        set(&mut p, 3, 1);
        p.undo_job();
        assert_eq!(p.rows.get(&(room(1), 7)), Some(&counts(2)));
        assert_eq!(p.rows.get(&(room(3), 7)), None);
        assert!(!p.dirty.contains(&(room(3), 7)));
        p.group_applied();
        p.group_synced(&shared);
        assert_eq!(shared.rows_for_test(room(1), 7), Some(counts(2)));

        // Job 3 at 6 s: due. Rooms 1 and 2 written once each, with the
        // position; then the group fails and the write is undone.
        p.begin_job();
        set(&mut p, 2, 2);
        let mut b = Batch::default();
        p.write_if_due(&mut b, 4, 6_000);
        assert_eq!(pulse_puts(&b), 2, "one write per (room, day)");
        assert!(writes_pos(&b));
        assert!(p.dirty.is_empty());
        p.group_failed();
        assert_eq!(p.rows.get(&(room(2), 7)), Some(&counts(1)));
        assert_eq!(p.dirty.len(), 2, "both rows wait again");
        assert_eq!(p.last_write, 0);

        // Again, kept: written, durable, and forgotten by readers' map.
        p.begin_job();
        set(&mut p, 2, 2);
        let mut b = Batch::default();
        p.write_if_due(&mut b, 4, 6_000);
        assert_eq!(pulse_puts(&b), 2);
        // A later job of the same group changes room 1 again: it waits.
        p.begin_job();
        set(&mut p, 1, 3);
        let mut b = Batch::default();
        p.write_if_due(&mut b, 5, 6_001);
        assert_eq!(pulse_puts(&b), 0, "written 1 ms ago");
        p.group_applied();
        p.group_synced(&shared);
        assert_eq!(shared.rows_for_test(room(2), 7), None, "written");
        assert_eq!(shared.rows_for_test(room(1), 7), Some(counts(3)));

        // An answer makes the rows due at the end of its job.
        p.begin_job();
        p.write_now = true;
        set(&mut p, 1, 4);
        let mut b = Batch::default();
        p.write_if_due(&mut b, 6, 6_002);
        assert_eq!(pulse_puts(&b), 1);
    }
}
