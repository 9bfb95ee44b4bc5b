//! Past broadcasts: the `received_broadcasts` request lists the broadcasts
//! a user received, newest first, with where each stands with them.

use crate::frames::{Millis, UserInfo};
use crate::ids::{RoomId, RoomSeq};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most broadcasts in one `received_broadcasts` reply: 20 bodies of at most
/// 16 KiB stay far under the server frame limit (1 MiB), with no splitting.
pub const MAX_RECEIVED_PAGE: u32 = 20;

/// One broadcast I received, as shown in my room (the first of its rooms
/// I am in), with my own reach times (0 = not yet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReceivedBroadcast {
    pub broadcast: Uuid,
    pub room: RoomId,
    pub seq: RoomSeq,
    pub sender: UserInfo,
    pub body: String,
    pub ts: Millis,
    /// The sender asked for an acknowledgement.
    pub ack_requested: bool,
    pub delivered_at: Millis,
    pub opened_at: Millis,
    pub acknowledged_at: Millis,
}
