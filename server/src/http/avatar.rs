//! Profile pictures over HTTP (issue 13): `POST /api/avatar` sets the
//! caller's own, `DELETE /api/avatar` removes it, `GET /api/avatar/{id}`
//! serves anybody's to any logged-in user (a picture is as public inside
//! the company as a name).
//!
//! An upload is read into memory up to [`MAX_AVATAR_UPLOAD_BYTES`] (refused
//! the moment it passes), sniffed from its bytes (the client's
//! `Content-Type` is never read), decoded under the thumbnails' bounds
//! (`files/thumb.rs`: a decompression bomb is refused before it is
//! decoded), centre-cropped and re-encoded as an [`AVATAR_SIDE`]-pixel PNG.
//! Only that PNG is kept and served, never the uploaded bytes; it goes
//! through the log inside the command (`committer/avatar.rs`), so a
//! cluster needs no file store for it.

use super::{HttpResult, authenticated};
use crate::app::App;
use crate::committer::{AvatarOp, Command, Reply};
use crate::error::ServerError;
use crate::files::{sniff, thumb};
use crate::limits::TokenBucket;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use townhall_protocol::{UserId, UserInfo};

/// Largest upload: a phone photo is 2 to 4 MB; the picture kept is a 128
/// px square whatever was sent, so more would only cost reading time.
pub const MAX_AVATAR_UPLOAD_BYTES: u64 = 5 * 1024 * 1024;

/// The side of the stored square, in pixels: twice the largest size the
/// web client shows (64 CSS px on the profile card), sharp on 2× screens,
/// and at most about 66 KB as PNG, small enough for a log entry.
pub const AVATAR_SIDE: u32 = 128;

/// Nothing in a picture's answer may run or load anything; `sandbox`
/// gives it a unique origin if opened directly.
const AVATAR_CSP: &str = "default-src 'none'; sandbox";

/// Changes (set or remove) per user per minute, and the burst. Each one
/// sends `user_updated` to every online session; a person tries a few
/// pictures, not dozens a minute. Per node: a cluster allows this per node.
const CHANGES_PER_MINUTE: f64 = 5.0;

/// Users whose bucket is remembered before refilled ones are forgotten:
/// bounds the map (a bucket refills within a minute of its last use).
const MAX_TRACKED_USERS: usize = 10_000;

/// Pictures decoded at once on a node. A decode may hold up to the
/// thumbnails' allocation ceiling (about 220 MB for a 40 MP image); one at
/// a time is plenty for pictures changed a few times a year each.
const DECODES_AT_ONCE: usize = 1;

/// Per-user buckets. A std Mutex: a lookup takes nanoseconds and it is
/// never held across an await.
fn buckets() -> &'static Mutex<HashMap<UserId, (TokenBucket, Instant)>> {
    static BUCKETS: OnceLock<Mutex<HashMap<UserId, (TokenBucket, Instant)>>> = OnceLock::new();
    BUCKETS.get_or_init(|| Mutex::new(HashMap::new()))
}

fn decodes() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| Arc::new(Semaphore::new(DECODES_AT_ONCE)))
}

/// May `user` change their picture now? Takes a turn if so.
fn take_turn(user: UserId) -> bool {
    let now = Instant::now();
    // A panic elsewhere while holding it leaves only counters behind.
    let mut map = buckets().lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_TRACKED_USERS {
        let refill = Duration::from_secs(60);
        map.retain(|_, (_, last)| now.duration_since(*last) < refill);
    }
    let (bucket, last) = map.entry(user).or_insert_with(|| {
        (
            TokenBucket::new(CHANGES_PER_MINUTE / 60.0, CHANGES_PER_MINUTE),
            now,
        )
    });
    *last = now;
    bucket.take_at(now)
}

