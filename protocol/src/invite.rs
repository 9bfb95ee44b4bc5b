//! Invitation links: an admin invites a new username (and role); the person
//! opens `<origin>/#/invite/<token>`, chooses a password, and is logged in.
//! HTTP bodies of `/api/admin/invitations` and `/api/invite/*`.

use crate::frames::{Millis, Role, UserInfo};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /api/admin/invitations` (admin only): invite `username`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default = "default_role")]
    pub role: Role,
}

fn default_role() -> Role {
    Role::Staff
}

/// Reply to a new invitation. `token` is shown this once: the server keeps
/// only its SHA-256. The link to hand over is `<origin>/#/invite/<token>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreatedInvitation {
    pub token: String,
    pub invitation: Invitation,
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Not used yet (it may still have expired: compare `expires_at`).
    Pending,
    /// Redeemed: the account exists.
    Used,
    /// Revoked by an admin.
    Revoked,
}

/// One invitation, as admins see it (`GET /api/admin/invitations`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Invitation {
    pub id: Uuid,
    /// The account redeeming makes: its id, username, display name and
    /// role are fixed when the invitation is made.
    pub user: UserInfo,
    /// The admin who made it.
    pub by: UserInfo,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub state: InvitationState,
}

/// `POST /api/invite/info`: what an invitation is for, before choosing a
/// password. The token travels in the body, never in a URL a log keeps.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InvitationInfoRequest {
    pub token: String,
}

/// Reply to `POST /api/invite/info`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InvitationInfo {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub expires_at: Millis,
}

/// `POST /api/invite/redeem`: make the account with this password and log
/// in; the reply is a `LoginResponse`, as for `/api/login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RedeemInvitationRequest {
    pub token: String,
    pub password: String,
}
