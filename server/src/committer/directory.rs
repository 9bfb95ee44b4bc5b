//! Accounts a company directory (LDAP) vouches for, inside the single
//! writer: the first login makes the account, later logins and the periodic
//! sync bring it up to date with the directory (role, team flag, display
//! name), and a user the directory no longer has, or marks disabled, is
//! disabled here with their sessions revoked and sockets closed.
//!
//! The directory is asked by the handler (`http/login.rs`) or the sync task
//! (`directory_sync.rs`), never here: its answer travels in the command, so
//! every node applies the same verdict. The checks against the account as
//! stored now (is it local? did an admin disable it?) happen here, so a
//! login racing an admin's change cannot undo it.

use super::{Kick, Pending, Reply, Worker};
use crate::auth::oidc::OIDC_SOURCE;
use crate::error::{Result, ServerError};
use crate::hub::CloseReason;
use crate::store::{self, Batch, DirectoryLink, SessionRecord, UserRecord};
use townhall_protocol::{Role, UserId};

/// What the directory says of an account at a sync.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryState {
    /// No entry matches the user filter any more (deleted, moved out of the
    /// search base, renamed).
    Gone,
    /// The entry is marked disabled (`--ldap-disabled-*`).
    Disabled,
    /// Present and enabled, with what its groups map to.
    Active {
        role: Role,
        transformation_team: bool,
        display_name: String,
        dn: String,
        /// The entry's immutable id, if the directory gives one.
        #[serde(default)]
        entry_id: Option<String>,
    },
}

/// Is the entry the directory found (`dn`, `entry_id`) the one `link`'s
/// account was made for? By immutable id when both sides have one, else by
/// DN (compared as `normalize_dn` does). A reused username (the old person
/// deleted, a new entry with the same uid) is not: its login is refused
/// and the sync leaves the account alone, for an admin to resolve.
/// An OIDC link (`dn` the issuer, `entry_id` the subject) is the same only
/// for exactly the same issuer and subject.
pub fn same_entry(link: &DirectoryLink, dn: &str, entry_id: Option<&str>) -> bool {
    use crate::auth::ldap::normalize_dn;
    if link.source == OIDC_SOURCE {
        return link.dn == dn && link.entry_id.is_some() && link.entry_id.as_deref() == entry_id;
    }
    match (link.entry_id.as_deref(), entry_id) {
        (Some(ours), Some(found)) => ours == found,
        _ => normalize_dn(&link.dn) == normalize_dn(dn),
    }
}

/// A change to a directory account.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryOp {
    /// A login whose password the directory proved. `record` is the account
    /// to make if none has its username (its role, team flag and display
    /// name are the directory's); an existing directory account takes them
    /// over (if it is the same entry, [`same_entry`]), a local one refuses
    /// (`account_source_conflict`).
    ///
    /// With `source` `oidc` (an OpenID Connect login), `dn` is the issuer
    /// and `entry_id` the subject: the account is found by them first
    /// (`oidc_subject_user`), whatever `record.username` says now; only a
    /// first login goes by username (and is refused if any account has it).
    Login {
        record: UserRecord,
        source: String,
        dn: String,
        #[serde(default)]
        entry_id: Option<String>,
        token_hash: [u8; 32],
        session: SessionRecord,
    },
    /// The directory's verdict on an existing directory account.
    Sync { user: UserId, state: DirectoryState },
}

