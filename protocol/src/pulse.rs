//! Pulse (issue 15, "trends, as pictures"): the numbers the transformation
//! team, leaders and admins see drawn as charts. The server computes them
//! from per-room daily counters; no message body is in them except the
//! most-voted open questions' text, and every number covers only rooms the
//! viewer may read (members' rooms and public rooms; never direct messages).

use crate::frames::Millis;
use crate::ids::{RoomId, RoomSeq};
use serde::{Deserialize, Serialize};

/// The most days one `pulse` reply covers: a year, leap day included.
pub const MAX_PULSE_DAYS: u32 = 366;

/// Days covered when the client does not say.
pub const DEFAULT_PULSE_DAYS: u32 = 30;

/// Rooms listed one by one in the activity chart (the busiest in the
/// range); the others are summed in `other_rooms`. Twenty lines or bars
/// is already more than a chart can show legibly.
pub const MAX_PULSE_ROOMS: usize = 20;

/// Most-voted open questions listed.
pub const MAX_PULSE_TOP_QUESTIONS: usize = 10;

/// Recent broadcasts whose reach over time a report carries: the latest
/// ones, each costing a read of its whole audience's reach rows.
pub const MAX_PULSE_BROADCASTS: usize = 10;

/// Longest start of a broadcast's text a report carries (chars).
pub const PULSE_BROADCAST_SNIPPET_CHARS: usize = 80;

/// Labels of the open queue's age buckets (`open_age`), youngest first.
pub const OPEN_AGE_LABELS: [&str; 5] = ["< 1 d", "1–3 d", "3–7 d", "1–4 wk", "> 4 wk"];

/// A time to answer, as a histogram bucket: "at most `at_most_ms`", or
/// longer than every bound when `at_most_ms` is absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PulseTime {
    /// Index into the reply's `answer_histogram`.
    pub bucket: u32,
    /// The bucket's upper bound (ms); absent for the last, open bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most_ms: Option<u64>,
}

/// One room's messages per day (aligned with the reply's `days`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PulseRoom {
    pub room: RoomId,
    pub name: String,
    pub messages: Vec<u64>,
}

/// An open question among the most voted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PulseQuestion {
    pub room: RoomId,
    pub room_name: String,
    pub seq: RoomSeq,
    pub body: String,
    pub votes: u64,
    pub asked_at: Millis,
}

/// Everything the Pulse view draws.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PulseReport {
    /// UTC days covered, oldest first (`2026-11-30`); every per-day list
    /// below is aligned with it.
    pub days: Vec<String>,
    /// Questions asked per day.
    pub asked: Vec<u64>,
    /// Questions answered per day (whenever they were asked).
    pub answered: Vec<u64>,
    /// Messages per day, all counted rooms together.
    pub messages: Vec<u64>,
    /// Upper bounds (ms) of the time-to-answer buckets; the histogram has
    /// one more bucket, for anything longer.
    pub answer_buckets_ms: Vec<u64>,
    /// Questions answered in the range per time-to-answer bucket.
    pub answer_histogram: Vec<u64>,
    /// The bucket holding the median time to answer over the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_median: Option<PulseTime>,
    /// The bucket holding the 90th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_p90: Option<PulseTime>,
    /// Mean time to answer over the range (ms), exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_mean_ms: Option<u64>,
    /// Open questions now, by age (see [`OPEN_AGE_LABELS`]).
    pub open_age: Vec<u64>,
    /// The busiest rooms' messages per day (at most [`MAX_PULSE_ROOMS`]).
    pub rooms: Vec<PulseRoom>,
    /// Messages per day of the counted rooms not listed in `rooms`.
    pub other_rooms: Vec<u64>,
    /// The most-voted open questions (at most [`MAX_PULSE_TOP_QUESTIONS`]).
    pub top_questions: Vec<PulseQuestion>,
    /// How many rooms the numbers cover.
    pub rooms_counted: u32,
    /// Reach over time of the latest broadcasts of the range, newest first
    /// (at most [`MAX_PULSE_BROADCASTS`]).
    #[serde(default)]
    pub broadcasts: Vec<PulseBroadcast>,
}

/// One broadcast's reach over time: of its audience (as when sent), how
/// many opened it and acknowledged it within 1 hour and within 24 hours of
/// sending. Shares are these counts over `audience`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PulseBroadcast {
    pub id: uuid::Uuid,
    pub sender: crate::UserInfo,
    pub sent_at: Millis,
    /// The start of its text (at most [`PULSE_BROADCAST_SNIPPET_CHARS`]);
    /// empty once expired by retention.
    pub snippet: String,
    pub ack_requested: bool,
    pub audience: u64,
    pub opened_1h: u64,
    pub opened_24h: u64,
    pub acknowledged_1h: u64,
    pub acknowledged_24h: u64,
}

/// "2026-11-30": the UTC date of a day counted since the Unix epoch.
pub fn day_label(day: i64) -> String {
    let (y, m, d) = crate::watch::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_labels_are_iso_dates() {
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(20_787), "2026-11-30");
    }
}
