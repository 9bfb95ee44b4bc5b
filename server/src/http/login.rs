//! `POST /api/login`: a local password (argon2id) or the company directory
//! (LDAP), by where the account comes from.
//!
//! - A name that is a **local** account (no directory link) is checked
//!   against its Townhall password only; a directory login never takes it
//!   over. If the local password is wrong but the directory accepts the
//!   password for that name, the answer is `account_source_conflict` (only
//!   someone who proved the directory password learns it). If the directory
//!   cannot be asked then, the answer is `directory_unavailable`, as for an
//!   unknown name: a wrong password does not tell local names apart from
//!   unknown ones while the directory is down. (Timing still differs: a
//!   local name costs an argon2 check before the directory attempt.)
//! - An account a company (OpenID Connect) login made is never taken over
//!   by a directory login of the same name (`account_source_conflict`), and
//!   has no local password.
//! - A directory account whose entry changed identity (its username reused
//!   by a new entry: another `entryUUID`/`objectGUID`, or another DN when
//!   the directory gives no id) is refused with `account_source_conflict`
//!   and left as it is for an admin.
//! - Any other name (unknown, or an account a directory login made) goes to
//!   the directory when `ldap` is an enabled source: the first success makes
//!   the account, later ones bring its role and team flag up to date.
//! - Wrong password and unknown user are one answer (`invalid_credentials`);
//!   an unreachable directory is `directory_unavailable`, which never
//!   concerns local accounts.
//! - With `--login-sources` lacking `local`, a local account with the right
//!   password gets `login_source_disabled`, except admins (break-glass).
//!
//! The session made is the same record as any login's: expiry, revocation
//! and logout behave the same whatever the source.

use super::{HttpResult, client_ip, parse, with_argon2};
use crate::app::App;
use crate::auth::ldap::{DirectoryError, DirectoryUser};
use crate::committer::{AccountOp, Command, DirectoryOp, DirectoryState, Reply, now_millis};
use crate::error::ServerError;
use crate::store::{DirectoryLink, SessionRecord, UserRecord};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use std::net::SocketAddr;
use townhall_protocol::http::{LoginRequest, LoginResponse};
use townhall_protocol::{Role, UserId};

/// The `source` of accounts a directory login makes (`store::DirectoryLink`).
const LDAP_SOURCE: &str = "ldap";

