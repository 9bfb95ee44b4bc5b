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
//! too), hard-link it into `<data>/files/spare/` (durably; not cleared at
//! start), delete the shared copy **first**, then wait until this node has
//! applied the log as it stands now, then look again: referenced now (an
//! identical upload through another node was acknowledged meanwhile) puts
//! the bytes back from the spare; otherwise the local copy is removed
//! under the in-flight lock as on one node. A failed delete may have
//! deleted, so it is followed by the same barrier and put back. The
//! uploader's side of the same race: after its record is committed it
//! checks (asking the stream leader, never a lagging replica) that the
//! shared copy is still there and puts it again if not, before answering
//! (`Files::confirm_shared`).
//!
//! Shutdown stops a sweep only between hashes, never between a delete and
//! its put back. A spare left by a crash or a failed put back is settled
//! at the start of the next sweep ([`replay_spares`]): put back if its
//! hash is referenced, else removed.
//!
//! Objects in the shared store that no node holds a copy of (a node's disk
//! lost, a refused upload's object) are found by listing the bucket a page
//! at a time, from where the last sweep stopped ([`sweep_bucket`]): an
//! object past the grace whose hash nothing references is fetched into a
//! spare file first (this node has no copy of its own to put back), then
//! deleted by the same protocol: delete, read barrier, look again, put
//! back from the spare if referenced now. Thumbnails a node fetched
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
        // Where the next bucket listing and audit start (cluster only): in
        // memory, a restart only starts them over.
        let mut cursors = Cursors::default();
        loop {
            // Not cancelled by shutdown: a cluster sweep stops between
            // hashes (it checks `stop`), never between deleting a shared
            // object and putting it back. Shutdown waits for at most one
            // hash's requests (each bounded).
            sweep_once(
                &files,
                &store,
                &committer,
                catch_up.as_ref(),
                &mut cursors,
                &stop,
            )
            .await;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.cancelled() => return,
            }
        }
    })
}

/// Where a cluster node's next sweep goes on from.
struct Cursors {
    /// The bucket listing's next position (1: the start).
    bucket: u64,
    /// The last hash the audit looked at (empty: the start).
    audit: String,
}

impl Default for Cursors {
    fn default() -> Cursors {
        Cursors {
            bucket: 1,
            audit: String::new(),
        }
    }
}

/// Listing pages per sweep: at most 10,000 objects are looked at in one
/// sweep, then the next sweep goes on from there; a bucket of a million
/// objects is gone through in 100 sweeps (under a day at the default
/// `--file-sweep-secs`).
const LIST_PAGES_PER_SWEEP: usize = 10;

/// Orphaned hashes deleted per sweep: each costs a fetch of its bytes (up
/// to `--max-file-mb`) into a spare file, two deletes and a read barrier.
/// The rest are found again by a later sweep.
const ORPHANS_PER_SWEEP: usize = 100;

