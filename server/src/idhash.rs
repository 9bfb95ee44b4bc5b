//! Hash maps keyed by our ids, with a cheap hasher: `rustc-hash`'s
//! FxHasher (the compiler's own), behind our names so call sites do not
//! name the crate.
//!
//! The standard hasher (SipHash-1-3) resists keys chosen to collide, at
//! about 20 ns a 16-byte key; it showed up at 2 % of the server's CPU in the
//! fan-out profile (docs/benchmarks.md), where the hub looks up every
//! member of a room. Our ids are random UUIDs the server made (v4 or v7's
//! random tail), never chosen by a client, so a multiply-and-rotate hash
//! over their bytes spreads them as well at a fraction of the cost. Never
//! key these maps by anything a client picks (names, addresses): a client
//! could then choose keys that collide and make every lookup linear.
//!
//! Until issue 18 this was a hand-written FxHash; rustc-hash 2 does the
//! same (and its `finish` already rotates the well-mixed high bits down to
//! where hashbrown picks buckets, which ours had to do by hand). A/B in
//! docs/benchmarks.md, "Libraries instead of hand-written parts".

use std::collections::{HashMap, HashSet};

/// The hasher itself, for maps that name their `BuildHasher`.
pub type IdHasher = rustc_hash::FxHasher;
pub type IdBuild = rustc_hash::FxBuildHasher;
/// A `HashMap` keyed by a server-made id.
pub type IdMap<K, V> = HashMap<K, V, IdBuild>;
/// A `HashSet` of server-made ids.
pub type IdSet<K> = HashSet<K, IdBuild>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hasher;
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
