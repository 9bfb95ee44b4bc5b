//! `POST /api/files` (upload), `GET /api/files/{id}` (download, with
//! ranges) and `GET /api/files/{id}/thumb`.
//!
//! An upload is streamed to a temp file while hashed (never whole in
//! memory), refused the moment it passes `--max-file-mb`, fsynced and
//! moved into place by hash, and only then recorded through the log; the
//! answer follows that record. A download is allowed to exactly whoever
//! may read the message the file was posted with (history's rule); anyone
//! else, and every pending or removed file, gets the same 404 as a file
//! that never existed.
//!
//! On a cluster node the bytes also go to the shared store before the
//! record (`Files::share`), and a download of bytes this node does not
//! hold fetches them from there first (`Files::ensure_local`).

use super::{HttpResult, authenticated};
use crate::app::App;
use crate::committer::{Command, FileOp, Reply};
use crate::error::ServerError;
use crate::files::{Files, Stored, sniff, thumb};
use crate::store::{FileRecord, UserRecord};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use townhall_protocol::{Attachment, Content, RoomKind, Visibility};
use uuid::Uuid;

/// The policy of every file answer: nothing in it may run or load anything,
/// and `sandbox` gives an HTML or SVG opened directly a unique origin, so
/// even a browser that rendered it could not reach Townhall's.
const FILE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

fn files_of(app: &App) -> Result<Files, ServerError> {
    app.files.clone().ok_or(ServerError::NotSupported(
        "the file store could not be opened",
    ))
}