/// One sweep: pending uploads, then bytes, then (cluster only) the
/// bucket listing and the audit, each from where the last sweep stopped.
async fn sweep_once(
    files: &Files,
    store: &Store,
    committer: &Committer,
    catch_up: Option<&CatchUp>,
    cursors: &mut Cursors,
    stop: &CancellationToken,
) {
    let older_than_ms = files.config().pending_secs.saturating_mul(1000);
    let op = FileOp::Sweep { older_than_ms };
    // Cancelling this submit at shutdown is harmless (it deletes nothing
    // shared, and the next sweep submits it again).
    let submitted = tokio::select! {
        r = committer.submit(Command::File(op)) => r,
        _ = stop.cancelled() => return,
    };
    match submitted {
        Ok(crate::committer::Reply::Done(n)) if n > 0 => {
            tracing::info!(forgotten = n, "swept uploads never posted");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "file sweep: cannot forget stale uploads"),
    }
    if let (Some(_), Some(catch_up)) = (files.shared(), catch_up) {
        reclaim_shared(files, store, catch_up, cursors, stop).await;
        if stop.is_cancelled() {
            return;
        }
        // The audit only puts, so it runs even when reclaiming stopped
        // early (a spare pending, the store failing).
        match super::audit::put_back_lost(files, store, &mut cursors.audit, stop).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                put_back = n,
                "file audit: put back objects the cluster's file store had lost"
            ),
            Err(e) => tracing::warn!(error = %e, "file audit: the cluster's file store"),
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

/// A cluster node's reclaiming, each step from where the last sweep
/// stopped: spares left, then this node's copies, the bucket listing and
/// the stray chunks. Any step that leaves a spare pending ends it.
async fn reclaim_shared(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    cursors: &mut Cursors,
    stop: &CancellationToken,
) {
    // Spares a crash or a failed put back left: settled first, so no
    // deletion starts while an earlier one is still undecided.
    match replay_spares(files, store, catch_up, stop).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(put_back = n, "file sweep: put back objects kept as spares"),
        Err(e) => {
            tracing::warn!(error = %e, "file sweep: spare copies left for the next sweep");
            return;
        }
    }
    if stop.is_cancelled() {
        return;
    }
    match sweep_shared(files, store, catch_up, stop).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            removed = n,
            "reclaimed unreferenced file bytes (and their shared copies)"
        ),
        Err(e) => {
            // Maybe a spare waits for the next sweep: no bucket pass now.
            tracing::warn!(error = %e, "file sweep: the cluster's file store");
            return;
        }
    }
    if stop.is_cancelled() {
        return;
    }
    match sweep_bucket(files, store, catch_up, &mut cursors.bucket, stop).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            removed = n,
            "reclaimed orphaned objects from the cluster's file store"
        ),
        Err(e) => tracing::warn!(error = %e, "file sweep: listing the cluster's file store"),
    }
    if let Some(shared) = files.shared() {
        let age = files
            .grace()
            .max(Duration::from_secs(files.config().stray_secs));
        // Stopping mid-way is harmless: each purge is whole or not
        // done, and the next complete listing finds the rest.
        let purged = tokio::select! {
            r = shared.reclaim_strays(age) => r,
            _ = stop.cancelled() => return,
        };
        match purged {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                purged = n,
                "reclaimed chunks no object names from the cluster's file store"
            ),
            Err(e) => tracing::warn!(error = %e, "file sweep: stray chunks"),
        }
    }
}

/// A cluster node's reclaiming (see the module header for the order and
/// why); how many hashes it removed.
async fn sweep_shared(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    stop: &CancellationToken,
) -> Result<usize, String> {
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
        if stop.is_cancelled() {
            break; // between hashes only (see `start`)
        }
        if modified > cutoff || referenced(store, hash.clone()).await? {
            continue;
        }
        if matches!(shared.modified(hash.clone()).await?, Some(t) if t > cutoff) {
            continue; // put again recently (an identical upload): keep both
        }
        // Spares first (hard links of this node's copy, which survive its
        // removal and a restart): the objects deleted are exactly those
        // spared, so the thumbnail object is deleted only if this node
        // holds the thumbnail (else the bucket listing reclaims it).
        let names = {
            let (files, hash) = (files.clone(), hash.clone());
            tokio::task::spawn_blocking(move || spare_local(&files, &hash))
                .await
                .map_err(|e| e.to_string())?
        };
        let names = match names {
            Ok(names) => names,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("file sweep: a spare copy of {hash}: {e}")),
        };
        let look = delete_and_look(files, store, catch_up, &hash, &names).await;
        if look == Look::Undecided {
            // Spares and this node's copy stay for the next sweep's replay;
            // no further deletion in this one.
            return Err(format!(
                "a delete of {hash} failed; left for the next sweep"
            ));
        }
        let gone = look == Look::Unreferenced && {
            let (files, store, hash) = (files.clone(), store.clone(), hash.clone());
            let result = tokio::task::spawn_blocking(move || {
                files.remove_if_unused(&hash, cutoff, |h| {
                    store.hash_referenced(h).map_err(|e| e.to_string())
                })
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            result.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "file sweep: cannot remove a local copy");
                false
            })
        };
        if gone {
            drop_spares(files, &names).await;
            removed += 1;
        } else {
            // Referenced now, or kept here after all (an upload of it on
            // this node, or written again since the listing): so it is
            // kept in the shared store too. A failed put back keeps its
            // spare, and no further deletion starts in this sweep.
            if !put_back(files, &names).await {
                return Err(format!("{hash} could not be put back; its spare is kept"));
            }
        }
    }
    Ok(removed)
}

