//! [`Kv`] in memory: the reference implementation for fast unit tests. It
//! forgets everything when dropped; production always uses [`super::SledKv`].

use super::kv::{Batch, Kv, KvPair, Op, StoreError, Tree, range_is_empty};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

type Trees = BTreeMap<Tree, BTreeMap<Vec<u8>, Vec<u8>>>;

#[derive(Default)]
pub struct MemoryKv {
    /// One map per tree. A std Mutex: every operation is short and never
    /// awaits, and one lock makes a batch atomic across trees for free.
    trees: Mutex<Trees>,
}

impl MemoryKv {
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Trees>, StoreError> {
        self.trees
            .lock()
            .map_err(|_| StoreError::Backend("memory store poisoned".into()))
    }
}

impl Kv for MemoryKv {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.get(&tree).and_then(|t| t.get(key).cloned()))
    }

    fn range(
        &self,
        tree: Tree,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<KvPair>, StoreError> {
        let trees = self.lock()?;
        let Some(t) = trees.get(&tree) else {
            return Ok(Vec::new());
        };
        // BTreeMap::range panics on an inverted or empty-excluded range.
        if range_is_empty(&start, &end) {
            return Ok(Vec::new());
        }
        let iter = t.range((start, end)).map(|(k, v)| (k.clone(), v.clone()));
        Ok(if reverse {
            iter.rev().take(limit).collect()
        } else {
            iter.take(limit).collect()
        })
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let mut trees = self.lock()?;
        for op in &batch.ops {
            match op {
                Op::Put(t, k, v) => {
                    trees.entry(*t).or_default().insert(k.clone(), v.clone());
                }
                Op::Delete(t, k) => {
                    if let Some(map) = trees.get_mut(t) {
                        map.remove(k);
                    }
                }
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn size_on_disk(&self) -> u64 {
        0
    }

    fn free_space(&self) -> u64 {
        u64::MAX
    }
}
