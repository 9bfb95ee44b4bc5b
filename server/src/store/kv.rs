//! The storage trait: a handful of ordered key-value trees with atomic
//! multi-tree batches and an explicit durability point.
//!
//! Everything the server stores goes through [`Kv`]; the typed layer in
//! [`super::Store`] owns what the keys and values mean. Two implementations:
//! [`super::SledKv`] (production, on disk) and [`super::MemoryKv`] (fast unit
//! tests; it loses everything on drop).

use std::ops::Bound;
use thiserror::Error;

/// The trees, one per relation, named after what maps to what.
/// Key layouts are in `keys.rs` and `docs/architecture.md`.
///
/// **On-disk format (schema 3).** [`super::SledKv`] keeps every logical tree
/// in one sled tree, each key prefixed by its tree's one-byte [`Tree::tag`].
/// The tags are part of the format: never change or reuse one, give a new
/// tree the next free number (below 255), whatever its place in this enum.
///
/// | tag | tree | | tag | tree |
/// |---|---|---|---|---|
/// | 0 | `meta` | | 11 | `user_device_pos` |
/// | 1 | `user_record` | | 12 | `room_seq_open_question` |
/// | 2 | `username_user` | | 13 | `time_answered_question` |
/// | 3 | `token_session` | | 14 | `time_audit` |
/// | 4 | `room_record` | | 15 | `broadcast_record` |
/// | 5 | `room_user_member` | | 16 | `broadcast_user_reach` |
/// | 6 | `user_room_member` | | 17 | `user_broadcast_pending` |
/// | 7 | `room_seq_event` | | 18 | `user_followers_room` |
/// | 8 | `user_client_ack` | | 19 | `room_seq_mention` |
/// | 9 | `user_pair_dm` | | 20 | `room_thread_reply` |
/// | 10 | `user_room_read` | | 21 | `user_user_block` |
/// | | | | 22 | `user_room_hidden` |
/// | | | | 23 | `room_seq_extra_reactor` |
/// | | | | 24 | `public_name_room` |
/// | | | | 25–28 | votes, follows, notices |
/// | | | | 29 | `file_record` |
/// | | | | 30 | `hash_file` |
/// | | | | 31 | `user_file` |
/// | | | | 32 | `anon_question` |
/// | | | | 33 | `owner_anon_question` |
/// | | | | 34 | `anon_index` |
/// | | | | 35 | `user_directory_link` |
/// | | | | 36 | `oidc_subject_user` |
/// | | | | 37 | `watch_index` |
/// | | | | 38 | `user_pos_watch_alert` |
/// | | | | 39 | `retention` |
/// | | | | 40 | `room_retention_cursor` |
/// | | | | 41 | `faq_entry` |
/// | | | | 43 | `user_pos_asked` |
/// | | | | 44 | `room_day_pulse` |
/// | | | | 45 | `token_invitation` |
/// | | | | 46 | `user_avatar` |
/// | | | | 47 | `broadcast_time_reminder` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tree {
    /// schema version, last committed position.
    Meta,
    /// user id → user record.
    UserRecord,
    /// lowercase username → user id.
    UsernameUser,
    /// sha256(token) → session record.
    TokenSession,
    /// room id → room record.
    RoomRecord,
    /// room id ‖ user id → membership record.
    RoomUserMember,
    /// user id ‖ room id → membership record (the same record, other direction).
    UserRoomMember,
    /// room id ‖ seq → pos ‖ message ordinal ‖ event JSON. The only copy of a body.
    RoomSeqEvent,
    /// user id ‖ client id → the ack first given for that send.
    UserClientAck,
    /// lower user id ‖ higher user id → direct-message room id.
    UserPairDm,
    /// user id ‖ room id → read marker seq.
    UserRoomRead,
    /// user id ‖ device name → acknowledged position of that device.
    UserDevicePos,
    /// room id ‖ seq → time asked, for every open question.
    RoomSeqOpenQuestion,
    /// time answered ‖ room id ‖ seq → milliseconds from question to answer.
    TimeAnsweredQuestion,
    /// time ‖ sequence → audit entry (moderation and admin actions).
    TimeAudit,
    /// broadcast id → broadcast record (rooms, counts).
    BroadcastRecord,
    /// broadcast id ‖ user id → delivered ‖ opened ‖ acknowledged times (the
    /// audience as it was when posted; 24 bytes a reader).
    BroadcastUserReach,
    /// user id ‖ broadcast id → (nothing): broadcasts waiting for the user's ack.
    UserBroadcastPending,
    /// leader user id → the room their followers are members of.
    UserFollowersRoom,
    /// room id ‖ seq → sender ‖ `@room` flag ‖ mentioned user ids, for each
    /// message that mentions someone (so `summary` counts without reading
    /// the messages).
    RoomSeqMention,
    /// room id ‖ thread's first seq ‖ reply seq → (nothing): a thread's
    /// replies, so reading one costs its replies, not the room's timeline.
    RoomThreadReply,
    /// blocker user id ‖ blocked user id → time blocked (ms, big-endian u64).
    UserUserBlock,
    /// user id ‖ direct-message room id → the room's last seq when the user
    /// left (closed) it; hidden from their room list until a later event.
    UserRoomHidden,
    /// room id ‖ seq ‖ emoji index ‖ user id → (nothing): who reacted past
    /// the people a message's state lists (`store/reactions.rs`).
    RoomSeqExtraReactor,
    /// lowercased public room name → room id: public room names are unique
    /// without regard to case (`create_room` answers `name_taken`).
    PublicNameRoom,
    /// room id ‖ seq ‖ user id → time voted (ms): who voted for a question
    /// (`store/questions.rs`); the count is in the question's state.
    RoomSeqUserVote,
    /// room id ‖ seq ‖ user id → (nothing): who follows a question or thread.
    RoomSeqUserFollow,
    /// user id ‖ room id ‖ seq → (nothing): what a user follows (the other
    /// direction, for the per-user limit and their own view).
    UserRoomSeqFollow,
    /// user id ‖ pos → a `notice` frame: what a user is told about what
    /// they follow, read by their next login's catch-up.
    UserPosNotice,
    /// user id → directory link (`store/directory.rs`): the account was
    /// made by a directory (LDAP) login, with the entry's DN and whether the
    /// directory (not an admin) disabled it.
    UserDirectoryLink,
    /// anonymous question id → its record (`store/anon.rs`): the asker is
    /// an opaque key, never a user id.
    AnonQuestion,
    /// asker key ‖ question id → (nothing): one asker's anonymous questions.
    OwnerAnonQuestion,
    /// settings (`0x00` ‖ scope), moderation queue (`0x01` ‖ id) and
    /// approved message → question (`0x02` ‖ room ‖ seq), see `store/anon.rs`.
    AnonIndex,
    /// file id → file record (uploader, content hash, name, size, type,
    /// pending or the message it was posted with): `store/files.rs`.
    FileRecord,
    /// sha256 of the bytes ‖ file id → (nothing): who references stored
    /// bytes; none left means the bytes may be reclaimed.
    HashFile,
    /// user id ‖ file id → created (ms) ‖ size ‖ pending flag: a user's
    /// files, for the quota and the sweep of unposted uploads.
    UserFile,
    /// OIDC issuer ‖ 0xff ‖ subject → user id (`store/oidc.rs`): the
    /// account an OpenID Connect identity logs into, whatever its username
    /// claim says now.
    OidcSubjectUser,
    /// Rumour watch (`store/watch.rs`): the watch list (`0x00` ‖ folded
    /// phrase) and the weekly counts (`0x01` ‖ folded phrase ‖ `0xff` ‖
    /// ISO year ‖ week).
    WatchIndex,
    /// Rumour alerts (`store/watch.rs`): `0x00` ‖ user id ‖ pos → alert,
    /// and `0x01` ‖ room ‖ seq ‖ user id → pos (to mark it deleted).
    UserPosWatchAlert,
    /// Retention (`store/retention.rs`): the global policy (`0x00`), room
    /// policies (`0x01` ‖ room id), legal holds on rooms (`0x02` ‖ room
    /// id) and users (`0x03` ‖ user id), and the last run (`0x04`).
    Retention,
    /// room id → the last seq retention has looked at in that room (every
    /// message at or below it is expired or was held), so each run starts
    /// where the last stopped instead of at the room's first event.
    RoomRetentionCursor,
    /// Pulse counters (`store/pulse.rs`): room id ‖ day since the epoch
    /// (u32, big-endian) → messages, questions asked and answered, time to
    /// answer (sum and histogram) that day.
    RoomDayPulse,
    /// The FAQ (`store/faq.rs`): entries (`0x00` ‖ id), the entry of a
    /// source message (`0x01` ‖ room ‖ seq) and the last id (`0x02`).
    FaqEntry,
    /// Invitation links (`store/invite.rs`): SHA-256 of the token → the
    /// invitation (JSON). The token itself is never stored.
    TokenInvitation,
    /// user id ‖ pos → room id ‖ seq (`store/my_questions.rs`): the
    /// questions a person asked under their name, newest last, for "My
    /// questions". Never an anonymous one (those are under
    /// `owner_anon_question`, by a key only the asker's session derives).
    UserPosAsked,
    /// user id → avatar version (u32, big-endian) ‖ PNG bytes
    /// (`store/avatar.rs`): a person's profile picture as the server
    /// re-encoded it. After a removal the version stays with no bytes, so
    /// the next picture gets a higher version.
    UserAvatar,
    /// broadcast id ‖ at (big-endian ms) → a reminder sent for it
    /// (`store/reminders.rs`): when, to how many, by whom.
    BroadcastTimeReminder,
}