/// Hard-link this node's copy of `hash` (and its thumbnail, if held) into
/// the spare folder, durably (blocking); the shared names spared, bytes
/// first. `NotFound`: the copy went meanwhile.
fn spare_local(files: &Files, hash: &str) -> std::io::Result<Vec<String>> {
    fn link(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
        match std::fs::hard_link(from, to) {
            // A spare of the same name holds the same bytes (a hash).
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }
    link(&files.content_path(hash), &files.spare_path(hash))?;
    let mut names = vec![hash.to_owned()];
    let thumb = thumb_name(hash);
    match link(&files.thumb_path(hash), &files.spare_path(&thumb)) {
        Ok(()) => names.push(thumb),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let _ = std::fs::remove_file(files.spare_path(hash));
            return Err(e);
        }
    }
    files.sync_spares()?;
    Ok(names)
}

/// What [`delete_and_look`] found.
#[derive(Debug, PartialEq, Eq)]
enum Look {
    /// Every delete was acknowledged and, once the log was applied as it
    /// stood after them, nothing references the hash: reclaimed.
    Unreferenced,
    /// Referenced now, or the log or the store could not be read: the
    /// objects go back from their spares.
    PutBack,
    /// A delete failed. It may still land later (async-nats writes the
    /// deleted marker and then waits for its acknowledgement; a timeout
    /// says nothing about a marker still queued at the stream's leader),
    /// after an identical upload through another node has checked that the
    /// object is there and answered 201. So nothing is decided now: the
    /// spares (and this node's copy) stay, and the next sweep's
    /// [`replay_spares`] settles them after a fresh barrier, one sweep
    /// interval later.
    Undecided,
}

/// Delete the shared objects `names` of `hash` (each has a spare copy),
/// wait until this node has applied the log as it stands now, and look
/// again (see [`Look`]).
async fn delete_and_look(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    hash: &str,
    names: &[String],
) -> Look {
    let Some(shared) = files.shared() else {
        return Look::PutBack;
    };
    // The thumbnail first: bytes without a thumbnail still serve.
    let mut failed = false;
    for name in names.iter().rev() {
        if let Err(e) = shared.delete(name.clone()).await {
            tracing::warn!(error = %e, name, "file sweep: a delete failed (maybe done): its spare is kept for the next sweep");
            failed = true;
        }
    }
    if failed {
        return Look::Undecided;
    }
    if !catch_up().await {
        return Look::PutBack; // the log could not be read: we cannot tell
    }
    match referenced(store, hash.to_owned()).await {
        Ok(false) => Look::Unreferenced,
        Ok(true) => Look::PutBack,
        Err(e) => {
            tracing::warn!(error = %e, hash, "file sweep: cannot look again");
            Look::PutBack
        }
    }
}

/// Put the objects `names` back from their spare copies, each spare
/// removed once its put succeeded. A failed put keeps its spare, put back
/// at the next sweep ([`replay_spares`]). Whether all went back.
async fn put_back(files: &Files, names: &[String]) -> bool {
    let Some(shared) = files.shared() else {
        return false;
    };
    let mut all = true;
    for name in names {
        let spare = files.spare_path(name);
        match shared.put(name.clone(), spare.clone()).await {
            Ok(()) => {
                if let Err(e) = tokio::fs::remove_file(&spare).await {
                    tracing::warn!(error = %e, name, "file sweep: cannot remove a spare");
                }
            }
            Err(e) => {
                all = false;
                tracing::error!(
                    error = %e, name,
                    "file sweep: cannot put back a referenced object; its spare is kept for the next sweep"
                );
            }
        }
    }
    all
}

