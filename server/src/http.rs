//! HTTP routes: login, logout, user administration, health, the WebSocket
//! upgrade (with its Origin check) and the web client's files.

mod avatar;
mod export;
mod files;
mod invite;
mod login;
mod oidc;
mod state;

use crate::app::App;
use crate::assets;
use crate::committer::{AccountOp, Command, Reply, now_millis};
use crate::error::{HttpError, ServerError};
use crate::store::UserRecord;
use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use townhall_protocol::http::{ChangePasswordRequest, CreateUserRequest, UpdateUserRequest};
use townhall_protocol::{MAX_FRAME_BYTES, MAX_SERVER_FRAME_BYTES, UserId};

/// Largest HTTP request body we parse: logins and user records are tiny.
/// Up to 64 KiB is read and refused as `body_too_large`; beyond that the
/// connection's body limit answers 413 without reading it.
const MAX_HTTP_BODY: usize = 16 * 1024;
const HTTP_BODY_READ_LIMIT: usize = 64 * 1024;

/// WebSocket read buffer per connection. tungstenite's default (128 KiB,
/// allocated up front) would make an idle connection cost 131 KiB. Client
/// frames are small (a chat line, an ack) and a larger one only takes a few
/// more reads: 1 KiB keeps 19,000 idle connections under 8 KiB of RSS each
/// (measured 9,458 B per connection with 4 KiB; docs/benchmarks.md).
const WS_READ_BUFFER: usize = 1024;

/// Bytes gathered before a socket write. The writer feeds every frame that
/// is waiting and then flushes once, so frames leave in one `send()` per
/// batch; with 0 each frame was its own syscall (measured: 55% of server
/// CPU in `send`, fan-out 95k → 1.74M deliveries/s with this buffer).
const WS_WRITE_BUFFER: usize = 64 * 1024;

/// Bytes the socket's write buffer may hold. tungstenite refuses a frame
/// that would take the buffer past this (`WriteBufferFull`, and the
/// connection is lost), and the buffer holds at most `WS_WRITE_BUFFER`
/// when a frame is added (it is written out past that), so the largest
/// frame we ever build ([`MAX_SERVER_FRAME_BYTES`], see `reply.rs`) plus a
/// full batch plus the frame header always fits. Our own bounded channel
/// is the real queue; this only holds one batch.
const WS_MAX_WRITE_BUFFER: usize = WS_WRITE_BUFFER + MAX_SERVER_FRAME_BYTES + 64 * 1024;

pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/login", post(login::login))
        .route("/api/login/sources", get(oidc::sources))
        .route("/api/oidc/start", get(oidc::start))
        .route("/api/oidc/callback", get(oidc::callback))
        .route("/api/oidc/exchange", post(oidc::exchange))
        .route("/api/logout", post(logout))
        .route("/api/admin/users", post(create_user).get(list_users))
        .route(
            "/api/admin/users/{username}",
            axum::routing::patch(update_user),
        )
        .route(
            "/api/admin/invitations",
            post(invite::create).get(invite::list),
        )
        .route(
            "/api/admin/invitations/{id}",
            axum::routing::delete(invite::revoke),
        )
        .route("/api/invite/info", post(invite::info))
        .route("/api/invite/redeem", post(invite::redeem))
        .route("/api/password", post(change_password))
        .route("/api/admin/audit", get(audit_log))
        .route("/api/admin/digest", get(state::digest))
        .route("/api/admin/snapshot", get(state::snapshot))
        .route("/api/admin/export", get(export::export))
        // Uploads stream their bodies to disk under their own limit
        // (`--max-file-mb`), not the JSON body limit below.
        .route(
            "/api/files",
            post(files::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/files/{id}", get(files::download))
        // A profile picture's body is the image, read under its own limit
        // (`MAX_AVATAR_UPLOAD_BYTES`).
        .route(
            "/api/avatar",
            post(avatar::upload)
                .delete(avatar::remove)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/avatar/{id}", get(avatar::get))
        .route("/api/files/{id}/thumb", get(files::thumbnail))
        .route("/ws", get(websocket))
        .route("/", get(echo_or_assets))
        .fallback(echo_or_assets)
        .layer(axum::extract::DefaultBodyLimit::max(HTTP_BODY_READ_LIMIT))
        // Outermost, so that every answer (errors and refusals included)
        // carries the security headers.
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::security::harden,
        ))
        .with_state(app)
}

type HttpResult<T> = Result<T, HttpError>;

async fn healthz(State(app): State<App>) -> Json<serde_json::Value> {
    let mut body = serde_json::json!({
        "status": "ok",
        "published_pos": app.hub.published(),
        "sessions": app.hub.session_count(),
    });
    if let Some(c) = &app.cluster {
        body["cluster"] = serde_json::json!({
            "node": c.node,
            "applied_seq": *c.applied.borrow(),
        });
    }
    Json(body)
}

