//! File attachments: the bytes on disk, by content hash.
//!
//! ```text
//! <data>/files/tmp/<random>.part     an upload being received (removed at start)
//! <data>/files/ab/cdef…              the bytes whose sha256 is abcdef… (stored once)
//! <data>/files/ab/cdef….thumb.png    its thumbnail, for images
//! <data>/files/spare/<name>          cluster only: a spare copy of a shared
//!                                    object the sweep is deleting (kept
//!                                    across restarts; see `sweep.rs`)
//! ```
//!
//! An upload streams into a temp file while it is hashed, is fsynced, and
//! is renamed into place (the directory fsynced too) before its record is
//! submitted to the log; so an acknowledged upload always has its bytes,
//! and a crash mid-upload leaves only a temp file, removed at the next
//! start. Metadata (pending, posted with a message, gone) is in the store
//! (`store/files.rs`, `committer/files.rs`); the sweep (`sweep.rs`)
//! forgets uploads never posted and removes bytes nothing references.
//!
//! - [`sniff`]: the content type, from the bytes.
//! - [`thumb`]: image size and thumbnail, with a bound on decoded pixels.
//! - [`sweep`]: the periodic sweep and the reclaiming of bytes.
//! - [`audit`]: cluster only, puts back a referenced object the shared
//!   store lost, from this node's copy.
//! - [`shared`]: the store every cluster node shares (`<data>/files/` is
//!   then this node's copy of what it uploaded or fetched).

pub mod audit;
pub mod shared;
pub mod sniff;
pub mod sweep;
pub mod thumb;

use crate::config::FilesConfig;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;

/// Uploads received at once. Each holds a write buffer ([`WRITE_BUFFER`])
/// and a hasher; past this an upload answers `rate_limited` rather than
/// queue (the client retries), so memory stays bounded whatever arrives.
pub const UPLOADS_AT_ONCE: usize = 32;

/// Bytes gathered before a write to the temp file: fewer, larger writes
/// (each is a hop to a blocking thread) at a bounded cost per upload.
pub const WRITE_BUFFER: usize = 256 * 1024;

/// Images decoded at once for thumbnails: decoding is CPU-bound and may
/// take up to `thumb::MAX_PIXELS` × 4 bytes; more at once only queues.
pub const THUMBNAILS_AT_ONCE: usize = 2;

/// How long an upload keeps trying the cluster's shared store before it
/// answers `unavailable`: the bucket the nodes make as they start can be
/// unknown for a moment to the NATS server a node talks to ("no stream
/// found for given subject", seen in CI on the first upload after a
/// cluster started). A put of a content-hash name is safe to repeat.
/// A download waits as long for bytes the shared store does not answer
/// with yet ([`Files::ensure_local_waiting`]).
const SHARE_RETRY: Duration = Duration::from_secs(3);

/// The first pause between two tries; it doubles up to [`SHARE_PAUSE_MAX`].
const SHARE_PAUSE: Duration = Duration::from_millis(50);
const SHARE_PAUSE_MAX: Duration = Duration::from_millis(800);

/// Why a fetch into this node's files failed.
enum FetchError {
    /// The shared store refused or failed: worth another try.
    Shared(String),
    /// This node's disk, or bytes that do not match their hash.
    Local(String),
}

/// The file store of one node, shared by the upload and download routes
/// and the sweep.
#[derive(Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    tmp: PathBuf,
    /// Spare copies of shared objects being deleted (`sweep.rs`): unlike
    /// `tmp`, not cleared at start.
    spare: PathBuf,
    config: FilesConfig,
    uploads: Arc<Semaphore>,
    thumbnails: Arc<Semaphore>,
    /// Hashes an upload on this node has stored (or is storing) and whose
    /// record is not committed yet, with how many such uploads. Why a lock:
    /// the sweep's "unreferenced and old, so remove" and an upload's "the
    /// bytes are there, keep them" must not interleave, or an identical
    /// re-upload of unreferenced bytes could be acknowledged after the
    /// sweep deleted them. An upload registers here before it stores; the
    /// sweep removes only while holding this lock, re-checking the hash is
    /// neither in flight nor referenced nor recently written. Held for a
    /// map update, or for one sled read plus one unlink (never across an
    /// await).
    in_flight: Mutex<HashMap<String, usize>>,
    /// In a cluster, the store every node reads (`cluster/blobs.rs`).
    shared: Option<Arc<dyn shared::SharedBlobs>>,
}

