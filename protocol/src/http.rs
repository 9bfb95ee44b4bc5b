//! Bodies of the HTTP API under `/api`.

use crate::error::ErrorCode;
use crate::frames::{Millis, Role, UserInfo};
use serde::{Deserialize, Serialize};

/// `POST /api/login`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Reply to a good login. The token goes in the WebSocket `hello` and in
/// `Authorization: Bearer <token>` for the other HTTP calls.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: Millis,
    pub user: UserInfo,
}

/// `POST /api/admin/users` (admin only).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateUserRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub password: String,
    #[serde(default = "default_role")]
    pub role: Role,
}

/// `PATCH /api/admin/users/{username}` (admin only): every field optional.
/// Disabling a user or setting their password ends all their sessions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub password: Option<String>,
    /// Member of the transformation team (answers questions everywhere).
    #[serde(default)]
    pub transformation_team: Option<bool>,
}

/// `POST /api/password`: change my own password; all my sessions end.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChangePasswordRequest {
    pub old_password: String,
    pub new_password: String,
}

fn default_role() -> Role {
    Role::Staff
}

/// The body of every HTTP error.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// One entry of the audit log (`GET /api/admin/audit`): who did what, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditEntry {
    pub at: Millis,
    pub actor: UserInfo,
    /// `remove_member`, `set_room_role`, `delete_message`, `mark_answer`,
    /// `create_user`, `update_user`, `disable_user`, `reset_password`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<crate::ids::RoomId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<UserInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<crate::ids::RoomSeq>,
}
