//! [`OverlayKv`]: the committer's view of the store during one group commit.
//!
//! The committer executes many jobs per group, each against the state the
//! jobs before it left. Applying each job to sled on its own costs sled a
//! log write (`pwrite` + `sync_file_range`) per job, which capped durable
//! sends at a few thousand a second. Instead each job's batch lands here, in
//! memory, where the committer's later reads see it; at the end of the group
//! [`OverlayKv::take_batch`] hands every write over as **one** batch, applied
//! to the base store with one sled write and then made durable with one
//! fsync. Nobody else reads through the overlay: other readers see only what
//! was applied to the base store.
//!
//! It also keeps a read cache of the small records the committer reads for
//! nearly every job (users, rooms, memberships, read markers): a sled read
//! costs 2–3 µs, and the committer is the only writer while the server runs,
//! so a value it read or wrote stays true until it writes it again.

use super::kv::{Batch, Kv, KvPair, Op, StoreError, Tree, range_is_empty};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

/// Pending writes of one tree: key → `Some(value)` (put) or `None` (delete).
type Pending = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// (tree, key) → what the base store holds (`None`: known absent).
type ReadCache = HashMap<(Tree, Vec<u8>), Option<Vec<u8>>>;

pub struct OverlayKv {
    base: Arc<dyn Kv>,
    /// One map per tree (indexed by [`Tree::index`]). A std Mutex because
    /// [`Kv`] takes `&self`; only the committer task touches it, one call at
    /// a time, so it is never contended.
    pending: Mutex<Vec<Pending>>,
    /// What the base store holds for recently read or written keys of the
    /// [`cached`] trees (`None`: known absent). Same Mutex reasoning.
    cache: Mutex<ReadCache>,
}

/// Entries the read cache holds before it starts over: bounds its memory
/// (small records, a few MiB) while holding a large company's hot set.
const CACHE_ENTRIES: usize = 65_536;

/// Trees whose records the committer reads for most jobs. Not events (large,
/// rarely read again) nor idempotency records (each key is read once).
fn cached(tree: Tree) -> bool {
    matches!(
        tree,
        Tree::Meta
            | Tree::UserRecord
            | Tree::UsernameUser
            | Tree::RoomRecord
            | Tree::RoomUserMember
            | Tree::UserRoomMember
            | Tree::UserRoomRead
            | Tree::UserFollowersRoom
    )
}

impl OverlayKv {
    pub fn new(base: Arc<dyn Kv>) -> OverlayKv {
        OverlayKv {
            base,
            pending: Mutex::new(vec![Pending::new(); Tree::ALL.len()]),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<Pending>>, StoreError> {
        self.pending
            .lock()
            .map_err(|_| StoreError::Backend("commit overlay poisoned".into()))
    }

    /// Every pending write as one batch (the last write of each key wins),
    /// leaving the overlay empty.
    pub fn take_batch(&self) -> Result<Batch, StoreError> {
        let mut pending = self.lock()?;
        let mut batch = Batch::default();
        for tree in Tree::ALL {
            for (k, v) in std::mem::take(&mut pending[tree.index()]) {
                batch.ops.push(match v {
                    Some(v) => Op::Put(tree, k, v),
                    None => Op::Delete(tree, k),
                });
            }
        }
        Ok(batch)
    }

    /// The cache, emptied if a panic left it half-updated: it is only a
    /// copy, so starting over is always safe.
    fn cache(&self) -> std::sync::MutexGuard<'_, ReadCache> {
        match self.cache.lock() {
            Ok(cache) => cache,
            Err(poisoned) => {
                self.cache.clear_poison();
                let mut cache = poisoned.into_inner();
                cache.clear();
                cache
            }
        }
    }

    /// `batch` (from [`OverlayKv::take_batch`]) is now in the base store:
    /// keep the cache in step with it. Cannot fail: the batch is applied.
    pub fn applied(&self, batch: &Batch) {
        let mut cache = self.cache();
        for op in &batch.ops {
            match op {
                Op::Put(t, k, v) if cached(*t) => {
                    cache.insert((*t, k.clone()), Some(v.clone()));
                }
                Op::Delete(t, k) if cached(*t) => {
                    cache.insert((*t, k.clone()), None);
                }
                _ => {}
            }
        }
        if cache.len() > CACHE_ENTRIES {
            cache.clear();
        }
    }

    /// Forget every pending write (the group failed before reaching disk),
    /// and the read cache with it: what the base holds is no longer sure.
    pub fn discard(&self) -> Result<(), StoreError> {
        for tree in self.lock()?.iter_mut() {
            tree.clear();
        }
        self.cache().clear();
        Ok(())
    }
}

impl Kv for OverlayKv {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.lock()?[tree.index()].get(key) {
            return Ok(v.clone());
        }
        if !cached(tree) {
            return self.base.get(tree, key);
        }
        if let Some(v) = self.cache().get(&(tree, key.to_vec())) {
            return Ok(v.clone());
        }
        let v = self.base.get(tree, key)?;
        let mut cache = self.cache();
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert((tree, key.to_vec()), v.clone());
        Ok(v)
    }

    fn range(
        &self,
        tree: Tree,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<KvPair>, StoreError> {
        if limit == 0 || range_is_empty(&start, &end) {
            return Ok(Vec::new());
        }
        let overlay: Vec<(Vec<u8>, Option<Vec<u8>>)> = {
            let pending = self.lock()?;
            pending[tree.index()]
                .range((start.clone(), end.clone()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if overlay.is_empty() {
            return self.base.range(tree, start, end, reverse, limit);
        }
        // Each pending delete can hide one base row: read that many more,
        // and the first `limit` of the merge are exactly the true first
        // `limit` (anything of the base beyond what was read sorts after
        // at least `limit` surviving rows).
        let deletes = overlay.iter().filter(|(_, v)| v.is_none()).count();
        let rows = self
            .base
            .range(tree, start, end, reverse, limit.saturating_add(deletes))?;
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = rows.into_iter().collect();
        for (k, v) in overlay {
            match v {
                Some(v) => merged.insert(k, v),
                None => merged.remove(&k),
            };
        }
        Ok(if reverse {
            merged.into_iter().rev().take(limit).collect()
        } else {
            merged.into_iter().take(limit).collect()
        })
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut pending = self.lock()?;
        for op in &batch.ops {
            match op {
                Op::Put(t, k, v) => pending[t.index()].insert(k.clone(), Some(v.clone())),
                Op::Delete(t, k) => pending[t.index()].insert(k.clone(), None),
            };
        }
        Ok(())
    }

    /// Durability is the base store's; pending writes are not on it yet, so
    /// callers apply [`OverlayKv::take_batch`] to the base first.
    fn sync(&self) -> Result<(), StoreError> {
        self.base.sync()
    }

    fn size_on_disk(&self) -> u64 {
        self.base.size_on_disk()
    }

    fn free_space(&self) -> u64 {
        self.base.free_space()
    }
}
