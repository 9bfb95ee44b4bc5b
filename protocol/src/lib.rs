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
//! - [`frames`]: client→server [`ClientFrame`] and server→client [`ServerFrame`].
//! - [`error`]: the [`ErrorCode`] enum (only ever gains codes) and frame decoding errors.
//! - [`http`]: request and response bodies of `/api/*`.

pub mod error;
pub mod frames;
pub mod http;
pub mod ids;

pub use error::{DecodeError, ErrorCode};
pub use frames::*;
pub use ids::{Pos, RoomId, RoomSeq, UserId};

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

/// Largest page of history or backlog one request may ask for.
pub const MAX_PAGE: u32 = 500;
