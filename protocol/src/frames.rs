//! The WebSocket frames.
//!
//! Every frame is one JSON object in one text message, tagged by `type`.
//! Requests may carry a `req_id` (any string the client picks); the reply, or
//! the `error` that replaces it, echoes it.

use crate::error::{DecodeError, ErrorCode};
use crate::ids::{Pos, RoomId, RoomSeq, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Milliseconds since the Unix epoch, UTC, from the server's clock.
pub type Millis = u64;

/// A frame from the client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// First frame of every connection: authenticate and say where to resume.
    Hello {
        version: u32,
        token: String,
        /// The `pos` of the last event this device has processed; absent on a
        /// device's first login (the server then uses the position it stored
        /// for `device`, or 0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Pos>,
        /// A stable name for this device (e.g. a random id kept in local
        /// storage); the server remembers its acknowledged position.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<String>,
    },
    /// Post a message. `client_id` makes it idempotent: sending the same id
    /// again returns the first result and stores nothing new.
    Send {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        client_id: Uuid,
        body: String,
        /// Reply in the thread under this message (its seq).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<RoomSeq>,
        /// Post it as a question: open until someone allowed marks an answer.
        #[serde(default, skip_serializing_if = "is_false")]
        question: bool,
        /// Files uploaded with `POST /api/files` (their ids), at most
        /// [`MAX_ATTACHMENTS`]; with any, `body` (the caption) may be empty.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Uuid>,
    },
    /// Change the body of my own message.
    Edit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
        body: String,
    },
    /// Delete my own message (room owners, moderators and admins: any). It
    /// leaves a tombstone; the body is erased from storage.
    Delete {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
    },
    /// Add (`on: true`) or remove my reaction to a message; `emoji` is one of
    /// [`REACTIONS`].
    React {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
        emoji: String,
        on: bool,
    },
    /// Mark `answer` as the answer to the question `question` (room owners,
    /// moderators, leaders and admins).
    MarkAnswer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        question: RoomSeq,
        answer: RoomSeq,
    },
    /// Merge questions into one canonical question of the same room: they
    /// leave the queue, and answering the canonical one answers them all.
    MergeQuestions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        questions: Vec<RoomSeq>,
        into: RoomSeq,
    },
    /// The open questions I may answer, across rooms (or, with `room`, the
    /// open questions of that one room, for anyone who can read it), in the
    /// order `sort` says, with the answer-time figures.
    Questions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        /// Oldest first when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sort: Option<QuestionSort>,
        /// Only this room's open questions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
    },
    /// Vote for an open question ("I want to know too", `on: true`) or take
    /// the vote back. Once per person: voting again changes nothing. Voting
    /// also follows the question (see `follow_thread`).
    Vote {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
        on: bool,
    },
    /// Follow (`on: true`) or stop following a question or a thread (its
    /// top-level message): I am then told (`notice`) of its answer and of
    /// replies in its thread, live or at my next login.
    FollowThread {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
        on: bool,
    },
    /// Follow (`on: true`) or stop following a leader: their broadcasts then
    /// reach me even outside the rooms they are sent to.
    Follow {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        user: String,
        on: bool,
    },
    /// A leader's broadcast to everyone (`rooms` empty: the organisation
    /// room) or to a set of rooms; optionally asking each reader to confirm.
    Broadcast {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        client_id: Uuid,
        body: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rooms: Vec<RoomId>,
        #[serde(default, skip_serializing_if = "is_false")]
        ack_requested: bool,
    },
    /// This device received (`delivered`), showed in a focused window
    /// (`opened`) or the reader confirmed (`acknowledged`) a broadcast.
    BroadcastReceipt { broadcast: Uuid, kind: ReceiptKind },
    /// The reach of one of my broadcasts (admins: any).
    Reach {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcast: Uuid,
    },
    /// Remind everyone in a broadcast's audience who has not acknowledged
    /// it yet (its sender or an admin; `protocol/src/reminder.rs`).
    BroadcastRemind {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcast: Uuid,
    },
    /// Broadcasts waiting for my acknowledgement (to pin them).
    PendingAcks {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Broadcasts I received, newest first, a page at a time
    /// (`protocol/src/received.rs`).
    ReceivedBroadcasts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        /// Only broadcasts older than this one (the previous page's `before`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<Uuid>,
        /// At most this many (1 to 20; default 20).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Broadcasts I sent, newest first, a page at a time, for leaders and
    /// admins (`protocol/src/sent.rs`).
    SentBroadcasts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        /// Only broadcasts older than this one (the previous page's `before`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<Uuid>,
        /// At most this many (1 to 100; default 20).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// The leaders I follow (to show Follow / Unfollow).
    Following {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Block (`on: true`) or unblock a user: a blocked user can no longer
    /// open a direct conversation with me, post in ours, or add me to
    /// rooms (they are told `not_found`, as for an unknown user).
    Block {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        user: String,
        on: bool,
    },
    /// The users I block.
    Blocked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Change my own display name (trimmed; 1 to
    /// [`crate::MAX_DISPLAY_NAME_CHARS`] characters; no control or
    /// bidirectional-text characters). Answered with `user_updated`.
    SetDisplayName {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        display_name: String,
    },
    /// Every question I asked (named and anonymous), newest first, with its
    /// state and answer. Answered with `my_questions`.
    MyQuestions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// One thread: the message `seq` and its replies, oldest first; with
    /// `after`, only the replies with a higher seq.
    Thread {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<RoomSeq>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Find or make the direct-message room with another user.
    OpenDm {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        user: String,
    },
    CreateRoom {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        name: String,
        #[serde(default)]
        topic: String,
        visibility: Visibility,
        /// Only leaders, admins and the room's owner and moderators post
        /// top-level messages; everyone may reply in threads and ask there.
        #[serde(default, skip_serializing_if = "is_false")]
        announce_only: bool,
    },
    /// Rename a room, change its topic, archive or unarchive it (the
    /// room's owner or an admin). Absent fields stay as they are.
    UpdateRoom {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archived: Option<bool>,
    },
    /// Join a public room.
    Join {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
    },
    Leave {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
    },
    /// Add a user (by username) to a room: owners and moderators of a private
    /// room, any member of a public one, admins anywhere.
    AddMember {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        user: String,
    },
    /// Remove a member (owners, moderators, admins).
    /// Make a member a moderator or a plain member again (the room's
    /// owner, or an admin).
    SetRoomRole {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        user: String,
        role: RoomRole,
    },
    RemoveMember {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        user: String,
    },
    /// The rooms I am a member of.
    MyRooms {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// The public rooms of the server.
    Directory {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    Members {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
    },
    /// The active users of the server (for starting a direct message).
    Users {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// A page of a room's timeline: with `before`, the events with a lower
    /// seq (newest page first, returned oldest first); with `after`, the
    /// events with a higher seq; with neither, the latest page.
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<RoomSeq>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<RoomSeq>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// "I have processed everything up to `pos`": stored for this device so a
    /// reconnect without `resume` continues from here. Without `req_id` no
    /// reply (and under load the position may be dropped: it is only an
    /// optimisation); with one, `ok` once the position is durable, so a
    /// client about to close knows it was stored.
    AckPos {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        pos: Pos,
    },
    /// Set my read marker in a room (it only moves forward); synced to my
    /// other devices as a `read_marker` frame.
    MarkRead {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
    },
    /// Per room: unread count, my read marker, the latest event.
    Summary {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// I am typing in a room (ephemeral; sent to the other online members).
    Typing { room: RoomId },
    /// Which users are online now.
    Online {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Full-text search over the messages the caller may read (see
    /// docs/protocol.md for the query syntax). Reply: `search_results`.
    Search {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        query: String,
        /// `newest` (the default) or `relevance`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sort: Option<SearchSort>,
        /// The `next_cursor` of the previous page, for the page after it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_cursor: Option<String>,
        /// Results per page: 1 to `MAX_SEARCH_RESULTS` (default 20).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Allow or stop anonymous questions in one room (its owners, admins)
    /// or, with no `room`, in every room (admins). Reply: `ok`.
    SetAnonymousQuestions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
        on: bool,
    },
    /// Where anonymous questions are allowed. Reply: `anonymous_settings`.
    AnonymousSettings {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Ask a question nobody will see I asked; it waits for the
    /// transformation team. Reply: `anonymous_questions` (this one).
    AskAnonymously {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        body: String,
    },
    /// The anonymous questions I asked. Reply: `anonymous_questions`.
    MyAnonymousQuestions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Change the text of my anonymous question (pending or approved).
    /// Reply: `ok`.
    EditAnonymous {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        id: Uuid,
        body: String,
    },
    /// Take back my anonymous question (deleted from its room if it was
    /// approved). Reply: `ok`.
    WithdrawAnonymous {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        id: Uuid,
    },
    /// The transformation team's queue of pending anonymous questions.
    /// Reply: `moderation_queue`.
    ModerationQueue {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Approve, reject or merge a pending anonymous question
    /// (transformation team). Reply: `ok`.
    Moderate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        id: Uuid,
        action: crate::anon::ModerationAction,
    },
    /// FAQ (transformation team): publish the answered question
    /// `room`/`seq` (its text and its answer's text, copied; visible to the
    /// whole organisation from then on) with topic tags. Publishing the
    /// same question again refreshes the text and tags. Reply: `faq_entry`.
    FaqPublish {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
        #[serde(default)]
        tags: Vec<String>,
    },
    /// FAQ (transformation team): replace an entry's tags. Reply: `faq_entry`.
    FaqTags {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        id: u64,
        tags: Vec<String>,
    },
    /// FAQ (transformation team): remove an entry. Reply: `ok`.
    FaqUnpublish {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        id: u64,
    },
    /// The FAQ (anyone): entries with `tag`, and holding every word of
    /// `q` (in the question, the answer or a tag; case does not count).
    /// Reply: `faq_entries`.
    Faq {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        q: Option<String>,
    },
    /// Answer the question `room`/`seq` with FAQ entry `id` (whoever may
    /// answer questions there, and is a member): posts a thread reply
    /// linking the entry with its answer, and marks it as the answer (the
    /// asker, voters and followers are told as for any answer). Reply: `ok`.
    FaqAnswer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        seq: RoomSeq,
        id: u64,
    },
    /// Rumour watch (transformation team): add a phrase to the shared
    /// watch list. Reply: `watch_list` (also sent to the team online).
    WatchAdd {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        phrase: String,
    },
    /// Remove a phrase (matched like a message: case and accents do not
    /// count). Reply: `watch_list`.
    WatchRemove {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        phrase: String,
    },
    /// The watch list. Reply: `watch_list`.
    WatchList {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// My rumour alerts, newest first, older than `before` (a `pos`).
    /// Reply: `watch_alerts`.
    WatchAlerts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<Pos>,
        /// 1 to `MAX_WATCH_ALERTS_PAGE` (default 50).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Matches per watched phrase per ISO week, for the last `weeks`
    /// weeks (1 to `MAX_WATCH_WEEKS`, default 12). Reply: `watch_counts`.
    WatchCounts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        weeks: Option<u32>,
    },
    /// Admin: delete messages older than `days` (1 to
    /// `MAX_RETENTION_DAYS`) in `room`, or everywhere without `room` (a
    /// room's own policy overrides the global one). Reply: `retention`.
    RetentionSet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
        days: u32,
    },
    /// Admin: remove the policy of `room` (it follows the global one
    /// again), or the global one (keep forever). Reply: `retention`.
    RetentionClear {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
    },
    /// Admin: policies, legal holds and the last run. Reply: `retention`.
    Retention {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Admin: put a room or a user under legal hold (retention deletes
    /// nothing in the room / nothing the user wrote). Audited. Reply:
    /// `retention`.
    LegalHoldSet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        target: crate::retention::HoldTarget,
        #[serde(default)]
        reason: String,
    },
    /// Admin: lift a legal hold. Audited. Reply: `retention`.
    LegalHoldClear {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        target: crate::retention::HoldTarget,
    },
    /// The Pulse view's numbers for the last `days` UTC days, today
    /// included (1 to `MAX_PULSE_DAYS`, default 30). Transformation team,
    /// leaders and admins. Reply: `pulse`.
    Pulse {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        days: Option<u32>,
    },
}

/// How search results are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    Newest,
    Relevance,
}

/// The most results one `search` page holds.
pub const MAX_SEARCH_RESULTS: u32 = 50;

/// One search hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SearchResult {
    pub room: RoomId,
    pub seq: RoomSeq,
    pub author: UserInfo,
    pub ts: Millis,
    /// Part of the message around the matches (its current text).
    pub snippet: String,
    /// `[start, end)` of each matched word in `snippet`, in UTF-16 code
    /// units (JavaScript string offsets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<[u32; 2]>,
}

/// The `type` names of [`ClientFrame`], to tell an unknown type from a bad field.
pub const CLIENT_FRAME_TYPES: &[&str] = &[
    "hello",
    "send",
    "follow",
    "broadcast",
    "broadcast_receipt",
    "reach",
    "broadcast_remind",
    "pending_acks",
    "received_broadcasts",
    "sent_broadcasts",
    "following",
    "block",
    "blocked",
    "thread",
    "edit",
    "delete",
    "react",
    "mark_answer",
    "merge_questions",
    "questions",
    "vote",
    "follow_thread",
    "open_dm",
    "create_room",
    "update_room",
    "join",
    "leave",
    "add_member",
    "remove_member",
    "set_room_role",
    "my_rooms",
    "directory",
    "members",
    "users",
    "history",
    "ack_pos",
    "mark_read",
    "summary",
    "typing",
    "online",
    "ping",
    "search",
    "faq_publish",
    "faq_tags",
    "faq_unpublish",
    "faq",
    "faq_answer",
];

impl ClientFrame {
    /// Decode one text message, telling bad JSON, an unknown type and a bad
    /// field apart so each gets its own error code.
    pub fn decode(text: &str) -> Result<ClientFrame, DecodeError> {
        // Fast path: a well-formed object decodes straight into the frame,
        // borrowing its strings, without building a `Value` first (which
        // allocates every key and value: a third of the allocations of a
        // `send`). Anything it refuses takes the slow path below, which
        // decides the error code, so both paths accept the same frames.
        // Only an object may take it: serde would also read a struct from
        // a JSON array.
        if text.trim_start().starts_with('{')
            && let Ok(frame) = serde_json::from_str::<ClientFrame>(text)
        {
            return frame.with_short_req_id();
        }
        Self::decode_via_value(text)
    }

    /// A `req_id` is echoed in the reply, in every part of a split reply
    /// and in errors: it is a correlation tag, not a payload, so it is kept
    /// to [`crate::MAX_REQ_ID_BYTES`].
    fn with_short_req_id(self) -> Result<ClientFrame, DecodeError> {
        match self.req_id() {
            Some(id) if id.len() > crate::MAX_REQ_ID_BYTES => Err(DecodeError {
                code: ErrorCode::InvalidField,
                message: format!("`req_id` is longer than {} bytes", crate::MAX_REQ_ID_BYTES),
                req_id: None,
            }),
            _ => Ok(self),
        }
    }

    /// The slow path of [`ClientFrame::decode`]: through a `Value`, so that
    /// bad JSON, an unknown type and a bad field get their own codes. Public
    /// only so a test can check that both paths agree.
    #[doc(hidden)]
    pub fn decode_via_value(text: &str) -> Result<ClientFrame, DecodeError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| DecodeError {
            code: ErrorCode::BadJson,
            message: format!("not valid JSON: {e}"),
            req_id: None,
        })?;
        let Some(object) = value.as_object() else {
            return Err(DecodeError {
                code: ErrorCode::BadJson,
                message: "a frame must be a JSON object".into(),
                req_id: None,
            });
        };
        let req_id = object
            .get("req_id")
            .and_then(|v| v.as_str())
            .filter(|id| id.len() <= crate::MAX_REQ_ID_BYTES)
            .map(str::to_owned);
        let kind = object.get("type").and_then(|v| v.as_str());
        match kind {
            None => {
                return Err(DecodeError {
                    code: ErrorCode::UnknownType,
                    message: "the frame has no string field `type`".into(),
                    req_id,
                });
            }
            Some(kind) if !CLIENT_FRAME_TYPES.contains(&kind) => {
                return Err(DecodeError {
                    code: ErrorCode::UnknownType,
                    message: format!("unknown frame type `{}`", truncate(kind, 64)),
                    req_id,
                });
            }
            Some(_) => {}
        }
        let frame: ClientFrame = serde_json::from_value(value).map_err(|e| {
            let message = e.to_string();
            let code = if message.starts_with("missing field") {
                ErrorCode::MissingField
            } else {
                ErrorCode::InvalidField
            };
            DecodeError {
                code,
                message,
                req_id,
            }
        })?;
        frame.with_short_req_id()
    }

    /// The request id, for requests that carry one.
    pub fn req_id(&self) -> Option<&str> {
        match self {
            ClientFrame::Send { req_id, .. }
            | ClientFrame::Edit { req_id, .. }
            | ClientFrame::Delete { req_id, .. }
            | ClientFrame::React { req_id, .. }
            | ClientFrame::MarkAnswer { req_id, .. }
            | ClientFrame::MergeQuestions { req_id, .. }
            | ClientFrame::Questions { req_id, .. }
            | ClientFrame::Vote { req_id, .. }
            | ClientFrame::FollowThread { req_id, .. }
            | ClientFrame::Broadcast { req_id, .. }
            | ClientFrame::Follow { req_id, .. }
            | ClientFrame::Reach { req_id, .. }
            | ClientFrame::BroadcastRemind { req_id, .. }
            | ClientFrame::PendingAcks { req_id }
            | ClientFrame::ReceivedBroadcasts { req_id, .. }
            | ClientFrame::SentBroadcasts { req_id, .. }
            | ClientFrame::Following { req_id }
            | ClientFrame::Block { req_id, .. }
            | ClientFrame::Blocked { req_id }
            | ClientFrame::SetDisplayName { req_id, .. }
            | ClientFrame::MyQuestions { req_id }
            | ClientFrame::Thread { req_id, .. }
            | ClientFrame::OpenDm { req_id, .. }
            | ClientFrame::CreateRoom { req_id, .. }
            | ClientFrame::UpdateRoom { req_id, .. }
            | ClientFrame::Join { req_id, .. }
            | ClientFrame::Leave { req_id, .. }
            | ClientFrame::AddMember { req_id, .. }
            | ClientFrame::RemoveMember { req_id, .. }
            | ClientFrame::SetRoomRole { req_id, .. }
            | ClientFrame::MyRooms { req_id }
            | ClientFrame::Directory { req_id }
            | ClientFrame::Members { req_id, .. }
            | ClientFrame::Users { req_id }
            | ClientFrame::History { req_id, .. }
            | ClientFrame::MarkRead { req_id, .. }
            | ClientFrame::AckPos { req_id, .. }
            | ClientFrame::Summary { req_id }
            | ClientFrame::Online { req_id }
            | ClientFrame::Ping { req_id }
            | ClientFrame::Search { req_id, .. }
            | ClientFrame::SetAnonymousQuestions { req_id, .. }
            | ClientFrame::AnonymousSettings { req_id }
            | ClientFrame::AskAnonymously { req_id, .. }
            | ClientFrame::MyAnonymousQuestions { req_id }
            | ClientFrame::EditAnonymous { req_id, .. }
            | ClientFrame::WithdrawAnonymous { req_id, .. }
            | ClientFrame::ModerationQueue { req_id }
            | ClientFrame::Moderate { req_id, .. }
            | ClientFrame::FaqPublish { req_id, .. }
            | ClientFrame::FaqTags { req_id, .. }
            | ClientFrame::FaqUnpublish { req_id, .. }
            | ClientFrame::Faq { req_id, .. }
            | ClientFrame::FaqAnswer { req_id, .. }
            | ClientFrame::WatchAdd { req_id, .. }
            | ClientFrame::WatchRemove { req_id, .. }
            | ClientFrame::WatchList { req_id }
            | ClientFrame::WatchAlerts { req_id, .. }
            | ClientFrame::WatchCounts { req_id, .. }
            | ClientFrame::RetentionSet { req_id, .. }
            | ClientFrame::RetentionClear { req_id, .. }
            | ClientFrame::Retention { req_id }
            | ClientFrame::LegalHoldSet { req_id, .. }
            | ClientFrame::LegalHoldClear { req_id, .. }
            | ClientFrame::Pulse { req_id, .. } => req_id.as_deref(),
            ClientFrame::Hello { .. }
            | ClientFrame::Typing { .. }
            | ClientFrame::BroadcastReceipt { .. } => None,
        }
    }

    pub fn to_json(&self) -> String {
        // A ClientFrame holds only strings, numbers and UUIDs: it always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// The reactions a client may use: a small fixed set keeps them meaningful
/// and cheap to count.
pub const REACTIONS: &[&str] = &["👍", "❤️", "😄", "🎉", "😮", "😢", "🙏", "✅"];

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// How far a broadcast got with one reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    Delivered,
    Opened,
    Acknowledged,
}

/// One reader of a broadcast: when it reached them (0 = not yet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReachEntry {
    pub user: UserInfo,
    pub delivered_at: Millis,
    pub opened_at: Millis,
    pub acknowledged_at: Millis,
}

/// Counts of a broadcast's reach, against its audience when posted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReachCounts {
    pub audience: u64,
    pub delivered: u64,
    pub opened: u64,
    pub acknowledged: u64,
}

/// A broadcast waiting for my acknowledgement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PendingAck {
    pub broadcast: Uuid,
    pub room: RoomId,
    pub seq: RoomSeq,
    pub sender: UserInfo,
    pub body: String,
    pub ts: Millis,
}

/// Who may find and join a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Listed in the directory; anyone may join.
    Public,
    /// Invisible to non-members; members are added by its owner or moderators.
    Private,
}

/// What kind of conversation a room is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    Room,
    /// A private two-person conversation.
    Dm,
}

/// A user's role on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Leader,
    Staff,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "leader" => Some(Role::Leader),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Staff => "staff",
        }
    }
}