pub(super) async fn login(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<Json<LoginResponse>> {
    let req: LoginRequest = parse(&body)?;
    // Nothing longer than a valid username or password is looked up or hashed.
    if req.username.len() > crate::mentions::MAX_USERNAME || req.password.len() > 1024 {
        return Err(ServerError::InvalidCredentials.into());
    }
    let source = client_ip(&app, peer, &headers);
    if app.login_guard.check(&req.username, source).is_err() {
        crate::metrics::inc(&crate::metrics::get().login_failures);
        return Err(ServerError::RateLimited.into());
    }
    // In a cluster the account may have been made or changed through
    // another node a moment ago. Every login waits (not only a miss), so
    // that an unknown name takes as long as a known one.
    app.catch_up_reads().await;
    let username = req.username.clone();
    match sign_in(&app, req).await {
        Ok(user) => {
            let (token, expires_at) = user.1;
            app.login_guard.succeeded(&username, source);
            crate::metrics::inc(&crate::metrics::get().logins);
            tracing::info!(user = %user.0.username, "login");
            Ok(Json(LoginResponse {
                token,
                expires_at,
                user: user.0.info(),
            }))
        }
        Err(e) => {
            // A down directory counts too: a wrong local password answers
            // `directory_unavailable` then, and must not escape the limit.
            if matches!(
                e,
                ServerError::InvalidCredentials | ServerError::DirectoryUnavailable(_)
            ) {
                app.login_guard.failed(&username, source);
            }
            crate::metrics::inc(&crate::metrics::get().login_failures);
            // For fail2ban-style watchers: the address (when known), the
            // name tried and why; never the password.
            let ip = source.map_or_else(|| "loopback".to_owned(), |ip| ip.to_string());
            // The name as typed is quoted and escaped (`?`): a crafted
            // name cannot forge fields such as `ip=` in a text log.
            tracing::info!(
                user = ?username,
                ip = %ip,
                code = e.code().as_str(),
                "login refused"
            );
            Err(e.into())
        }
    }
}

/// The user signed in, with their new token and its expiry.
pub(super) type SignedIn = (UserRecord, (String, u64));

async fn sign_in(app: &App, req: LoginRequest) -> Result<SignedIn, ServerError> {
    let name = req.username.clone();
    let (existing, linked) = app
        .read(move |s| {
            let user = s.user_by_name(&name)?;
            let linked = match &user {
                Some(u) => s.directory_link(u.id)?,
                None => None,
            };
            Ok((user, linked))
        })
        .await?;
    match existing {
        Some(user) if linked.is_none() => local(app, user, req).await,
        existing => {
            let directory = app.directory.as_ref().filter(|_| app.login_sources.ldap);
            let Some(directory) = directory else {
                // No directory to ask: an unknown name (or a directory
                // account while directory logins are off) costs an argon2
                // check, as a wrong password does.
                let password = req.password;
                with_argon2(move || {
                    crate::auth::verify_password(&password, crate::auth::dummy_hash())
                })
                .await?;
                return Err(ServerError::InvalidCredentials);
            };
            let found = match directory.verify(&req.username, &req.password).await {
                Ok(found) => found,
                Err(DirectoryError::BadCredentials | DirectoryError::Ambiguous) => {
                    return Err(ServerError::InvalidCredentials);
                }
                Err(DirectoryError::Unavailable(e)) => {
                    return Err(ServerError::DirectoryUnavailable(e));
                }
            };
            let existing = existing.zip(linked);
            directory_account(app, existing, found).await
        }
    }
}

/// A local account: its argon2 password, then a session.
async fn local(app: &App, user: UserRecord, req: LoginRequest) -> Result<SignedIn, ServerError> {
    let (password, hash) = (req.password.clone(), user.password_hash.clone());
    let ok = with_argon2(move || crate::auth::verify_password(&password, &hash)).await?;
    if !ok {
        // A directory user whose name a local account already has: say so,
        // but only to someone the directory just accepted.
        if let Some(directory) = app.directory.as_ref().filter(|_| app.login_sources.ldap) {
            match directory.verify(&req.username, &req.password).await {
                Ok(_) => return Err(ServerError::AccountSourceConflict),
                // The check could not be made: answer as for an unknown
                // name, so a down directory does not reveal local names.
                Err(DirectoryError::Unavailable(e)) => {
                    return Err(ServerError::DirectoryUnavailable(e));
                }
                Err(DirectoryError::BadCredentials | DirectoryError::Ambiguous) => {}
            }
        }
        return Err(ServerError::InvalidCredentials);
    }
    if user.disabled {
        return Err(ServerError::InvalidCredentials);
    }
    if !app.login_sources.local && user.role != Role::Admin {
        return Err(ServerError::LoginSourceDisabled);
    }
    let (token, token_hash) = crate::auth::new_token();
    let session = new_session(app, user.id);
    let expires_at = session.expires_at;
    let op = AccountOp::Login {
        user: user.id,
        proved_hash: user.password_hash.clone(),
        token_hash,
        session,
    };
    app.committer.submit(Command::Account(op)).await?;
    Ok((user, (token, expires_at)))
}

/// The directory proved the password: make or update the account (through
/// the log) and open a session, unless the directory marks the user
/// disabled (then the account is disabled here too).
async fn directory_account(
    app: &App,
    existing: Option<(UserRecord, DirectoryLink)>,
    found: DirectoryUser,
) -> Result<SignedIn, ServerError> {
    if let Some((_, link)) = &existing
        && link.source != LDAP_SOURCE
    {
        // A company (OIDC) account has this name: a directory login never
        // takes it over (nor the other way round, `committer/directory.rs`).
        return Err(ServerError::AccountSourceConflict);
    }
    if let Some((_, link)) = &existing
        && !crate::committer::same_entry(link, &found.dn, found.entry_id.as_deref())
    {
        tracing::error!(
            username = %found.username,
            old_dn = %link.dn,
            new_dn = %found.dn,
            "directory login refused: the username now names another directory entry; an admin must resolve the account"
        );
        return Err(ServerError::DirectoryIdentityChanged);
    }
    if found.disabled {
        if let Some((user, _)) = existing {
            let op = DirectoryOp::Sync {
                user: user.id,
                state: DirectoryState::Disabled,
            };
            app.committer.submit(Command::Directory(op)).await?;
        }
        return Err(ServerError::InvalidCredentials);
    }
    open_linked_session(
        app,
        Vouched {
            source: LDAP_SOURCE,
            dn: found.dn,
            entry_id: found.entry_id,
            username: found.username,
            display_name: found.display_name,
            role: found.role,
            transformation_team: found.transformation_team,
            whose: "the directory's",
        },
    )
    .await
}

/// Whom an outside source (the LDAP directory or the OpenID provider) has
/// vouched for, as the linked Townhall account should read.
pub(super) struct Vouched {
    pub source: &'static str,
    /// The identity at the source: the DN, or the OIDC issuer.
    pub dn: String,
    /// The immutable id there: `entryUUID`/`objectGUID`, or the OIDC subject.
    pub entry_id: Option<String>,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub transformation_team: bool,
    /// Names the source in a refusal ("the directory's").
    pub whose: &'static str,
}

/// Make or update the linked account through the log and open a session
/// for it; the one path for every outside login source.
pub(super) async fn open_linked_session(app: &App, v: Vouched) -> Result<SignedIn, ServerError> {
    if !crate::mentions::is_username(&v.username) {
        return Err(ServerError::Invalid(format!(
            "{} name {:?} is not a valid Townhall username (1 to 32 letters, digits, '.', '_' or '-')",
            v.whose, v.username
        )));
    }
    crate::names::refuse_reserved_username(&v.username)?;
    let record = UserRecord {
        id: UserId::new(),
        username: v.username,
        display_name: v.display_name,
        role: v.role,
        password_hash: crate::auth::DIRECTORY_PASSWORD_HASH.into(),
        disabled: false,
        created_at: now_millis(),
        sessions_valid_after: 0,
        transformation_team: v.transformation_team,
        avatar: None,
    };
    let (token, token_hash) = crate::auth::new_token();
    let session = new_session(app, record.id);
    let expires_at = session.expires_at;
    let op = DirectoryOp::Login {
        record,
        source: v.source.into(),
        dn: v.dn,
        entry_id: v.entry_id,
        token_hash,
        session,
    };
    match app.committer.submit(Command::Directory(op)).await? {
        Reply::User(user) => Ok((user, (token, expires_at))),
        other => Err(ServerError::Internal(format!(
            "expected a user, got {other:?}"
        ))),
    }
}

pub(super) fn new_session(app: &App, user: UserId) -> SessionRecord {
    let now = now_millis();
    SessionRecord {
        user,
        created_at: now,
        expires_at: now + (app.config.session_hours * 3_600_000.0) as u64,
        last_seen: now,
    }
}
