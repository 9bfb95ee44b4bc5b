//! Typed identifiers and counters.
//!
//! Ids are UUIDs (v7 for things the server makes, so they sort by creation
//! time); order never comes from an id but from the counters: [`Pos`] is the
//! server-wide commit position that a device resumes from, [`RoomSeq`] the
//! per-room sequence number shown in a room's timeline.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// The 16 bytes used inside storage keys.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
            pub fn from_bytes(b: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(b))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A user account.
    UserId
);
uuid_id!(
    /// A room (including direct-message rooms).
    RoomId
);

/// Server-wide commit position. Every timeline event gets the next one when it
/// is committed; a device's resume position is the `pos` of the last event it
/// has processed (0 = nothing yet).
pub type Pos = u64;

/// Per-room sequence number: 1 for a room's first event, then strictly
/// increasing by one. History pages and read markers are expressed in it.
pub type RoomSeq = u64;
