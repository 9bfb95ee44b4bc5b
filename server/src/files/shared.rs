//! The store every node shares in a cluster, behind a trait: the files
//! module needs only "put these bytes under this name", "fetch them",
//! "are they there", "delete them"; the cluster layer gives it the NATS
//! JetStream object store (`cluster/blobs.rs`). An embedded node has none.
//!
//! Names are a content hash (the bytes) or a hash with `.thumb` (its
//! thumbnail), so a put of the same name always carries the same bytes.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store of named byte blobs that every node of a cluster reads.
/// Errors are text: they are logged and answered as `unavailable`.
pub trait SharedBlobs: Send + Sync {
    /// Store the file at `path` under `name`; returns once the store has
    /// made it durable (for JetStream: replicated to a quorum and fsynced).
    fn put(&self, name: String, path: PathBuf) -> BoxFuture<'_, Result<(), String>>;

    /// Write the blob `name` to `dest` (a new file); `false` if there is
    /// no such blob. The store checks its own digest while reading.
    fn fetch(&self, name: String, dest: PathBuf) -> BoxFuture<'_, Result<bool, String>>;

    /// When `name` was last written, if it exists, as the store's latest
    /// write or delete says (never a lagging replica's answer): the
    /// uploader's check after its commit and the sweep rely on it.
    fn modified(&self, name: String) -> BoxFuture<'_, Result<Option<SystemTime>, String>>;

    /// One page of the names the store holds, with when each was last
    /// written: at most `max`, starting at the position `from` (1 for the
    /// first page; positions are the store's, in order of last write).
    fn list(&self, from: u64, max: usize) -> BoxFuture<'_, Result<Listing, String>>;

    /// Delete `name` (no error if it is not there).
    fn delete(&self, name: String) -> BoxFuture<'_, Result<(), String>>;

    /// Reclaim space the store holds for no object (for JetStream: chunks
    /// no metadata names, left by a put that stopped half-way or by two
    /// writes of one name at once), as far as the last complete listing
    /// proves: [`SharedBlobs::list`] read from 1 to its end without a gap,
    /// since the last call. Only what was last written more than `age`
    /// before that listing began (longer than any write can stall). How
    /// many pieces were reclaimed (0 if no listing was completed since).
    fn reclaim_strays(&self, age: Duration) -> BoxFuture<'_, Result<usize, String>>;
}

/// A page of [`SharedBlobs::list`].
#[derive(Debug, Default)]
pub struct Listing {
    /// Each name with the time it was last written (by the writer's
    /// clock) and its position (a page can be cut short after it).
    pub objects: Vec<(String, SystemTime, u64)>,
    /// Where the next page starts; 0 once this page reached the end.
    pub next: u64,
}

/// The hash a shared name is for (the name itself, or a thumbnail's hash).
pub fn hash_of(name: &str) -> &str {
    name.strip_suffix(".thumb").unwrap_or(name)
}

/// The shared name of a thumbnail.
pub fn thumb_name(hash: &str) -> String {
    format!("{hash}.thumb")
}