/// A member's role in one room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoomRole {
    Owner,
    Moderator,
    Member,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UserInfo {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// A member of the transformation team (issue 13): clients tag them as
    /// such. Absent means false, so frames and stored records from before
    /// the field read unchanged. A message's sender carries the flag as it
    /// was when the message was sent.
    #[serde(default, skip_serializing_if = "is_false")]
    pub transformation_team: bool,
    /// The version of the person's own profile picture, absent when they
    /// have none (show initials). Fetch it from `GET /api/avatar/{id}?v=N`;
    /// a new version is a new picture (the URL changes, so a cached one is
    /// never stale). Live changes arrive as `user_updated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomInfo {
    pub id: RoomId,
    pub name: String,
    pub topic: String,
    pub visibility: Visibility,
    pub kind: RoomKind,
    pub member_count: u64,
    /// The caller's role in the room, when the caller is a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub my_role: Option<RoomRole>,
    /// For a direct-message room: the other person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm_peer: Option<UserInfo>,
    /// Only leaders, admins, owners and moderators post top-level messages.
    #[serde(default, skip_serializing_if = "is_false")]
    pub announce_only: bool,
    /// The organisation-wide room: every user is a member; staff cannot leave.
    #[serde(default, skip_serializing_if = "is_false")]
    pub org_wide: bool,
    /// Archived: read-only, out of the directory, still readable and
    /// searchable by its members.
    #[serde(default, skip_serializing_if = "is_false")]
    pub archived: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberInfo {
    pub user: UserInfo,
    pub role: RoomRole,
}

/// What happened to a membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberAction {
    Joined,
    Added,
    Left,
    Removed,
}