async fn metrics(State(app): State<App>) -> impl IntoResponse {
    let store = app.store.clone();
    let (bytes, retention) =
        tokio::task::spawn_blocking(move || (store.size_on_disk(), store.retention_run().ok()))
            .await
            .unwrap_or((0, None));
    if let Some(run) = retention {
        crate::metrics::set_retention_gauges(run.expired_total, run.at / 1000);
    }
    let published = app.hub.published();
    crate::metrics::set_scrape_gauges(
        app.hub.online_user_count(),
        app.committer.queue_depth(),
        app.search
            .as_ref()
            .map(|s| published.saturating_sub(s.indexed_pos())),
    );
    let text = crate::metrics::render(app.hub.session_count(), published, bytes);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(|t| t.trim().to_owned())
}

async fn authenticated(
    app: &App,
    headers: &HeaderMap,
) -> Result<(UserRecord, [u8; 32]), ServerError> {
    let token = bearer(headers).ok_or(ServerError::BadToken)?;
    app.authenticate_async(token).await
}

/// Parse a JSON body ourselves so that a bad one gets our error codes.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServerError> {
    if body.len() > MAX_HTTP_BODY {
        return Err(ServerError::BodyTooLarge {
            got: body.len(),
            max: MAX_HTTP_BODY,
        });
    }
    serde_json::from_slice(body).map_err(|e| ServerError::Invalid(e.to_string()))
}

/// Password hashes being computed at once. argon2id takes 19 MiB and tens
/// of milliseconds of a core each; more than two per core only queues, and
/// an unbounded number would let a login flood exhaust memory. Past this,
/// logins answer `rate_limited` at once.
const ARGON2_AT_ONCE: usize = 4;

fn argon2_permits() -> &'static Arc<Semaphore> {
    static PERMITS: std::sync::OnceLock<Arc<Semaphore>> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| Arc::new(Semaphore::new(ARGON2_AT_ONCE)))
}

/// Run argon2 work off the async threads, within the concurrency cap.
async fn with_argon2<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServerError> {
    // Wait briefly for a turn (a burst of logins queues), then give up.
    let permit = tokio::time::timeout(
        Duration::from_secs(3),
        argon2_permits().clone().acquire_owned(),
    )
    .await
    .map_err(|_| ServerError::RateLimited)?
    .map_err(|_| ServerError::ShuttingDown)?;
    let r = tokio::task::spawn_blocking(move || {
        let r = f();
        drop(permit);
        r
    })
    .await
    .map_err(|e| ServerError::Internal(e.to_string()))?;
    Ok(r)
}

/// The client's address: the TCP peer, or with `--trust-forwarded-for`
/// and a peer on loopback (our own reverse proxy), the last address of
/// `X-Forwarded-For`. `None` for loopback itself: not rate limited per IP,
/// and all such clients share one login back-off per account, which is why
/// a same-host proxy must come with `--trust-forwarded-for`.
fn client_ip(app: &App, peer: SocketAddr, headers: &HeaderMap) -> Option<std::net::IpAddr> {
    if peer.ip().is_loopback() {
        if !app.config.trust_forwarded_for {
            return None;
        }
        return headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
    }
    Some(peer.ip())
}