impl Tree {
    pub const ALL: [Tree; 47] = [
        Tree::Meta,
        Tree::UserRecord,
        Tree::UsernameUser,
        Tree::TokenSession,
        Tree::RoomRecord,
        Tree::RoomUserMember,
        Tree::UserRoomMember,
        Tree::RoomSeqEvent,
        Tree::UserClientAck,
        Tree::UserPairDm,
        Tree::UserRoomRead,
        Tree::UserDevicePos,
        Tree::RoomSeqOpenQuestion,
        Tree::TimeAnsweredQuestion,
        Tree::TimeAudit,
        Tree::BroadcastRecord,
        Tree::BroadcastUserReach,
        Tree::UserBroadcastPending,
        Tree::UserFollowersRoom,
        Tree::RoomSeqMention,
        Tree::RoomThreadReply,
        Tree::UserUserBlock,
        Tree::UserRoomHidden,
        Tree::RoomSeqExtraReactor,
        Tree::PublicNameRoom,
        Tree::RoomSeqUserVote,
        Tree::RoomSeqUserFollow,
        Tree::UserRoomSeqFollow,
        Tree::UserPosNotice,
        Tree::UserDirectoryLink,
        Tree::AnonQuestion,
        Tree::OwnerAnonQuestion,
        Tree::AnonIndex,
        Tree::FileRecord,
        Tree::HashFile,
        Tree::UserFile,
        Tree::OidcSubjectUser,
        Tree::WatchIndex,
        Tree::UserPosWatchAlert,
        Tree::Retention,
        Tree::RoomRetentionCursor,
        Tree::RoomDayPulse,
        Tree::FaqEntry,
        Tree::TokenInvitation,
        Tree::UserPosAsked,
        Tree::UserAvatar,
        Tree::BroadcastTimeReminder,
    ];

