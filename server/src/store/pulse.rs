//! Pulse counters in the store: per room and per UTC day, what happened
//! (messages, questions asked, questions answered and how long answering
//! took), kept up to date at apply (`committer/pulse.rs`) so that the
//! `pulse` view of a year reads at most 366 small rows per room instead of
//! a year of events.
//!
//! One tree, `room_day_pulse` (tag 44): room id ‖ day (days since the Unix
//! epoch, u32 big-endian) → [`DayCounts`], a run of big-endian u64s in the
//! order of its fields (`messages`, `asked`, `answered`, `answer_ms_sum`,
//! then one count per [`ANSWER_BUCKETS_MS`] bucket). A shorter value reads
//! its missing fields as 0, so fields may be added at the end later
//! without rewriting old rows. Only rooms (never direct messages) get rows.
//!
//! The committer writes rows every few seconds, not with each message
//! (`committer/pulse.rs`): between two writes, the rows it has changed in
//! groups that are already durable wait in [`PulseUnflushed`], which
//! [`Store::pulse_days`] reads over the stored rows, so the view is as
//! fresh as live delivery. Meta `pulse_pos` is the position up to which
//! the stored rows count every event; a start after a crash counts the
//! events above it again.

use super::kv::{Batch, StoreError, Tree};
use super::{Store, keys};
use crate::idhash::IdMap;
use std::ops::Bound;
use std::sync::Mutex;
use townhall_protocol::{Pos, RoomId};

/// Meta key: the position up to which the stored counter rows count every
/// event (absent in a store from before the rows were written in bulk,
/// whose rows count everything it holds).
pub const META_PULSE_POS: &[u8] = b"pulse_pos";

/// Counter rows of durable groups that the committer has not written to
/// the store yet, shared by the committer (which fills and clears it) and
/// every reader of [`Store::pulse_days`].
///
/// Lock: a plain mutex, held only to insert a group's changed rows, to
/// clear, or to copy one room's rows of a range; never across a store
/// read or an await.
#[derive(Default)]
pub struct PulseUnflushed {
    rows: Mutex<IdMap<(RoomId, u32), DayCounts>>,
}

impl PulseUnflushed {
    fn lock(&self) -> std::sync::MutexGuard<'_, IdMap<(RoomId, u32), DayCounts>> {
        // Only copies of counts: a panic mid-update leaves at worst a
        // value the next write replaces, and readers take the larger.
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// These rows are durable (their group was synced) with these values.
    pub fn publish(&self, rows: impl IntoIterator<Item = ((RoomId, u32), DayCounts)>) {
        let mut map = self.lock();
        for (k, v) in rows {
            map.insert(k, v);
        }
    }

    /// Every row is in the store now.
    pub fn clear(&self) {
        self.lock().clear();
    }

    #[cfg(test)]
    pub fn rows_for_test(&self, room: RoomId, day: u32) -> Option<DayCounts> {
        self.lock().get(&(room, day)).cloned()
    }

    /// `room`'s unwritten rows of days `first..=last`.
    fn rows_of(&self, room: RoomId, first: u32, last: u32) -> Vec<(u32, DayCounts)> {
        let map = self.lock();
        if map.is_empty() {
            return Vec::new();
        }
        // A range of a year is at most 366 lookups.
        (first..=last)
            .filter_map(|d| map.get(&(room, d)).map(|c| (d, c.clone())))
            .collect()
    }
}

/// One day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// Upper bounds (inclusive, ms) of the time-to-answer histogram's buckets;
/// a last bucket holds everything longer. Chosen so each bucket reads as a
/// sentence ("within an hour", "within a day"): the median and p90 the
/// view shows are "at most this bucket's bound", which a person can check
/// against the histogram itself. 16 buckets: a row is 20 u64s, 160 bytes.
pub const ANSWER_BUCKETS_MS: [u64; 15] = [
    60_000,        // 1 min
    5 * 60_000,    // 5 min
    15 * 60_000,   // 15 min
    3_600_000,     // 1 h
    2 * 3_600_000, // 2 h
    4 * 3_600_000, // 4 h
    8 * 3_600_000, // 8 h
    DAY_MS,        // 1 d
    2 * DAY_MS,
    3 * DAY_MS,
    5 * DAY_MS,
    7 * DAY_MS,
    14 * DAY_MS,
    28 * DAY_MS,
    56 * DAY_MS,
];