/// Remove the spare copies `names` (their objects are reclaimed).
async fn drop_spares(files: &Files, names: &[String]) {
    for name in names {
        match tokio::fs::remove_file(files.spare_path(name)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, name, "file sweep: cannot remove a spare"),
        }
    }
}

/// Settle the spares an earlier sweep left (a crash or a stop between a
/// delete and its put back, or a failed put back): wait for the log, then
/// put back each spare whose hash is referenced (or when that cannot be
/// told) and remove the others. How many were put back.
async fn replay_spares(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    stop: &CancellationToken,
) -> Result<usize, String> {
    let names = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || files.spares())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    if names.is_empty() {
        return Ok(0);
    }
    let settled = catch_up().await;
    let mut put = 0;
    let mut left = 0;
    for name in names {
        if stop.is_cancelled() {
            // The spares are durable: the next start settles the rest.
            return Err("stopping; spare copies left for the next start".into());
        }
        let hash = hash_of(&name).to_owned();
        let keep = !settled || referenced(store, hash).await.unwrap_or(true);
        if !keep {
            drop_spares(files, std::slice::from_ref(&name)).await;
        } else if put_back(files, std::slice::from_ref(&name)).await {
            put += 1;
        } else {
            left += 1;
        }
    }
    if left > 0 {
        return Err(format!("{left} could not be put back"));
    }
    Ok(put)
}

fn thumb_name(hash: &str) -> String {
    super::shared::thumb_name(hash)
}

/// A name in the shared store that is ours: a lowercase hex sha256.
fn is_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The bucket listing (cluster only): look at up to
/// `LIST_PAGES_PER_SWEEP` pages (of `--file-list-page` entries) from `cursor`, and reclaim up to
/// `ORPHANS_PER_SWEEP` hashes whose objects are past the grace, that
/// nothing references and that this node holds no copy of (a node with a
/// copy reclaims through [`sweep_shared`], which puts back from it). How
/// many hashes it removed.
async fn sweep_bucket(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    cursor: &mut u64,
    stop: &CancellationToken,
) -> Result<usize, String> {
    let Some(shared) = files.shared().cloned() else {
        return Ok(0);
    };
    let cutoff = SystemTime::now()
        .checked_sub(files.grace())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut orphans = std::collections::BTreeSet::new();
    'pages: for page in 0..LIST_PAGES_PER_SWEEP {
        if stop.is_cancelled() {
            break;
        }
        let listing = match shared.list(*cursor, files.config().list_page.max(1)).await {
            Ok(listing) => listing,
            Err(e) if page == 0 => return Err(e),
            // Later pages: what was collected is still reclaimed; the
            // cursor stays at this page for the next sweep.
            Err(e) => {
                tracing::warn!(error = %e, "file sweep: listing the cluster's file store");
                break;
            }
        };
        // 0: the end was reached; the next sweep starts over.
        *cursor = listing.next.max(1);
        for (name, modified, seq) in listing.objects {
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
                if orphans.len() >= ORPHANS_PER_SWEEP {
                    // The next sweep goes on from the entry after this.
                    *cursor = seq + 1;
                    break 'pages;
                }
            }
        }
        if listing.next == 0 {
            break;
        }
    }
    let mut removed = 0;
    for hash in orphans {
        if stop.is_cancelled() {
            break; // between hashes only (see `start`)
        }
        // One object that cannot be read (chunks lost) must not stop the
        // rest: it is logged and left for a later sweep.
        match reclaim_orphan(files, store, catch_up, &hash, cutoff).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(OrphanError::Skip(e)) => {
                tracing::warn!(error = %e, hash, "file sweep: an orphaned object left")
            }
            // A spare is pending: no further deletion in this sweep.
            Err(OrphanError::Stop(e)) => return Err(e),
        }
    }
    Ok(removed)
}

