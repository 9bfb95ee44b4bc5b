//! A leader's own past broadcasts: the `sent_broadcasts` request lists the
//! broadcasts the caller sent, newest first, each with where it went, its
//! reach counts and its text as history shows it now.

use crate::frames::{Millis, ReachCounts};
use crate::ids::RoomId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Broadcasts in a `sent_broadcasts` reply when `limit` is not given.
pub const DEFAULT_SENT_PAGE: u32 = 20;

/// Most broadcasts in one `sent_broadcasts` reply: 100 texts of at most
/// [`SENT_TEXT_CHARS`] characters (≤ 4 bytes each) plus their rooms stay
/// far under the server frame limit (1 MiB), with no splitting.
pub const MAX_SENT_PAGE: u32 = 100;

/// A listed broadcast's text is cut to this many characters: the list
/// shows a snippet; the whole text is in the room's history.
pub const SENT_TEXT_CHARS: usize = 500;

/// A room a broadcast went to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SentRoom {
    pub id: RoomId,
    /// Its name now (empty if the room is gone).
    pub name: String,
}

/// One broadcast I sent, with its reach as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SentBroadcast {
    pub broadcast: Uuid,
    pub sent_at: Millis,
    pub rooms: Vec<SentRoom>,
    /// I asked for an acknowledgement.
    pub ack_requested: bool,
    /// The audience as when sent, and how many have it, opened it and
    /// acknowledged it (as `reach`).
    pub counts: ReachCounts,
    /// Deleted from history: then `text` is absent.
    pub deleted: bool,
    /// Its text as history shows it now (the latest edit), cut to
    /// [`SENT_TEXT_CHARS`] characters; absent when deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}
