//! The server's error enum and its one mapping to wire codes.
//!
//! Handlers return [`ServerError`]; the session and the HTTP layer turn it
//! into an `error` frame or an HTTP status with [`ServerError::code`] and
//! [`ServerError::client_message`]. Storage and internal details are logged,
//! never sent. [`HttpError`] is the HTTP form (status + JSON body), here so
//! that both the routes and the middleware around them can answer with it.

use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thiserror::Error;
use townhall_protocol::ErrorCode;
use townhall_protocol::http::ErrorBody;

#[derive(Debug, Error)]
pub enum ServerError {
    /// Unknown, or not visible to the caller: one answer for both.
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("message body must be 1 to {max} bytes, got {got}")]
    BodyTooLarge { got: usize, max: usize },
    #[error("already a member")]
    AlreadyMember,
    #[error("not a member")]
    NotMember,
    #[error("name taken")]
    NameTaken,
    #[error("the room is archived (read-only)")]
    RoomArchived,
    #[error("{0}")]
    OrganisationRoom(&'static str),
    #[error("the question has no answer to publish")]
    NotAnswered,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("invalid, expired or revoked token")]
    BadToken,
    #[error("too many requests")]
    RateLimited,
    /// `broadcast_remind` within an hour of the last reminder (code
    /// `rate_limited`); the message says when the next one is possible.
    #[error(
        "a reminder for this broadcast was sent less than an hour ago; the next is possible at {next_at} (ms since the epoch)"
    )]
    RemindTooSoon { next_at: u64 },
    #[error("shutting down")]
    ShuttingDown,
    #[error("the API takes only Content-Type: application/json")]
    UnsupportedMediaType,
    /// A profile picture whose bytes are not a PNG, JPEG, GIF or WebP
    /// image that decodes (code `unsupported_media_type`, HTTP 415).
    #[error("a profile picture must be a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// Cluster mode: the log did not take the write in time, or this node
    /// is behind the client's position. The detail is for the client.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A search query that cannot be read; the detail is for the client.
    #[error("bad query: {0}")]
    BadQuery(String),
    /// The directory (LDAP) did not answer, or not in time; the detail is
    /// logged, never sent (it names hosts and DNs).
    #[error("directory unavailable: {0}")]
    DirectoryUnavailable(String),
    #[error("a local account has this name; a directory login cannot use it")]
    AccountSourceConflict,
    /// A directory login for an account made for another directory entry
    /// (the username was reused: a different `entryUUID`/`objectGUID`, or
    /// without one a different DN). Code `account_source_conflict`; the
    /// account stays as it is for an admin to resolve.
    #[error(
        "this name belongs to an account made for another directory entry; an administrator must resolve it"
    )]
    DirectoryIdentityChanged,
    #[error("this account's login source is not enabled on this server")]
    LoginSourceDisabled,
    /// An upload past the per-file limit (HTTP 413, code `body_too_large`).
    #[error("a file is at most {max} bytes")]
    FileTooLarge { max: u64 },
    /// Not offered in this mode (file uploads on a cluster node).
    #[error("not supported: {0}")]
    NotSupported(&'static str),
    /// OIDC: unknown, expired, replayed or foreign state (or one-time code).
    #[error("this login is unknown, expired or already used; start again")]
    OidcStateMismatch,
    /// OIDC: the provider refused; the detail is the provider's error code.
    #[error("the company login was refused: {0}")]
    OidcDenied(String),
    /// OIDC: the ID token failed verification; the detail is logged only.
    #[error("the company login's ID token is invalid: {0}")]
    OidcTokenInvalid(String),
    /// Invitation link: no invitation has this token.
    #[error("this invitation link is not known")]
    InviteUnknown,
    #[error("this invitation link was already used; log in instead")]
    InviteUsed,
    #[error("this invitation link has expired; ask an admin for a new one")]
    InviteExpired,
    #[error("this invitation link was revoked")]
    InviteRevoked,
}