async fn logout(State(app): State<App>, headers: HeaderMap) -> HttpResult<StatusCode> {
    let (_, hash) = authenticated(&app, &headers).await?;
    let op = AccountOp::Logout { token_hash: hash };
    app.committer.submit(Command::Account(op)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn require_admin(app: &App, headers: &HeaderMap) -> Result<UserRecord, ServerError> {
    let (admin, _) = authenticated(app, headers).await?;
    if admin.role != townhall_protocol::Role::Admin {
        return Err(ServerError::Forbidden("only admins manage users"));
    }
    Ok(admin)
}

async fn create_user(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<(StatusCode, Json<townhall_protocol::UserInfo>)> {
    let admin = require_admin(&app, &headers).await?;
    let req: CreateUserRequest = parse(&body)?;
    let record = with_argon2(move || {
        new_user_record(
            &req.username,
            req.display_name.as_deref(),
            &req.password,
            req.role,
        )
    })
    .await??;
    let info = record.info();
    app.committer
        .submit(Command::Account(AccountOp::Create {
            record,
            by: admin.info(),
        }))
        .await?;
    // Everyone is in the organisation room from their first login.
    let join = Command::EnsureOrgRoom {
        creator: admin.info(),
        members: vec![info.clone()],
    };
    app.committer.submit(join).await?;
    tracing::info!(by = %admin.username, user = %info.username, "user created");
    Ok((StatusCode::CREATED, Json(info)))
}

/// `PATCH /api/admin/users/{username}`: role, display name, disabled,
/// password. Disabling or setting a password voids all the user's sessions;
/// any change closes their sockets so they reconnect with the new state.
async fn update_user(
    State(app): State<App>,
    headers: HeaderMap,
    axum::extract::Path(username): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> HttpResult<Json<townhall_protocol::UserInfo>> {
    let admin = require_admin(&app, &headers).await?;
    let req: UpdateUserRequest = parse(&body)?;
    // Disabling or a new password ends the sessions; any other change only
    // makes them reconnect, so they carry the new role or team flag (the
    // committer closes them, on every node: `committer/accounts.rs`).
    let display_name = match req.display_name {
        Some(name) => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 64 {
                return Err(
                    ServerError::Invalid("a display name is 1 to 64 characters".into()).into(),
                );
            }
            crate::names::refuse_bidi("display name", &name)?;
            Some(name)
        }
        None => None,
    };
    let password_hash = match req.password {
        Some(p) => Some(hash_new_password(p).await?),
        None => None,
    };
    let op = AccountOp::Update {
        by: admin.info(),
        username,
        role: req.role,
        display_name,
        disabled: req.disabled,
        password_hash,
        transformation_team: req.transformation_team,
    };
    let user = match app.committer.submit(Command::Account(op)).await? {
        Reply::User(u) => u,
        other => {
            return Err(ServerError::Internal(format!("expected a user, got {other:?}")).into());
        }
    };
    tracing::info!(by = %admin.username, user = %user.username, "user updated");
    Ok(Json(user.info()))
}

/// `POST /api/password`: a user changes their own password with the old
/// one; every session, this one included, ends (log in again).
async fn change_password(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<StatusCode> {
    let (user, _) = authenticated(&app, &headers).await?;
    let req: ChangePasswordRequest = parse(&body)?;
    let (old, hash) = (req.old_password, user.password_hash.clone());
    if !with_argon2(move || crate::auth::verify_password(&old, &hash)).await? {
        return Err(ServerError::InvalidCredentials.into());
    }
    let new_hash = hash_new_password(req.new_password).await?;
    let op = AccountOp::ChangePassword {
        user: user.id,
        proved_hash: user.password_hash.clone(),
        new_hash,
    };
    app.committer.submit(Command::Account(op)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn hash_new_password(password: String) -> Result<String, ServerError> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(ServerError::Invalid(
            "a password is 8 to 1024 characters".into(),
        ));
    }
    with_argon2(move || crate::auth::hash_password(&password))
        .await?
        .map_err(ServerError::Internal)
}

/// `GET /api/admin/audit?limit=N`: the newest moderation and admin actions.
async fn audit_log(
    State(app): State<App>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> HttpResult<Json<Vec<townhall_protocol::http::AuditEntry>>> {
    require_admin(&app, &headers).await?;
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    Ok(Json(app.read(move |s| Ok(s.audit(limit)?)).await?))
}

async fn list_users(
    State(app): State<App>,
    headers: HeaderMap,
) -> HttpResult<Json<Vec<serde_json::Value>>> {
    let (admin, _) = authenticated(&app, &headers).await?;
    if admin.role != townhall_protocol::Role::Admin {
        return Err(ServerError::Forbidden("only admins manage users").into());
    }
    // Where each account comes from: "local", or its directory's source.
    let users = app
        .read(|s| {
            let sources: std::collections::HashMap<_, _> = s
                .directory_links()?
                .into_iter()
                .map(|(id, link)| (id, link.source))
                .collect();
            let users = s.users()?;
            Ok(users
                .into_iter()
                .map(|u| {
                    let source = sources.get(&u.id).map_or("local", String::as_str);
                    serde_json::json!({
                        "user": u.info(),
                        "disabled": u.disabled,
                        "transformation_team": u.transformation_team,
                        "source": source,
                    })
                })
                .collect())
        })
        .await?;
    Ok(Json(users))
}

/// Validate and build a new user (argon2 runs here: call off the async threads
/// when many are made).
pub fn new_user_record(
    username: &str,
    display_name: Option<&str>,
    password: &str,
    role: townhall_protocol::Role,
) -> Result<UserRecord, ServerError> {
    let valid_name = crate::mentions::is_username(username);
    if !valid_name {
        return Err(ServerError::Invalid(
            "a username is 1 to 32 characters: letters, digits, '.', '_' or '-'".into(),
        ));
    }
    crate::names::refuse_reserved_username(username)?;
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(ServerError::Invalid(
            "a password is 8 to 1024 characters".into(),
        ));
    }
    let display = display_name
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(username);
    if display.chars().count() > 64 {
        return Err(ServerError::Invalid(
            "a display name is at most 64 characters".into(),
        ));
    }
    crate::names::refuse_bidi("display name", display)?;
    let password_hash = crate::auth::hash_password(password).map_err(ServerError::Internal)?;
    Ok(UserRecord {
        id: UserId::new(),
        username: username.to_owned(),
        display_name: display.to_owned(),
        role,
        password_hash,
        disabled: false,
        sessions_valid_after: 0,
        transformation_team: false,
        avatar: None,
        created_at: now_millis(),
    })
}

/// Is a browser at `origin` allowed to open the WebSocket? Exact matches
/// only: the server's own origin or a configured one. A look-alike such as
/// `https://good.example.com.evil.example`, or `null`, is refused. The own
/// origin is `--public-origin` when pinned; otherwise it is taken from the
/// Host header, which a DNS-rebinding page controls (harmless without a
/// token, but pinning closes it).
pub fn origin_allowed(
    origin: Option<&str>,
    host: Option<&str>,
    public_origin: Option<&str>,
    allowed: &[String],
) -> bool {
    let Some(origin) = origin else { return true };
    if allowed.iter().any(|a| a.trim_end_matches('/') == origin) {
        return true;
    }
    if let Some(public) = public_origin {
        return origin.eq_ignore_ascii_case(public);
    }
    match host {
        Some(host) => origin == format!("http://{host}") || origin == format!("https://{host}"),
        None => false,
    }
}

async fn websocket(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let public = app.config.public_origin.as_deref();
    if !origin_allowed(origin, host, public, &app.config.allowed_origins) {
        tracing::warn!(?origin, "websocket refused: origin not allowed");
        return HttpError(ServerError::Forbidden("origin not allowed")).into_response();
    }
    if app.shutdown.is_cancelled() {
        return HttpError(ServerError::ShuttingDown).into_response();
    }
    let Ok(permit) = app.connections.clone().try_acquire_owned() else {
        return HttpError(ServerError::RateLimited).into_response();
    };
    let Some(ip_slot) = app.ip_slot(peer.ip()) else {
        tracing::warn!(ip = %peer.ip(), "websocket refused: too many connections from this address");
        return HttpError(ServerError::RateLimited).into_response();
    };
    let tracker = app.sessions.clone();
    // The session's future goes on the heap in a box of its own size:
    // inline, axum's upgrade task is as large as the largest of its states
    // and ours together. It is made before the block that awaits it, so
    // the block holds it and not the socket and app a second time
    // (heaptrack, per idle connection: 6,014 B in one task before).
    production_limits(ws).on_upgrade(move |socket| {
        let session = crate::session::run(socket, app);
        Box::pin(tracker.track_future(async move {
            session.await;
            drop(ip_slot);
            drop(permit);
        }))
    })
}

/// The WebSocket settings of `/ws`, shared with the conformance echo route.
pub fn production_limits(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(WS_WRITE_BUFFER)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
}

/// With `--test-echo` only: any WebSocket upgrade outside `/ws` echoes what
/// it receives, with the production settings, so the Autobahn cases can
/// check the transport (see docs/reliability.md).
async fn echo_or_assets(
    State(app): State<App>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
    uri: axum::http::Uri,
) -> Response {
    match ws {
        Ok(ws) if app.config.test_echo => production_limits(ws).on_upgrade(echo),
        _ => assets::serve(State(app), uri).await,
    }
}

async fn echo(mut socket: axum::extract::ws::WebSocket) {
    use axum::extract::ws::Message;
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(t) => Message::Text(t),
            Message::Binary(b) => Message::Binary(b),
            Message::Close(_) => continue, // tungstenite answers the close; keep polling to the end
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn origin_check_is_exact() {
        let allowed = vec!["https://good.example.com".to_owned()];
        assert!(origin_allowed(None, None, None, &allowed));
        assert!(origin_allowed(
            Some("https://good.example.com"),
            None,
            None,
            &allowed
        ));
        assert!(!origin_allowed(
            Some("https://good.example.com.evil.example"),
            None,
            None,
            &allowed
        ));
        assert!(!origin_allowed(
            Some("null"),
            Some("localhost:8080"),
            None,
            &allowed
        ));
        assert!(origin_allowed(
            Some("http://localhost:8080"),
            Some("localhost:8080"),
            None,
            &allowed
        ));
        assert!(!origin_allowed(
            Some("http://localhost:8081"),
            Some("localhost:8080"),
            None,
            &allowed
        ));
        // Pinned: the Host header no longer decides.
        let pinned = Some("https://chat.example.com");
        assert!(!origin_allowed(
            Some("http://rebound.example:8080"),
            Some("rebound.example:8080"),
            pinned,
            &allowed
        ));
        assert!(origin_allowed(
            Some("https://chat.example.com"),
            Some("anything"),
            pinned,
            &allowed
        ));
        assert!(origin_allowed(
            Some("https://good.example.com"),
            None,
            pinned,
            &allowed
        ));
    }
}
