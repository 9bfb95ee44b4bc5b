//! Account changes, made inside the single writer so that concurrent ones
//! cannot undo each other (a password change cannot re-enable a user an
//! admin just disabled), and the roles that commands act with.
//!
//! Requests carry the role their session had at `hello`; a user demoted
//! since must not keep the old powers, so every command's role is replaced
//! here with the one stored now, and a disabled user's commands are refused.

use super::{Command, Kick, Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::hub::CloseReason;
use crate::store::{self, Batch, SessionRecord, UserRecord};
use townhall_protocol::{Role, UserId, UserInfo};

/// A change to an account. Password hashes are computed before (argon2 is
/// too slow for the writer); the writer checks nothing changed meanwhile.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountOp {
    /// Create a user; `NameTaken` if the username (any case) exists.
    Create { record: UserRecord, by: UserInfo },
    /// An admin's change; a `Some` field replaces the stored one. Disabling
    /// or a new password voids every session of the user.
    Update {
        by: UserInfo,
        username: String,
        role: Option<Role>,
        display_name: Option<String>,
        disabled: Option<bool>,
        password_hash: Option<String>,
        transformation_team: Option<bool>,
    },
    /// A user's own password change, valid only if the password they
    /// proved is still the current one. Voids every session.
    ChangePassword {
        user: UserId,
        proved_hash: String,
        new_hash: String,
    },
    /// End one session (logout): its sockets close on every node.
    Logout { token_hash: [u8; 32] },
    /// The first admin of an empty cluster: made only if no user exists
    /// yet, so nodes starting together on one empty log make one admin.
    FirstAdmin { record: UserRecord },
    /// Store a login session, valid only if the password the login proved
    /// is still current and the user still active.
    Login {
        user: UserId,
        proved_hash: String,
        token_hash: [u8; 32],
        session: SessionRecord,
    },
}

impl Worker {
    fn fresh_user(&self, id: UserId) -> Result<UserRecord> {
        match self.store.user(id)? {
            Some(u) if !u.disabled => Ok(u),
            _ => Err(ServerError::BadToken),
        }
    }

    fn fresh(&self, user: UserInfo) -> Result<UserInfo> {
        Ok(self.fresh_user(user.id)?.info())
    }

    /// Replace the roles a command carries with the ones stored now.
    pub(super) fn with_current_roles(&self, cmd: Command) -> Result<Command> {
        use super::MessageOp as M;
        Ok(match cmd {
            Command::Post {
                user,
                room,
                client_id,
                body,
                thread,
                question,
                attachments,
            } => Command::Post {
                user: self.fresh(user)?,
                room,
                client_id,
                body,
                thread,
                question,
                attachments,
            },
            Command::Join { user, room, .. } => {
                let user = self.fresh(user)?;
                Command::Join {
                    server_role: user.role,
                    user,
                    room,
                }
            }
            Command::AddMember {
                actor,
                room,
                target,
                ..
            } => {
                let actor = self.fresh(actor)?;
                Command::AddMember {
                    actor_role: actor.role,
                    actor,
                    room,
                    target,
                }
            }
            Command::RemoveMember {
                actor,
                room,
                target,
                ..
            } => {
                let actor = self.fresh(actor)?;
                Command::RemoveMember {
                    actor_role: actor.role,
                    actor,
                    room,
                    target,
                }
            }
            Command::Message(M::Delete {
                user, room, seq, ..
            }) => {
                let user = self.fresh(user)?;
                Command::Message(M::Delete {
                    server_role: user.role,
                    user,
                    room,
                    seq,
                })
            }
            Command::Message(M::MarkAnswer {
                user,
                room,
                question,
                answer,
                ..
            }) => {
                let user = self.fresh(user)?;
                Command::Message(M::MarkAnswer {
                    server_role: user.role,
                    user,
                    room,
                    question,
                    answer,
                })
            }
            Command::SetRoomRole {
                actor,
                room,
                target,
                role,
                ..
            } => {
                let actor = self.fresh(actor)?;
                Command::SetRoomRole {
                    actor_role: actor.role,
                    actor,
                    room,
                    target,
                    role,
                }
            }
            Command::Broadcast {
                user,
                client_id,
                body,
                rooms,
                ack_requested,
            } => Command::Broadcast {
                user: self.fresh(user)?,
                client_id,
                body,
                rooms,
                ack_requested,
            },
            Command::Remind { user, broadcast } => Command::Remind {
                user: self.fresh(user)?,
                broadcast,
            },
            Command::Follow { user, leader, on } => Command::Follow {
                user: self.fresh(user)?,
                leader: self.fresh(leader)?,
                on,
            },
            Command::Message(M::MergeQuestions {
                user,
                room,
                questions,
                into,
                ..
            }) => {
                let user = self.fresh(user)?;
                Command::Message(M::MergeQuestions {
                    server_role: user.role,
                    user,
                    room,
                    questions,
                    into,
                })
            }
            // A vote or follow queued just before the account was disabled
            // does not apply.
            Command::Question(op) => Command::Question(match op {
                super::questions::QuestionOp::Vote {
                    user,
                    room,
                    seq,
                    on,
                } => super::questions::QuestionOp::Vote {
                    user: self.fresh(user)?,
                    room,
                    seq,
                    on,
                },
                super::questions::QuestionOp::Follow {
                    user,
                    room,
                    seq,
                    on,
                } => super::questions::QuestionOp::Follow {
                    user: self.fresh(user)?,
                    room,
                    seq,
                    on,
                },
            }),
            other => other,
        })
    }

