//! "My questions" (issue 13): every question I asked, under my name or
//! anonymously, with where it stands and its answer. Sent only to the
//! asker: an anonymous question appears here for nobody else, and nothing
//! in it names me to anyone.

use crate::UserInfo;
use crate::frames::Millis;
use crate::ids::{RoomId, RoomSeq};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most questions in one `my_questions` reply (the newest of each kind):
/// a person's recent questions, not an archive.
pub const MY_QUESTIONS_LIMIT: usize = 200;

/// Where one of my questions stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MyQuestionState {
    /// In its room, not yet answered.
    Open,
    /// In its room, with an answer marked (`answer`).
    Answered,
    /// Anonymous, waiting for the transformation team.
    Pending,
    /// Anonymous, not published (`reason` says why).
    Rejected,
    /// Merged into another question (its seq in `merged_into`).
    Merged,
    /// Anonymous, taken back by me.
    Withdrawn,
    /// Deleted from its room.
    Deleted,
}

/// The message marked as the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MyAnswer {
    pub seq: RoomSeq,
    pub sender: UserInfo,
    /// Empty if the answer was deleted since.
    pub body: String,
    pub ts: Millis,
}

/// One question I asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MyQuestion {
    pub room: RoomId,
    pub room_name: String,
    /// Its seq in the room; absent for an anonymous question not published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<RoomSeq>,
    /// For an anonymous question: its id (for `edit_anonymous`,
    /// `withdraw_anonymous`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anon_id: Option<Uuid>,
    /// Asked anonymously (shown to me only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub anonymous: bool,
    pub body: String,
    pub asked_at: Millis,
    pub state: MyQuestionState,
    /// "I want to know too" votes, once in its room.
    #[serde(default)]
    pub votes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<MyAnswer>,
    /// Why the team did not publish it (`rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The question it was merged into (`merged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<RoomSeq>,
}

fn is_false(b: &bool) -> bool {
    !*b
}
