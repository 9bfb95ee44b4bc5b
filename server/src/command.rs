//! Commands: what the single writer applies, and the log entry that carries
//! one between nodes.
//!
//! A handler turns a request into a [`Command`], filling in everything that
//! is not deterministic (hashes, a session's times) itself; the committer
//! (embedded) or the cluster log gives it a [`Stamp`] (the time it is
//! applied under and the seed of any id it makes). Applying a command reads
//! only the store and the stamp, so every node that applies the same log in
//! the same order ends in the same state with the same positions.

use crate::committer::{
    AccountOp, AnonOp, AvatarOp, ContactOp, DirectoryOp, ExportOp, FaqOp, FileOp, InviteOp,
    MessageOp, ProfileOp, QuestionOp, RetentionOp, RoomAdminOp, WatchOp,
};
use crate::store::{AckRecord, RoomRecord, UserRecord};
use serde::{Deserialize, Serialize};
use townhall_protocol::{
    Millis, Pos, Role, RoomId, RoomRole, RoomSeq, UserId, UserInfo, Visibility,
};
use uuid::Uuid;

/// The version of [`Entry`]'s format this build writes and understands. A
/// node that meets an entry of a newer version stops applying (see
/// `docs/operations.md`, rolling upgrades) rather than guess.
pub const LOG_VERSION: u32 = 1;

/// The non-deterministic inputs of one command, decided once before it is
/// applied: the wall-clock time (applied as `max(now, the last applied
/// time)`, so event times never go back along the log) and the seed of the
/// ids it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub now: Millis,
    pub seed: u64,
}

impl Stamp {
    /// Now, with a fresh random seed.
    pub fn now() -> Stamp {
        Stamp {
            now: crate::committer::now_millis(),
            seed: rand::random(),
        }
    }
}

/// One entry of the cluster log: a command, its stamp, and who is waiting
/// for its answer (`node`, `req`: only that node answers, once it has
/// applied the entry itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub v: u32,
    pub node: Uuid,
    pub req: u64,
    pub stamp: Stamp,
    pub cmd: Command,
}

/// Why an entry could not be read. Either stops the node's apply loop: it
/// must never skip an entry the other nodes applied.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error(
        "log entry format {found} is newer than this build's {LOG_VERSION}: upgrade this node's townhall binary"
    )]
    TooNew { found: u32 },
    #[error("log entry cannot be decoded by this build (format {LOG_VERSION}): {0}")]
    Malformed(String),
}

impl Entry {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data to a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Entry, EntryError> {
        #[derive(Deserialize)]
        struct Head {
            v: u32,
        }
        let head: Head =
            serde_json::from_slice(bytes).map_err(|e| EntryError::Malformed(e.to_string()))?;
        if head.v > LOG_VERSION {
            return Err(EntryError::TooNew { found: head.v });
        }
        serde_json::from_slice(bytes).map_err(|e| EntryError::Malformed(e.to_string()))
    }
}

