//! Admin routes over the whole store: its digest (the divergence check
//! between cluster nodes) and a consistent snapshot of it (a new node's or a
//! backup's starting point).

use super::{HttpResult, require_admin};
use crate::app::App;
use crate::error::ServerError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Each of these reads the whole store: one at a time per node; a second request meanwhile gets
/// `rate_limited` rather than queueing more whole-store reads.
static SNAPSHOT_RUNNING: AtomicBool = AtomicBool::new(false);
static DIGEST_RUNNING: AtomicBool = AtomicBool::new(false);

/// Holds one of the flags above while a request runs.
struct OneAtATime(&'static AtomicBool);

impl OneAtATime {
    fn take(flag: &'static AtomicBool) -> Result<OneAtATime, ServerError> {
        if flag.swap(true, Ordering::AcqRel) {
            return Err(ServerError::RateLimited);
        }
        Ok(OneAtATime(flag))
    }
}

/// Sets its flag when dropped (the request went away).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Drop for OneAtATime {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// `GET /api/admin/snapshot`: the whole store as one file (format in
/// `store/snapshot.rs`), taken while this node applies nothing, so it is
/// the state at exactly the log sequence (cluster) and position in the
/// `X-Townhall-Log-Seq` and `X-Townhall-Pos` headers. Writes on this node
/// wait only for the instant the state is fixed (and, while the copy runs,
/// at most for one chunk's read: `store/cow_kv.rs`); a new node restores
/// it with `townhall restore`.
pub(super) async fn snapshot(State(app): State<App>, headers: HeaderMap) -> HttpResult<Response> {
    require_admin(&app, &headers).await?;
    // Held by the copying task, which runs to its end even if this request
    // is dropped: a retry meanwhile gets `rate_limited`.
    let one = OneAtATime::take(&SNAPSHOT_RUNNING)?;
    // Set when this request is dropped: the copying task stops at its next
    // chunk or file rather than copying for nobody.
    let cancelled = Arc::new(AtomicBool::new(false));
    let _cancel = CancelOnDrop(cancelled.clone());
    // Written to a file beside the data folder first (the pause must not
    // depend on how fast the client reads), then unlinked and streamed
    // from the open handle.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = app
        .config
        .data
        .with_extension(format!("snapshot-{}-{n}", std::process::id()));
    let store = app.store.clone();
    let files = app.files.clone();
    // Owned by whoever holds the snapshot next (the copying task, then
    // the handler): if the request is dropped at any await, the file goes
    // with the last owner.
    let guard = RemoveOnDrop(path.clone());
    let file = std::fs::File::create(&path)
        .map_err(|e| ServerError::Internal(format!("snapshot file: {e}")))?;
    // Paused for an instant only: the state is fixed (copy-on-write, see
    // `store/cow_kv.rs`) and every hash it references is held against the
    // sweep (so the bytes its records name stay until copied). The records
    // and the files are then copied while writes go on.
    let begun = app
        .committer
        .paused(move || -> Result<_, ServerError> {
            let copy = store.snapshot_begin()?;
            let hashes = store.referenced_hashes()?;
            let holds: Vec<_> = match &files {
                Some(f) => hashes.iter().map(|h| Some(f.hold(h))).collect(),
                None => hashes.iter().map(|_| None).collect(),
            };
            Ok((copy, hashes, holds))
        })
        .await?;
    let written = match begun {
        Ok((copy, hashes, holds)) => {
            let files = app.files.clone();
            let handle = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                let _one = one;
                let writer = copy.write_pairs(file, &cancelled)?;
                add_files(writer, files, &handle, hashes, holds, &cancelled)
                    .map(|info| (info, guard))
            })
            .await
            .map_err(|e| ServerError::Internal(format!("snapshot task: {e}")))
            .and_then(|r| r)
        }
        Err(e) => Err(e),
    };
    let (info, guard) = match written {
        Ok(done) => done,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
    };
    let file = tokio::fs::File::open(&path).await;
    drop(guard);
    let file = file.map_err(|e| ServerError::Internal(format!("snapshot file: {e}")))?;
    tracing::info!(
        pairs = info.pairs,
        files = info.files,
        bytes = info.bytes,
        log_seq = info.log_seq,
        "snapshot taken"
    );
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, info.bytes.to_string()),
            (
                header::HeaderName::from_static("x-townhall-log-seq"),
                info.log_seq.to_string(),
            ),
            (
                header::HeaderName::from_static("x-townhall-pos"),
                info.pos.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

/// After the pause: the bytes (and thumbnail) of each referenced hash,
/// each hold released once copied; then the checksum, synced.
fn add_files(
    mut writer: crate::store::SnapshotWriter<std::fs::File>,
    files: Option<crate::files::Files>,
    handle: &tokio::runtime::Handle,
    hashes: Vec<String>,
    holds: Vec<Option<crate::files::InFlight>>,
    cancelled: &AtomicBool,
) -> Result<crate::store::SnapshotInfo, ServerError> {
    use crate::store::SnapshotFile;
    let fail = |e: std::io::Error| ServerError::Internal(format!("snapshot file: {e}"));
    let mut missing = 0u64;
    if let Some(files) = &files {
        for (hash, hold) in hashes.iter().zip(holds) {
            if cancelled.load(Ordering::Relaxed) {
                return Err(ServerError::Internal("snapshot: request dropped".into()));
            }
            if files.shared().is_some()
                && let Err(e) = handle.block_on(files.ensure_local(hash, false))
            {
                tracing::warn!(error = %e, hash, "snapshot: cannot fetch an attachment");
            }
            for (kind, path) in [
                (SnapshotFile::Content, files.content_path(hash)),
                (SnapshotFile::Thumbnail, files.thumb_path(hash)),
            ] {
                let Ok(file) = std::fs::File::open(&path) else {
                    if kind == SnapshotFile::Content {
                        missing += 1;
                    }
                    continue;
                };
                let len = file.metadata().map_err(fail)?.len();
                writer.add_file(kind, hash, len, std::io::BufReader::new(file))?;
            }
            drop(hold);
        }
    }
    if missing > 0 {
        tracing::warn!(
            missing,
            "snapshot: referenced attachments this node does not hold"
        );
    }
    let (info, file) = writer.finish()?;
    file.sync_all().map_err(fail)?;
    Ok(info)
}

/// `GET /api/admin/digest`: a digest of this node's whole store, with the
/// log sequence (cluster) and position it was taken at. Nodes that report
/// the same `applied_seq` must report the same digest.
pub(super) async fn digest(
    State(app): State<App>,
    headers: HeaderMap,
) -> HttpResult<Json<serde_json::Value>> {
    require_admin(&app, &headers).await?;
    let _one = OneAtATime::take(&DIGEST_RUNNING)?;
    // The worker may apply while the store is read: take the digest again
    // until the store's position did not move during it.
    for _ in 0..20 {
        let store = app.store.clone();
        let taken = app
            .read(move |s| {
                let before = (s.log_seq()?, s.last_pos()?);
                let (digest, pairs, trees) = store.digest_by_tree()?;
                let after = (s.log_seq()?, s.last_pos()?);
                Ok((before == after).then_some((before, digest, pairs, trees)))
            })
            .await?;
        if let Some(((applied_seq, pos), digest, pairs, trees)) = taken {
            let trees: serde_json::Map<String, serde_json::Value> = trees
                .into_iter()
                .map(|(name, d)| (name.to_owned(), hex::encode(d).into()))
                .collect();
            return Ok(Json(serde_json::json!({
                "applied_seq": applied_seq,
                "pos": pos,
                "pairs": pairs,
                "digest": hex::encode(digest),
                "trees": trees,
            })));
        }
    }
    Err(ServerError::Unavailable("the store kept changing; try again".into()).into())
}

/// Removes a snapshot's temporary file when dropped: the file holds every
/// record and attachment, so it must not outlive the request on any path
/// (an error, a client that goes away mid-copy, a panic).
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