/// The outcome of [`Files::store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The bytes were moved into place by this upload.
    Created,
    /// The same bytes were already there (kept, marked as just written).
    Existed,
}

/// An upload's hold on its hash (see `Inner::in_flight`): while it lives
/// the sweep leaves the bytes alone. Drop it once the record's commit has
/// answered (either way).
pub struct InFlight {
    files: Files,
    hash: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut map = self.files.in_flight();
        if let Some(n) = map.get_mut(&self.hash) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.hash);
            }
        }
    }
}

impl InFlight {
    /// The upload was refused after its bytes were stored: remove them
    /// unless another upload of the same bytes is in flight or a record
    /// references them (`referenced`, a store read). Blocking.
    pub fn discard(
        self,
        referenced: impl FnOnce(&str) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let files = self.files.clone();
        let map = files.in_flight();
        if map.get(&self.hash).copied().unwrap_or(0) > 1 || referenced(&self.hash)? {
            return Ok(false);
        }
        files.remove(&self.hash).map_err(|e| e.to_string())?;
        drop(map);
        Ok(true)
        // `self` drops after the lock is released (its Drop takes it too).
    }
}

impl Files {
    /// Open (or make) `<data>/files/` and remove temp files a crash left.
    pub fn open(
        data: &Path,
        config: FilesConfig,
        shared: Option<Arc<dyn shared::SharedBlobs>>,
    ) -> io::Result<Files> {
        let root = data.join("files");
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let spare = root.join("spare");
        std::fs::create_dir_all(&spare)?;
        let mut stray = 0;
        for entry in std::fs::read_dir(&tmp)? {
            let entry = entry?;
            std::fs::remove_file(entry.path())?;
            stray += 1;
        }
        if stray > 0 {
            tracing::info!(stray, "removed unfinished uploads left by the last run");
        }
        Ok(Files {
            inner: Arc::new(Inner {
                root,
                tmp,
                spare,
                config,
                uploads: Arc::new(Semaphore::new(UPLOADS_AT_ONCE)),
                thumbnails: Arc::new(Semaphore::new(THUMBNAILS_AT_ONCE)),
                in_flight: Mutex::new(HashMap::new()),
                shared,
            }),
        })
    }

