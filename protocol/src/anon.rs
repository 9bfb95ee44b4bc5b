//! Anonymous questions (issue 15): what an asker and the moderation queue
//! see of a question whose asker is never shown.
//!
//! No type here carries a person: an [`AnonQuestion`] is the same for its
//! asker (with `mine: true`) and for the transformation team, and an
//! approved one appears in its room with [`anonymous_sender`] as sender.

use crate::frames::Millis;
use crate::ids::{RoomId, RoomSeq, UserId};
use crate::{Role, UserInfo};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The sender of an approved anonymous question in a room's timeline: the
/// nil id, which no account ever has (ids are v7 UUIDs).
pub const ANONYMOUS: UserId = UserId(Uuid::nil());

/// Longest reason a moderator may give for a rejection (bytes): a sentence
/// or two for the asker, not a letter.
pub const MAX_REJECT_REASON_BYTES: usize = 1000;

/// The sender shown for every anonymous question: the same for all of them,
/// so nothing tells two anonymous questions' askers apart.
pub fn anonymous_sender() -> UserInfo {
    UserInfo {
        id: ANONYMOUS,
        username: "anonymous".into(),
        display_name: "Anonymous".into(),
        role: Role::Staff,
        transformation_team: false,
        avatar: None,
    }
}

/// Where an anonymous question stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AnonStatus {
    /// Waiting for the transformation team.
    Pending,
    /// In its room as an ordinary (votable) question at `seq`.
    Approved { seq: RoomSeq },
    /// Approved, and answered by the message at `answer`.
    Answered { seq: RoomSeq, answer: RoomSeq },
    /// Not published; the reason is for the asker.
    Rejected { reason: String },
    /// Not published: the same question is already in the room at `into`.
    Merged { into: RoomSeq },
    /// Taken back (or deleted) by its asker: the body is erased.
    Withdrawn,
}

/// An anonymous question as its asker or the moderation queue sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AnonQuestion {
    pub id: Uuid,
    pub room: RoomId,
    pub room_name: String,
    pub body: String,
    pub asked_at: Millis,
    /// Edited by its asker since it was asked.
    #[serde(default, skip_serializing_if = "is_false")]
    pub edited: bool,
    pub status: AnonStatus,
    /// Sent to the asker's own connections only: "you asked this".
    #[serde(default, skip_serializing_if = "is_false")]
    pub mine: bool,
}

/// What a member of the transformation team does with a pending question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModerationAction {
    /// Publish it in its room as a question.
    Approve,
    /// Do not publish it; the asker sees `reason`.
    Reject { reason: String },
    /// Do not publish it: it is the same as the open question at `into` in
    /// the same room (the asker is told which).
    Merge { into: RoomSeq },
}

fn is_false(b: &bool) -> bool {
    !*b
}