impl ServerError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ServerError::NotFound => ErrorCode::NotFound,
            ServerError::Forbidden(_) => ErrorCode::Forbidden,
            ServerError::Invalid(_) => ErrorCode::InvalidField,
            ServerError::BodyTooLarge { .. } => ErrorCode::BodyTooLarge,
            ServerError::AlreadyMember => ErrorCode::AlreadyMember,
            ServerError::NotMember => ErrorCode::NotMember,
            ServerError::NameTaken => ErrorCode::NameTaken,
            ServerError::RoomArchived => ErrorCode::RoomArchived,
            ServerError::OrganisationRoom(_) => ErrorCode::OrganisationRoom,
            ServerError::NotAnswered => ErrorCode::NotAnswered,
            ServerError::InvalidCredentials => ErrorCode::InvalidCredentials,
            ServerError::BadToken => ErrorCode::BadToken,
            ServerError::RateLimited | ServerError::RemindTooSoon { .. } => ErrorCode::RateLimited,
            ServerError::ShuttingDown => ErrorCode::ShuttingDown,
            ServerError::UnsupportedMediaType | ServerError::NotAnImage => {
                ErrorCode::UnsupportedMediaType
            }
            ServerError::Store(_) => ErrorCode::StorageError,
            ServerError::Internal(_) => ErrorCode::Internal,
            ServerError::LimitReached(_) => ErrorCode::LimitReached,
            ServerError::Unavailable(_) => ErrorCode::Unavailable,
            ServerError::BadQuery(_) => ErrorCode::BadQuery,
            ServerError::DirectoryUnavailable(_) => ErrorCode::DirectoryUnavailable,
            ServerError::AccountSourceConflict | ServerError::DirectoryIdentityChanged => {
                ErrorCode::AccountSourceConflict
            }
            ServerError::LoginSourceDisabled => ErrorCode::LoginSourceDisabled,
            ServerError::FileTooLarge { .. } => ErrorCode::BodyTooLarge,
            ServerError::NotSupported(_) => ErrorCode::NotSupported,
            ServerError::OidcStateMismatch => ErrorCode::OidcStateMismatch,
            ServerError::OidcDenied(_) => ErrorCode::OidcDenied,
            ServerError::OidcTokenInvalid(_) => ErrorCode::OidcTokenInvalid,
            ServerError::InviteUnknown => ErrorCode::InviteUnknown,
            ServerError::InviteUsed => ErrorCode::InviteUsed,
            ServerError::InviteExpired => ErrorCode::InviteExpired,
            ServerError::InviteRevoked => ErrorCode::InviteRevoked,
        }
    }

    /// What the client is told. Storage and internal errors say only that
    /// something failed; the detail goes to the log.
    pub fn client_message(&self) -> String {
        match self {
            ServerError::Store(_) => {
                "the server could not store this; nothing was acknowledged".into()
            }
            ServerError::Internal(_) => "internal error (logged on the server)".into(),
            ServerError::NotFound => "no such room or user".into(),
            ServerError::DirectoryUnavailable(_) => {
                "the company directory is unavailable; try again later".into()
            }
            ServerError::OidcTokenInvalid(_) => {
                "the company login could not be verified (logged on the server)".into()
            }
            other => other.to_string(),
        }
    }

    /// Errors worth a log line (the client's own mistakes are not).
    pub fn is_server_side(&self) -> bool {
        matches!(
            self,
            ServerError::Store(_) | ServerError::Internal(_) | ServerError::DirectoryUnavailable(_)
        )
    }
}

pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// An HTTP error with the same codes as the WebSocket.
pub struct HttpError(pub ServerError);

impl From<crate::store::StoreError> for HttpError {
    fn from(e: crate::store::StoreError) -> Self {
        HttpError(ServerError::Store(e))
    }
}

impl From<ServerError> for HttpError {
    fn from(e: ServerError) -> Self {
        HttpError(e)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let e = self.0;
        if e.is_server_side() {
            tracing::error!(error = %e, "http request failed");
        }
        let status = match e.code() {
            _ if matches!(e, ServerError::FileTooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::NotSupported => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::InvalidCredentials | ErrorCode::BadToken | ErrorCode::NotAuthenticated => {
                StatusCode::UNAUTHORIZED
            }
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::NameTaken
            | ErrorCode::AlreadyMember
            | ErrorCode::RoomArchived
            | ErrorCode::NotAnswered => StatusCode::CONFLICT,
            ErrorCode::OrganisationRoom => StatusCode::FORBIDDEN,
            ErrorCode::InviteUnknown => StatusCode::NOT_FOUND,
            ErrorCode::InviteUsed | ErrorCode::InviteExpired | ErrorCode::InviteRevoked => {
                StatusCode::GONE
            }
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ShuttingDown
            | ErrorCode::StorageError
            | ErrorCode::Unavailable
            | ErrorCode::DirectoryUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::AccountSourceConflict => StatusCode::CONFLICT,
            ErrorCode::LoginSourceDisabled | ErrorCode::OidcDenied => StatusCode::FORBIDDEN,
            ErrorCode::OidcStateMismatch | ErrorCode::OidcTokenInvalid => StatusCode::UNAUTHORIZED,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = ErrorBody {
            code: e.code(),
            message: e.client_message(),
        };
        (status, Json(body)).into_response()
    }
}