    pub(super) fn account_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: AccountOp,
    ) -> Result<Reply> {
        match op {
            AccountOp::Logout { token_hash } => {
                store::delete_session(b, &token_hash);
                p.kicks
                    .push(Kick::Token(token_hash, CloseReason::LOGGED_OUT));
                Ok(Reply::Done(0))
            }
            AccountOp::FirstAdmin { record } => {
                if !self.store.users()?.is_empty() {
                    return Ok(Reply::Done(0));
                }
                store::put_user(b, &record);
                Ok(Reply::User(record))
            }
            AccountOp::Create { record, by } => {
                if self.store.user_by_name(&record.username)?.is_some() {
                    return Err(ServerError::NameTaken);
                }
                store::put_user(b, &record);
                self.audit(b, &by, "create_user", None, Some(record.info()), None);
                Ok(Reply::User(record))
            }
            AccountOp::Update {
                by,
                username,
                role,
                display_name,
                disabled,
                password_hash,
                transformation_team,
            } => {
                let mut user = self
                    .store
                    .user_by_name(&username)?
                    .ok_or(ServerError::NotFound)?;
                let mut revoke = password_hash.is_some();
                let action = match (disabled, password_hash.is_some()) {
                    (Some(true), _) => "disable_user",
                    (_, true) => "reset_password",
                    _ => "update_user",
                };
                if let Some(role) = role {
                    user.role = role;
                }
                if let Some(team) = transformation_team {
                    user.transformation_team = team;
                }
                if let Some(name) = display_name {
                    user.display_name = name;
                }
                if let Some(disabled) = disabled {
                    revoke |= disabled && !user.disabled;
                    user.disabled = disabled;
                }
                if let Some(hash) = password_hash {
                    user.password_hash = hash;
                }
                if revoke {
                    user.sessions_valid_after = self.now() + 1;
                }
                // Sessions end, or reload to see the new role or name.
                let close = if revoke {
                    CloseReason::LOGGED_OUT
                } else {
                    CloseReason::ACCOUNT_CHANGED
                };
                p.kicks.push(Kick::User(user.id, close));
                store::put_user(b, &user);
                self.audit(b, &by, action, None, Some(user.info()), None);
                Ok(Reply::User(user))
            }
            AccountOp::ChangePassword {
                user,
                proved_hash,
                new_hash,
            } => {
                let mut record = self.fresh_user(user)?;
                if record.password_hash != proved_hash {
                    return Err(ServerError::InvalidCredentials);
                }
                record.password_hash = new_hash;
                record.sessions_valid_after = self.now() + 1;
                store::put_user(b, &record);
                p.kicks.push(Kick::User(record.id, CloseReason::LOGGED_OUT));
                Ok(Reply::User(record))
            }
            AccountOp::Login {
                user,
                proved_hash,
                token_hash,
                mut session,
            } => {
                let record = self
                    .fresh_user(user)
                    .map_err(|_| ServerError::InvalidCredentials)?;
                if record.password_hash != proved_hash {
                    return Err(ServerError::InvalidCredentials);
                }
                session.created_at = session.created_at.max(record.sessions_valid_after);
                store::put_session(b, &token_hash, &session);
                Ok(Reply::User(record))
            }
        }
    }
}