/// Why [`reclaim_orphan`] did not reclaim: `Skip` leaves this object for
/// a later sweep and goes on; `Stop` ends the pass, because a spare waits
/// for the next sweep's [`replay_spares`].
enum OrphanError {
    Skip(String),
    Stop(String),
}

impl From<String> for OrphanError {
    fn from(e: String) -> Self {
        OrphanError::Skip(e)
    }
}

/// Whether a `hash_file` row references `hash` (a sled read, off the
/// runtime).
pub(super) async fn referenced(store: &Store, hash: String) -> Result<bool, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.hash_referenced(&hash))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Delete the shared objects of an orphaned `hash` (its bytes and its
/// thumbnail), keeping a copy in spare files until the log says nothing
/// references it; whether they were deleted. See the interleavings in
/// docs/architecture.md ("Reclaiming in a cluster").
async fn reclaim_orphan(
    files: &Files,
    store: &Store,
    catch_up: &CatchUp,
    hash: &str,
    cutoff: SystemTime,
) -> Result<bool, OrphanError> {
    let Some(shared) = files.shared().cloned() else {
        return Ok(false);
    };
    // The copies to put back from: fetched into a temp file (removed at
    // start, so never a partial spare), then moved into the spare folder.
    let mut names = Vec::new();
    for name in [hash.to_owned(), thumb_name(hash)] {
        let fresh = match shared.modified(name.clone()).await {
            Ok(None) => continue,
            Ok(Some(t)) => t > cutoff,
            Err(e) => {
                drop_spares(files, &names).await;
                return Err(e.into());
            }
        };
        if fresh {
            // Written again since the listing (an identical upload): kept.
            drop_spares(files, &names).await;
            return Ok(false);
        }
        let mut temp = files.temp();
        let Some(path) = temp.path().map(std::path::Path::to_path_buf) else {
            continue;
        };
        // Gone meanwhile (another node's sweep): that node puts it back
        // if it must.
        match shared.fetch(name.clone(), path.clone()).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                drop_spares(files, &names).await;
                return Err(e.into());
            }
        }
        if let Err(e) = tokio::fs::rename(&path, files.spare_path(&name)).await {
            drop_spares(files, &names).await;
            return Err(format!("file sweep: a spare copy of {name}: {e}").into());
        }
        temp.path = None; // moved: nothing for the guard to remove
        names.push(name);
    }
    if names.is_empty() {
        return Ok(false);
    }
    let synced = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || files.sync_spares())
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
    };
    if let Err(e) = synced {
        drop_spares(files, &names).await;
        return Err(e.into());
    }
    match delete_and_look(files, store, catch_up, hash, &names).await {
        Look::Unreferenced => {
            drop_spares(files, &names).await;
            Ok(true)
        }
        Look::Undecided => Err(OrphanError::Stop(format!(
            "a delete of {hash} failed; left for the next sweep"
        ))),
        // An identical upload was acknowledged meanwhile (or the log could
        // not be read, so we cannot tell): the objects go back.
        Look::PutBack => {
            if put_back(files, &names).await {
                Ok(false)
            } else {
                Err(OrphanError::Stop(format!(
                    "{hash} could not be put back; its spare is kept"
                )))
            }
        }
    }
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
    // A failure here must not stop the bytes' reclaiming below.
    match files
        .stored_thumbs_only()
        .map_err(|e| e.to_string())
        .and_then(|thumbs| reclaim_thumbs(files, store, thumbs, cutoff))
    {
        Ok(0) => {}
        Ok(_) => tracing::info!("reclaimed thumbnails held without their bytes"),
        Err(e) => tracing::warn!(error = %e, "file sweep: thumbnails held without their bytes"),
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