/// `POST /api/files?name=NAME`, body: the bytes. Answers 201 with the
/// file's [`Attachment`] (its id goes in a `send`'s `attachments`).
pub async fn upload(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Body,
) -> HttpResult<(StatusCode, Json<Attachment>)> {
    let files = files_of(&app)?;
    let (user, _) = authenticated(&app, &headers).await?;
    let name = crate::files::check_name(q.get("name").map_or("", String::as_str))?;
    let max = files.max_bytes();
    // A declared length past the limit is refused before a byte is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(ServerError::FileTooLarge { max }.into());
    }
    // The quota is checked before a byte is stored (apply checks it again,
    // against racing uploads): what the user holds, plus what this upload
    // declares (or at least one byte), and the count of files held.
    let quota = files.quota_bytes();
    let owner = user.id;
    let held = app
        .read(move |s| {
            let held = s.user_files(owner)?;
            Ok((held.len(), held.iter().map(|f| f.size).sum::<u64>()))
        })
        .await?;
    let (count, held) = held;
    crate::committer::check_file_quota(count, held, declared.unwrap_or(1), quota)?;
    let Some(_turn) = files.upload_turn() else {
        return Err(ServerError::RateLimited.into());
    };
    // A body streamed without a length stops where the quota would.
    let left = quota.saturating_sub(held);
    let received = receive(&files, body, max, (left, quota)).await?;
    let Received {
        mut temp,
        hash,
        size,
        head,
    } = received;
    if size == 0 {
        return Err(ServerError::Invalid("the file is empty".into()).into());
    }
    let content_type = sniff::content_type(&head);
    let mut thumbnail = None;
    if sniff::is_inline_image(content_type) {
        let path = temp
            .path()
            .map(std::path::Path::to_path_buf)
            .ok_or_else(|| ServerError::Internal("upload without a temp file".into()))?;
        let _decode = files.thumbnail_turn().await;
        let made = tokio::task::spawn_blocking(move || thumb::make(&path))
            .await
            .map_err(|e| ServerError::Internal(e.to_string()))?;
        match made {
            Ok(t) => thumbnail = Some(t),
            Err(e @ thumb::ThumbError::TooManyPixels { .. }) => {
                return Err(ServerError::LimitReached(e.to_string()).into());
            }
            // Bytes that only look like an image: kept as a plain file.
            Err(thumb::ThumbError::Unreadable(e)) => {
                tracing::debug!(error = %e, "upload: an image without a thumbnail");
            }
        }
    }
    // Held against the sweep from before the bytes are stored until the
    // record's commit has answered.
    let hold = files.hold(&hash);
    let stored = {
        let (files, hash) = (files.clone(), hash.clone());
        let png = thumbnail.as_ref().map(|t| t.png.clone());
        tokio::task::spawn_blocking(move || -> std::io::Result<Stored> {
            let stored = files.store(&mut temp, &hash)?;
            if let Some(png) = png {
                files.store_thumb(&hash, &png)?;
            }
            Ok(stored)
        })
        .await
        .map_err(|e| ServerError::Internal(e.to_string()))?
    };
    let stored = stored.map_err(|e| ServerError::Internal(format!("storing an upload: {e}")))?;
    // A cluster node: the bytes go to the shared store (durably) before the
    // record, so every node that applies the record can serve them.
    if let Err(e) = files.share(&hash, thumbnail.is_some()).await {
        tracing::warn!(error = %e, "upload: the cluster's file store did not take the bytes");
        if stored == Stored::Created {
            discard(&app, hold).await;
        }
        return Err(ServerError::Unavailable(
            "the cluster's file store is not reachable; retry the upload".into(),
        )
        .into());
    }
    let op = FileOp::Upload {
        owner: user.id,
        hash,
        name,
        size,
        content_type: content_type.to_owned(),
        thumbnail: thumbnail.is_some(),
        width: thumbnail.as_ref().map(|t| t.width),
        height: thumbnail.as_ref().map(|t| t.height),
        quota,
    };
    let answer = match app.committer.submit(Command::File(op)).await {
        Ok(Reply::File(record)) => Ok(record),
        Ok(other) => Err(ServerError::Internal(format!(
            "expected a file, got {other:?}"
        ))),
        Err(e) => Err(e),
    };
    match answer {
        Ok(record) => {
            // Still held: the shared copy must be there when we answer.
            if let Err(e) = files.confirm_shared(&record.hash, record.thumbnail).await {
                tracing::warn!(error = %e, "upload: the cluster's file store lost the bytes");
                return Err(ServerError::Unavailable(
                    "the cluster's file store is not reachable; retry the upload".into(),
                )
                .into());
            }
            drop(hold);
            Ok((StatusCode::CREATED, Json(record.attachment())))
        }
        Err(e) => {
            // Refused after the bytes were stored: bytes this upload put
            // there and nothing references leave at once, not at the sweep.
            if stored == Stored::Created {
                discard(&app, hold).await;
            }
            Err(e.into())
        }
    }
}

/// Remove the bytes of a refused upload unless referenced or in flight.
async fn discard(app: &App, hold: crate::files::InFlight) {
    let store = app.store.clone();
    let done = tokio::task::spawn_blocking(move || {
        hold.discard(|h| store.hash_referenced(h).map_err(|e| e.to_string()))
    })
    .await;
    match done {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot remove a refused upload's bytes"),
        Err(e) => tracing::warn!(error = %e, "removing a refused upload's bytes failed"),
    }
}

struct Received {
    temp: crate::files::TempFile,
    hash: String,
    size: u64,
    head: Vec<u8>,
}

