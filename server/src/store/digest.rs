//! A digest of the whole store: SHA-256 over every tree's pairs in key
//! order. Two nodes that applied the same log to the same sequence have the
//! same digest; any difference (a clock, a random id or a map's order read
//! inside apply) shows up here. Served at `GET /api/admin/digest`.

use super::{Store, StoreError, Tree};
use sha2::{Digest, Sha256};
use std::ops::Bound;

/// Pairs read per range call: bounded, so no iterator stays open long.
const CHUNK: usize = 4096;

impl Store {
    /// The digest and the number of pairs it covers.
    pub fn digest(&self) -> Result<([u8; 32], u64), StoreError> {
        let (all, pairs, _) = self.digest_by_tree()?;
        Ok((all, pairs))
    }

    /// The digest, the pairs it covers, and each tree's own digest (to
    /// find where two nodes differ).
    #[allow(clippy::type_complexity)]
    pub fn digest_by_tree(
        &self,
    ) -> Result<([u8; 32], u64, Vec<(&'static str, [u8; 32])>), StoreError> {
        let mut hash = Sha256::new();
        let mut pairs = 0u64;
        let mut trees = Vec::with_capacity(Tree::ALL.len());
        for tree in Tree::ALL {
            let mut one = Sha256::new();
            hash.update([tree.tag()]);
            pairs += self.walk(tree, |k, v| {
                for h in [&mut hash, &mut one] {
                    h.update((k.len() as u64).to_be_bytes());
                    h.update(k);
                    h.update((v.len() as u64).to_be_bytes());
                    h.update(v);
                }
                Ok(())
            })?;
            trees.push((tree.name(), one.finalize().into()));
        }
        Ok((hash.finalize().into(), pairs, trees))
    }

    /// Call `f` on every pair of `tree`, in key order, a bounded chunk at a
    /// time (no iterator stays open); returns how many pairs.
    pub(super) fn walk(
        &self,
        tree: Tree,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut pairs = 0u64;
        let mut start = Bound::Unbounded;
        loop {
            let chunk = self.kv.range(tree, start, Bound::Unbounded, false, CHUNK)?;
            for (k, v) in &chunk {
                f(k, v)?;
            }
            pairs += chunk.len() as u64;
            match chunk.last() {
                Some((k, _)) if chunk.len() == CHUNK => start = Bound::Excluded(k.clone()),
                _ => return Ok(pairs),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Batch, Store, Tree};

    #[test]
    fn equal_contents_give_equal_digests_and_any_change_shows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sled = Store::open_sled(&dir.path().join("db"), 8 * 1024 * 1024).expect("sled");
        let memory = Store::memory();
        let mut b = Batch::default();
        for i in 0u32..10_000 {
            b.put(Tree::RoomSeqEvent, i.to_be_bytes().to_vec(), vec![7; 10]);
        }
        b.put(Tree::Meta, b"x".to_vec(), b"y".to_vec());
        sled.apply(&b).expect("apply");
        memory.apply(&b).expect("apply");
        let (a, n) = sled.digest().expect("digest");
        assert_eq!(n, 10_001);
        assert_eq!(memory.digest().expect("digest"), (a, n));
        let mut b = Batch::default();
        b.put(Tree::RoomSeqEvent, 5u32.to_be_bytes().to_vec(), vec![8; 10]);
        memory.apply(&b).expect("apply");
        assert_ne!(memory.digest().expect("digest").0, a);
    }
}
