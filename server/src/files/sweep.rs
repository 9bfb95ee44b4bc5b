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
//!
//! Objects in the shared store that no node holds a copy of (a node's disk
//! lost, a refused upload's object) are found by listing the bucket a page
//! at a time, from where the last sweep stopped ([`sweep_bucket`]): an
//! object past the grace whose hash nothing references is fetched into a
//! temp file first (this node has no copy of its own to put back), then
//! deleted by the same protocol: delete, read barrier, look again, put
//! back from the temp file if referenced now. Thumbnails a node fetched
//! without the full bytes are local copies too: removed under the same
//! in-flight lock once unreferenced and past the grace.

use super::Files;
use super::shared::{BoxFuture, hash_of};
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
        // Where the next bucket listing starts (cluster only): in memory, a
        // restart only starts the listing over.
        let mut cursor = 1;
        loop {
            // A sweep in a cluster makes NATS requests (each bounded):
            // shutdown does not wait for them.
            tokio::select! {
                _ = sweep_once(&files, &store, &committer, catch_up.as_ref(), &mut cursor) => {}
                _ = stop.cancelled() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
        }
    })
}

/// Bucket metadata entries read per listing page (each is a few hundred
/// bytes: a page is well under a megabyte).
const LIST_PAGE: usize = 1_000;

/// Listing pages per sweep: at most 10,000 objects are looked at in one
/// sweep, then the next sweep goes on from there; a bucket of a million
/// objects is gone through in 100 sweeps (under a day at the default
/// `--file-sweep-secs`).
const LIST_PAGES_PER_SWEEP: usize = 10;

/// Orphaned hashes deleted per sweep: each costs a fetch of its bytes (up
/// to `--max-file-mb`) into a temp file, two deletes and a read barrier.
/// The rest are found again by a later sweep.
const ORPHANS_PER_SWEEP: usize = 100;

/// One sweep: pending uploads, then bytes. `cursor` is where the bucket
/// listing goes on from (cluster only).
async fn sweep_once(
    files: &Files,
    store: &Store,
    committer: &Committer,
    catch_up: Option<&CatchUp>,
    cursor: &mut u64,
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
        match sweep_bucket(files, store, catch_up, cursor).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "reclaimed orphaned objects from the cluster's file store"
            ),
            Err(e) => tracing::warn!(error = %e, "file sweep: listing the cluster's file store"),
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
    let (listed, thumbs) = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || {
            Ok::<_, std::io::Error>((files.stored()?, files.stored_thumbs_only()?))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
    };
    // Thumbnails fetched without their bytes: a cache of what the shared
    // store holds, so removed here without touching the shared copy (the
    // bucket listing reclaims that, if nothing references it).
    let mut removed = {
        let (files, store) = (files.clone(), store.clone());
        tokio::task::spawn_blocking(move || reclaim_thumbs(&files, &store, thumbs, cutoff))
            .await
            .map_err(|e| e.to_string())??
    };
    for (hash, modified) in listed {
        if modified > cutoff || referenced(store, hash.clone()).await? {
            continue;
        }
        if matches!(shared.modified(hash.clone()).await?, Some(t) if t > cutoff) {
            continue; // put again recently (an identical upload): keep both
        }
        shared.delete(thumb_name(&hash)).await?;
        shared.delete(hash.clone()).await?;
        let settled = catch_up().await;
        if !settled || referenced(store, hash.clone()).await? {
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

/// A name in the shared store that is ours: a lowercase hex sha256.
fn is_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The bucket listing (cluster only): look at up to
/// `LIST_PAGES_PER_SWEEP` pages from `cursor`, and reclaim up to
/// `ORPHANS_PER_SWEEP` hashes whose objects are past the grace, that
/// nothing references and that this node holds no copy of (a node with a
/// copy reclaims through [`sweep_shared`], which puts back from it). How
/// many hashes it removed.
async fn sweep_bucket(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    cursor: &mut u64,
) -> Result<usize, String> {
    let Some(shared) = files.shared().cloned() else {
        return Ok(0);
    };
    let cutoff = SystemTime::now()
        .checked_sub(files.grace())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut orphans = std::collections::BTreeSet::new();
    for _ in 0..LIST_PAGES_PER_SWEEP {
        let listing = shared.list(*cursor, LIST_PAGE).await?;
        // 0: the end was reached; the next sweep starts over.
        *cursor = listing.next.max(1);
        for (name, modified) in listing.objects {
            let hash = hash_of(&name);
            if modified > cutoff || !is_hash(hash) || orphans.contains(hash) {
                continue;
            }
            if tokio::fs::try_exists(files.content_path(hash))
                .await
                .unwrap_or(true)
            {
                continue; // this node's copy: `sweep_shared` decides
            }
            if !referenced(store, hash.to_owned()).await? {
                orphans.insert(hash.to_owned());
            }
        }
        if listing.next == 0 || orphans.len() >= ORPHANS_PER_SWEEP {
            break;
        }
    }
    let mut removed = 0;
    for hash in orphans.into_iter().take(ORPHANS_PER_SWEEP) {
        // One object that cannot be read (chunks lost) must not stop the
        // rest: it is logged and left for a later sweep.
        match reclaim_orphan(files, store, catch_up, &hash, cutoff).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, hash, "file sweep: an orphaned object left"),
        }
    }
    Ok(removed)
}

