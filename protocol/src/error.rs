//! Stable error codes and frame decoding.
//!
//! [`ErrorCode`] is the one list of everything that can go wrong that a client
//! sees, on the WebSocket (`{"type":"error","code":...}`) and over HTTP
//! (`{"code":...,"message":...}`). Codes are snake_case and only ever added:
//! a client may match on them forever.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every error a client can be told about. Documented in `docs/protocol.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON (or not a JSON object).
    BadJson,
    /// The frame has no `type`, or a `type` this server does not know.
    UnknownType,
    /// A required field is missing.
    MissingField,
    /// A field has the wrong type or an impossible value.
    InvalidField,
    /// The WebSocket message is larger than the frame limit (close 1009).
    FrameTooLarge,
    /// A message body is empty or larger than the body limit.
    BodyTooLarge,
    /// The first frame was not a `hello`, or a request came before it.
    NotAuthenticated,
    /// The token is unknown, expired, revoked, or its user is disabled.
    BadToken,
    /// No `hello` arrived within the authentication timeout.
    AuthTimeout,
    /// The `hello` names a protocol version this server does not speak.
    UnsupportedVersion,
    /// The room or user does not exist, or the caller may not see it.
    /// Both cases give this same answer so that private rooms do not leak.
    NotFound,
    /// The caller can see the room but may not do this in it.
    Forbidden,
    /// The username or password is wrong (the same answer for an unknown user).
    InvalidCredentials,
    /// Too many requests or login attempts; try again later.
    RateLimited,
    /// The username is already taken.
    NameTaken,
    /// The caller is already a member of the room.
    AlreadyMember,
    /// The user named is not a member of the room.
    NotMember,
    /// The connection could not keep up with its traffic and was closed; its
    /// messages wait in its queue (close code 4008).
    SlowConsumer,
    /// The server could not make the change durable; nothing was acknowledged.
    StorageError,
    /// The server is shutting down; reconnect shortly.
    ShuttingDown,
    /// A bug or an unexpected condition on the server; logged there.
    Internal,
    /// A documented per-object limit is reached (e.g. `MAX_EDITS` edits of
    /// one message); the message names it.
    LimitReached,
    /// An HTTP request to `/api/*` with a body that is not
    /// `application/json` (HTTP 415).
    UnsupportedMediaType,
    /// Cluster mode: the write could not reach the cluster log in time, or
    /// this node has not yet applied the log up to the position the client
    /// resumes from. Retry (a send with the same `client_id` is safe to
    /// retry), or connect to another node.
    Unavailable,
    /// A `search` query the server cannot read (an unclosed quote, a filter
    /// with a value it cannot take, too long); the message says which part.
    BadQuery,
    /// Login: the company directory (LDAP) could not be reached or did not
    /// answer in time (or its TLS certificate is not trusted). Not a verdict
    /// on the password: retry later; local accounts still log in.
    DirectoryUnavailable,
    /// Login: the directory accepted the password, but a local account of
    /// the same name exists; a directory login never takes over a local
    /// account (an admin renames or removes one of them).
    AccountSourceConflict,
    /// Login: the password is right, but this account's login source
    /// (local or directory) is not enabled on this server (`--login-sources`).
    LoginSourceDisabled,
    /// This server does not offer the request in its current mode (file
    /// uploads on a cluster node); the message says what.
    NotSupported,
    /// OpenID Connect login: the callback's `state` is unknown, expired,
    /// already used, or not this browser's (no matching state cookie); or
    /// the one-time login code given to `/api/oidc/exchange` is. Start the
    /// login again.
    OidcStateMismatch,
    /// OpenID Connect login: the provider refused (the user cancelled or
    /// was refused there, or the token endpoint refused the code).
    OidcDenied,
    /// OpenID Connect login: the ID token failed verification (signature,
    /// algorithm, issuer, audience, expiry or nonce). Logged on the server.
    OidcTokenInvalid,
    /// The room is archived (read-only): sends, edits, deletes, reactions
    /// and votes are refused until an owner or admin unarchives it.
    RoomArchived,
    /// The organisation room stays as it is: staff cannot leave it and
    /// nobody archives it.
    OrganisationRoom,
    /// FAQ: the question has no answer yet (or its answer was deleted),
    /// so it cannot be published.
    NotAnswered,
    /// Invitation link: no invitation has this token.
    InviteUnknown,
    /// Invitation link: already used to make the account.
    InviteUsed,
    /// Invitation link: past its expiry (`--invite-hours`).
    InviteExpired,
    /// Invitation link: an admin revoked it.
    InviteRevoked,
}

