//! The periodic sweep: forget uploads whose message never came (a command
//! through the log, so every node agrees), then remove bytes that no file
//! record references and that were not written within the grace period
//! (node-local: each node reclaims its own disk).
//!
//! So the bytes of a deleted message, or of an upload never posted, leave
//! the disk at the first sweep after both "no record references them" and
//! "last written more than `--file-pending-secs` ago" hold. The grace keeps
//! the bytes of an upload whose record is being made right now.
//!
//! In a cluster every node sweeps its own copy the same way, and a node
//! that removes bytes also deletes them from the shared store if nothing
//! references them there and the shared store's copy is past the grace
//! too. Nodes decide this apart, so an identical upload through another
//! node can put the bytes again just before they are deleted; the
//! **repair** step closes that: each sweep puts back, from this node's
//! disk, every recently written referenced hash the shared store lacks.

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
    let reclaimed = {
        let (files, store) = (files.clone(), store.clone());
        tokio::task::spawn_blocking(move || reclaim(&files, &store)).await
    };
    let removed = match reclaimed {
        Ok(Ok(removed)) => removed,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "file sweep: cannot reclaim bytes");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "file sweep task failed");
            return;
        }
    };
    if !removed.is_empty() {
        tracing::info!(removed = removed.len(), "reclaimed unreferenced file bytes");
    }
    if files.shared().is_some()
        && let Err(e) = sweep_shared(files, store, removed).await
    {
        tracing::warn!(error = %e, "file sweep: the cluster's file store");
    }
}

/// A cluster node's part of the sweep in the shared store: delete what
/// this node just removed, if still unreferenced and past the grace
/// there; then the repair (see the module header).
async fn sweep_shared(files: &Files, store: &Store, removed: Vec<String>) -> Result<(), String> {
    let Some(shared) = files.shared() else {
        return Ok(());
    };
    let cutoff = SystemTime::now()
        .checked_sub(files.grace())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let referenced = |hash: String| {
        let store = store.clone();
        async move {
            tokio::task::spawn_blocking(move || store.hash_referenced(&hash))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        }
    };
    let mut deleted = 0;
    for hash in removed {
        let old = matches!(shared.modified(hash.clone()).await?, Some(t) if t <= cutoff);
        if old && !referenced(hash.clone()).await? {
            shared.delete(shared_thumb(&hash)).await?;
            shared.delete(hash).await?;
            deleted += 1;
        }
    }
    let recent = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || files.stored())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let mut repaired = 0;
    for (hash, modified) in recent {
        if modified <= cutoff || !referenced(hash.clone()).await? {
            continue;
        }
        if shared.modified(hash.clone()).await?.is_none() {
            let thumb = files.thumb_path(&hash);
            shared.put(hash.clone(), files.content_path(&hash)).await?;
            if tokio::fs::try_exists(&thumb).await.unwrap_or(false) {
                shared.put(shared_thumb(&hash), thumb).await?;
            }
            repaired += 1;
        }
    }
    if deleted > 0 || repaired > 0 {
        tracing::info!(deleted, repaired, "file sweep: the cluster's file store");
    }
    Ok(())
}

fn shared_thumb(hash: &str) -> String {
    super::shared::thumb_name(hash)
}

/// Remove unreferenced bytes older than the grace (blocking); which.
/// The listing is a snapshot: each hash is re-checked (not in flight on
/// this node, unreferenced, still old) under the in-flight lock just
/// before its removal, so an identical upload racing the sweep keeps its
/// bytes.
pub fn reclaim(files: &Files, store: &Store) -> Result<Vec<String>, String> {
    let grace = files.grace();
    let now = SystemTime::now();
    let cutoff = now.checked_sub(grace).unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = Vec::new();
    for (hash, modified) in files.stored().map_err(|e| e.to_string())? {
        if modified > cutoff {
            continue;
        }
        let referenced = |h: &str| store.hash_referenced(h).map_err(|e| e.to_string());
        if files.remove_if_unused(&hash, cutoff, referenced)? {
            removed.push(hash);
        }
    }
    Ok(removed)
}