    fn in_flight(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        // A panic while holding it leaves a consistent map (one update).
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Hold `hash` against the sweep until the returned guard drops; take
    /// it before [`Files::store`].
    pub fn hold(&self, hash: &str) -> InFlight {
        *self.in_flight().entry(hash.to_owned()).or_insert(0) += 1;
        InFlight {
            files: self.clone(),
            hash: hash.to_owned(),
        }
    }

    /// Remove the bytes of `hash` if no upload holds them, `unreferenced`
    /// says no record does, and they were last written before `cutoff`,
    /// all checked under the in-flight lock (blocking). Whether removed.
    pub fn remove_if_unused(
        &self,
        hash: &str,
        cutoff: SystemTime,
        referenced: impl FnOnce(&str) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let map = self.in_flight();
        if map.contains_key(hash) {
            return Ok(false);
        }
        let modified = match std::fs::metadata(self.content_path(hash)).and_then(|m| m.modified()) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.to_string()),
        };
        if modified > cutoff || referenced(hash)? {
            return Ok(false);
        }
        self.remove(hash).map_err(|e| e.to_string())?;
        drop(map);
        Ok(true)
    }

    /// The store shared by the cluster's nodes, if this node is one.
    pub fn shared(&self) -> Option<&Arc<dyn shared::SharedBlobs>> {
        self.inner.shared.as_ref()
    }

    /// Make sure this node holds the bytes of `hash` (or its thumbnail),
    /// fetching them from the shared store if it does not: `true` if they
    /// are here now. A fetched file is checked against its hash before it
    /// is moved into place; two fetches of the same bytes at once both
    /// end with the same file.
    pub async fn ensure_local(&self, hash: &str, thumb: bool) -> Result<bool, String> {
        self.fetch_local(hash, thumb).await.map_err(|e| match e {
            FetchError::Shared(e) | FetchError::Local(e) => e,
        })
    }

    /// [`Files::ensure_local`], telling the shared store's refusals (worth
    /// another try) from this node's own failures and bad bytes (not).
    async fn fetch_local(&self, hash: &str, thumb: bool) -> Result<bool, FetchError> {
        let dest = if thumb {
            self.thumb_path(hash)
        } else {
            self.content_path(hash)
        };
        if tokio::fs::try_exists(&dest).await.unwrap_or(false) {
            return Ok(true);
        }
        let Some(shared) = self.shared() else {
            return Ok(false);
        };
        let _hold = self.hold(hash);
        let mut temp = self.temp();
        let Some(path) = temp.path().map(Path::to_path_buf) else {
            return Ok(false);
        };
        let name = if thumb {
            shared::thumb_name(hash)
        } else {
            hash.to_owned()
        };
        if !shared
            .fetch(name, path.clone())
            .await
            .map_err(FetchError::Shared)?
        {
            return Ok(false);
        }
        let files = self.clone();
        let hash = hash.to_owned();
        tokio::task::spawn_blocking(move || -> Result<bool, String> {
            if thumb {
                if let Some(dir) = dest.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::rename(&path, &dest).map_err(|e| e.to_string())?;
                // Moved into place: nothing left for the guard to remove.
                let _kept = temp.path.take();
                return Ok(true);
            }
            let found = hash_file(&path).map_err(|e| e.to_string())?;
            if found != hash {
                return Err(format!(
                    "the shared store's bytes for {hash} hash to {found}"
                ));
            }
            files.store(&mut temp, &hash).map_err(|e| e.to_string())?;
            Ok(true)
        })
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?
        .map_err(FetchError::Local)
    }

    /// [`Files::ensure_local`] for a download, in a cluster tried again
    /// for up to [`SHARE_RETRY`] while the shared store refuses or does
    /// not have the bytes yet: a read just after the put may reach a
    /// replica that has not stored it (the object store answers reads from
    /// any replica), and the bucket can be unknown for a moment to the
    /// NATS server this node talks to, as for an upload. An embedded node
    /// answers at once.
    pub async fn ensure_local_waiting(&self, hash: &str, thumb: bool) -> Result<bool, String> {
        let deadline = tokio::time::Instant::now() + SHARE_RETRY;
        let mut pause = SHARE_PAUSE;
        loop {
            let found = self.fetch_local(hash, thumb).await;
            let again = match &found {
                Ok(false) => self.shared().is_some(),
                Err(FetchError::Shared(e)) => {
                    tracing::debug!(error = %e, "the shared file store refused a fetch; trying again");
                    true
                }
                // Here, or bytes that do not match their hash: another
                // fetch would not change that.
                Ok(true) | Err(FetchError::Local(_)) => false,
            };
            if !again || tokio::time::Instant::now() + pause >= deadline {
                return found.map_err(|e| match e {
                    FetchError::Shared(e) | FetchError::Local(e) => e,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(SHARE_PAUSE_MAX);
        }
    }

    /// In a cluster, put the bytes of `hash` (and its thumbnail) in the
    /// shared store, durably, before the upload's record is submitted, so
    /// that every node that applies the record can fetch them. Bytes the
    /// shared store holds already are not sent again (names are content
    /// hashes). No-op on an embedded node. A refusal is tried again for
    /// up to [`SHARE_RETRY`] before it is returned.
    pub async fn share(&self, hash: &str, thumb: bool) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + SHARE_RETRY;
        let mut pause = SHARE_PAUSE;
        loop {
            match self.put_missing(hash, thumb).await {
                Ok(_) => return Ok(()),
                Err(e) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(error = %e, "the shared file store refused; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(SHARE_PAUSE_MAX);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Put each of the shared names of `hash` (its bytes, and its
    /// thumbnail if `thumb`) that the shared store does not hold, asking
    /// the stream leader; the names put. Also the audit's repair
    /// (`audit.rs`).
    pub async fn put_missing(&self, hash: &str, thumb: bool) -> Result<Vec<String>, String> {
        let Some(shared) = self.shared() else {
            return Ok(Vec::new());
        };
        let mut put = Vec::new();
        for (name, path) in self.shared_names(hash, thumb) {
            if shared.modified(name.clone()).await?.is_none() {
                shared.put(name.clone(), path).await?;
                put.push(name);
            }
        }
        Ok(put)
    }

    /// After the upload's record is committed: the shared copy may have
    /// been deleted by another node's sweep between [`Files::share`] and
    /// the commit (it had not applied the record yet); put it again if so.
    /// The check asks the stream leader ([`shared::SharedBlobs::modified`]):
    /// a lagging replica could still show a deleted object.
    /// See `sweep.rs` for the other half of this.
    pub async fn confirm_shared(&self, hash: &str, thumb: bool) -> Result<(), String> {
        self.share(hash, thumb).await
    }

    fn shared_names(&self, hash: &str, thumb: bool) -> Vec<(String, PathBuf)> {
        let mut names = vec![(hash.to_owned(), self.content_path(hash))];
        if thumb {
            names.push((shared::thumb_name(hash), self.thumb_path(hash)));
        }
        names
    }

    pub fn config(&self) -> &FilesConfig {
        &self.inner.config
    }

    /// The largest file accepted, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.inner.config.max_file_mb.saturating_mul(1024 * 1024)
    }

    pub fn quota_bytes(&self) -> u64 {
        self.inner.config.quota_mb.saturating_mul(1024 * 1024)
    }

    /// How long unreferenced bytes are kept after their last write.
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.inner.config.pending_secs)
    }

    /// A turn to receive an upload, if one is free.
    pub fn upload_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.uploads.clone().try_acquire_owned().ok()
    }

    /// A turn to decode an image (waits).
    pub async fn thumbnail_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.thumbnails.clone().acquire_owned().await.ok()
    }

    /// A fresh temp path for an upload; the guard removes it when dropped
    /// unless it was moved into place.
    pub fn temp(&self) -> TempFile {
        let name = format!("{}.part", uuid::Uuid::new_v4().simple());
        TempFile {
            path: Some(self.inner.tmp.join(name)),
        }
    }

    /// Where the bytes of `hash` (lowercase hex sha256) live.
    pub fn content_path(&self, hash: &str) -> PathBuf {
        content_path_in(&self.inner.root, hash)
    }

    pub fn thumb_path(&self, hash: &str) -> PathBuf {
        thumb_path_in(&self.inner.root, hash)
    }

    /// Where the sweep keeps a spare copy of the shared object `name`
    /// while it deletes it (`sweep.rs`).
    pub fn spare_path(&self, name: &str) -> PathBuf {
        self.inner.spare.join(name)
    }

    /// The shared names with a spare copy (blocking): regular files named
    /// as a content hash or a hash's thumbnail; anything else found there
    /// is logged and left alone (never put, never blocking a sweep). The
    /// folder is made again if it was removed.
    pub fn spares(&self) -> io::Result<Vec<String>> {
        std::fs::create_dir_all(&self.inner.spare)?;
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.inner.spare)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let hash = name.strip_suffix(".thumb").unwrap_or(&name);
            let is_hash =
                hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            if !is_hash || !entry.file_type()?.is_file() {
                tracing::warn!(entry = %name, "files/spare: not a spare copy; left alone");
                continue;
            }
            out.push(name);
        }
        Ok(out)
    }

    /// Make the spare folder's entries durable (blocking).
    pub fn sync_spares(&self) -> io::Result<()> {
        sync_dir(&self.inner.spare)
    }

    /// Move a complete, fsynced temp file into place as the bytes of
    /// `hash` (blocking). Bytes already there are kept (they are the same
    /// bytes) and marked as just written. The caller holds `hash`
    /// ([`Files::hold`]) so the sweep cannot remove them under it.
    pub fn store(&self, temp: &mut TempFile, hash: &str) -> io::Result<Stored> {
        let dest = self.content_path(hash);
        let Some(src) = temp.path.take() else {
            return Err(io::Error::other("temp file already stored"));
        };
        if dest.exists() {
            std::fs::remove_file(&src)?;
            let f = std::fs::File::options().append(true).open(&dest)?;
            f.set_modified(SystemTime::now())?;
            return Ok(Stored::Existed);
        }
        let dir = dest.parent().unwrap_or(&self.inner.root);
        let new_dir = !dir.exists();
        std::fs::create_dir_all(dir)?;
        if let Err(e) = std::fs::rename(&src, &dest) {
            temp.path = Some(src);
            return Err(e);
        }
        sync_dir(dir)?;
        if new_dir {
            sync_dir(&self.inner.root)?;
        }
        Ok(Stored::Created)
    }

    /// Write a thumbnail for `hash` (blocking): temp, fsync, rename.
    pub fn store_thumb(&self, hash: &str, png: &[u8]) -> io::Result<()> {
        let dest = self.thumb_path(hash);
        if dest.exists() {
            return Ok(());
        }
        let mut temp = self.temp();
        let Some(src) = temp.path.clone() else {
            return Ok(());
        };
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&src)?;
            f.write_all(png)?;
            f.sync_all()?;
        }
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::rename(&src, &dest)?;
        temp.path = None;
        if let Some(dir) = dest.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Every stored content hash with its last write time (blocking).
    pub fn stored(&self) -> io::Result<Vec<(String, SystemTime)>> {
        let mut out = Vec::new();
        for dir in std::fs::read_dir(&self.inner.root)? {
            let dir = dir?;
            let prefix = dir.file_name().to_string_lossy().into_owned();
            if prefix.len() != 2 || !dir.file_type()?.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(dir.path())? {
                let f = f?;
                let rest = f.file_name().to_string_lossy().into_owned();
                if rest.ends_with(".thumb.png") {
                    continue;
                }
                // Removed since the listing (a refused upload's discard,
                // the sweep itself): nothing to reclaim.
                let modified = match f.metadata().and_then(|m| m.modified()) {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                out.push((format!("{prefix}{rest}"), modified));
            }
        }
        Ok(out)
    }

    /// Every thumbnail held without its bytes (a cluster node that served
    /// only the thumbnail fetched only that), by hash, with its last write
    /// time (blocking).
    pub fn stored_thumbs_only(&self) -> io::Result<Vec<(String, SystemTime)>> {
        let mut out = Vec::new();
        for dir in std::fs::read_dir(&self.inner.root)? {
            let dir = dir?;
            let prefix = dir.file_name().to_string_lossy().into_owned();
            if prefix.len() != 2 || !dir.file_type()?.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(dir.path())? {
                let f = f?;
                let name = f.file_name().to_string_lossy().into_owned();
                let Some(rest) = name.strip_suffix(".thumb.png") else {
                    continue;
                };
                if dir.path().join(rest).exists() {
                    continue; // with its bytes: reclaimed with them
                }
                // Removed since the listing (a refused upload's discard,
                // the sweep itself): nothing to reclaim.
                let modified = match f.metadata().and_then(|m| m.modified()) {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                out.push((format!("{prefix}{rest}"), modified));
            }
        }
        Ok(out)
    }

    /// Remove the thumbnail of `hash` held without its bytes, if no upload
    /// or fetch holds the hash, `referenced` says no record does, and it
    /// was written before `cutoff`, all under the in-flight lock
    /// (blocking). Whether removed.
    pub fn remove_thumb_if_unused(
        &self,
        hash: &str,
        cutoff: SystemTime,
        referenced: impl FnOnce(&str) -> Result<bool, String>,
    ) -> Result<bool, String> {
        let map = self.in_flight();
        if map.contains_key(hash) || self.content_path(hash).exists() {
            return Ok(false);
        }
        let thumb = self.thumb_path(hash);
        let modified = match std::fs::metadata(&thumb).and_then(|m| m.modified()) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.to_string()),
        };
        if modified > cutoff || referenced(hash)? {
            return Ok(false);
        }
        std::fs::remove_file(&thumb).map_err(|e| e.to_string())?;
        drop(map);
        Ok(true)
    }

    /// Remove the bytes and thumbnail of `hash` (blocking).
    pub fn remove(&self, hash: &str) -> io::Result<()> {
        match std::fs::remove_file(self.thumb_path(hash)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::remove_file(self.content_path(hash))
    }
}

