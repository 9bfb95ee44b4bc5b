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
//! In a cluster every node sweeps its own copy too, and may delete bytes
//! from the shared store, in an order that never leaves an acknowledged
//! upload's bytes only on one node's disk: for each local copy that is
//! unreferenced and past the grace (and whose shared copy is past the grace
//! too), delete the shared copy **first**, then wait until this node has
//! applied the log as it stands now, then look again: referenced now (an
//! identical upload through another node was acknowledged meanwhile) puts
//! the bytes back from the local copy, which is still here; otherwise the
//! local copy is removed under the in-flight lock as on one node. The
//! uploader's side of the same race: after its record is committed it
//! checks that the shared copy is still there and puts it again if not,
//! before answering (`Files::confirm_shared`).

use super::Files;
use super::shared::BoxFuture;
use crate::committer::{Command, Committer, FileOp};
use crate::store::Store;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// In a cluster: wait until this node has applied the log as it stands
/// now (`cluster/barrier.rs`); `false` if that could not be done.
pub type CatchUp = Arc<dyn Fn() -> BoxFuture<'static, bool> + Send + Sync>;

/// Start the sweep task; it runs once at once, then every `--file-sweep-secs`.
pub fn start(
    files: Files,
    store: Store,
    committer: Committer,
    catch_up: Option<CatchUp>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let every = Duration::from_secs(files.config().sweep_secs.max(1));
    tokio::spawn(async move {
        loop {
            // A sweep in a cluster makes NATS requests (each bounded):
            // shutdown does not wait for them.
            tokio::select! {
                _ = sweep_once(&files, &store, &committer, catch_up.as_ref()) => {}
                _ = stop.cancelled() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
        }
    })
}

/// One sweep: pending uploads, then bytes.
pub async fn sweep_once(
    files: &Files,
    store: &Store,
    committer: &Committer,
    catch_up: Option<&CatchUp>,
) {
    let older_than_ms = files.config().pending_secs.saturating_mul(1000);
    let op = FileOp::Sweep { older_than_ms };
    match committer.submit(Command::File(op)).await {
        Ok(crate::committer::Reply::Done(n)) if n > 0 => {
            tracing::info!(forgotten = n, "swept uploads never posted");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "file sweep: cannot forget stale uploads"),
    }
    if let (Some(_), Some(catch_up)) = (files.shared(), catch_up) {
        match sweep_shared(files, store, catch_up).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "reclaimed unreferenced file bytes (and their shared copies)"
            ),
            Err(e) => tracing::warn!(error = %e, "file sweep: the cluster's file store"),
        }
        return;
    }
    let reclaimed = {
        let (files, store) = (files.clone(), store.clone());
        tokio::task::spawn_blocking(move || reclaim(&files, &store)).await
    };
    match reclaimed {
        Ok(Ok(removed)) if removed.is_empty() => {}
        Ok(Ok(removed)) => {
            tracing::info!(removed = removed.len(), "reclaimed unreferenced file bytes")
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "file sweep: cannot reclaim bytes"),
        Err(e) => tracing::warn!(error = %e, "file sweep task failed"),
    }
}

/// A cluster node's reclaiming (see the module header for the order and
/// why); how many hashes it removed.
async fn sweep_shared(files: &Files, store: &Store, catch_up: &CatchUp) -> Result<usize, String> {
    let Some(shared) = files.shared().cloned() else {
        return Ok(0);
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
    let listed = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || files.stored())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let mut removed = 0;
    for (hash, modified) in listed {
        if modified > cutoff || referenced(hash.clone()).await? {
            continue;
        }
        if matches!(shared.modified(hash.clone()).await?, Some(t) if t > cutoff) {
            continue; // put again recently (an identical upload): keep both
        }
        shared.delete(thumb_name(&hash)).await?;
        shared.delete(hash.clone()).await?;
        let settled = catch_up().await;
        if !settled || referenced(hash.clone()).await? {
            put_back(files, &hash).await?;
            continue;
        }
        let gone = {
            let (files, store, hash) = (files.clone(), store.clone(), hash.clone());
            tokio::task::spawn_blocking(move || {
                files.remove_if_unused(&hash, cutoff, |h| {
                    store.hash_referenced(h).map_err(|e| e.to_string())
                })
            })
            .await
            .map_err(|e| e.to_string())??
        };
        if gone {
            removed += 1;
        } else {
            // Kept here after all (an upload of it on this node, or written
            // again since the listing): so it is kept in the shared store.
            put_back(files, &hash).await?;
        }
    }
    Ok(removed)
}

/// Put a hash's bytes (and thumbnail) back in the shared store from this
/// node's copy.
async fn put_back(files: &Files, hash: &str) -> Result<(), String> {
    let Some(shared) = files.shared() else {
        return Ok(());
    };
    shared
        .put(hash.to_owned(), files.content_path(hash))
        .await?;
    let thumb = files.thumb_path(hash);
    if tokio::fs::try_exists(&thumb).await.unwrap_or(false) {
        shared.put(thumb_name(hash), thumb).await?;
    }
    Ok(())
}

fn thumb_name(hash: &str) -> String {
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