/// What a timeline event says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Content {
    Message {
        body: String,
        /// A reply in the thread under this message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread: Option<RoomSeq>,
        /// Posted as a question.
        #[serde(default, skip_serializing_if = "is_false")]
        question: bool,
        /// Files posted with the message (emptied when it is deleted).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
    },
    /// `target` (a message) now reads `body`.
    Edited { target: RoomSeq, body: String },
    /// `target` was deleted (by `sender`); only a tombstone remains.
    Deleted { target: RoomSeq },
    /// `sender` added (`on`) or removed a reaction to `target`.
    Reaction {
        target: RoomSeq,
        emoji: String,
        on: bool,
    },
    /// The question `question` is answered by the message `answer`.
    Answered { question: RoomSeq, answer: RoomSeq },
    /// The question `question` was merged into `into`.
    Merged { question: RoomSeq, into: RoomSeq },
    /// `user`'s role in the room is now `role` (set by `sender`).
    RoomRoleSet { user: UserInfo, role: RoomRole },
    /// A leader's broadcast (the same `broadcast` id in every room it went to).
    Broadcast {
        body: String,
        broadcast: Uuid,
        #[serde(default, skip_serializing_if = "is_false")]
        ack_requested: bool,
    },
    /// The room was made (always seq 1).
    Created {
        name: String,
        topic: String,
        visibility: Visibility,
        room_kind: RoomKind,
    },
    /// `user` joined, was added, left or was removed (by `sender`).
    Member {
        user: UserInfo,
        action: MemberAction,
    },
    /// `sender` (the owner or an admin) changed the room: only the fields
    /// that changed are present.
    RoomUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        archived: Option<bool>,
    },
}

