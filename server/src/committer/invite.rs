//! Invitation links, applied in the single writer: made and revoked by an
//! admin, redeemed once by the person invited.
//!
//! Everything not deterministic comes in the command: the token's hash,
//! the invitation's id, the future account's id, the times, the password's
//! hash and the new session. Expiry is judged against the stamp's time
//! (`self.now()`), the same on every node.

use super::{Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch, SessionRecord, UserRecord};
use townhall_protocol::Role;
use townhall_protocol::UserInfo;
use townhall_protocol::invite::{Invitation, InvitationState};
use uuid::Uuid;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteOp {
    /// Store a new invitation under its token's hash. Refused with
    /// `name_taken` if an account has the username (any case) or a pending
    /// invitation not yet expired does.
    Create {
        by: UserInfo,
        token_hash: [u8; 32],
        invitation: Invitation,
    },
    /// An admin revokes a pending invitation (again: nothing changes).
    Revoke { by: UserInfo, id: Uuid },
    /// Make the invited account with this password and open a session;
    /// the invitation becomes used.
    Redeem {
        token_hash: [u8; 32],
        password_hash: String,
        session_token_hash: [u8; 32],
        session: SessionRecord,
    },
}

/// Why a pending invitation cannot be used at `now`, if it cannot.
pub fn refusal(inv: &Invitation, now: u64) -> Option<ServerError> {
    match inv.state {
        InvitationState::Used => Some(ServerError::InviteUsed),
        InvitationState::Revoked => Some(ServerError::InviteRevoked),
        InvitationState::Pending if now >= inv.expires_at => Some(ServerError::InviteExpired),
        InvitationState::Pending => None,
    }
}

impl Worker {
    /// The admin as stored now: a demoted or disabled admin's queued
    /// invitation does not apply.
    fn current_admin(&self, by: &UserInfo) -> Result<UserInfo> {
        match self.store.user(by.id)? {
            Some(u) if !u.disabled && u.role == Role::Admin => Ok(u.info()),
            _ => Err(ServerError::Forbidden("only admins manage users")),
        }
    }

    pub(super) fn invite_op(&mut self, b: &mut Batch, op: InviteOp) -> Result<Reply> {
        match op {
            InviteOp::Create {
                by,
                token_hash,
                invitation,
            } => {
                let by = self.current_admin(&by)?;
                if self
                    .store
                    .user_by_name(&invitation.user.username)?
                    .is_some()
                    || self.store.user(invitation.user.id)?.is_some()
                {
                    return Err(ServerError::NameTaken);
                }
                let all = self.store.invitations()?;
                if all.len() >= store::MAX_INVITATIONS {
                    return Err(ServerError::LimitReached(format!(
                        "at most {} invitations are kept",
                        store::MAX_INVITATIONS
                    )));
                }
                let name = invitation.user.username.to_lowercase();
                let now = self.now();
                if all.iter().any(|(_, other)| {
                    other.user.username.to_lowercase() == name && refusal(other, now).is_none()
                }) {
                    return Err(ServerError::NameTaken);
                }
                store::put_invitation(b, &token_hash, &invitation);
                self.audit(
                    b,
                    &by,
                    "create_invitation",
                    None,
                    Some(invitation.user.clone()),
                    None,
                );
                Ok(Reply::Done(0))
            }
            InviteOp::Revoke { by, id } => {
                let by = self.current_admin(&by)?;
                let (hash, mut inv) = self
                    .store
                    .invitations()?
                    .into_iter()
                    .find(|(_, inv)| inv.id == id)
                    .ok_or(ServerError::NotFound)?;
                match inv.state {
                    InvitationState::Used => return Err(ServerError::InviteUsed),
                    InvitationState::Revoked => return Ok(Reply::Done(0)),
                    InvitationState::Pending => {}
                }
                inv.state = InvitationState::Revoked;
                store::put_invitation(b, &hash, &inv);
                self.audit(b, &by, "revoke_invitation", None, Some(inv.user), None);
                Ok(Reply::Done(0))
            }
            InviteOp::Redeem {
                token_hash,
                password_hash,
                session_token_hash,
                mut session,
            } => {
                let mut inv = self
                    .store
                    .invitation(&token_hash)?
                    .ok_or(ServerError::InviteUnknown)?;
                if let Some(e) = refusal(&inv, self.now()) {
                    return Err(e);
                }
                // An invitation is only as good as the admin who made it:
                // once they are no longer an admin (demoted, disabled), it
                // counts as revoked.
                if self.current_admin(&inv.by).is_err() {
                    return Err(ServerError::InviteRevoked);
                }
                if self.store.user_by_name(&inv.user.username)?.is_some()
                    || self.store.user(inv.user.id)?.is_some()
                {
                    return Err(ServerError::NameTaken);
                }
                let record = UserRecord {
                    id: inv.user.id,
                    username: inv.user.username.clone(),
                    display_name: inv.user.display_name.clone(),
                    role: inv.user.role,
                    password_hash,
                    disabled: false,
                    created_at: self.now(),
                    sessions_valid_after: 0,
                    transformation_team: false,
                    avatar: None,
                };
                store::put_user(b, &record);
                inv.state = InvitationState::Used;
                store::put_invitation(b, &token_hash, &inv);
                session.user = record.id;
                store::put_session(b, &session_token_hash, &session);
                self.audit(b, &record.info(), "redeem_invitation", None, None, None);
                Ok(Reply::User(record))
            }
        }
    }
}