/// Stream the body into a temp file, hashing as it goes; refuse (and
/// remove the temp file) the moment it passes `max` bytes, or `left` (what
/// remains of the uploader's quota).
async fn receive(
    files: &Files,
    body: Body,
    max: u64,
    (left, quota): (u64, u64),
) -> Result<Received, ServerError> {
    let temp = files.temp();
    let path = temp
        .path()
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| ServerError::Internal("no temp path".into()))?;
    let io = |e: std::io::Error| ServerError::Internal(format!("writing an upload: {e}"));
    let file = tokio::fs::File::create(&path).await.map_err(io)?;
    let mut out = tokio::io::BufWriter::with_capacity(crate::files::WRITE_BUFFER, file);
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(sniff::HEAD);
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        // A body cut off (the client went away) is not an upload.
        let chunk = chunk.map_err(|e| ServerError::Invalid(format!("upload cut off: {e}")))?;
        size += chunk.len() as u64;
        if size > max {
            return Err(ServerError::FileTooLarge { max });
        }
        if size > left {
            return Err(crate::committer::quota_error(quota));
        }
        if head.len() < sniff::HEAD {
            let take = (sniff::HEAD - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(io)?;
    }
    out.flush().await.map_err(io)?;
    let file = out.into_inner();
    file.sync_all().await.map_err(io)?;
    drop(file);
    Ok(Received {
        temp,
        hash: hex::encode(hasher.finalize()),
        size,
        head,
    })
}

/// The file `id` if `user` may read the message it was posted with, else
/// `NotFound` (pending, removed, or not theirs to see: one answer).
/// In a cluster, a miss first waits for this node to catch up with the
/// log and looks again (a link to a file posted through another node a
/// moment ago), as WebSocket requests do (`handlers::dispatch`).
async fn visible_file(app: &App, user: &UserRecord, id: &str) -> Result<FileRecord, ServerError> {
    match visible_file_now(app, user, id).await {
        Err(ServerError::NotFound) if app.cluster.is_some() && app.catch_up_reads().await => {
            visible_file_now(app, user, id).await
        }
        other => other,
    }
}

async fn visible_file_now(
    app: &App,
    user: &UserRecord,
    id: &str,
) -> Result<FileRecord, ServerError> {
    let id = Uuid::parse_str(id).map_err(|_| ServerError::NotFound)?;
    let me = user.id;
    let hub = app.hub.clone();
    let visible = hub.published();
    app.read(move |s| {
        let record = s.file(id)?.ok_or(ServerError::NotFound)?;
        let (room, seq) = record.posted.ok_or(ServerError::NotFound)?;
        let room_record = s.room(room)?.ok_or(ServerError::NotFound)?;
        let member = hub.role_in(room, me).is_some();
        let public =
            room_record.visibility == Visibility::Public && room_record.kind == RoomKind::Room;
        if !(member || public) {
            return Err(ServerError::NotFound);
        }
        let stored = s
            .event(room, seq)?
            .filter(|e| e.pos <= visible)
            .ok_or(ServerError::NotFound)?;
        let event = stored.decode()?;
        let listed = match &event.content {
            Content::Message { attachments, .. } => attachments.iter().any(|a| a.id == id),
            _ => false,
        };
        if event.state.deleted || !listed {
            return Err(ServerError::NotFound);
        }
        Ok(record)
    })
    .await
}

/// `GET /api/files/{id}`: the bytes, with ranges.
pub async fn download(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let files = app.files.clone().ok_or(ServerError::NotFound)?;
    let (user, _) = authenticated(&app, &headers).await?;
    let record = visible_file(&app, &user, &id).await?;
    local_copy(&files, &record.hash, false).await?;
    let path = files.content_path(&record.hash);
    let inline = sniff::is_inline_image(&record.content_type);
    let content_type = if record.content_type.starts_with("text/") {
        format!("{}; charset=utf-8", record.content_type)
    } else {
        record.content_type.clone()
    };
    serve(&path, &headers, &content_type, &record.name, inline).await
}

/// `GET /api/files/{id}/thumb`: the server-made PNG thumbnail of an image.
pub async fn thumbnail(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let files = app.files.clone().ok_or(ServerError::NotFound)?;
    let (user, _) = authenticated(&app, &headers).await?;
    let record = visible_file(&app, &user, &id).await?;
    if !record.thumbnail {
        return Err(ServerError::NotFound.into());
    }
    local_copy(&files, &record.hash, true).await?;
    let path = files.thumb_path(&record.hash);
    serve(&path, &headers, "image/png", &record.name, true).await
}