    /// The on-disk tree name. Never change one: it is the data's address.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::UserRecord => "user_record",
            Tree::UsernameUser => "username_user",
            Tree::TokenSession => "token_session",
            Tree::RoomRecord => "room_record",
            Tree::RoomUserMember => "room_user_member",
            Tree::UserRoomMember => "user_room_member",
            Tree::RoomSeqEvent => "room_seq_event",
            Tree::UserClientAck => "user_client_ack",
            Tree::UserPairDm => "user_pair_dm",
            Tree::UserRoomRead => "user_room_read",
            Tree::UserDevicePos => "user_device_pos",
            Tree::RoomSeqOpenQuestion => "room_seq_open_question",
            Tree::TimeAnsweredQuestion => "time_answered_question",
            Tree::TimeAudit => "time_audit",
            Tree::BroadcastRecord => "broadcast_record",
            Tree::BroadcastUserReach => "broadcast_user_reach",
            Tree::UserBroadcastPending => "user_broadcast_pending",
            Tree::UserFollowersRoom => "user_followers_room",
            Tree::RoomSeqMention => "room_seq_mention",
            Tree::RoomThreadReply => "room_thread_reply",
            Tree::UserUserBlock => "user_user_block",
            Tree::UserRoomHidden => "user_room_hidden",
            Tree::RoomSeqExtraReactor => "room_seq_extra_reactor",
            Tree::PublicNameRoom => "public_name_room",
            Tree::RoomSeqUserVote => "room_seq_user_vote",
            Tree::RoomSeqUserFollow => "room_seq_user_follow",
            Tree::UserRoomSeqFollow => "user_room_seq_follow",
            Tree::UserPosNotice => "user_pos_notice",
            Tree::UserDirectoryLink => "user_directory_link",
            Tree::AnonQuestion => "anon_question",
            Tree::OwnerAnonQuestion => "owner_anon_question",
            Tree::AnonIndex => "anon_index",
            Tree::FileRecord => "file_record",
            Tree::HashFile => "hash_file",
            Tree::UserFile => "user_file",
            Tree::OidcSubjectUser => "oidc_subject_user",
            Tree::WatchIndex => "watch_index",
            Tree::UserPosWatchAlert => "user_pos_watch_alert",
            Tree::Retention => "retention",
            Tree::RoomRetentionCursor => "room_retention_cursor",
            Tree::RoomDayPulse => "room_day_pulse",
            Tree::FaqEntry => "faq_entry",
            Tree::TokenInvitation => "token_invitation",
            Tree::UserPosAsked => "user_pos_asked",
            Tree::UserAvatar => "user_avatar",
            Tree::BroadcastTimeReminder => "broadcast_time_reminder",
        }
    }

    /// The byte that prefixes this tree's keys on disk (see the table on
    /// [`Tree`]). Written out, not derived from the enum's order, so that
    /// reordering the variants can never move data.
    pub fn tag(self) -> u8 {
        match self {
            Tree::Meta => 0,
            Tree::UserRecord => 1,
            Tree::UsernameUser => 2,
            Tree::TokenSession => 3,
            Tree::RoomRecord => 4,
            Tree::RoomUserMember => 5,
            Tree::UserRoomMember => 6,
            Tree::RoomSeqEvent => 7,
            Tree::UserClientAck => 8,
            Tree::UserPairDm => 9,
            Tree::UserRoomRead => 10,
            Tree::UserDevicePos => 11,
            Tree::RoomSeqOpenQuestion => 12,
            Tree::TimeAnsweredQuestion => 13,
            Tree::TimeAudit => 14,
            Tree::BroadcastRecord => 15,
            Tree::BroadcastUserReach => 16,
            Tree::UserBroadcastPending => 17,
            Tree::UserFollowersRoom => 18,
            Tree::RoomSeqMention => 19,
            Tree::RoomThreadReply => 20,
            Tree::UserUserBlock => 21,
            Tree::UserRoomHidden => 22,
            Tree::RoomSeqExtraReactor => 23,
            Tree::PublicNameRoom => 24,
            Tree::RoomSeqUserVote => 25,
            Tree::RoomSeqUserFollow => 26,
            Tree::UserRoomSeqFollow => 27,
            Tree::UserPosNotice => 28,
            Tree::FileRecord => 29,
            Tree::HashFile => 30,
            Tree::UserFile => 31,
            Tree::AnonQuestion => 32,
            Tree::OwnerAnonQuestion => 33,
            Tree::AnonIndex => 34,
            Tree::UserDirectoryLink => 35,
            Tree::OidcSubjectUser => 36,
            Tree::WatchIndex => 37,
            Tree::UserPosWatchAlert => 38,
            Tree::Retention => 39,
            Tree::RoomRetentionCursor => 40,
            Tree::RoomDayPulse => 44,
            Tree::FaqEntry => 41,
            Tree::TokenInvitation => 45,
            Tree::UserPosAsked => 43,
            Tree::UserAvatar => 46,
            Tree::BroadcastTimeReminder => 47,
        }
    }

    /// Position in [`Tree::ALL`], for in-memory tables indexed by tree.
    /// Not an on-disk value: that is [`Tree::tag`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// One write of a batch.