/// The lowercase hex sha256 of a file's bytes (blocking).
pub fn hash_file(path: &Path) -> io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; WRITE_BUFFER];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// A temp upload file, removed when dropped (an upload refused, cut off,
/// or whose handler was dropped with its connection) unless stored.
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.path.take()
            && let Err(e) = std::fs::remove_file(&p)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %p.display(), error = %e, "cannot remove an unfinished upload");
        }
    }
}

/// A file name as given by the uploader, checked: 1 to 255 bytes, no path
/// separators or control characters (it becomes a download's name).
pub fn check_name(name: &str) -> crate::error::Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 255
        || name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        || name == "."
        || name == ".."
    {
        return Err(crate::error::ServerError::Invalid(
            "a file name is 1 to 255 bytes, without '/', '\\' or control characters".into(),
        ));
    }
    crate::names::refuse_bidi("file name", name)?;
    Ok(name.to_owned())
}

/// Where the bytes of `hash` live under a files folder `root`
/// (`<data>/files`): `ab/cdef…`. `townhall restore` writes there before
/// any [`Files`] is open.
pub fn content_path_in(root: &Path, hash: &str) -> PathBuf {
    let (dir, rest) = hash.split_at(2.min(hash.len()));
    root.join(dir).join(rest)
}

/// Where the thumbnail of `hash` lives under `root`.
pub fn thumb_path_in(root: &Path, hash: &str) -> PathBuf {
    let mut p = content_path_in(root, hash).into_os_string();
    p.push(".thumb.png");
    PathBuf::from(p)
}

