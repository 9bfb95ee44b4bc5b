//! The web client, embedded in the binary (read from `client-web/dist` at
//! build time in release; from disk in debug builds), or served from
//! `--static-dir`. Unknown non-API paths get `index.html` (client routing).
//!
//! From a folder, only what is plainly inside it is served: no path segment
//! may start with `.` (dotfiles such as `.env`, `.git/`), and a symlink that
//! leads out of the folder is refused. Source maps are never served: the
//! client build makes none (vite.config.ts), and a stray `*.map` in dist/
//! or the folder is refused, since it would publish the client's source.

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
    // `..`, `.env`, `.git/…`: nothing hidden or above the root is served.
    if path
        .split('/')
        .any(|part| part.is_empty() || part.starts_with('.'))
        || path.ends_with(".map")
    {
        return None;
    }
    let bytes: Vec<u8> = match &app.config.static_dir {
        Some(dir) => read_inside(dir, path).await?,
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

/// The file at `path` under `dir`, if it resolves (symlinks followed) to a
/// file still inside `dir`.
async fn read_inside(dir: &std::path::Path, path: &str) -> Option<Vec<u8>> {
    let root = tokio::fs::canonicalize(dir).await.ok()?;
    let real = tokio::fs::canonicalize(root.join(path)).await.ok()?;
    if !real.starts_with(&root) {
        tracing::warn!(path, "static file refused: it leads out of --static-dir");
        return None;
    }
    tokio::fs::read(real).await.ok()
}