#[derive(Clone, Debug)]
pub enum Op {
    Put(Tree, Vec<u8>, Vec<u8>),
    Delete(Tree, Vec<u8>),
}

/// Writes applied all or nothing, across trees.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub ops: Vec<Op>,
}

impl Batch {
    pub fn put(&mut self, tree: Tree, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(tree, key.into(), value.into()));
    }
    pub fn delete(&mut self, tree: Tree, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete(tree, key.into()));
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn append(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }
}

/// A storage failure. The message is for the log, never for a client.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Backend(String),
    #[error("storage: corrupt record in {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error("storage: data folder is in use by another process ({0})")]
    Locked(String),
    #[error("storage: only {free_mb} MiB free, writes resume above {min_mb} MiB")]
    DiskFull { free_mb: u64, min_mb: u64 },
}

pub type KvPair = (Vec<u8>, Vec<u8>);

/// An ordered key-value store with atomic multi-tree batches.
pub trait Kv: Send + Sync + 'static {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` pairs with keys in `(start, end)`, ascending, or
    /// descending when `reverse`. Bounded so a caller never holds an open
    /// iterator across an await and never reads more than it asked for.
    fn range(
        &self,
        tree: Tree,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<KvPair>, StoreError>;

    /// Apply every write of `batch` or none of them. Not yet durable.
    fn apply(&self, batch: &Batch) -> Result<(), StoreError>;

    /// Make everything applied so far durable (on disk and fsynced).
    fn sync(&self) -> Result<(), StoreError>;

    /// Bytes the store occupies on disk (0 for memory).
    fn size_on_disk(&self) -> u64;

    /// Bytes free on the store's filesystem (`u64::MAX` for memory).
    fn free_space(&self) -> u64;
}

