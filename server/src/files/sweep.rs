//! The periodic sweep: forget uploads whose message never came (a command
//! through the log, so every node agrees), then remove bytes that no file
//! record references and that were not written within the grace period
//! (node-local: each node reclaims its own disk).
//!
//! So the bytes of a deleted message, or of an upload never posted, leave
//! the disk at the first sweep after both "no record references them" and
//! "last written more than `--file-pending-secs` ago" hold. The grace keeps
//! the bytes of an upload whose record is being made right now.

use super::Files;
use crate::committer::{Command, Committer, FileOp};
use crate::store::Store;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Start the sweep task; it runs once at once, then every `--file-sweep-secs`.
pub fn start(
    files: Files,
    store: Store,
    committer: Committer,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(files.config().sweep_secs.max(1));
    tokio::spawn(async move {
        loop {
            sweep_once(&files, &store, &committer).await;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
        }
    })
}

/// One sweep: pending uploads, then bytes.
pub async fn sweep_once(files: &Files, store: &Store, committer: &Committer) {
    let older_than_ms = files.config().pending_secs.saturating_mul(1000);
    let op = FileOp::Sweep { older_than_ms };
    match committer.submit(Command::File(op)).await {
        Ok(crate::committer::Reply::Done(n)) if n > 0 => {
            tracing::info!(forgotten = n, "swept uploads never posted");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "file sweep: cannot forget stale uploads"),
    }
    let (files, store) = (files.clone(), store.clone());
    let reclaimed = tokio::task::spawn_blocking(move || reclaim(&files, &store)).await;
    match reclaimed {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(removed = n, "reclaimed unreferenced file bytes"),
        Ok(Err(e)) => tracing::warn!(error = %e, "file sweep: cannot reclaim bytes"),
        Err(e) => tracing::warn!(error = %e, "file sweep task failed"),
    }
}

/// Remove unreferenced bytes older than the grace (blocking); how many.
/// The listing is a snapshot: each hash is re-checked (not in flight on
/// this node, unreferenced, still old) under the in-flight lock just
/// before its removal, so an identical upload racing the sweep keeps its
/// bytes.
pub fn reclaim(files: &Files, store: &Store) -> Result<usize, String> {
    let grace = files.grace();
    let now = SystemTime::now();
    let cutoff = now.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = 0;
    for (hash, modified) in files.stored().map_err(|e| e.to_string())? {
        if modified > cutoff {
            continue;
        }
        let referenced = |h: &str| store.hash_referenced(h).map_err(|e| e.to_string());
        if files.remove_if_unused(&hash, cutoff, referenced)? {
            removed += 1;
        }
    }
    Ok(removed)
}