#[cfg(test)]
mod tests {
    use super::shared::{BoxFuture, Listing, SharedBlobs};
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A second `SharedBlobs` for the retry: refuses its first `refusals`
    /// calls as a bucket not yet known does, then holds what is put.
    struct Flaky {
        refusals: usize,
        calls: AtomicUsize,
        held: Mutex<Vec<String>>,
    }

    impl Flaky {
        fn check(&self) -> Result<(), String> {
            if self.calls.fetch_add(1, Ordering::SeqCst) < self.refusals {
                return Err("no stream found for given subject".into());
            }
            Ok(())
        }
    }

    impl SharedBlobs for Flaky {
        fn put(&self, name: String, _path: PathBuf) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async move {
                self.check()?;
                self.held.lock().map_err(|e| e.to_string())?.push(name);
                Ok(())
            })
        }
        fn fetch(&self, name: String, path: PathBuf) -> BoxFuture<'_, Result<bool, String>> {
            Box::pin(async move {
                self.check()?;
                if !self.held.lock().map_err(|e| e.to_string())?.contains(&name) {
                    return Ok(false);
                }
                std::fs::write(&path, b"thumbnail bytes").map_err(|e| e.to_string())?;
                Ok(true)
            })
        }
        fn modified(&self, name: String) -> BoxFuture<'_, Result<Option<SystemTime>, String>> {
            Box::pin(async move {
                self.check()?;
                let held = self.held.lock().map_err(|e| e.to_string())?;
                Ok(held.contains(&name).then(SystemTime::now))
            })
        }
        fn list(&self, _: u64, _: usize) -> BoxFuture<'_, Result<Listing, String>> {
            Box::pin(async {
                Ok(Listing {
                    objects: Vec::new(),
                    next: 0,
                })
            })
        }
        fn delete(&self, _: String) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async { Ok(()) })
        }
        fn reclaim_strays(&self, _: Duration) -> BoxFuture<'_, Result<usize, String>> {
            Box::pin(async { Ok(0) })
        }
    }

    fn files_on(store: Arc<Flaky>) -> (tempfile::TempDir, Files) {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = Files::open(dir.path(), FilesConfig::default(), Some(store)).expect("files");
        (dir, files)
    }

    fn flaky(refusals: usize) -> Arc<Flaky> {
        Arc::new(Flaky {
            refusals,
            calls: AtomicUsize::new(0),
            held: Mutex::new(Vec::new()),
        })
    }

    /// The first upload after a cluster starts: the store refuses a few
    /// times, then takes the bytes; the upload succeeds.
    #[tokio::test]
    async fn an_upload_waits_out_a_shared_store_that_refuses_for_a_moment() {
        let store = flaky(3);
        let (_dir, files) = files_on(store.clone());
        files
            .share("abc", false)
            .await
            .expect("shared after the refusals");
        assert_eq!(*store.held.lock().expect("held"), vec!["abc".to_owned()]);
        assert!(store.calls.load(Ordering::SeqCst) > 3);
    }

    /// A store that keeps refusing: the error comes back, once the retry
    /// window is spent.
    #[tokio::test]
    async fn an_upload_gives_up_on_a_shared_store_that_keeps_refusing() {
        let store = flaky(usize::MAX);
        let (_dir, files) = files_on(store.clone());
        let started = std::time::Instant::now();
        let err = files.share("abc", false).await.expect_err("refused");
        assert!(err.contains("no stream found"), "{err}");
        let took = started.elapsed();
        assert!(
            took >= SHARE_RETRY - SHARE_PAUSE_MAX,
            "gave up after {took:?}"
        );
        assert!(store.held.lock().expect("held").is_empty());
    }
    /// A download just after the cluster started: the store refuses a few
    /// times, then answers with the bytes; the download gets them.
    #[tokio::test]
    async fn a_download_waits_out_a_shared_store_that_refuses_for_a_moment() {
        let store = flaky(3);
        store
            .held
            .lock()
            .expect("held")
            .push(shared::thumb_name("abc"));
        let (_dir, files) = files_on(store.clone());
        let found = files.ensure_local_waiting("abc", true).await;
        assert_eq!(found, Ok(true));
        assert!(files.thumb_path("abc").exists());
        assert!(store.calls.load(Ordering::SeqCst) > 3);
    }

    /// Bytes the store never has: "not here" once the window is spent
    /// (the route answers `unavailable`), not before.
    #[tokio::test]
    async fn a_download_of_bytes_the_store_does_not_have_gives_up_after_the_window() {
        let store = flaky(0);
        let (_dir, files) = files_on(store.clone());
        let started = std::time::Instant::now();
        let found = files.ensure_local_waiting("abc", true).await;
        assert_eq!(found, Ok(false));
        let took = started.elapsed();
        assert!(
            took >= SHARE_RETRY - SHARE_PAUSE_MAX,
            "gave up after {took:?}"
        );
        assert!(store.calls.load(Ordering::SeqCst) > 1);
    }
    /// Bytes that do not match their hash: refused after one fetch, not
    /// fetched again for the whole window (another try would get the same
    /// bytes).
    #[tokio::test]
    async fn a_download_of_bytes_that_do_not_match_their_hash_is_not_tried_again() {
        let store = flaky(0);
        store.held.lock().expect("held").push("abc".to_owned());
        let (_dir, files) = files_on(store.clone());
        let err = files
            .ensure_local_waiting("abc", false)
            .await
            .expect_err("bad bytes");
        assert!(err.contains("hash to"), "{err}");
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
        assert!(!files.content_path("abc").exists());
    }
}