/// Buckets of the histogram: the bounds above plus "longer".
pub const ANSWER_BUCKETS: usize = ANSWER_BUCKETS_MS.len() + 1;

/// The counters of one room on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// Messages posted (thread replies and questions included; an approved
    /// anonymous question counts once, when approved).
    pub messages: u64,
    /// Questions asked.
    pub asked: u64,
    /// Questions answered this day (whenever they were asked).
    pub answered: u64,
    /// Sum of the answered questions' times to answer (ms).
    pub answer_ms_sum: u64,
    /// Answered questions per time-to-answer bucket.
    pub answer_hist: [u64; ANSWER_BUCKETS],
}

impl DayCounts {
    /// Every field the larger of the two. Counters only grow, so of two
    /// copies of one row (stored, unwritten) the larger is the newer.
    pub fn max_with(&mut self, other: &DayCounts) {
        self.messages = self.messages.max(other.messages);
        self.asked = self.asked.max(other.asked);
        self.answered = self.answered.max(other.answered);
        self.answer_ms_sum = self.answer_ms_sum.max(other.answer_ms_sum);
        for (a, b) in self.answer_hist.iter_mut().zip(other.answer_hist) {
            *a = (*a).max(b);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(8 * (4 + ANSWER_BUCKETS));
        for n in [self.messages, self.asked, self.answered, self.answer_ms_sum] {
            v.extend_from_slice(&n.to_be_bytes());
        }
        for n in self.answer_hist {
            v.extend_from_slice(&n.to_be_bytes());
        }
        v
    }

    pub fn decode(bytes: &[u8]) -> Result<DayCounts, StoreError> {
        if !bytes.len().is_multiple_of(8) {
            return Err(super::corrupt(
                Tree::RoomDayPulse,
                "value is not a run of u64s",
            ));
        }
        let mut n = bytes
            .chunks_exact(8)
            .map(|c| c.try_into().map(u64::from_be_bytes).unwrap_or(0));
        let mut next = || n.next().unwrap_or(0);
        let mut d = DayCounts {
            messages: next(),
            asked: next(),
            answered: next(),
            answer_ms_sum: next(),
            answer_hist: [0; ANSWER_BUCKETS],
        };
        for slot in &mut d.answer_hist {
            *slot = next();
        }
        Ok(d)
    }

    /// Add one answered question that took `took_ms`.
    pub fn add_answer(&mut self, took_ms: u64) {
        self.answered += 1;
        self.answer_ms_sum = self.answer_ms_sum.saturating_add(took_ms);
        self.answer_hist[answer_bucket(took_ms)] += 1;
    }
}

/// The histogram bucket of a time to answer.
pub fn answer_bucket(took_ms: u64) -> usize {
    ANSWER_BUCKETS_MS
        .iter()
        .position(|&bound| took_ms <= bound)
        .unwrap_or(ANSWER_BUCKETS_MS.len())
}

/// The day (since the epoch, UTC) of a time in ms.
pub fn day_of(ms: u64) -> u32 {
    u32::try_from(ms / DAY_MS).unwrap_or(u32::MAX)
}

fn room_day(room: RoomId, day: u32) -> Vec<u8> {
    let mut k = keys::room(room);
    k.extend_from_slice(&day.to_be_bytes());
    k
}

impl Store {
    /// The newest `limit` broadcasts, newest first (their ids are v7
    /// uuids, so key order is sending order).
    pub fn recent_broadcasts(
        &self,
        limit: usize,
    ) -> Result<Vec<super::BroadcastRecord>, StoreError> {
        self.kv()
            .range(
                Tree::BroadcastRecord,
                Bound::Unbounded,
                Bound::Unbounded,
                true,
                limit,
            )?
            .into_iter()
            .map(|(_, v)| {
                serde_json::from_slice(&v).map_err(|e| super::corrupt(Tree::BroadcastRecord, e))
            })
            .collect()
    }

    /// The counters of `room` on `day` (zeros when nothing happened).
    pub fn pulse_day(&self, room: RoomId, day: u32) -> Result<DayCounts, StoreError> {
        match self.kv().get(Tree::RoomDayPulse, &room_day(room, day))? {
            Some(v) => DayCounts::decode(&v),
            None => Ok(DayCounts::default()),
        }
    }

