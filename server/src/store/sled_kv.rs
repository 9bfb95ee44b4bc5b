//! [`Kv`] on sled 0.34.7, the production store.
//!
//! Durability: sled's `flush()` writes its buffers but on Linux ends in
//! `sync_file_range`, which is not an fsync. [`SledKv::sync`] therefore
//! follows it with `fdatasync` on sled's data file; `docs/architecture.md`
//! records the strace check. `flush_async` is never called (it deadlocks in
//! 0.34.7 under concurrency).

use super::kv::{Batch, Kv, KvPair, Op, StoreError, Tree};
use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct SledKv {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    /// sled's data file, opened once so each sync costs one fdatasync.
    /// A Mutex because `File::sync_data` takes `&self` but two syncs at once
    /// would be wasted work; only the committer calls it, so it never waits.
    data_file: Mutex<File>,
    /// The highest-numbered blob file already fsynced. sled writes a log
    /// record over about a quarter of a segment (a leaf holding several large
    /// messages) to `blobs/<lsn>` and never fsyncs it; `sync` does. A Mutex
    /// for the same reason as `data_file`.
    blobs_synced: Mutex<Option<u64>>,
    path: PathBuf,
}

/// Page cache for sled. The default (1 GB) is far more than a chat server's
/// hot set (recent events of active rooms, memberships); 256 MiB keeps RSS
/// predictable. Configurable with `--cache-mb`.
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

impl SledKv {
    pub fn open(path: &Path, cache_bytes: u64) -> Result<SledKv, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| {
            StoreError::Backend(format!("cannot create data folder {}: {e}", path.display()))
        })?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("lock") || text.contains("WouldBlock") {
                    StoreError::Locked(format!("{}: {text}", path.display()))
                } else {
                    StoreError::Backend(text)
                }
            })?;
        let mut trees = Vec::with_capacity(Tree::ALL.len());
        for tree in Tree::ALL {
            trees.push(db.open_tree(tree.name()).map_err(backend)?);
        }
        let data_file = File::open(path.join("db")).map_err(|e| {
            StoreError::Backend(format!("cannot open sled data file for fsync: {e}"))
        })?;
        Ok(SledKv {
            db,
            trees,
            data_file: Mutex::new(data_file),
            blobs_synced: Mutex::new(None),
            path: path.to_path_buf(),
        })
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree.index()]
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl Kv for SledKv {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tree(tree)
            .get(key)
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    fn range(
        &self,
        tree: Tree,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<KvPair>, StoreError> {
        let iter = self.tree(tree).range((start, end));
        let mut out = Vec::new();
        let mut push = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool, StoreError> {
            let (k, v) = item.map_err(backend)?;
            out.push((k.to_vec(), v.to_vec()));
            Ok(out.len() < limit)
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        if reverse {
            for item in iter.rev() {
                if !push(item)? {
                    break;
                }
            }
        } else {
            for item in iter {
                if !push(item)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        // Group the writes by tree. One tree: a sled batch (atomic within a
        // tree). Several: one transaction over just those trees.
        let mut by_tree: BTreeMap<Tree, sled::Batch> = BTreeMap::new();
        for op in &batch.ops {
            match op {
                Op::Put(t, k, v) => by_tree
                    .entry(*t)
                    .or_default()
                    .insert(k.as_slice(), v.as_slice()),
                Op::Delete(t, k) => by_tree.entry(*t).or_default().remove(k.as_slice()),
            }
        }
        if by_tree.len() <= 1 {
            if let Some((tree, b)) = by_tree.into_iter().next() {
                self.tree(tree).apply_batch(b).map_err(backend)?;
            }
            return Ok(());
        }
        let order: Vec<Tree> = by_tree.keys().copied().collect();
        let trees: Vec<&sled::Tree> = order.iter().map(|t| self.tree(*t)).collect();
        use sled::Transactional;
        trees
            .as_slice()
            .transaction(|views| {
                for (i, tree) in order.iter().enumerate() {
                    if let Some(b) = by_tree.get(tree) {
                        views[i].apply_batch(b)?;
                    }
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StoreError::Backend(format!("transaction: {e:?}")))
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(backend)?;
        self.sync_new_blobs()?;
        let file = self
            .data_file
            .lock()
            .map_err(|_| StoreError::Backend("fsync handle poisoned".into()))?;
        file.sync_data()
            .map_err(|e| StoreError::Backend(format!("fdatasync: {e}")))
    }

    fn size_on_disk(&self) -> u64 {
        dir_size(&self.path)
    }

    fn free_space(&self) -> u64 {
        match rustix::fs::statvfs(&self.path) {
            Ok(s) => s.f_bavail.saturating_mul(s.f_frsize),
            // Unknown: do not refuse writes on a failed statvfs.
            Err(_) => u64::MAX,
        }
    }
}

impl SledKv {
    /// fsync every blob file written since the last sync, then the blobs
    /// folder (so the new names are durable too). Blob files are named by
    /// their log sequence number, so "new" is "numbered above the last one
    /// synced". Before the log that points at them is fsynced.
    fn sync_new_blobs(&self) -> Result<(), StoreError> {
        let dir = self.path.join("blobs");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(()); // no blobs folder yet: nothing was written there
        };
        let mut synced = self
            .blobs_synced
            .lock()
            .map_err(|_| StoreError::Backend("blob fsync state poisoned".into()))?;
        let mut newest = *synced;
        let mut any = false;
        for entry in entries.flatten() {
            let Some(lsn) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if synced.is_some_and(|s| lsn <= s) {
                continue;
            }
            match File::open(entry.path()).and_then(|f| f.sync_all()) {
                Ok(()) => {}
                // sled reclaimed it meanwhile: nothing to make durable.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Backend(format!("fsync blob {lsn}: {e}"))),
            }
            newest = Some(newest.map_or(lsn, |n: u64| n.max(lsn)));
            any = true;
        }
        if any {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StoreError::Backend(format!("fsync blobs folder: {e}")))?;
            *synced = newest;
        }
        Ok(())
    }
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
