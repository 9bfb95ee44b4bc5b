//! Invitation links over HTTP.
//!
//! - `POST /api/admin/invitations` (admin): invite a username with a role;
//!   the reply carries the token once (the server keeps only its SHA-256).
//! - `GET /api/admin/invitations` (admin): every invitation, newest first.
//! - `DELETE /api/admin/invitations/{id}` (admin): revoke a pending one.
//! - `POST /api/invite/info`: what a token invites (before the password).
//! - `POST /api/invite/redeem`: choose the password; the account is made
//!   and logged in (the reply is `/api/login`'s).
//!
//! The token and the password travel in bodies, never in a URL: the link
//! carries the token after `#`, which browsers do not send.

use super::login::new_session;
use super::{HttpResult, hash_new_password, parse, require_admin};
use crate::app::App;
use crate::committer::invite_refusal;
use crate::committer::{Command, InviteOp, Reply, now_millis};
use crate::error::ServerError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use townhall_protocol::UserId;
use townhall_protocol::UserInfo;
use townhall_protocol::http::LoginResponse;
use townhall_protocol::invite::{
    CreateInvitationRequest, CreatedInvitation, Invitation, InvitationInfo, InvitationInfoRequest,
    InvitationState, RedeemInvitationRequest,
};
use uuid::Uuid;

/// Longest token looked up: ours are 64 hex digits; anything much longer
/// is not one of ours and is not hashed.
const MAX_TOKEN_LEN: usize = 128;

pub(super) async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<(StatusCode, Json<CreatedInvitation>)> {
    let admin = require_admin(&app, &headers).await?;
    let req: CreateInvitationRequest = parse(&body)?;
    let user = invited_user(req)?;
    let (token, token_hash) = crate::auth::new_token();
    let now = now_millis();
    let invitation = Invitation {
        id: Uuid::now_v7(),
        user,
        by: admin.info(),
        created_at: now,
        expires_at: now + (app.config.invite_hours * 3_600_000.0) as u64,
        state: InvitationState::Pending,
    };
    let op = InviteOp::Create {
        by: admin.info(),
        token_hash,
        invitation: invitation.clone(),
    };
    app.committer.submit(Command::Invite(op)).await?;
    tracing::info!(by = %admin.username, user = %invitation.user.username, "invitation created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation { token, invitation }),
    ))
}

/// The account an invitation will make, checked as `POST /api/admin/users`
/// checks a new user (the password comes later).
fn invited_user(req: CreateInvitationRequest) -> Result<UserInfo, ServerError> {
    if !crate::mentions::is_username(&req.username) {
        return Err(ServerError::Invalid(
            "a username is 1 to 32 characters: letters, digits, '.', '_' or '-'".into(),
        ));
    }
    crate::names::refuse_reserved_username(&req.username)?;
    let display = req
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(&req.username)
        .to_owned();
    if display.chars().count() > 64 {
        return Err(ServerError::Invalid(
            "a display name is at most 64 characters".into(),
        ));
    }
    crate::names::refuse_bidi("display name", &display)?;
    Ok(UserInfo {
        id: UserId::new(),
        username: req.username,
        display_name: display,
        role: req.role,
        transformation_team: false,
        avatar: None,
    })
}

pub(super) async fn list(
    State(app): State<App>,
    headers: HeaderMap,
) -> HttpResult<Json<Vec<Invitation>>> {
    require_admin(&app, &headers).await?;
    let mut all: Vec<Invitation> = app
        .read(|s| Ok(s.invitations()?))
        .await?
        .into_iter()
        .map(|(_, inv)| inv)
        .collect();
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    Ok(Json(all))
}

pub(super) async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> HttpResult<StatusCode> {
    let admin = require_admin(&app, &headers).await?;
    let id = Uuid::parse_str(&id).map_err(|_| ServerError::NotFound)?;
    let op = InviteOp::Revoke {
        by: admin.info(),
        id,
    };
    app.committer.submit(Command::Invite(op)).await?;
    tracing::info!(by = %admin.username, invitation = %id, "invitation revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// The invitation a token names, if it can still be used now.
async fn usable(app: &App, token: &str) -> Result<([u8; 32], Invitation), ServerError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(ServerError::InviteUnknown);
    }
    // In a cluster the invitation may have been made through another node
    // a moment ago.
    app.catch_up_reads().await;
    let hash = crate::auth::hash_token(token);
    let inv = app
        .read(move |s| Ok(s.invitation(&hash)?))
        .await?
        .ok_or(ServerError::InviteUnknown)?;
    if let Some(e) = invite_refusal(&inv, now_millis()) {
        return Err(e);
    }
    Ok((hash, inv))
}

pub(super) async fn info(
    State(app): State<App>,
    body: axum::body::Bytes,
) -> HttpResult<Json<InvitationInfo>> {
    let req: InvitationInfoRequest = parse(&body)?;
    let (_, inv) = usable(&app, &req.token).await?;
    Ok(Json(InvitationInfo {
        username: inv.user.username,
        display_name: inv.user.display_name,
        role: inv.user.role,
        expires_at: inv.expires_at,
    }))
}

pub(super) async fn redeem(
    State(app): State<App>,
    body: axum::body::Bytes,
) -> HttpResult<Json<LoginResponse>> {
    let req: RedeemInvitationRequest = parse(&body)?;
    // The token is checked before argon2 runs: an unknown one costs a
    // hash lookup, not a password hash.
    let (token_hash, inv) = usable(&app, &req.token).await?;
    let password_hash = hash_new_password(req.password).await?;
    let (token, session_token_hash) = crate::auth::new_token();
    let session = new_session(&app, inv.user.id);
    let expires_at = session.expires_at;
    let op = InviteOp::Redeem {
        token_hash,
        password_hash,
        session_token_hash,
        session,
    };
    let user = match app.committer.submit(Command::Invite(op)).await? {
        Reply::User(u) => u,
        other => {
            return Err(ServerError::Internal(format!("expected a user, got {other:?}")).into());
        }
    };
    // Everyone is in the organisation room from their first login.
    let join = Command::EnsureOrgRoom {
        creator: inv.by.clone(),
        members: vec![user.info()],
    };
    app.committer.submit(join).await?;
    crate::metrics::inc(&crate::metrics::get().logins);
    tracing::info!(user = %user.username, by = %inv.by.username, "invitation redeemed");
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user: user.info(),
    }))
}
