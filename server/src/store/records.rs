//! The values stored in the trees (JSON, except counters and events).

use serde::{Deserialize, Serialize};
use townhall_protocol::{
    Millis, Pos, Role, RoomId, RoomInfo, RoomKind, RoomRole, RoomSeq, UserId, UserInfo, Visibility,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Millis,
    /// Sessions created before this moment are void (set on disable and
    /// password change: revocation without scanning every session).
    #[serde(default)]
    pub sessions_valid_after: Millis,
    /// A member of the transformation team: may mark answers to questions
    /// in every room they can see, like a leader.
    #[serde(default)]
    pub transformation_team: bool,
    /// The version of their profile picture (`store/avatar.rs` holds the
    /// PNG), `None` when they have none. Versions only go up, across
    /// removals too (the counter lives in the `user_avatar` tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<u32>,
}

impl UserRecord {
    pub fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            transformation_team: self.transformation_team,
            avatar: self.avatar,
        }
    }
}

/// A login session. Stored under the SHA-256 of its token: the token itself
/// is never written to disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user: UserId,
    pub created_at: Millis,
    /// Absolute expiry.
    pub expires_at: Millis,
    /// Last use (refreshed at most every minute), for idle expiry.
    #[serde(default)]
    pub last_seen: Millis,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomRecord {
    pub id: RoomId,
    pub name: String,
    pub topic: String,
    pub visibility: Visibility,
    pub kind: RoomKind,
    pub created_by: UserId,
    pub created_at: Millis,
    #[serde(default)]
    pub announce_only: bool,
    #[serde(default)]
    pub org_wide: bool,
    /// Read-only (`committer/room_admin.rs`): out of the directory, still
    /// readable by its members.
    #[serde(default)]
    pub archived: bool,
}

impl RoomRecord {
    pub fn info(
        &self,
        member_count: u64,
        my_role: Option<RoomRole>,
        dm_peer: Option<UserInfo>,
    ) -> RoomInfo {
        RoomInfo {
            id: self.id,
            name: self.name.clone(),
            topic: self.topic.clone(),
            visibility: self.visibility,
            kind: self.kind,
            member_count,
            my_role,
            dm_peer,
            announce_only: self.announce_only,
            org_wide: self.org_wide,
            archived: self.archived,
        }
    }
}

/// An open membership interval ends here.
pub const OPEN: Pos = Pos::MAX;

/// A user's membership of a room over time: the closed position intervals
/// `[joined, left]` during which they were a member (`left == OPEN` while
/// they still are). The backlog delivers a room's event to a user only when
/// its position falls inside one of them, which is what makes "only rooms
/// they belonged to at the time" and "a removed member receives nothing
/// more" hold even for what was queued and not yet delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub role: RoomRole,
    pub intervals: Vec<(Pos, Pos)>,
}

impl MemberRecord {
    pub fn is_current(&self) -> bool {
        self.intervals.last().is_some_and(|(_, left)| *left == OPEN)
    }

    /// Was the user a member when the event at `pos` was committed?
    pub fn covers(&self, pos: Pos) -> bool {
        self.intervals
            .iter()
            .any(|(joined, left)| *joined <= pos && pos <= *left)
    }

    /// Does any interval overlap `(after, upto]`?
    pub fn overlaps(&self, after: Pos, upto: Pos) -> bool {
        self.intervals
            .iter()
            .any(|(joined, left)| *joined <= upto && *left > after)
    }
}

/// A broadcast: where it went and how far it got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastRecord {
    pub id: uuid::Uuid,
    pub sender: UserInfo,
    pub body: String,
    /// The room and seq of its message in each room of the audience.
    pub rooms: Vec<(RoomId, RoomSeq)>,
    pub ack_requested: bool,
    pub created_at: Millis,
    pub counts: townhall_protocol::ReachCounts,
}

/// What the first `send` with a client id was answered with, so that a
/// re-send gets the very same answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckRecord {
    pub room: RoomId,
    pub seq: RoomSeq,
    pub pos: Pos,
    pub ts: Millis,
    /// For a broadcast: its id (a re-send returns the same one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<uuid::Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_intervals_cover_only_their_span() {
        let m = MemberRecord {
            role: RoomRole::Member,
            intervals: vec![(10, 20), (30, OPEN)],
        };
        assert!(m.is_current());
        assert!(!m.covers(9));
        assert!(m.covers(10) && m.covers(20));
        assert!(!m.covers(25));
        assert!(m.covers(31));
        assert!(m.overlaps(0, 10));
        assert!(!m.overlaps(20, 29));
        assert!(m.overlaps(20, 30));
    }
}
