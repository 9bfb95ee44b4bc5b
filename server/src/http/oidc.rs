//! "Log in with your company account": the browser's side of an OpenID
//! Connect login (the provider's side is `auth/oidc/`).
//!
//! - `GET /api/oidc/start`: a fresh state, nonce and PKCE verifier are kept
//!   on this node ([`crate::auth::oidc::LOGIN_TTL`], bounded); the state also
//!   goes into an HttpOnly cookie scoped to `/api/oidc/`, and the browser is
//!   sent to the provider.
//! - `GET /api/oidc/callback?code&state`: the state must be one we issued,
//!   unused, unexpired, and the same as this browser's cookie (so a callback
//!   URL made for someone else's browser logs no one in: login CSRF); it is
//!   used up at once, so a replayed callback is refused. The code is
//!   exchanged, the ID token verified, and the account made or updated
//!   through the log (`DirectoryOp::Login`, source `oidc`). The session
//!   token never goes into a URL: the browser is sent to
//!   `/#oidc_code=ONE_TIME_CODE`, which the web client removes from the
//!   address bar at once and trades for the session at
//!   `POST /api/oidc/exchange` (once, within a minute).
//! - Any failure sends the browser to `/#oidc_error=CODE` (a wire code of
//!   docs/protocol.md) for the login page to show.
//!
//! The session made is the same record as any login's: expiry, revocation
//! and logout behave the same whatever the source.

use super::login::{Vouched, open_linked_session};
use super::{HttpResult, parse};
use crate::app::App;
use crate::auth::oidc::{OIDC_SOURCE, OidcError, OidcLogins, OidcUser, PendingLogin};
use crate::error::ServerError;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;
use townhall_protocol::http::LoginResponse;

const STATE_COOKIE: &str = "townhall_oidc_state";

/// `GET /api/login/sources`: which logins the login page offers.
pub(super) async fn sources(State(app): State<App>) -> Json<serde_json::Value> {
    let s = app.login_sources;
    Json(serde_json::json!({
        "local": s.local,
        "ldap": s.ldap,
        "oidc": s.oidc && app.oidc.is_some(),
    }))
}

fn enabled(app: &App) -> Result<Arc<OidcLogins>, ServerError> {
    match &app.oidc {
        Some(oidc) if app.login_sources.oidc => Ok(oidc.clone()),
        _ => Err(ServerError::LoginSourceDisabled),
    }
}

/// `GET /api/oidc/start`.
pub(super) async fn start(
    State(app): State<App>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let ip = super::client_ip(&app, peer, &headers);
    if let Ok(oidc) = enabled(&app)
        && !oidc.starts.allow(ip)
    {
        return back_with_error(ServerError::RateLimited);
    }
    match begin(&app).await {
        Ok((url, state, secure)) => {
            let cookie = format!(
                "{STATE_COOKIE}={state}; Path=/api/oidc/; Max-Age={}; HttpOnly; SameSite=Lax{}",
                crate::auth::oidc::LOGIN_TTL.as_secs(),
                if secure { "; Secure" } else { "" }
            );
            redirect(&url, Some(cookie))
        }
        Err(e) => back_with_error(e),
    }
}

async fn begin(app: &App) -> Result<(String, String, bool), ServerError> {
    let oidc = enabled(app)?;
    let auth = oidc.provider.authorize().await.map_err(from_oidc)?;
    oidc.logins
        .insert(
            auth.state.clone(),
            PendingLogin {
                nonce: auth.nonce,
                verifier: auth.verifier,
            },
        )
        .map_err(|_| ServerError::RateLimited)?;
    Ok((auth.url, auth.state, oidc.provider.redirect_is_https()))
}

/// `GET /api/oidc/callback`.
pub(super) async fn callback(
    State(app): State<App>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match finish(&app, &params, &headers).await {
        // The state cookie stays until the exchange, which must present it.
        Ok(code) => redirect(&format!("/#oidc_code={code}"), None),
        Err(e) => {
            crate::metrics::inc(&crate::metrics::get().login_failures);
            match &e {
                ServerError::OidcTokenInvalid(why) => {
                    tracing::warn!(error = %why, "OIDC login refused: ID token")
                }
                ServerError::DirectoryUnavailable(why) => {
                    tracing::error!(error = %why, "OIDC login failed: provider unavailable")
                }
                other => tracing::info!(error = %other, "OIDC login refused"),
            }
            let mut response = back_with_error(e);
            if let Ok(v) = HeaderValue::from_str(&clear_cookie()) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            response
        }
    }
}

