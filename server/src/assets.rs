//! The web client, embedded in the binary (read from `client-web/dist` at
//! build time in release; from disk in debug builds), or served from
//! `--static-dir`. Unknown non-API paths get `index.html` (client routing).

use crate::app::App;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../client-web/dist/"]
#[allow_missing = true]
struct Dist;

pub async fn serve(State(app): State<App>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") || path == "ws" {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(resp) = file(&app, path).await {
        return resp;
    }
    // A client route (e.g. /room/…): the app itself.
    if !path.contains('.')
        && let Some(resp) = file(&app, "index.html").await
    {
        return resp;
    }
    if path == "index.html" {
        return (
            StatusCode::NOT_FOUND,
            "the web client is not built: run `npm ci && npm run build` in client-web/",
        )
            .into_response();
    }
    (StatusCode::NOT_FOUND, "not found").into_response()
}

async fn file(app: &App, path: &str) -> Option<Response> {
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return None;
    }
    let bytes: Vec<u8> = match &app.config.static_dir {
        Some(dir) => tokio::fs::read(dir.join(path)).await.ok()?,
        None => Dist::get(path)?.data.into_owned(),
    };
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    // Hashed assets never change; index.html must always be fresh.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Some(
        (
            [
                (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                (header::CACHE_CONTROL, cache.to_owned()),
            ],
            bytes,
        )
            .into_response(),
    )
}