/// Most files one message may carry: a bound on the event's size and on
/// the work of one `send`.
pub const MAX_ATTACHMENTS: usize = 10;

/// A file posted with a message: what a reader needs to show it (the bytes
/// are at `GET /api/files/{id}`, a thumbnail at `/api/files/{id}/thumb`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Attachment {
    pub id: Uuid,
    /// The name the uploader gave (for display and the download's name).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// Sniffed from the bytes by the server, never the uploader's claim.
    pub content_type: String,
    /// Whether `/api/files/{id}/thumb` has a thumbnail (images only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub thumbnail: bool,
    /// Pixel size, for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// One entry of a room's timeline, as stored and as delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    /// Server-wide commit position (what a device resumes from).
    pub pos: Pos,
    pub room: RoomId,
    /// Per-room sequence number.
    pub seq: RoomSeq,
    /// Server time of the commit.
    pub ts: Millis,
    pub sender: UserInfo,
    /// The sender's id for a message (idempotency key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    pub content: Content,
    /// Current state of a message, kept up to date in storage and in history
    /// (live and backlog copies show the state when sent; the later
    /// `edited`/`deleted`/`reaction`/`answered` events carry the changes).
    #[serde(default, skip_serializing_if = "MessageState::is_plain")]
    pub state: MessageState,
}