/// Whether a `hash_file` row references `hash` (a sled read, off the
/// runtime).
async fn referenced(store: &Store, hash: String) -> Result<bool, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.hash_referenced(&hash))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Delete the shared objects of an orphaned `hash` (its bytes and its
/// thumbnail), keeping a copy in temp files until the log says nothing
/// references it; whether they were deleted. See the interleavings in
/// docs/architecture.md ("Reclaiming in a cluster").
async fn reclaim_orphan(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    hash: &str,
    cutoff: SystemTime,
) -> Result<bool, String> {
    let Some(shared) = files.shared().cloned() else {
        return Ok(false);
    };
    // The copies to put back from; each temp file is removed when dropped.
    let mut kept = Vec::new();
    for name in [hash.to_owned(), thumb_name(hash)] {
        match shared.modified(name.clone()).await? {
            None => continue,
            // Written again since the listing (an identical upload): kept.
            Some(t) if t > cutoff => return Ok(false),
            Some(_) => {}
        }
        let temp = files.temp();
        let Some(path) = temp.path().map(std::path::Path::to_path_buf) else {
            continue;
        };
        // Gone meanwhile (another node's sweep): that node puts it back
        // if it must.
        if shared.fetch(name.clone(), path.clone()).await? {
            kept.push((name, path, temp));
        }
    }
    if kept.is_empty() {
        return Ok(false);
    }
    // The thumbnail first: bytes without a thumbnail still serve.
    for (name, _, _) in kept.iter().rev() {
        shared.delete(name.clone()).await?;
    }
    let settled = catch_up().await;
    if settled && !referenced(store, hash.to_owned()).await? {
        return Ok(true);
    }
    // An identical upload was acknowledged meanwhile (or the log could not
    // be read, so we cannot tell): the objects go back.
    for (name, path, _) in &kept {
        if let Err(e) = shared.put(name.clone(), path.clone()).await {
            tracing::error!(error = %e, name, "file sweep: cannot put back a referenced object");
            return Err(e);
        }
    }
    Ok(false)
}

/// Remove thumbnails held without their bytes (fetched for a download of
/// the thumbnail alone) that nothing references and that were written
/// before `cutoff`, each under the in-flight lock (blocking); how many.
fn reclaim_thumbs(
    files: &Files,
    store: &Store,
    thumbs: Vec<(String, SystemTime)>,
    cutoff: SystemTime,
) -> Result<usize, String> {
    let mut removed = 0;
    for (hash, modified) in thumbs {
        if modified > cutoff {
            continue;
        }
        let referenced = |h: &str| store.hash_referenced(h).map_err(|e| e.to_string());
        if files.remove_thumb_if_unused(&hash, cutoff, referenced)? {
            removed += 1;
        }
    }
    Ok(removed)
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
    let thumbs = files.stored_thumbs_only().map_err(|e| e.to_string())?;
    if reclaim_thumbs(files, store, thumbs, cutoff)? > 0 {
        tracing::info!("reclaimed thumbnails held without their bytes");
    }
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
