//! Full-text message search (issue 12).
//!
//! - [`query`]: the query language (`words "phrases" in:#room from:@name
//!   has:link is:question is:unanswered mentions:me before:/after:`).
//! - [`index`]: the tantivy index in `<data>/search/`: schema, analyzer,
//!   documents, running a query.
//! - [`indexer`]: the background task that follows what this node applied
//!   (per room, by seq, from the positions saved with each index commit),
//!   off the ack path; it works the same on every cluster node.
//!
//! The request handler is `handlers/search.rs`; `townhall reindex` is
//! [`rebuild`].
//!
//! tantivy is built with `default-features = false` and only `mmap` (the
//! on-disk `MmapDirectory`: without it there is only the in-RAM index) and
//! `stemmer` (the English stemmer). Left out: `lz4-compression` and
//! `columnar-zstd-compression` (we store only ids and a time, nothing worth
//! compressing), `stopwords` (an English stop list would make `"to be or
//! not to be"` unsearchable) and the rest (quickwit, failpoints, zstd).

pub mod index;
pub mod indexer;
pub mod low_priority;
pub mod query;

use crate::store::{Store, StoreError};
use index::SearchIndex;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use townhall_protocol::Pos;

/// Why search failed. Never sent as is: `handlers/search.rs` maps it to
/// a wire code and logs the detail.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(String),
    #[error("search index folder: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> SearchError {
        SearchError::Index(e.to_string())
    }
}

/// The index folder inside a data folder.
pub fn index_dir(data: &Path) -> PathBuf {
    data.join("search")
}

/// A cheap-to-clone handle: the open index and how far behind it is.
#[derive(Clone)]
pub struct Search {
    inner: Arc<Shared>,
}

struct Shared {
    index: SearchIndex,
    /// The published position the index has caught up to (every event at
    /// or below it is searchable).
    indexed_pos: AtomicU64,
    /// Wall-clock ms of the oldest moment whose published events may not
    /// all be searchable yet (0: caught up at the last look): the start of
    /// the round in progress, or of the first round after a start. So the
    /// lag is an upper bound on the age of the oldest unindexed event, and
    /// does not grow under steady load while rounds keep up. Atomics, not a
    /// lock: the indexer writes, searches only read.
    behind_since: AtomicU64,
    /// Searches running now, at most [`MAX_CONCURRENT_SEARCHES`].
    searches: tokio::sync::Semaphore,
}

/// At most this many searches run at once on a server: each holds a
/// blocking thread while it ranks and reads its hits back from the store,
/// and the blocking pool is shared with every store read.
pub const MAX_CONCURRENT_SEARCHES: usize = 4;

impl Search {
    /// Open `<data>/search/`, rebuilding it empty when missing, from
    /// another version or unreadable; the indexer then fills it.
    pub fn open(data: &Path) -> Result<Search, SearchError> {
        let (index, rebuilt) = SearchIndex::open_or_rebuild(&index_dir(data))?;
        if rebuilt {
            tracing::info!("search index is new: the indexer fills it from the store");
        }
        Ok(Search {
            inner: Arc::new(Shared {
                index,
                indexed_pos: AtomicU64::new(0),
                // Behind until the first round has looked at every room.
                behind_since: AtomicU64::new(crate::committer::now_millis().max(1)),
                searches: tokio::sync::Semaphore::new(MAX_CONCURRENT_SEARCHES),
            }),
        })
    }

    pub fn index(&self) -> &SearchIndex {
        &self.inner.index
    }

    /// Wait for a turn to search (see [`MAX_CONCURRENT_SEARCHES`]); `None`
    /// only if the semaphore were closed, which nothing does.
    pub async fn turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.inner.searches.acquire().await.ok()
    }

    /// How long, in ms, the index has been behind the published position
    /// `published` (0 when it holds everything published).
    pub fn lag_ms(&self, published: Pos) -> u64 {
        if self.inner.indexed_pos.load(Ordering::Acquire) >= published {
            return 0;
        }
        let since = self.inner.behind_since.load(Ordering::Acquire);
        if since == 0 {
            return 0;
        }
        crate::committer::now_millis().saturating_sub(since)
    }

    /// A round starts with messages published since `since` (ms): if the
    /// index was caught up, it is behind from then on.
    fn mark_behind(&self, since: u64) {
        let _ = self.inner.behind_since.compare_exchange(
            0,
            since.max(1),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// A round that started at `started` indexed everything up to `pos`.
    /// Still behind (more was published meanwhile): behind since `started`
    /// at most, since everything published before it is now indexed.
    /// The published position the index holds everything up to.
    pub fn indexed_pos(&self) -> Pos {
        self.inner.indexed_pos.load(Ordering::Acquire)
    }

    fn mark_indexed(&self, pos: Pos, started: u64, caught_up: bool) {
        self.inner.indexed_pos.fetch_max(pos, Ordering::AcqRel);
        let since = if caught_up { 0 } else { started.max(1) };
        self.inner.behind_since.store(since, Ordering::Release);
    }
}

/// `townhall reindex`: make a new index of everything in the store (the
/// server must be stopped: tantivy's writer lock refuses a second writer).
/// Returns the number of documents.
pub fn rebuild(data: &Path, store: &Store) -> Result<u64, SearchError> {
    let index = SearchIndex::create(&index_dir(data))?;
    let mut writer = index.writer()?;
    let mut cursor = indexer::Cursor::new(0);
    let upto = store.last_pos()?;
    let rooms: Vec<_> = store.rooms()?.into_iter().map(|r| r.id).collect();
    for room in rooms {
        indexer::index_room(store, &index, &mut writer, &mut cursor, room, upto)?;
    }
    cursor.commit(&index, &mut writer, upto)?;
    Ok(index.num_docs())
}