/// What happened to a message after it was posted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageState {
    /// Time of the last edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Millis>,
    /// Deleted: the body is gone.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// Reactions: emoji → who (in the order they reacted), at most
    /// [`crate::REACTORS_LISTED`] people per emoji.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub reactions: std::collections::BTreeMap<String, Vec<UserId>>,
    /// Emoji → how many more people reacted than `reactions` lists (absent
    /// while the list is complete). The emoji's count is the list's length
    /// plus this.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub reactions_more: std::collections::BTreeMap<String, u64>,
    /// For a question: the seq of the message marked as its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<RoomSeq>,
    /// For a message with thread replies: how many.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub replies: u64,
    /// A question merged into this canonical question (its seq).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<RoomSeq>,
    /// For a canonical question: the questions merged into it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<RoomSeq>,
    /// Seqs of the `edited` events of this message (so a delete can erase
    /// their bodies too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<RoomSeq>,
    /// For a question: how many people voted for it (`vote`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub votes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl MessageState {
    pub fn is_plain(&self) -> bool {
        self == &MessageState::default()
    }
}

/// The order of the unanswered-questions queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum QuestionSort {
    /// Oldest first.
    #[default]
    Age,
    /// Most votes first (then oldest first).
    Votes,
    /// Highest `votes / (age_hours + 2)^1.5` first (then oldest first): a
    /// question many want answered rises, and sinks as it ages, so the top
    /// of the queue is what matters now (see docs/protocol.md).
    Score,
}

/// What a `notice` tells about a question or thread I follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The question was answered (`event_seq`: the `answered` event).
    Answered,
    /// Someone replied in the thread (`event_seq`: the reply).
    Reply,
}

/// An open question, for the unanswered-questions queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OpenQuestion {
    pub room: RoomId,
    pub room_name: String,
    pub seq: RoomSeq,
    pub asker: UserInfo,
    pub body: String,
    pub asked_at: Millis,
    /// Milliseconds since it was asked.
    pub age_ms: u64,
    /// How many people voted for it.
    #[serde(default)]
    pub votes: u64,
    /// I voted for it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub voted: bool,
    /// I follow it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub following: bool,
}