/// Read the body into memory, refusing it the moment it passes `max`.
async fn read_bounded(body: Body, max: u64) -> Result<Vec<u8>, ServerError> {
    let mut out = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ServerError::Invalid(format!("upload cut off: {e}")))?;
        if (out.len() + chunk.len()) as u64 > max {
            return Err(ServerError::FileTooLarge { max });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `POST /api/avatar`, body: the image. Answers 200 with the caller's
/// [`UserInfo`] (its `avatar` is the new version).
pub async fn upload(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> HttpResult<Json<UserInfo>> {
    let (user, _) = authenticated(&app, &headers).await?;
    let max = MAX_AVATAR_UPLOAD_BYTES;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ServerError::FileTooLarge { max }.into());
    }
    if !take_turn(user.id) {
        return Err(ServerError::RateLimited.into());
    }
    let bytes = read_bounded(body, max).await?;
    if bytes.is_empty() {
        return Err(ServerError::Invalid("the image is empty".into()).into());
    }
    let head = &bytes[..bytes.len().min(sniff::HEAD)];
    if !sniff::is_inline_image(sniff::content_type(head)) {
        return Err(ServerError::NotAnImage.into());
    }
    let turn = decodes()
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ServerError::ShuttingDown)?;
    // The permit moves into the decode: a client that goes away drops this
    // handler, never the limit on decodes still running.
    let made = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        thumb::square_png(&bytes, AVATAR_SIDE)
    })
    .await
    .map_err(|e| ServerError::Internal(e.to_string()))?;
    let png = match made {
        Ok(png) => png,
        Err(e @ thumb::ThumbError::TooManyPixels { .. }) => {
            return Err(ServerError::LimitReached(e.to_string()).into());
        }
        Err(thumb::ThumbError::Unreadable(_)) => return Err(ServerError::NotAnImage.into()),
    };
    let op = AvatarOp::Set { user: user.id, png };
    submit(&app, op).await
}

/// `DELETE /api/avatar`: back to initials. Answers 200 with the caller's
/// [`UserInfo`] (no `avatar`).
pub async fn remove(State(app): State<App>, headers: HeaderMap) -> HttpResult<Json<UserInfo>> {
    let (user, _) = authenticated(&app, &headers).await?;
    if !take_turn(user.id) {
        return Err(ServerError::RateLimited.into());
    }
    submit(&app, AvatarOp::Remove { user: user.id }).await
}

async fn submit(app: &App, op: AvatarOp) -> HttpResult<Json<UserInfo>> {
    match app.committer.submit(Command::Avatar(op)).await? {
        Reply::User(record) => Ok(Json(record.info())),
        other => Err(ServerError::Internal(format!("expected a user, got {other:?}")).into()),
    }
}

/// `GET /api/avatar/{id}?v=N`: the PNG. 404 for an unknown user, one with
/// no picture, or a disabled account (clients show initials). With `v`
/// equal to the current version the answer may be cached for a year (a
/// new picture has a new version, so a new URL); otherwise not at all.
pub async fn get(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> HttpResult<Response> {
    authenticated(&app, &headers).await?;
    let id = uuid::Uuid::parse_str(&id)
        .map(UserId)
        .map_err(|_| ServerError::NotFound)?;
    let wanted = q.get("v").and_then(|v| v.parse::<u32>().ok());
    let mut found = current(&app, id).await?;
    // A cluster node that has not applied a picture set through another
    // node a moment ago: catch up with the log once, then look again.
    if wanted.is_some_and(|w| found.as_ref().is_none_or(|(v, _)| *v < w))
        && app.catch_up_reads().await
    {
        found = current(&app, id).await?;
    }
    let (version, png) = found.ok_or(ServerError::NotFound)?;
    let cache = if wanted == Some(version) {
        "private, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, AVATAR_CSP.to_owned()),
            (header::CACHE_CONTROL, cache.to_owned()),
            (header::ETAG, format!("\"{version}\"")),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"avatar.png\"".to_owned(),
            ),
        ],
        png,
    )
        .into_response())
}

/// The user's current picture (version, PNG), if they are active and have one.
async fn current(app: &App, id: UserId) -> Result<Option<(u32, Vec<u8>)>, ServerError> {
    app.read(move |s| {
        let Some(user) = s.user(id)? else {
            return Ok(None);
        };
        if user.disabled || user.avatar.is_none() {
            return Ok(None);
        }
        Ok(s.avatar(id)?
            .filter(|a| !a.png.is_empty())
            .map(|a| (a.version, a.png)))
    })
    .await
}
