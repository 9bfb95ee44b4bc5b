//! HTTP hardening for every response: the security headers (a strict
//! Content-Security-Policy, no framing, no sniffing, no referrer, no caching
//! of API answers) and the rule that `/api/*` bodies are JSON.
//!
//! Why JSON only: a web page on any site may send a "simple" cross-site
//! POST (`text/plain`, form encodings) without a CORS preflight. Requiring
//! `application/json` makes every such request fail before it is read, so a
//! page an employee visits cannot drive `/api/login` (and so cannot run
//! anyone's login back-off) from their browser.

use crate::app::App;
use crate::error::{HttpError, ServerError};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The policy for everything we serve. The web client is one module script
/// and one stylesheet from `/assets/` (no inline script or `style=`
/// attribute: Preact sets styles through the CSSOM, which CSP allows), an
/// inline SVG favicon (`data:`), and attached images, which the client
/// fetches with its token and shows from `blob:` URLs. `connect-src 'self'` covers the
/// same-origin `ws:`/`wss:` in CSP3 browsers; the WebSocket origin is added
/// explicitly as well for browsers that predate that rule.
fn content_security_policy(ws_origins: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'{ws_origins}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// `ws://` and `wss://` for the public origin when one is pinned, or else
/// for the Host the browser asked for (only if it is a plain `host[:port]`,
/// so nothing odd is ever reflected into a header).
fn ws_origins(app: &App, headers: &HeaderMap) -> String {
    let host = match &app.config.public_origin {
        Some(origin) => origin
            .split_once("://")
            .map(|(_, host)| host.trim_end_matches('/').to_owned()),
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned),
    };
    match host {
        Some(host) if is_plain_host(&host) => format!(" ws://{host} wss://{host}"),
        _ => String::new(),
    }
}

fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// Does a request to `/api/*` carry anything but JSON? Bodyless requests
/// (GET, logout) need no Content-Type; anything with a body needs
/// `application/json` (parameters such as `charset=utf-8` allowed).
fn refuses_media_type(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    // A file upload's body is the file (a profile picture's, the image).
    // It still cannot be driven from another site: it needs
    // `Authorization: Bearer`, which no simple cross-site request can carry.
    if *method == Method::POST && (path == "/api/files" || path == "/api/avatar") {
        return false;
    }
    match headers.get(header::CONTENT_TYPE) {
        Some(ct) => {
            let essence = ct
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            !essence.eq_ignore_ascii_case("application/json")
        }
        None => {
            let has_length = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() != "0");
            has_length || headers.contains_key(header::TRANSFER_ENCODING)
        }
    }
}

/// The middleware around the whole router (routes, assets, fallback,
/// errors, the WebSocket upgrade's refusals).
pub async fn harden(State(app): State<App>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let is_avatar = request.uri().path().starts_with("/api/avatar/");
    let ws = ws_origins(&app, request.headers());
    let mut response = if is_api
        && refuses_media_type(request.method(), request.uri().path(), request.headers())
    {
        HttpError(ServerError::UnsupportedMediaType).into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    // A route with a stricter policy of its own (file downloads) keeps it.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(csp) = HeaderValue::from_str(&content_security_policy(&ws))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Nothing here needs a Referer, and message links would otherwise tell
    // other sites where the chat lives.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // API answers hold tokens and private data: never stored by a browser
    // or a proxy. Other answers keep their own policy (hashed assets are
    // immutable), and default to no-store.
    // The one exception: a profile picture at its versioned URL may be
    // kept privately (`http/avatar.rs` sets that only for the current
    // version; its URL changes with every new picture).
    let own_private_cache = is_avatar
        && headers
            .get(header::CACHE_CONTROL)
            .is_some_and(|v| v.as_bytes().starts_with(b"private"));
    if (is_api && !own_private_cache) || !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_json_bodies_reach_the_api() {
        let json = with(&[(header::CONTENT_TYPE, "application/json; charset=utf-8")]);
        assert!(!refuses_media_type(&Method::POST, "/api/x", &json));
        let upper = with(&[(header::CONTENT_TYPE, "Application/JSON")]);
        assert!(!refuses_media_type(&Method::PATCH, "/api/x", &upper));
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
        ] {
            let h = with(&[(header::CONTENT_TYPE, ct)]);
            assert!(refuses_media_type(&Method::POST, "/api/x", &h), "{ct}");
        }
        let bodyless = with(&[(header::CONTENT_LENGTH, "0")]);
        assert!(!refuses_media_type(&Method::POST, "/api/x", &bodyless));
        assert!(!refuses_media_type(
            &Method::POST,
            "/api/x",
            &HeaderMap::new()
        ));
        let untyped = with(&[(header::CONTENT_LENGTH, "12")]);
        assert!(refuses_media_type(&Method::POST, "/api/x", &untyped));
        assert!(!refuses_media_type(&Method::GET, "/api/x", &untyped));
    }

    #[test]
    fn only_plain_hosts_are_reflected() {
        assert!(is_plain_host("chat.example.com:8443"));
        assert!(is_plain_host("[::1]:8080"));
        assert!(!is_plain_host("evil.example; script-src *"));
        assert!(!is_plain_host(""));
    }
}