/// On a cluster node, fetch bytes this node does not hold yet from the
/// shared store (a file uploaded through another node).
async fn local_copy(files: &Files, hash: &str, thumb: bool) -> Result<(), ServerError> {
    match files.ensure_local_waiting(hash, thumb).await {
        Ok(true) => Ok(()),
        // Embedded: the bytes are missing from this node's disk; `serve`
        // logs it and answers as for a missing file.
        Ok(false) if files.shared().is_none() => Ok(()),
        Ok(false) => {
            tracing::warn!(hash, "download: the cluster's file store has no such bytes");
            Err(ServerError::Unavailable(
                "the cluster's file store does not have this file yet; retry".into(),
            ))
        }
        Err(e) => {
            tracing::warn!(error = %e, hash, "download: cannot fetch from the cluster's file store");
            Err(ServerError::Unavailable(
                "the cluster's file store is not reachable; retry".into(),
            ))
        }
    }
}

/// One byte range, from a `Range` header on a file of `len` bytes:
/// `Ok(None)` for the whole file (no header, or several ranges, which we
/// answer whole), `Err` when it cannot be satisfied.
fn parse_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let (start, end) = (start.trim(), end.trim());
    let range = if start.is_empty() {
        let suffix: u64 = end.parse().map_err(|_| ())?;
        if suffix == 0 {
            return Err(());
        }
        (len.saturating_sub(suffix), len.checked_sub(1).ok_or(())?)
    } else {
        let start: u64 = start.parse().map_err(|_| ())?;
        let end = if end.is_empty() {
            len.checked_sub(1).ok_or(())?
        } else {
            end.parse::<u64>()
                .map_err(|_| ())?
                .min(len.saturating_sub(1))
        };
        (start, end)
    };
    if range.0 > range.1 || range.0 >= len {
        return Err(());
    }
    Ok(Some(range))
}

/// A `Content-Disposition` with an ASCII fallback name and the exact name
/// in RFC 5987 form.
fn disposition(inline: bool, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn serve(
    path: &std::path::Path,
    headers: &HeaderMap,
    content_type: &str,
    name: &str,
    inline: bool,
) -> HttpResult<Response> {
    let io = |e: std::io::Error| ServerError::Internal(format!("reading a stored file: {e}"));
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        // A record whose bytes are gone: nothing to serve, say so once.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::error!(path = %path.display(), "a file's bytes are missing");
            return Err(ServerError::NotFound.into());
        }
        Err(e) => return Err(io(e).into()),
    };
    let len = file.metadata().await.map_err(io)?.len();
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(v) => parse_range(v, len),
        None => Ok(None),
    };
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_SECURITY_POLICY, FILE_CSP)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if let Ok(d) = HeaderValue::from_str(&disposition(inline, name)) {
        builder = builder.header(header::CONTENT_DISPOSITION, d);
    }
    let (status, start, count) = match range {
        Ok(None) => (StatusCode::OK, 0, len),
        Ok(Some((start, end))) => {
            builder = builder.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Err(()) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response());
        }
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(io)?;
    }
    use tokio::io::AsyncReadExt;
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(count), 64 * 1024);
    builder
        .status(status)
        .header(header::CONTENT_LENGTH, count)
        .body(Body::from_stream(stream))
        .map_err(|e| ServerError::Internal(e.to_string()).into())
}

#[cfg(test)]
mod tests {
    use super::{disposition, parse_range};

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok(Some((0, 99))));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=990-2000", 1000), Ok(Some((990, 999))));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()));
        assert_eq!(parse_range("bytes=5-1", 1000), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(parse_range("items=0-1", 1000), Ok(None));
    }

    #[test]
    fn names_are_quoted_safely() {
        assert_eq!(
            disposition(false, "a\"b é.txt"),
            "attachment; filename=\"a_b _.txt\"; filename*=UTF-8''a%22b%20%C3%A9.txt"
        );
    }
}