/// What a device missed in one room, for the "what you missed" view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RoomSummary {
    pub room: RoomInfo,
    /// The seq of the room's latest event.
    pub last_seq: RoomSeq,
    /// My read marker (0 = nothing read).
    pub read_seq: RoomSeq,
    /// Messages (not membership events) after my read marker.
    pub unread: u64,
    /// Unread messages that mention me (`@username` or `@room`).
    pub mentions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<Event>,
}

/// A frame from the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Reply to a good `hello`: who I am, and the backlog follows.
    Welcome {
        version: u32,
        user: UserInfo,
        /// The position the backlog starts after.
        resume_from: Pos,
        /// The `resume` given is beyond anything this server has (its data
        /// was restored from a backup): forget local positions and state,
        /// and continue from `resume_from`.
        #[serde(default, skip_serializing_if = "is_false")]
        reset: bool,
        /// I am in the transformation team (I may answer questions in any
        /// room I can see). Absent when false.
        #[serde(default, skip_serializing_if = "is_false")]
        transformation_team: bool,
    },
    /// A timeline event, from the backlog or live. Events reach a device in
    /// increasing `pos`, each once.
    Event(Event),
    /// Everything up to `pos` has been sent: the backlog is done and what
    /// follows is live.
    CaughtUp {
        pos: Pos,
    },
    /// A `send` is durable (fsynced) and has its place in the room.
    Ack {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        client_id: Uuid,
        room: RoomId,
        seq: RoomSeq,
        pos: Pos,
        ts: Millis,
        /// True when this `client_id` had been stored before: nothing new was stored.
        duplicate: bool,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        code: ErrorCode,
        message: String,
    },
    /// Reply to `create_room`, `open_dm` and `join`.
    Room {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomInfo,
    },
    /// Reply to `my_rooms` and `directory`.
    Rooms {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        rooms: Vec<RoomInfo>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    Members {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        members: Vec<MemberInfo>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    Users {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        users: Vec<UserInfo>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        /// Oldest first.
        events: Vec<Event>,
        /// More events exist beyond this page in the direction asked.
        has_more: bool,
    },
    /// A page of search results.
    SearchResults {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        results: Vec<SearchResult>,
        /// More results follow: ask again with `before_cursor: next_cursor`.
        more: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
        /// How long the index has been behind what this node has published
        /// (0: everything published is searchable).
        index_lag_ms: u64,
    },
    Summary {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        rooms: Vec<RoomSummary>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// Reply to `thread`: the thread's first message as it is now, and a
    /// page of its replies, oldest first.
    Thread {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        room: RoomId,
        parent: Event,
        replies: Vec<Event>,
        /// More replies follow the last one (ask again with `after`).
        has_more: bool,
    },
    /// Reply to `following`: the leaders whose broadcasts reach me as a
    /// follower.
    Following {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        users: Vec<UserInfo>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// Reply to `blocked`: the users I block, by username.
    Blocked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        users: Vec<UserInfo>,
        /// The reply continues in the next frame (see `Rooms`).
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// A person's name changed (they set their own display name): the
    /// reply to `set_display_name` (with its `req_id`), and pushed live to
    /// every online session (without one), so names shown elsewhere can
    /// follow.
    UserUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        user: UserInfo,
    },
    /// Reply to `my_questions`: newest first. `truncated` when older ones
    /// were left out (the count limit, or the reply size).
    MyQuestions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        questions: Vec<crate::MyQuestion>,
        #[serde(default, skip_serializing_if = "is_false")]
        truncated: bool,
    },
    /// My read marker moved (sent to all my devices).
    ReadMarker {
        room: RoomId,
        seq: RoomSeq,
    },
    /// Reply to `leave`, `add_member`, `remove_member`, `mark_read`, `block`,
    /// `ack_pos` with a `req_id` (and the other changes that have no reply of
    /// their own): done, and durable at `pos` (0 when nothing entered a
    /// timeline).
    Ok {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        pos: Pos,
    },
    Typing {
        room: RoomId,
        user: UserInfo,
    },
    /// Reply to `broadcast`: durable in every room of the audience.
    BroadcastPosted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcast: Uuid,
        audience: u64,
        duplicate: bool,
    },
    /// Reply to `reach`: counts and every reader with their times.
    Reach {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcast: Uuid,
        counts: ReachCounts,
        readers: Vec<ReachEntry>,
        /// The broadcast asks for acknowledgement (so it can be reminded).
        /// Absent means false.
        #[serde(default, skip_serializing_if = "is_false")]
        ack_requested: bool,
        /// Reminders sent so far, newest first (at most
        /// `MAX_REMINDERS_LISTED`); absent when none was sent.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reminders: Vec<crate::reminder::Reminder>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// Reply to `broadcast_remind`: the reminder is durable and was sent
    /// to `reminded` people (0 when everyone had acknowledged).
    BroadcastReminded {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcast: Uuid,
        reminded: u64,
        at: Millis,
    },
    /// A reminder to acknowledge a broadcast: live, or in my next login's
    /// catch-up (before `caught_up`), once per connection, like `notice`.
    /// It names nobody else who was reminded.
    BroadcastReminder {
        /// Where it stands among my events and notices (a position of its
        /// own: no timeline event carries it).
        pos: Pos,
        broadcast: Uuid,
        /// The first of the broadcast's rooms I am a member of.
        room: RoomId,
        /// The broadcast's event in that room.
        seq: RoomSeq,
        /// The broadcast's sender.
        sender: UserInfo,
        /// Who asked for the reminder (the sender, or an admin).
        by: UserInfo,
        /// When the reminder was sent.
        at: Millis,
    },
    /// Pushed to a broadcast's sender whenever its reach changes.
    ReachUpdate {
        broadcast: Uuid,
        counts: ReachCounts,
    },
    /// Reply to `sent_broadcasts`: newest first.
    SentBroadcasts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcasts: Vec<crate::sent::SentBroadcast>,
        /// Older ones may exist: ask again with this as `before`. Absent
        /// when there are none. (Not `more`, which marks a split reply.)
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<Uuid>,
    },
    /// Reply to `received_broadcasts`: newest first.
    ReceivedBroadcasts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcasts: Vec<crate::received::ReceivedBroadcast>,
        /// Older ones may exist: ask again with this as `before`. Absent
        /// when there are none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<Uuid>,
    },
    PendingAcks {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        broadcasts: Vec<PendingAck>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// Reply to `questions`.
    Questions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        /// In the order the request's `sort` asked for (oldest first by default).
        questions: Vec<OpenQuestion>,
        /// Open questions in rooms I may see (not only those I may answer).
        open: u64,
        /// Median time from question to answer, over questions answered in
        /// the last 7 and 30 days (None when there were none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        median_answer_ms_7d: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        median_answer_ms_30d: Option<u64>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// A question's vote count changed (sent live to the room's online
    /// members; the count is also in the question's `state.votes`).
    QuestionVotes {
        room: RoomId,
        seq: RoomSeq,
        votes: u64,
    },
    /// Something happened to a question or thread I follow (or asked, or
    /// voted for): live, or in my next login's catch-up (before
    /// `caught_up`), once per connection.
    Notice {
        /// The position of the event that caused it (the answer's
        /// `answered` event, or the reply).
        pos: Pos,
        room: RoomId,
        room_name: String,
        /// The question or thread's top-level message.
        seq: RoomSeq,
        kind: NoticeKind,
        /// The `answered` event or the reply.
        event_seq: RoomSeq,
        /// Who answered or replied.
        by: UserInfo,
    },
    /// A user came online or went offline (sent to users who share a room).
    Presence {
        user: UserId,
        online: bool,
    },
    Online {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        users: Vec<UserId>,
        /// The reply continues in the next frame with the same `req_id`: a
        /// reply too large for one frame is split, and its lists are the
        /// concatenation of the parts' lists (`MAX_REPLY_BYTES`). Absent on
        /// the last (or only) part.
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
    },
    /// Reply to `anonymous_settings`: allowed in every room (`org`), or in
    /// these rooms.
    AnonymousSettings {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        org: bool,
        rooms: Vec<RoomId>,
    },
    /// Reply to `ask_anonymously` and `my_anonymous_questions`: newest
    /// first, each with `mine: true`.
    AnonymousQuestions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        questions: Vec<crate::anon::AnonQuestion>,
    },
    /// Reply to `moderation_queue`: the pending anonymous questions, oldest
    /// first.
    ModerationQueue {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        questions: Vec<crate::anon::AnonQuestion>,
    },
    /// Live, to the asker's own connections only: one of my anonymous
    /// questions changed (asked, edited, approved, rejected, merged,
    /// answered, withdrawn).
    AnonymousQuestion {
        question: crate::anon::AnonQuestion,
    },
    /// Live, to the transformation team's online members: a question entered
    /// the moderation queue (`pending`), was edited, or left it (any other
    /// status).
    ModerationItem {
        question: crate::anon::AnonQuestion,
    },
    /// Reply to `faq_publish` and `faq_tags`: the entry as stored.
    FaqEntry {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        entry: crate::faq::FaqEntry,
    },
    /// Reply to `faq`: the matching entries, newest first, and every tag
    /// in use with its number of entries (for the tag chips).
    FaqEntries {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        entries: Vec<crate::faq::FaqEntry>,
        tags: Vec<crate::faq::FaqTag>,
    },
    /// Reply to `watch_add`, `watch_remove` and `watch_list`: the watch
    /// list, oldest first; also sent live (without `req_id`) to the
    /// transformation team's online members when it changes.
    WatchList {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        phrases: Vec<crate::watch::WatchPhrase>,
    },
    /// Reply to `watch_alerts`: newest first; `has_more` when older ones
    /// exist (ask again with `before` = the last one's `pos`).
    WatchAlerts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        alerts: Vec<crate::watch::WatchAlert>,
        #[serde(default, skip_serializing_if = "is_false")]
        has_more: bool,
    },
    /// Live, to a transformation team member who may read the room: a
    /// message matched the watch list, or (`deleted: true`) a message that
    /// had was deleted.
    WatchAlert {
        alert: crate::watch::WatchAlert,
    },
    /// Reply to `watch_counts`: ISO week labels (`2026-W48`), oldest
    /// first, and for each phrase on the list its count in each week.
    WatchCounts {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        weeks: Vec<String>,
        phrases: Vec<crate::watch::WatchCounts>,
    },
    /// Reply to the retention and legal hold requests: the global policy
    /// (none: keep forever), each room's own policy, the holds in force,
    /// and the last run applied.
    Retention {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        global: Option<crate::retention::RetentionPolicy>,
        rooms: Vec<crate::retention::RoomRetention>,
        holds: Vec<crate::retention::LegalHold>,
        last_run: crate::retention::RetentionRun,
    },
    /// Reply to `pulse`: aggregated numbers over the rooms the caller may
    /// read (see `crate::pulse`).
    Pulse {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req_id: Option<String>,
        report: crate::pulse::PulseReport,
    },
}