    /// The days of `room` in `first..=last` that have counters, in day
    /// order: one bounded range read (at most `last - first + 1` rows).
    pub fn pulse_days(
        &self,
        room: RoomId,
        first: u32,
        last: u32,
    ) -> Result<Vec<(u32, DayCounts)>, StoreError> {
        if last < first {
            return Ok(Vec::new());
        }
        // The unwritten rows first: one written meanwhile is then read
        // from the store at least as new (the larger copy wins below).
        let unflushed = self.pulse_unflushed().rows_of(room, first, last);
        let rows = self.kv().range(
            Tree::RoomDayPulse,
            Bound::Included(room_day(room, first)),
            Bound::Included(room_day(room, last)),
            false,
            (last - first) as usize + 1,
        )?;
        let mut days: Vec<(u32, DayCounts)> = rows
            .into_iter()
            .map(|(k, v)| {
                let day = k
                    .get(16..20)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_be_bytes)
                    .ok_or_else(|| super::corrupt(Tree::RoomDayPulse, "key is not 20 bytes"))?;
                Ok((day, DayCounts::decode(&v)?))
            })
            .collect::<Result<_, StoreError>>()?;
        if unflushed.is_empty() {
            return Ok(days);
        }
        for (day, counts) in unflushed {
            match days.binary_search_by_key(&day, |(d, _)| *d) {
                Ok(i) => days[i].1.max_with(&counts),
                Err(i) => days.insert(i, (day, counts)),
            }
        }
        Ok(days)
    }

    /// The day rows the committer has not written yet (see the module
    /// header).
    pub fn pulse_unflushed(&self) -> &PulseUnflushed {
        &self.pulse
    }

    /// The position up to which the stored rows count every event, and the
    /// apply time they were written at; `None` in a store from before it
    /// was kept (whose rows count everything).
    pub fn pulse_pos(&self) -> Result<Option<(Pos, u64)>, StoreError> {
        let Some(v) = self.kv().get(Tree::Meta, META_PULSE_POS)? else {
            return Ok(None);
        };
        let pos = v
            .get(..8)
            .ok_or_else(|| super::corrupt(Tree::Meta, "pulse_pos is shorter than 8 bytes"))?;
        let at = v.get(8..16).map_or(Ok(0), |b| keys::read_u64("meta", b))?;
        Ok(Some((keys::read_u64("meta", pos)?, at)))
    }
}

pub fn put_pulse_day(b: &mut Batch, room: RoomId, day: u32, counts: &DayCounts) {
    b.put(Tree::RoomDayPulse, room_day(room, day), counts.encode());
}

/// Written with the rows: they count every event up to `pos`, and were
/// written at apply time `at`.
pub fn put_pulse_pos(b: &mut Batch, pos: Pos, at: u64) {
    let mut v = keys::u64_value(pos);
    v.extend_from_slice(&at.to_be_bytes());
    b.put(Tree::Meta, META_PULSE_POS, v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_trip_and_a_short_value_reads_as_zeros() {
        let mut d = DayCounts {
            messages: 7,
            asked: 3,
            ..DayCounts::default()
        };
        d.add_answer(30_000);
        d.add_answer(2 * DAY_MS);
        d.add_answer(400 * DAY_MS);
        assert_eq!(DayCounts::decode(&d.encode()).ok(), Some(d.clone()));
        assert_eq!(d.answer_hist[0], 1);
        assert_eq!(d.answer_hist[8], 1);
        assert_eq!(d.answer_hist[ANSWER_BUCKETS - 1], 1);
        let short = 5u64.to_be_bytes();
        let read = DayCounts::decode(&short).ok();
        assert_eq!(read.map(|r| (r.messages, r.asked)), Some((5, 0)));
        assert!(DayCounts::decode(&[1, 2, 3]).is_err());
    }

    #[test]
    fn buckets_take_their_bound_inclusive() {
        assert_eq!(answer_bucket(0), 0);
        assert_eq!(answer_bucket(60_000), 0);
        assert_eq!(answer_bucket(60_001), 1);
        assert_eq!(answer_bucket(56 * DAY_MS + 1), ANSWER_BUCKETS - 1);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
    }
}
