//! `GET /api/admin/export?room=ID` and `GET /api/admin/export?user=NAME`:
//! a data-protection or compliance export (format in `export/`), admin
//! only, recorded in the audit log before the first byte is sent.
//!
//! The archive is written by a blocking task reading the store page by
//! page; it hands 64 KiB chunks to the response body through a bounded
//! channel, so a slow reader slows the export down instead of growing a
//! buffer, and a reader that leaves ends it.

use super::{HttpResult, require_admin};
use crate::app::App;
use crate::committer::{Command, ExportOp, now_millis};
use crate::error::ServerError;
use crate::export::{self, ExportError, Request, Scope, Sink};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc};
use townhall_protocol::RoomId;

/// Chunks (of `export::CHUNK_BYTES`, 64 KiB) waiting for the socket: 8 is
/// half a megabyte per export, enough to keep the socket busy while the
/// writer reads the next page, and the bound that makes a slow reader
/// pause the writer (backpressure) rather than queue the archive in memory.
const CHANNEL_CHUNKS: usize = 8;

/// Exports running at once on a node. Each walks whole timelines on a
/// blocking thread: two let a second request proceed while one runs for
/// hours, more would only compete with the node's writes for the disk.
/// Past this, `rate_limited`.
const EXPORTS_AT_ONCE: usize = 2;

fn permits() -> &'static Arc<Semaphore> {
    static PERMITS: std::sync::OnceLock<Arc<Semaphore>> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| Arc::new(Semaphore::new(EXPORTS_AT_ONCE)))
}

/// Hands chunks to the response body; blocks while the channel is full.
struct ChannelSink(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Sink for ChannelSink {
    fn send(&mut self, chunk: Bytes) -> Result<(), ExportError> {
        self.0
            .blocking_send(Ok(chunk))
            .map_err(|_| ExportError::Gone)
    }
}

pub(super) async fn export(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> HttpResult<Response> {
    let admin = require_admin(&app, &headers).await?;
    let (room, user) = (q.get("room"), q.get("user"));
    let scope = match (room, user) {
        (Some(room), None) => {
            let id = room
                .parse::<uuid::Uuid>()
                .map(RoomId)
                .map_err(|_| ServerError::Invalid("room: not a room id".into()))?;
            let record = app.read(move |s| Ok(s.room(id)?)).await?;
            Scope::Room(record.ok_or(ServerError::NotFound)?)
        }
        (None, Some(name)) => {
            let name = name.clone();
            let record = app.read(move |s| Ok(s.user_by_name(&name)?)).await?;
            Scope::User(record.ok_or(ServerError::NotFound)?)
        }
        _ => {
            return Err(
                ServerError::Invalid("give exactly one of room=ID or user=NAME".into()).into(),
            );
        }
    };
    let Ok(permit) = permits().clone().try_acquire_owned() else {
        return Err(ServerError::RateLimited.into());
    };
    let op = match &scope {
        Scope::Room(r) => ExportOp::Room {
            by: admin.info(),
            room: r.id,
        },
        Scope::User(u) => ExportOp::User {
            by: admin.info(),
            user: u.info(),
        },
    };
    app.committer.submit(Command::Export(op)).await?;
    let filename = match &scope {
        Scope::Room(r) => format!("townhall-export-room-{}.tar", r.id),
        Scope::User(u) => format!("townhall-export-user-{}.tar", u.username),
    };
    let request = Request {
        scope,
        by: admin.info(),
        at: now_millis(),
        visible: app.hub.published(),
    };
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_CHUNKS);
    let (store, files) = (app.store.clone(), app.files.clone());
    let handle = tokio::runtime::Handle::current();
    let by = admin.username.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = ChannelSink(tx.clone());
        match export::write(&store, files.as_ref(), Some(&handle), &request, &mut sink) {
            Ok(s) => tracing::info!(
                by,
                records = s.records,
                files = s.files,
                missing_files = s.missing_files,
                bytes = s.bytes,
                "export written"
            ),
            Err(ExportError::Gone) => tracing::info!(by, "export: the reader went away"),
            Err(e) => {
                tracing::warn!(by, error = %e, "export failed part way");
                // The body ends in an error: the client sees a cut
                // transfer (and no `end` line), never a short archive
                // that looks whole.
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
        drop(permit);
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let body = axum::body::Body::from_stream(stream);
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response())
}
