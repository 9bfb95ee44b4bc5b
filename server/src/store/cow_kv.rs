//! [`CowKv`]: a consistent read of the whole store while writes go on.
//!
//! sled 0.34 has no snapshots: an iterator sees writes made after it was
//! opened. A backup used to pause the committer for its whole copy of the
//! records, so at 1,000,000 messages no write was acknowledged for over
//! 15 s. This layer gives the copy a fixed view instead, copy-on-write
//! style:
//!
//! - While a copy runs, the first write to a key **the copy has not reached
//!   yet** saves that key's value from before the write (its *pre-image*,
//!   `None` if it was absent) before applying it. Keys the copy has already
//!   passed are written freely: their old value is already copied.
//! - The copy reads the trees in [`Tree::ALL`] order, a bounded chunk at a
//!   time, and emits for each key its pre-image if it has one (skipping keys
//!   created since the start) and the stored value otherwise, plus the
//!   pre-images of keys deleted since the start that fall in the chunk's
//!   key range.
//!
//! A chunk's read and an `apply` exclude each other (one Mutex), so each
//! chunk sees every key either before a write (its value then is the value
//! at the start) or after it (its pre-image was saved first). The result is
//! exactly the store as it was when [`CowKv::begin`] ran, which the caller
//! does between two applied groups (the committer paused for that instant
//! only).
//!
//! Cost while a copy runs: one extra read per first write of a key ahead of
//! the copy, and memory for those pre-images (keys created since the start
//! are remembered as keys only). A write waits at most for one chunk's read
//! ([`CHUNK`] pairs). When no copy runs, `apply` takes one uncontended lock.

use super::kv::{Batch, Kv, KvPair, Op, StoreError, Tree};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

/// Pairs read per chunk: a write waits for at most one chunk's read
/// (about a millisecond for 512 small pairs from sled's cache).
pub const CHUNK: usize = 512;

/// Pre-images a copy may hold: a copy that falls this far behind the
/// writes is ended (its snapshot fails; writes never wait for memory).
/// 256 MiB is minutes of the fastest durable write rate measured here.
pub const MAX_PRE_IMAGE_BYTES: usize = 256 << 20;

/// Bookkeeping per saved pre-image besides its key and value (map node,
/// tree position, vectors' headers), roughly.
const PRE_IMAGE_OVERHEAD: usize = 64;

/// (position of the tree in [`Tree::ALL`], key) → the value at the start
/// (`None`: the key did not exist then).
type PreImages = BTreeMap<(usize, Vec<u8>), Option<Vec<u8>>>;

/// A copy in progress.
struct Copy {
    /// Which copy this is: a stale [`CowCopy`] cannot touch a later one.
    generation: u64,
    /// The tree being copied (position in [`Tree::ALL`]); `Tree::ALL.len()`
    /// once done.
    tree: usize,
    /// The last key of `tree` copied (`None`: none yet).
    after: Option<Vec<u8>>,
    /// Pre-images of keys not copied yet, written since the start.
    before: PreImages,
    /// Their approximate size, against [`MAX_PRE_IMAGE_BYTES`].
    bytes: usize,
}

impl Copy {
    /// Whether the copy has already passed `(tree, key)`.
    fn passed(&self, tree: usize, key: &[u8]) -> bool {
        tree < self.tree
            || (tree == self.tree && self.after.as_deref().is_some_and(|after| key <= after))
    }
}

pub struct CowKv {
    inner: Arc<dyn Kv>,
    /// The copy in progress, if any. A std Mutex because [`Kv`] takes
    /// `&self` and nothing here awaits: `apply` (the committer, one call at
    /// a time) and a copy's chunk read must not interleave, or a chunk could
    /// see a key written after its pre-image check. Held for one batch's
    /// apply or one chunk's read.
    copy: Mutex<Option<Copy>>,
    /// Generations handed out, so a copy's handle knows if it is current.
    generations: std::sync::atomic::AtomicU64,
}

impl CowKv {
    pub fn new(inner: Arc<dyn Kv>) -> CowKv {
        CowKv {
            inner,
            copy: Mutex::new(None),
            generations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The lock. A panic while it was held (a copy's chunk read runs on
    /// another thread) ends that copy, whose reader then gets an error; it
    /// never stops the writes.
    fn lock(&self) -> MutexGuard<'_, Option<Copy>> {
        match self.copy.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                *guard = None;
                self.copy.clear_poison();
                guard
            }
        }
    }

    /// Start a copy of the store as it is now. One at a time: a second
    /// while one runs is refused. The copy ends when the handle is dropped.
    pub fn begin(self: &Arc<Self>) -> Result<CowCopy, StoreError> {
        let mut copy = self.lock();
        if copy.is_some() {
            return Err(StoreError::Backend(
                "a snapshot copy is already running".into(),
            ));
        }
        let generation = self
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *copy = Some(Copy {
            generation,
            tree: 0,
            after: None,
            before: BTreeMap::new(),
            bytes: 0,
        });
        Ok(CowCopy {
            kv: self.clone(),
            generation,
        })
    }
}