/// A change to make durable. Every value that is not a pure function of
/// the store (a time, a new id, a password or token hash) is either a field
/// here or comes from the entry's [`Stamp`], so applying a command gives
/// the same result on every node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Post {
        user: UserInfo,
        room: RoomId,
        client_id: Uuid,
        body: String,
        thread: Option<RoomSeq>,
        question: bool,
        /// Pending uploads of `user` to bind to the message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Uuid>,
    },
    /// A leader's broadcast (see `committer/broadcasts.rs`).
    Broadcast {
        user: UserInfo,
        client_id: Uuid,
        body: String,
        rooms: Vec<RoomId>,
        ack_requested: bool,
    },
    /// Follow or stop following a leader.
    Follow {
        user: UserInfo,
        leader: UserInfo,
        on: bool,
    },
    /// A reader's receipt for a broadcast.
    Receipt {
        user: UserId,
        broadcast: Uuid,
        kind: townhall_protocol::ReceiptKind,
    },
    /// Remind a broadcast's audience who have not acknowledged it
    /// (`committer/reminders.rs`).
    Remind {
        user: UserInfo,
        broadcast: Uuid,
    },
    /// Make a member a moderator or a plain member (owner or admin).
    SetRoomRole {
        actor: UserInfo,
        actor_role: Role,
        room: RoomId,
        target: UserInfo,
        role: RoomRole,
    },
    /// Edit, delete, react to, or mark the answer of an existing message.
    Message(MessageOp),
    /// Vote for a question, follow a question or thread
    /// (`committer/questions.rs`).
    Question(QuestionOp),
    /// Anonymous questions (`committer/anon.rs`): never the asker's id.
    Anon(AnonOp),
    /// Rename, topic, archive (`committer/room_admin.rs`).
    RoomAdmin(RoomAdminOp),
    /// Rumour watch's list (`committer/watch.rs`).
    Watch(WatchOp),
    /// The FAQ (`committer/faq.rs`).
    Faq(FaqOp),
    /// Retention policies, legal holds and expiry runs
    /// (`committer/retention.rs`).
    Retention(RetentionOp),
    /// Invitation links: make, revoke, redeem (`committer/invite.rs`).
    Invite(InviteOp),
    CreateRoom {
        user: UserInfo,
        name: String,
        topic: String,
        visibility: Visibility,
        announce_only: bool,
    },
    /// Make the organisation-wide room if there is none (with `creator` as
    /// owner), and make every one of `members` a member of it.
    EnsureOrgRoom {
        creator: UserInfo,
        members: Vec<UserInfo>,
    },
    OpenDm {
        user: UserInfo,
        peer: UserInfo,
    },
    Join {
        user: UserInfo,
        server_role: Role,
        room: RoomId,
    },
    Leave {
        user: UserInfo,
        room: RoomId,
    },
    AddMember {
        actor: UserInfo,
        actor_role: Role,
        room: RoomId,
        target: UserInfo,
    },
    RemoveMember {
        actor: UserInfo,
        actor_role: Role,
        room: RoomId,
        target: UserInfo,
    },
    MarkRead {
        user: UserId,
        room: RoomId,
        seq: RoomSeq,
    },
    DevicePos {
        user: UserId,
        device: String,
        pos: Pos,
    },
    /// Changes to accounts, applied to the freshly read record.
    Account(AccountOp),
    /// Blocks (see `committer/contacts.rs`).
    Contact(ContactOp),
    /// A person's own profile: display name (`committer/profile.rs`).
    Profile(ProfileOp),
    /// A person's own profile picture (`committer/avatar.rs`).
    Avatar(AvatarOp),
    /// Directory (LDAP) accounts: login, sync (`committer/directory.rs`).
    Directory(DirectoryOp),
    /// File uploads and their sweep (see `committer/files.rs`).
    File(FileOp),
    /// The audit entry of a data-protection export (`committer/export.rs`).
    Export(ExportOp),
    /// Refresh a session's idle clock, only if it still exists (a logout
    /// that committed first must not be undone).
    TouchSession {
        token_hash: [u8; 32],
        at: Millis,
    },
}

#[derive(Debug)]
pub enum Reply {
    Ack {
        ack: AckRecord,
        duplicate: bool,
    },
    /// A `send`'s ack is durable and already in its connection's queue
    /// (`committer::AckTo`): nothing left to write.
    Delivered,
    Room(RoomRecord),
    User(UserRecord),
    /// A broadcast is durable: its id, audience size, and whether it had
    /// been posted before under the same client id.
    Broadcast {
        id: Uuid,
        audience: u64,
        duplicate: bool,
    },
    /// A reminder was sent at `at` to `reminded` people (0: nobody was
    /// left to remind, and nothing was recorded).
    Reminded {
        reminded: u64,
        at: Millis,
    },
    /// Done; durable at this position (0 if nothing entered a timeline).
    Done(Pos),
    /// The read marker now stands here (it never moves back).
    ReadMarker(RoomSeq),
    /// An anonymous question is waiting for moderation under this id.
    AnonAsked(Uuid),
    /// An upload's record (pending).
    File(crate::store::FileRecord),
    /// An expiry step erased `expired` messages; `more` when it stopped at
    /// its bounds with more possibly left (submit again).
    Expired {
        expired: u64,
        more: bool,
    },
}