impl Worker {
    pub(super) fn directory_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: DirectoryOp,
    ) -> Result<Reply> {
        match op {
            DirectoryOp::Login {
                record,
                source,
                dn,
                entry_id,
                token_hash,
                mut session,
            } => {
                let existing = match (source.as_str(), &entry_id) {
                    (OIDC_SOURCE, Some(subject)) => match self.store.oidc_user(&dn, subject)? {
                        Some(id) => self.store.user(id)?,
                        None => self.store.user_by_name(&record.username)?,
                    },
                    (OIDC_SOURCE, None) => {
                        return Err(ServerError::Internal(
                            "an OIDC login without a subject".into(),
                        ));
                    }
                    _ => self.store.user_by_name(&record.username)?,
                };
                let Some(mut user) = existing else {
                    let link = DirectoryLink {
                        source,
                        dn,
                        entry_id,
                        disabled_by_directory: false,
                    };
                    return self.first_directory_login(b, p, record, link, token_hash, session);
                };
                let Some(mut link) = self.store.directory_link(user.id)? else {
                    return Err(ServerError::AccountSourceConflict);
                };
                if link.source != source {
                    // An LDAP account's name claimed by an OIDC login, or
                    // the other way round: neither takes the other over.
                    return Err(ServerError::AccountSourceConflict);
                }
                if !same_entry(&link, &dn, entry_id.as_deref()) {
                    return Err(ServerError::DirectoryIdentityChanged);
                }
                if user.disabled && !link.disabled_by_directory {
                    // An admin disabled it here: the directory cannot undo that.
                    return Err(ServerError::InvalidCredentials);
                }
                let state = DirectoryState::Active {
                    role: record.role,
                    transformation_team: record.transformation_team,
                    display_name: record.display_name,
                    dn,
                    entry_id,
                };
                self.follow_directory(b, p, &mut user, &mut link, state);
                session.user = user.id;
                session.created_at = session.created_at.max(user.sessions_valid_after);
                store::put_session(b, &token_hash, &session);
                Ok(Reply::User(user))
            }
            DirectoryOp::Sync { user, state } => {
                let (Some(mut record), Some(mut link)) =
                    (self.store.user(user)?, self.store.directory_link(user)?)
                else {
                    return Ok(Reply::Done(0));
                };
                if let DirectoryState::Active { dn, entry_id, .. } = &state
                    && !same_entry(&link, dn, entry_id.as_deref())
                {
                    // Another entry under this username: not this account's
                    // news (the sync task checked too; this is the check
                    // against the account as stored now).
                    return Ok(Reply::Done(0));
                }
                self.follow_directory(b, p, &mut record, &mut link, state);
                Ok(Reply::User(record))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn first_directory_login(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        mut record: UserRecord,
        link: DirectoryLink,
        token_hash: [u8; 32],
        session: SessionRecord,
    ) -> Result<Reply> {
        record.created_at = self.now();
        record.disabled = false;
        record.sessions_valid_after = 0;
        record.password_hash = crate::auth::DIRECTORY_PASSWORD_HASH.into();
        store::put_user(b, &record);
        store::put_directory_link(b, record.id, &link);
        if link.source == OIDC_SOURCE
            && let Some(subject) = &link.entry_id
        {
            store::put_oidc_user(b, &link.dn, subject, record.id);
        }
        let info = record.info();
        self.audit(
            b,
            &info,
            "directory_create_user",
            None,
            Some(info.clone()),
            None,
        );
        store::put_session(
            b,
            &token_hash,
            &SessionRecord {
                user: record.id,
                ..session
            },
        );
        // Everyone is in the organisation room from their first login
        // (it exists from the server's first start; `creator` only matters
        // if it does not).
        self.ensure_org_room(b, p, info.clone(), vec![info])?;
        Ok(Reply::User(record))
    }

    /// Make `user` what the directory says. Disabling revokes every session
    /// and closes the sockets; any other change closes the sockets so they
    /// reconnect with the new role (as an admin's change does).
    fn follow_directory(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        user: &mut UserRecord,
        link: &mut DirectoryLink,
        state: DirectoryState,
    ) {
        let before = (user.clone(), link.clone());
        let mut kick = None;
        let mut action = "directory_update_user";
        match state {
            DirectoryState::Gone | DirectoryState::Disabled => {
                if !user.disabled {
                    user.disabled = true;
                    user.sessions_valid_after = self.now() + 1;
                    link.disabled_by_directory = true;
                    kick = Some(CloseReason::LOGGED_OUT);
                    action = "directory_disable_user";
                }
            }
            DirectoryState::Active {
                role,
                transformation_team,
                display_name,
                dn,
                entry_id,
            } => {
                if user.disabled {
                    if !link.disabled_by_directory {
                        return;
                    }
                    user.disabled = false;
                    link.disabled_by_directory = false;
                    action = "directory_enable_user";
                }
                if (user.role, user.transformation_team, &user.display_name)
                    != (role, transformation_team, &display_name)
                {
                    kick = Some(CloseReason::ACCOUNT_CHANGED);
                }
                user.role = role;
                user.transformation_team = transformation_team;
                user.display_name = display_name;
                link.dn = dn;
                if entry_id.is_some() {
                    link.entry_id = entry_id;
                }
            }
        }
        if (&before.0, &before.1) == (&*user, &*link) {
            return;
        }
        if let Some(reason) = kick {
            p.kicks.push(Kick::User(user.id, reason));
        }
        store::put_user(b, user);
        store::put_directory_link(b, user.id, link);
        if before.0 != *user {
            let info = user.info();
            self.audit(b, &info, action, None, Some(info.clone()), None);
        }
    }
}