impl ServerFrame {
    /// The `req_id` this frame answers, for replies (and errors) that carry one.
    pub fn req_id(&self) -> Option<&str> {
        use ServerFrame as F;
        match self {
            F::Ack { req_id, .. }
            | F::Error { req_id, .. }
            | F::Room { req_id, .. }
            | F::Rooms { req_id, .. }
            | F::Members { req_id, .. }
            | F::Users { req_id, .. }
            | F::History { req_id, .. }
            | F::SearchResults { req_id, .. }
            | F::Summary { req_id, .. }
            | F::Thread { req_id, .. }
            | F::Following { req_id, .. }
            | F::Blocked { req_id, .. }
            | F::UserUpdated { req_id, .. }
            | F::MyQuestions { req_id, .. }
            | F::Ok { req_id, .. }
            | F::BroadcastPosted { req_id, .. }
            | F::Reach { req_id, .. }
            | F::BroadcastReminded { req_id, .. }
            | F::PendingAcks { req_id, .. }
            | F::ReceivedBroadcasts { req_id, .. }
            | F::SentBroadcasts { req_id, .. }
            | F::Questions { req_id, .. }
            | F::Online { req_id, .. }
            | F::AnonymousSettings { req_id, .. }
            | F::AnonymousQuestions { req_id, .. }
            | F::ModerationQueue { req_id, .. }
            | F::FaqEntry { req_id, .. }
            | F::FaqEntries { req_id, .. }
            | F::WatchList { req_id, .. }
            | F::WatchAlerts { req_id, .. }
            | F::WatchCounts { req_id, .. }
            | F::Retention { req_id, .. }
            | F::Pulse { req_id, .. }
            | F::Pong { req_id } => req_id.as_deref(),
            F::Welcome { .. }
            | F::Event(_)
            | F::CaughtUp { .. }
            | F::ReadMarker { .. }
            | F::Typing { .. }
            | F::ReachUpdate { .. }
            | F::BroadcastReminder { .. }
            | F::QuestionVotes { .. }
            | F::Notice { .. }
            | F::AnonymousQuestion { .. }
            | F::ModerationItem { .. }
            | F::WatchAlert { .. }
            | F::Presence { .. } => None,
        }
    }