/// All pairs whose key starts with `prefix`, up to `limit`.
pub fn scan_prefix(
    kv: &dyn Kv,
    tree: Tree,
    prefix: &[u8],
    limit: usize,
) -> Result<Vec<KvPair>, StoreError> {
    let start = Bound::Included(prefix.to_vec());
    let end = match prefix_successor(prefix) {
        Some(next) => Bound::Excluded(next),
        None => Bound::Unbounded,
    };
    kv.range(tree, start, end, false, limit)
}

/// The smallest key greater than every key that starts with `prefix`.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < 0xff {
            next.push(last + 1);
            return Some(next);
        }
    }
    None
}

/// Whether `(start, end)` holds no key at all: inverted, or one key with an
/// excluded end. `BTreeMap::range` panics on such a range.
pub fn range_is_empty(start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> bool {
    match (start, end) {
        (Bound::Included(s) | Bound::Excluded(s), Bound::Included(e) | Bound::Excluded(e)) => {
            s > e
                || (s == e
                    && (matches!(start, Bound::Excluded(_)) || matches!(end, Bound::Excluded(_))))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::Tree;

    #[test]
    fn every_tree_has_its_own_tag_and_name_and_none_uses_255() {
        let mut tags = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for tree in Tree::ALL {
            assert!(tags.insert(tree.tag()), "tag {} used twice", tree.tag());
            assert!(names.insert(tree.name()), "name {} used twice", tree.name());
            // 255 would leave no byte above the tree's keys for a range's end.
            assert!(tree.tag() < 255, "{} has tag 255", tree.name());
        }
        for (i, tree) in Tree::ALL.iter().enumerate() {
            assert_eq!(tree.index(), i, "Tree::ALL is in enum order");
        }
    }
}
