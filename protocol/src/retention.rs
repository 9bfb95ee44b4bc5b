//! Retention policies and legal holds (issue 14): "delete messages older
//! than N days", globally or per room, and holds on a room or a user that
//! suspend it. Admin-only; see `docs/protocol.md`, "Retention".

use crate::UserInfo;
use crate::frames::Millis;
use crate::ids::{RoomId, UserId};
use serde::{Deserialize, Serialize};

/// The longest retention a policy may name: 100 years. Past that "keep
/// forever" is meant, which is having no policy at all.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Longest reason a legal hold may carry (bytes of UTF-8): a case number
/// and a line of context, not a document.
pub const MAX_HOLD_REASON_BYTES: usize = 500;

/// A retention policy: messages older than `days` are deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RetentionPolicy {
    /// 1 to [`MAX_RETENTION_DAYS`].
    pub days: u32,
    pub set_by: UserInfo,
    pub set_at: Millis,
}

/// A room's own policy, which overrides the global one in that room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomRetention {
    pub room: RoomId,
    pub room_name: String,
    pub policy: RetentionPolicy,
}

/// What a legal hold protects: everything in a room, or everything a user
/// wrote (in any room). On the wire `{"room": "<id>"}` or `{"user": "<id>"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HoldTarget {
    Room(RoomId),
    User(UserId),
}

/// A legal hold in force: retention deletes nothing it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LegalHold {
    pub target: HoldTarget,
    /// The room's name or the user's username, for display.
    pub name: String,
    pub reason: String,
    pub set_by: UserInfo,
    pub set_at: Millis,
}

/// The last retention run applied (the same on every node of a cluster).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RetentionRun {
    /// When the last run was applied (0: never).
    pub at: Millis,
    /// Messages that run deleted.
    pub expired: u64,
    /// Messages deleted by retention since the data folder was made.
    pub expired_total: u64,
}