    /// Another part of this reply follows (`more: true`).
    pub fn has_more_parts(&self) -> bool {
        match self {
            ServerFrame::Rooms { more, .. }
            | ServerFrame::Members { more, .. }
            | ServerFrame::Users { more, .. }
            | ServerFrame::Summary { more, .. }
            | ServerFrame::Following { more, .. }
            | ServerFrame::Reach { more, .. }
            | ServerFrame::PendingAcks { more, .. }
            | ServerFrame::Questions { more, .. }
            | ServerFrame::Online { more, .. }
            | ServerFrame::Blocked { more, .. } => *more,
            _ => false,
        }
    }

    /// Append the next part of a split reply to this one: its list continues
    /// this one's, and its `more` becomes this one's. `Err(next)` when
    /// `next` is not a part of the same kind of reply.
    pub fn absorb(&mut self, next: ServerFrame) -> Result<(), Box<ServerFrame>> {
        use ServerFrame as F;
        match (self, next) {
            (
                F::Rooms { rooms, more, .. },
                F::Rooms {
                    rooms: r, more: m, ..
                },
            ) => {
                rooms.extend(r);
                *more = m;
            }
            (
                F::Members { members, more, .. },
                F::Members {
                    members: r,
                    more: m,
                    ..
                },
            ) => {
                members.extend(r);
                *more = m;
            }
            (
                F::Users { users, more, .. },
                F::Users {
                    users: r, more: m, ..
                },
            ) => {
                users.extend(r);
                *more = m;
            }
            (
                F::Summary { rooms, more, .. },
                F::Summary {
                    rooms: r, more: m, ..
                },
            ) => {
                rooms.extend(r);
                *more = m;
            }
            (
                F::Following { users, more, .. },
                F::Following {
                    users: r, more: m, ..
                },
            ) => {
                users.extend(r);
                *more = m;
            }
            (
                F::Reach { readers, more, .. },
                F::Reach {
                    readers: r,
                    more: m,
                    ..
                },
            ) => {
                readers.extend(r);
                *more = m;
            }
            (
                F::PendingAcks {
                    broadcasts, more, ..
                },
                F::PendingAcks {
                    broadcasts: r,
                    more: m,
                    ..
                },
            ) => {
                broadcasts.extend(r);
                *more = m;
            }
            (
                F::Questions {
                    questions, more, ..
                },
                F::Questions {
                    questions: r,
                    more: m,
                    ..
                },
            ) => {
                questions.extend(r);
                *more = m;
            }
            (
                F::Online { users, more, .. },
                F::Online {
                    users: r, more: m, ..
                },
            ) => {
                users.extend(r);
                *more = m;
            }
            (
                F::Blocked { users, more, .. },
                F::Blocked {
                    users: r, more: m, ..
                },
            ) => {
                users.extend(r);
                *more = m;
            }
            (_, next) => return Err(Box::new(next)),
        }
        Ok(())
    }

    pub fn error(req_id: Option<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error {
            req_id,
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        // Server frames hold only strings, numbers, UUIDs and enums: they always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// WebSocket close codes the server uses (4000-4999 is the application range).
pub mod close {
    /// A normal close.
    pub const NORMAL: u16 = 1000;
    /// Policy violation: the client kept going far past its rate limit.
    pub const POLICY: u16 = 1008;
    /// The server failed (storage error): reconnect later.
    pub const SERVER_ERROR: u16 = 1011;
    /// The server is at a limit (too many connections): reconnect later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// A message over the frame limit (standard "message too big").
    pub const TOO_BIG: u16 = 1009;
    /// The server is going away (shutdown).
    pub const GOING_AWAY: u16 = 1001;
    /// Authentication failed or timed out.
    pub const AUTH_FAILED: u16 = 4001;
    /// The session was logged out, or the user disabled.
    pub const LOGGED_OUT: u16 = 4003;
    /// The connection fell behind its traffic (its bounded buffer filled).
    pub const SLOW_CONSUMER: u16 = 4008;
    /// An admin changed my account (role, name, transformation team): the
    /// token still works; reconnect at once to get the new `welcome`.
    pub const ACCOUNT_CHANGED: u16 = 4009;
}