/// A running copy: read it with [`CowCopy::next_chunk`]. Dropping it ends
/// the copy (and frees its pre-images).
pub struct CowCopy {
    kv: Arc<CowKv>,
    generation: u64,
}

impl CowCopy {
    /// The next pairs of the copy, with their tree, in key order within a
    /// tree (possibly none for a chunk whose keys were all created since the
    /// start); `None` once every tree is copied.
    pub fn next_chunk(&mut self) -> Result<Option<(Tree, Vec<KvPair>)>, StoreError> {
        let mut guard = self.kv.lock();
        let copy = match guard.as_mut() {
            Some(c) if c.generation == self.generation => c,
            _ => {
                return Err(StoreError::Backend(
                    "the snapshot copy was ended (see the server's log)".into(),
                ));
            }
        };
        let Some(&tree) = Tree::ALL.get(copy.tree) else {
            return Ok(None);
        };
        let at = copy.tree;
        let start = match &copy.after {
            Some(k) => Bound::Excluded(k.clone()),
            None => Bound::Unbounded,
        };
        let chunk = self
            .kv
            .inner
            .range(tree, start.clone(), Bound::Unbounded, false, CHUNK)?;
        let full = chunk.len() == CHUNK;
        let last_stored = chunk.last().map(|(k, _)| k.clone());
        // The key range this chunk covers: (after, last] if full, else the
        // rest of the tree.
        let end = match chunk.last() {
            Some((k, _)) if full => Bound::Included((at, k.clone())),
            _ => Bound::Excluded((at + 1, Vec::new())),
        };
        let lower = match start {
            Bound::Excluded(k) => Bound::Excluded((at, k)),
            _ => Bound::Included((at, Vec::new())),
        };
        // Every pre-image in the range: keys present now use it instead of
        // their value; the rest were deleted since the start.
        let saved: Vec<(Vec<u8>, Option<Vec<u8>>)> = copy
            .before
            .range((lower, end))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in &saved {
            copy.before.remove(&(at, k.clone()));
            copy.bytes = copy
                .bytes
                .saturating_sub(k.len() + v.as_ref().map_or(0, Vec::len) + PRE_IMAGE_OVERHEAD);
        }
        let mut out: BTreeMap<Vec<u8>, Vec<u8>> = chunk.into_iter().collect();
        for (k, pre) in saved {
            match pre {
                Some(v) => out.insert(k, v),
                None => out.remove(&k),
            };
        }
        // Advance past the chunk's last *stored* key (not a pre-image's:
        // a deleted key beyond it is still ahead), or to the next tree.
        match last_stored {
            Some(k) if full => copy.after = Some(k),
            _ => {
                copy.tree += 1;
                copy.after = None;
            }
        }
        Ok(Some((tree, out.into_iter().collect())))
    }
}

impl Drop for CowCopy {
    fn drop(&mut self) {
        let mut guard = self.kv.lock();
        if guard
            .as_ref()
            .is_some_and(|c| c.generation == self.generation)
        {
            *guard = None;
        }
    }
}

