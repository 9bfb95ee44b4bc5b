//! Hash maps keyed by our ids, with a cheap hasher.
//!
//! The standard hasher (SipHash-1-3) resists keys chosen to collide, at
//! about 20 ns a 16-byte key; it showed up at 2 % of the server's CPU in the
//! fan-out profile (docs/benchmarks.md), where the hub looks up every
//! member of a room. Our ids are random UUIDs the server made (v4 or v7's
//! random tail), never chosen by a client, so a multiply-and-rotate hash
//! (FxHash's) over their bytes spreads them as well at a fraction of the cost.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style: fold each 8-byte word in with a rotate, xor and multiply.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    /// The multiply leaves the low bits depending only on the low bits of
    /// the input, and hash tables pick buckets by the low bits: mix the high
    /// half down (ids made in the same millisecond differ mostly in a
    /// counter, so without this they crowd a few buckets: measured by the
    /// test below).
    #[inline]
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 29)).wrapping_mul(SEED) ^ (h >> 32)
    }
}

pub type IdBuild = BuildHasherDefault<IdHasher>;
/// A `HashMap` keyed by a server-made id.
pub type IdMap<K, V> = HashMap<K, V, IdBuild>;
/// A `HashSet` of server-made ids.
pub type IdSet<K> = HashSet<K, IdBuild>;

#[cfg(test)]
mod tests {
    use super::*;
    use townhall_protocol::UserId;

    #[test]
    fn ids_spread_over_buckets() {
        // 10,000 random ids into 1,024 buckets by the low bits (what
        // hashbrown uses): no bucket should hold far more than its share.
        let mut buckets = vec![0u32; 1024];
        for _ in 0..10_000 {
            let mut h = IdHasher::default();
            std::hash::Hash::hash(&UserId::new(), &mut h);
            buckets[(h.finish() & 1023) as usize] += 1;
        }
        let max = buckets.iter().copied().max().unwrap_or(0);
        assert!(max < 40, "a bucket got {max} of 10,000 (share ~10)");
    }

    #[test]
    fn maps_work_as_maps() {
        let mut m: IdMap<UserId, u32> = IdMap::default();
        let ids: Vec<UserId> = (0..1000).map(|_| UserId::new()).collect();
        for (i, id) in ids.iter().enumerate() {
            m.insert(*id, i as u32);
        }
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(m.get(id), Some(&(i as u32)));
        }
    }
}