async fn finish(
    app: &App,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<String, ServerError> {
    let oidc = enabled(app)?;
    let state = params.get("state").ok_or(ServerError::OidcStateMismatch)?;
    if cookie(headers, STATE_COOKIE).as_deref() != Some(state.as_str()) {
        return Err(ServerError::OidcStateMismatch);
    }
    let pending = oidc
        .logins
        .take(state)
        .ok_or(ServerError::OidcStateMismatch)?;
    // RFC 9207: a provider that names itself in the callback must be ours
    // (a mix-up attack sends another provider's code here).
    if params
        .get("iss")
        .is_some_and(|iss| iss != oidc.provider.issuer())
    {
        return Err(ServerError::OidcDenied(
            "the callback names another issuer".into(),
        ));
    }
    if let Some(error) = params.get("error") {
        return Err(ServerError::OidcDenied(crate::auth::oidc::provider_error(
            error,
        )));
    }
    let code = params
        .get("code")
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or_else(|| ServerError::OidcDenied("no code".into()))?;
    let found = oidc
        .provider
        .finish(code, &pending.verifier, &pending.nonce)
        .await
        .map_err(from_oidc)?;
    app.catch_up_reads().await;
    let signed_in = account(app, found).await?;
    let handoff = crate::auth::oidc::random_b64();
    oidc.handoffs
        .insert(handoff.clone(), (state.clone(), signed_in))
        .map_err(|_| ServerError::RateLimited)?;
    Ok(handoff)
}

#[derive(serde::Deserialize)]
pub(super) struct ExchangeRequest {
    code: String,
}

/// `POST /api/oidc/exchange`: the one-time code for the session, once,
/// and only by the browser that made the login (it holds the login's state
/// cookie): a code handed to someone else's browser (a link with
/// `#oidc_code=…`) logs that browser into nothing.
pub(super) async fn exchange(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> HttpResult<Response> {
    let req: ExchangeRequest = parse(&body)?;
    let oidc = enabled(&app)?;
    let (state, session) = oidc
        .handoffs
        .take(&req.code)
        .ok_or(ServerError::OidcStateMismatch)?;
    if cookie(&headers, STATE_COOKIE).as_deref() != Some(state.as_str()) {
        return Err(ServerError::OidcStateMismatch.into());
    }
    let mut response = Json(session).into_response();
    if let Ok(v) = HeaderValue::from_str(&clear_cookie()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The provider vouched for `found`: make or update the account through
/// the log and open a session, as an LDAP login does.
async fn account(app: &App, found: OidcUser) -> Result<LoginResponse, ServerError> {
    let vouched = Vouched {
        source: OIDC_SOURCE,
        dn: found.issuer,
        entry_id: Some(found.subject),
        username: found.username,
        display_name: found.display_name,
        role: found.role,
        transformation_team: found.transformation_team,
        whose: "the company account's",
    };
    let (user, (token, expires_at)) = open_linked_session(app, vouched).await?;
    crate::metrics::inc(&crate::metrics::get().logins);
    tracing::info!(user = %user.username, source = OIDC_SOURCE, "login");
    Ok(LoginResponse {
        token,
        expires_at,
        user: user.info(),
    })
}

fn from_oidc(e: OidcError) -> ServerError {
    match e {
        OidcError::Unavailable(why) => ServerError::DirectoryUnavailable(why),
        OidcError::Denied(why) => ServerError::OidcDenied(why),
        OidcError::Token(why) => ServerError::OidcTokenInvalid(why.to_string()),
        OidcError::Claims(why) => ServerError::Invalid(why),
    }
}

/// A 303 to `location` (the browser follows with a GET).
fn redirect(location: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            headers.insert(header::LOCATION, v);
        }
        Err(_) => return back_with_error(ServerError::Internal("bad redirect URL".into())),
    }
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.append(header::SET_COOKIE, c);
    }
    response
}

/// Back to the web client's login page, which shows the error's code.
fn back_with_error(e: ServerError) -> Response {
    redirect(&format!("/#oidc_error={}", e.code().as_str()), None)
}

fn clear_cookie() -> String {
    format!("{STATE_COOKIE}=; Path=/api/oidc/; Max-Age=0; HttpOnly; SameSite=Lax")
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}
