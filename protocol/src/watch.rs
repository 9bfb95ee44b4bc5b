//! Rumour watch (issue 15): the transformation team's shared watch list of
//! words and phrases, the alerts a matching room message raises, and the
//! weekly count of matches per phrase.
//!
//! Matching is case- and accent-insensitive, on word boundaries: a phrase
//! is a sequence of words that must appear in a message, in order and
//! next to each other. Direct messages are never watched.

use crate::UserInfo;
use crate::frames::Millis;
use crate::ids::{Pos, RoomId, RoomSeq};
use serde::{Deserialize, Serialize};

/// Phrases the watch list holds at most: enough for every rumour a team
/// follows in several languages, few enough that matching stays a lookup
/// per word and the list fits one small frame.
pub const MAX_WATCH_PHRASES: usize = 200;

/// Longest phrase (Unicode scalar values): a phrase, not a sentence.
pub const MAX_WATCH_PHRASE_CHARS: usize = 100;

/// The most ISO weeks one `watch_counts` reply covers (two years).
pub const MAX_WATCH_WEEKS: u32 = 104;

/// Longest snippet of the matching message an alert carries (chars).
pub const WATCH_SNIPPET_CHARS: usize = 200;

/// The most alerts one `watch_alerts` page holds.
pub const MAX_WATCH_ALERTS_PAGE: u32 = 100;

/// One phrase on the watch list, as typed by the team member who added it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WatchPhrase {
    pub phrase: String,
    pub added_by: UserInfo,
    pub added_at: Millis,
}

/// A room message matched the watch list. One per team member who may
/// read the room; kept so that it is listed at their next login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WatchAlert {
    /// The matching message's position: the alert's id and order.
    pub pos: Pos,
    pub room: RoomId,
    pub room_name: String,
    pub seq: RoomSeq,
    pub ts: Millis,
    pub sender: UserInfo,
    /// The start of the message (at most [`WATCH_SNIPPET_CHARS`]); empty
    /// once the message is deleted.
    pub snippet: String,
    /// The watched phrases it matched, as on the list.
    pub phrases: Vec<String>,
    /// The message was deleted since (the snippet is erased).
    #[serde(default, skip_serializing_if = "crate::frames::is_false")]
    pub deleted: bool,
}

/// The weekly counts of one phrase, oldest week first (aligned with the
/// reply's `weeks`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WatchCounts {
    pub phrase: String,
    pub counts: Vec<u64>,
}

/// The ISO 8601 week (year, week 1..=53) of a time in milliseconds since
/// the Unix epoch, in UTC.
pub fn iso_week(ms: Millis) -> (i32, u32) {
    let days = (ms / 86_400_000) as i64;
    // 1970-01-01 was a Thursday; Monday = 0.
    let weekday = (days + 3).rem_euclid(7);
    // The Thursday of this week decides the ISO year.
    let thursday = days - weekday + 3;
    let (year, ordinal) = year_and_ordinal(thursday);
    (year, (ordinal / 7 + 1) as u32)
}

/// The Monday (days since the epoch) of ISO week `week` of `year`.
pub fn iso_week_monday(year: i32, week: u32) -> i64 {
    // January 4th is always in week 1.
    let jan4 = days_from_civil(year, 1, 4);
    let monday1 = jan4 - (jan4 + 3).rem_euclid(7);
    monday1 + 7 * (i64::from(week) - 1)
}

/// "2026-W48".
pub fn iso_week_label(year: i32, week: u32) -> String {
    format!("{year}-W{week:02}")
}

/// Days since the epoch → (year, zero-based day of the year).
fn year_and_ordinal(days: i64) -> (i32, i64) {
    let (y, _, _) = civil_from_days(days);
    (y, days - days_from_civil(y, 1, 1))
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i32, m: u32, d: u32) -> Millis {
        (days_from_civil(y, m, d) * 86_400_000) as Millis
    }

    /// Dates whose ISO week is known (including the year-boundary cases).
    #[test]
    fn iso_weeks_of_known_dates() {
        assert_eq!(iso_week(ms(1970, 1, 1)), (1970, 1));
        assert_eq!(iso_week(ms(2026, 11, 30)), (2026, 49));
        assert_eq!(iso_week(ms(2021, 1, 3)), (2020, 53));
        assert_eq!(iso_week(ms(2024, 12, 30)), (2025, 1));
        assert_eq!(iso_week(ms(2027, 1, 1)), (2026, 53));
        assert_eq!(iso_week(ms(2026, 1, 1)), (2026, 1));
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
        let (y, w) = iso_week(ms(2026, 11, 30));
        assert_eq!(iso_week_monday(y, w), days_from_civil(2026, 11, 30));
        assert_eq!(iso_week_label(2026, 9), "2026-W09");
    }
}
