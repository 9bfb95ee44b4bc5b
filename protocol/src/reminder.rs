//! Broadcast reminders (issue 13): a broadcast's sender (or an admin) asks
//! the server to remind everyone in its audience who has not acknowledged
//! it yet. `broadcast_remind` is the request, `broadcast_reminded` the reply
//! (to the one who asked: how many were reminded), `broadcast_reminder` what
//! each reminded person gets (live, or in their next login's catch-up), and
//! `reach` lists the reminders sent so far.

use crate::frames::{Millis, UserInfo};
use serde::{Deserialize, Serialize};

/// At most one reminder per broadcast per hour: a reminder is a nudge, and
/// an hourly one is already insistent; more would be spam.
pub const REMINDER_INTERVAL_MS: u64 = 60 * 60 * 1000;

/// Most reminders listed in a `reach` reply (newest first): with one an
/// hour at most, 100 cover four days of hourly nudging.
pub const MAX_REMINDERS_LISTED: usize = 100;

/// One reminder sent for a broadcast: when, and to how many people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reminder {
    /// When it was sent (the server's apply time).
    pub at: Millis,
    /// How many people it reached: those of the audience who had not
    /// acknowledged, were still in one of the broadcast's rooms and not
    /// disabled.
    pub reminded: u64,
    /// Who sent it (the broadcast's sender or an admin).
    pub by: UserInfo,
}