impl Kv for CowKv {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(tree, key)
    }

    fn range(
        &self,
        tree: Tree,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<KvPair>, StoreError> {
        self.inner.range(tree, start, end, reverse, limit)
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let mut overflow = false;
        if let Some(copy) = guard.as_mut() {
            for op in &batch.ops {
                let (tree, key) = match op {
                    Op::Put(t, k, _) | Op::Delete(t, k) => (*t, k),
                };
                let at = tree.index();
                if copy.passed(at, key) {
                    continue;
                }
                if let std::collections::btree_map::Entry::Vacant(slot) =
                    copy.before.entry((at, key.clone()))
                {
                    let pre = self.inner.get(tree, key)?;
                    copy.bytes += key.len() + pre.as_ref().map_or(0, Vec::len) + PRE_IMAGE_OVERHEAD;
                    slot.insert(pre);
                }
            }
            overflow = copy.bytes > MAX_PRE_IMAGE_BYTES;
        }
        if overflow {
            tracing::warn!(
                limit_mib = MAX_PRE_IMAGE_BYTES >> 20,
                "snapshot ended: the writes during it needed more memory than the limit; retry at a quieter time"
            );
            *guard = None;
        }
        self.inner.apply(batch)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }

    fn size_on_disk(&self) -> u64 {
        self.inner.size_on_disk()
    }

    fn free_space(&self) -> u64 {
        self.inner.free_space()
    }
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, CowKv};
    use crate::store::{Batch, Kv, MemoryKv, Tree};
    use std::collections::BTreeMap;
    use std::ops::Bound;
    use std::sync::Arc;

    type Dump = BTreeMap<(u8, Vec<u8>), Vec<u8>>;

    fn dump(kv: &dyn Kv) -> Dump {
        let mut out = Dump::new();
        for tree in Tree::ALL {
            for (k, v) in kv
                .range(tree, Bound::Unbounded, Bound::Unbounded, false, usize::MAX)
                .expect("range")
            {
                out.insert((tree.tag(), k), v);
            }
        }
        out
    }

    /// A small deterministic generator (no dependency for a test).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below
        }
    }

    /// Puts, overwrites, deletes and re-creations all over three trees
    /// between every chunk the copy reads: the copy is still exactly the
    /// state at its start, and the store ends with every write.
    #[test]
    fn a_copy_sees_the_start_whatever_is_written_meanwhile() {
        for seed in 1..=8u64 {
            let kv = Arc::new(CowKv::new(Arc::new(MemoryKv::new())));
            let trees = [Tree::Meta, Tree::RoomSeqEvent, Tree::HashFile];
            let key = |i: u64| format!("k{i:06}").into_bytes();
            let mut b = Batch::default();
            for (t, tree) in trees.iter().enumerate() {
                for i in 0..(CHUNK as u64 * 3 + 17) {
                    if i % 3 != t as u64 {
                        b.put(*tree, key(i * 2), format!("v{i}-{t}").into_bytes());
                    }
                }
            }
            kv.apply(&b).expect("fill");
            let start = dump(kv.as_ref());
            let mut copy = kv.begin().expect("begin");
            assert!(kv.begin().is_err(), "one copy at a time");
            let mut rng = Lcg(seed);
            let mut copied = Dump::new();
            let mut expected_end = start.clone();
            let keys = CHUNK as u64 * 6 + 40;
            while let Some((tree, chunk)) = copy.next_chunk().expect("chunk") {
                let mut last: Option<Vec<u8>> = None;
                for (k, v) in chunk {
                    assert!(last.as_ref().is_none_or(|l| *l < k), "in key order");
                    last = Some(k.clone());
                    let fresh = copied.insert((tree.tag(), k), v);
                    assert!(fresh.is_none(), "each key once");
                }
                let mut b = Batch::default();
                for _ in 0..rng.next(300) {
                    let tree = trees[rng.next(3) as usize];
                    let k = key(rng.next(keys));
                    if rng.next(3) == 0 {
                        b.delete(tree, k.clone());
                        expected_end.remove(&(tree.tag(), k));
                    } else {
                        let v = format!("new{}", rng.next(1000)).into_bytes();
                        b.put(tree, k.clone(), v.clone());
                        expected_end.insert((tree.tag(), k), v);
                    }
                }
                kv.apply(&b).expect("write during the copy");
            }
            assert_eq!(copied, start, "seed {seed}: the copy is the start");
            assert_eq!(dump(kv.as_ref()), expected_end, "every write applied");
            drop(copy);
            assert!(kv.begin().is_ok(), "a dropped copy frees the slot");
        }
    }

    #[test]
    fn a_dropped_copy_stops_saving_pre_images() {
        let kv = Arc::new(CowKv::new(Arc::new(MemoryKv::new())));
        let copy = kv.begin().expect("begin");
        drop(copy);
        let mut b = Batch::default();
        b.put(Tree::Meta, b"a".to_vec(), b"1".to_vec());
        kv.apply(&b).expect("apply");
        assert!(kv.lock().is_none());
    }

    #[test]
    fn a_panic_during_a_copy_ends_it_and_writes_go_on() {
        let kv = Arc::new(CowKv::new(Arc::new(MemoryKv::new())));
        let mut copy = kv.begin().expect("begin");
        let poisoner = kv.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.copy.lock();
            panic!("a chunk read failed");
        })
        .join();
        assert!(kv.copy.is_poisoned());
        let mut b = Batch::default();
        b.put(Tree::Meta, b"a".to_vec(), b"1".to_vec());
        kv.apply(&b).expect("writes go on");
        assert!(copy.next_chunk().is_err(), "the copy was ended");
        assert!(kv.begin().is_ok(), "and a new one may start");
    }

    #[test]
    fn a_copy_too_far_behind_the_writes_is_ended_not_the_writes() {
        let kv = Arc::new(CowKv::new(Arc::new(MemoryKv::new())));
        let mut copy = kv.begin().expect("begin");
        let big = vec![7u8; 1 << 20];
        for i in 0..(super::MAX_PRE_IMAGE_BYTES >> 20) + 2 {
            // Each key first existed with a big value, then is overwritten
            // during the copy: its pre-image is big.
            let mut b = Batch::default();
            b.put(
                Tree::RoomSeqEvent,
                (i as u64).to_be_bytes().to_vec(),
                big.clone(),
            );
            kv.inner.apply(&b).expect("before");
            let mut b = Batch::default();
            b.put(
                Tree::RoomSeqEvent,
                (i as u64).to_be_bytes().to_vec(),
                b"x".to_vec(),
            );
            kv.apply(&b).expect("a write is never refused");
        }
        assert!(kv.lock().is_none(), "the copy was ended");
        assert!(copy.next_chunk().is_err());
    }
}
