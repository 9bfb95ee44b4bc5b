//! # Townhall wire protocol
//!
//! The JSON frames that travel over the WebSocket at `/ws`, the bodies of the
//! small HTTP API, and the stable error codes. This crate depends on nothing of
//! ours, so the server, the black-box tests, the load generator and any Rust
//! client share one definition. `docs/protocol.md` documents every frame with
//! an example; `tests` in this crate snapshot each one so a wire change shows
//! in review.
//!
//! ## Layout
//! - [`ids`]: typed identifiers (`UserId`, `RoomId`) and counters (`Pos`, `RoomSeq`).
//! - [`anon`]: anonymous questions and their moderation queue (no type here
//!   carries the asker).
//! - [`faq`]: the FAQ (published answered questions with topic tags).
//! - [`watch`]: rumour watch (the team's watch list, alerts, weekly counts).
//! - [`retention`]: retention policies and legal holds.
//! - [`pulse`]: the Pulse view's aggregated numbers.
//! - [`frames`]: client→server [`ClientFrame`] and server→client [`ServerFrame`].
//! - [`error`]: the [`ErrorCode`] enum (only ever gains codes) and frame decoding errors.
//! - [`http`]: request and response bodies of `/api/*`.
//! - `schema` (feature `schema`): the JSON Schema of all of the above,
//!   checked in as `docs/protocol.schema.json`.

pub mod anon;
pub mod error;
pub mod faq;
pub mod frames;
pub mod http;
pub mod ids;
pub mod invite;
pub mod my_questions;
pub mod profile;
pub mod pulse;
pub mod received;
pub mod reminder;
pub mod retention;
#[cfg(feature = "schema")]
pub mod schema;
pub mod sent;
pub mod watch;

pub use anon::{
    ANONYMOUS, AnonQuestion, AnonStatus, MAX_REJECT_REASON_BYTES, ModerationAction,
    anonymous_sender,
};
pub use error::{DecodeError, ErrorCode};
pub use frames::*;
pub use ids::{Pos, RoomId, RoomSeq, UserId};
pub use my_questions::*;
pub use profile::*;
pub use reminder::{MAX_REMINDERS_LISTED, REMINDER_INTERVAL_MS, Reminder};

/// The protocol version a client names in its `hello`. Bumped only for an
/// incompatible change; additions (new frames, new optional fields, new error
/// codes) keep the number.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest message body in bytes (UTF-8). A chat message, not a file: 16 KiB
/// is about four pages of text.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Largest WebSocket message the server reads. A `send` with a maximal body
/// stays below it even when every byte needs JSON escaping (`\u0000` is six
/// bytes: 16 KiB × 6 = 96 KiB); anything bigger is refused with close code
/// 1009 before it is parsed.
pub const MAX_FRAME_BYTES: usize = 128 * 1024;

/// Longest `req_id` a client may give (bytes). It is echoed in the reply,
/// in every part of a reply in parts and in errors; 128 bytes holds any
/// counter, UUID or `prefix:uuid` a client uses.
pub const MAX_REQ_ID_BYTES: usize = 128;

/// Largest page of history or backlog one request may ask for. A page also
/// ends early at [`MAX_REPLY_BYTES`] (with `has_more`).
pub const MAX_PAGE: u32 = 500;

/// The bytes of list items one reply frame carries. A longer list reply
/// (`summary`, `members`, `rooms`, ...) is split into parts that share the
/// `req_id`, all but the last with `"more": true`; a `history` or `thread`
/// page stops early with `has_more: true`. 256 KiB holds an ordinary page
/// (hundreds of chat lines) in one frame and keeps any one frame far below
/// [`MAX_SERVER_FRAME_BYTES`].
pub const MAX_REPLY_BYTES: usize = 256 * 1024;

/// The largest single event once serialized: a body of [`MAX_BODY_BYTES`]
/// where every byte needs six bytes of escaping (96 KiB), the longest
/// names, [`MAX_EDITS`] edits, [`MAX_MERGED`] merged questions, and every
/// reaction listing
/// [`REACTORS_LISTED`] people (8 × 50 × 39 B ≈ 15 KiB).
/// `protocol/tests/limits.rs` builds the worst case and checks it.
pub const MAX_EVENT_BYTES: usize = 160 * 1024;

/// People listed per emoji in a message's state. Past this the list stops
/// growing and `reactions_more` counts the rest, so that a broadcast with
/// thousands of 👍 stays a small event: a full list of 20,000 people would
/// be 780 KB, rewritten on every reaction and carried by every history
/// page that holds the message.
pub const REACTORS_LISTED: usize = 50;

/// Edits one message may have. Each edit is listed in the message's state
/// (so that a delete can erase every version): without a limit, one person
/// editing in a loop could grow a single message past any frame.
pub const MAX_EDITS: usize = 1000;

/// Questions that can be merged into one canonical question. Each is listed
/// in its state (`merged`), which must stay within [`MAX_EVENT_BYTES`].
pub const MAX_MERGED: usize = 1000;

/// The largest frame the server sends. A reply holds at most
/// [`MAX_REPLY_BYTES`] of list items, or one item when a single item is
/// larger, plus at most one whole event beside them (a thread's parent):
/// 256 KiB + 2 × 160 KiB + a few hundred bytes, within 1 MiB with room to
/// spare. The server's socket buffer is sized from it, so a frame within it
/// is always written; a client may size its read limit to it.
pub const MAX_SERVER_FRAME_BYTES: usize = 1024 * 1024;