impl ErrorCode {
    /// The wire spelling, e.g. `"not_found"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::NotAuthenticated => "not_authenticated",
            ErrorCode::BadToken => "bad_token",
            ErrorCode::AuthTimeout => "auth_timeout",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::NameTaken => "name_taken",
            ErrorCode::AlreadyMember => "already_member",
            ErrorCode::NotMember => "not_member",
            ErrorCode::SlowConsumer => "slow_consumer",
            ErrorCode::StorageError => "storage_error",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
            ErrorCode::LimitReached => "limit_reached",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::BadQuery => "bad_query",
            ErrorCode::DirectoryUnavailable => "directory_unavailable",
            ErrorCode::AccountSourceConflict => "account_source_conflict",
            ErrorCode::LoginSourceDisabled => "login_source_disabled",
            ErrorCode::NotSupported => "not_supported",
            ErrorCode::OidcStateMismatch => "oidc_state_mismatch",
            ErrorCode::OidcDenied => "oidc_denied",
            ErrorCode::OidcTokenInvalid => "oidc_token_invalid",
            ErrorCode::RoomArchived => "room_archived",
            ErrorCode::OrganisationRoom => "organisation_room",
            ErrorCode::NotAnswered => "not_answered",
            ErrorCode::InviteUnknown => "invite_unknown",
            ErrorCode::InviteUsed => "invite_used",
            ErrorCode::InviteExpired => "invite_expired",
            ErrorCode::InviteRevoked => "invite_revoked",
        }
    }

    /// Every code, for documentation checks.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BadJson,
        ErrorCode::UnknownType,
        ErrorCode::MissingField,
        ErrorCode::InvalidField,
        ErrorCode::FrameTooLarge,
        ErrorCode::BodyTooLarge,
        ErrorCode::NotAuthenticated,
        ErrorCode::BadToken,
        ErrorCode::AuthTimeout,
        ErrorCode::UnsupportedVersion,
        ErrorCode::NotFound,
        ErrorCode::Forbidden,
        ErrorCode::InvalidCredentials,
        ErrorCode::RateLimited,
        ErrorCode::NameTaken,
        ErrorCode::AlreadyMember,
        ErrorCode::NotMember,
        ErrorCode::SlowConsumer,
        ErrorCode::StorageError,
        ErrorCode::ShuttingDown,
        ErrorCode::Internal,
        ErrorCode::LimitReached,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Unavailable,
        ErrorCode::BadQuery,
        ErrorCode::DirectoryUnavailable,
        ErrorCode::AccountSourceConflict,
        ErrorCode::LoginSourceDisabled,
        ErrorCode::NotSupported,
        ErrorCode::OidcStateMismatch,
        ErrorCode::OidcDenied,
        ErrorCode::OidcTokenInvalid,
        ErrorCode::RoomArchived,
        ErrorCode::OrganisationRoom,
        ErrorCode::NotAnswered,
        ErrorCode::InviteUnknown,
        ErrorCode::InviteUsed,
        ErrorCode::InviteExpired,
        ErrorCode::InviteRevoked,
    ];
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a client frame could not be decoded. Carries the frame's `req_id` when
/// one could be read, so the error reply can still be correlated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    pub req_id: Option<String>,
}
