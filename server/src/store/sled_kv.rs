//! [`Kv`] on sled 0.34.7, the production store: the on-disk layout, the
//! durability point, and the move of older data folders into that layout.
//!
//! Layout (schema 3): every logical [`Tree`] lives in **one** sled tree,
//! each key prefixed by the tree's one-byte [`Tree::tag`]. A group commit is
//! then one `apply_batch` (atomic within a tree) instead of a sled
//! transaction over several trees, which cost about a quarter of the
//! server's CPU in durable sends (a read of every key before the write, and
//! the transaction's bookkeeping). The tree is sled's default one (`db`
//! itself): it always exists, so the layout needs no name of its own, and no
//! build before schema 3 ever wrote it, so whatever it holds is this layout.
//!
//! Older folders (schema 1 and 2: one sled tree per logical tree, named
//! [`Tree::name`]) are moved by [`SledKv::open`]; see [`SledKv::upgrade_layout`]
//! for the steps and why a crash at any point loses nothing. Afterwards the
//! old named `meta` tree keeps one record, schema 3, so a build of schema 2
//! or older, which reads its schema there, refuses the folder as newer
//! instead of seeing an empty store and starting over.
//!
//! Durability: sled's `flush()` writes its buffers but on Linux ends in
//! `sync_file_range`, which is not an fsync. [`SledKv::sync`] therefore
//! follows it with `fdatasync` on sled's data file; `docs/architecture.md`
//! records the strace check. `flush_async` is never called (it deadlocks in
//! 0.34.7 under concurrency).

use super::keys;
use super::kv::{Batch, Kv, KvPair, Op, StoreError, Tree, range_is_empty};
use std::fs::File;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

pub struct SledKv {
    /// The database; its default tree holds every logical tree (see the
    /// module header).
    db: sled::Db,
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

/// The schema at which the data moved into one sled tree: the value left in
/// the old named `meta` tree (under `keys::META_SCHEMA_VERSION`) once the
/// data is out of it. A value of 3 or more there is never a real schema (the
/// builds that used that tree knew up to 2), so it is never copied.
pub(super) const ONE_TREE_SCHEMA: u64 = 3;

/// Entries copied per `apply_batch` when moving an old folder: large enough
/// that a million-message folder takes a hundred batches, small enough that
/// one batch (owned copies of every key and value in it) stays a few MiB.
const UPGRADE_CHUNK_ENTRIES: usize = 10_000;

/// Bytes of keys and values per copy batch, whatever the count: 10,000
/// entries of large messages would otherwise hold hundreds of MiB at once.
const UPGRADE_CHUNK_BYTES: usize = 16 * 1024 * 1024;

impl SledKv {
    /// Open (or create) the data folder, moving an older layout into the
    /// current one first. Returns only once the folder is entirely in the
    /// current layout and that is durable.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<SledKv, StoreError> {
        let kv = SledKv::open_as_is(path, cache_bytes)?;
        kv.upgrade_layout()?;
        Ok(kv)
    }

    /// Open without touching the layout (tests use it to stage an upgrade
    /// interrupted at a chosen step).
    fn open_as_is(path: &Path, cache_bytes: u64) -> Result<SledKv, StoreError> {
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
        let data_file = File::open(path.join("db")).map_err(|e| {
            StoreError::Backend(format!("cannot open sled data file for fsync: {e}"))
        })?;
        Ok(SledKv {
            db,
            data_file: Mutex::new(data_file),
            blobs_synced: Mutex::new(None),
            path: path.to_path_buf(),
        })
    }

    /// Move the data of the old layout (one sled tree per logical tree) into
    /// the one tree, then leave only the schema-3 record in the old `meta`.
    /// On a folder already in this layout it reads the marker and does
    /// nothing (beyond dropping empty old trees a refused older build made).
    ///
    /// Steps, each one durable before the next starts:
    /// 1. copy every old tree holding data into the one tree, with the tag
    ///    prefix, in bounded batches; sync;
    /// 2. in the old `meta` tree, remove everything and write schema 3, as
    ///    one batch (atomic: that tree is either untouched or the marker
    ///    alone); sync;
    /// 3. drop the other old trees; sync.
    ///
    /// A crash anywhere is repaired by running the steps again at the next
    /// open, and nothing can be lost:
    /// - before step 2 is durable, the old trees are complete and still the
    ///   only truth, and an older build could even have run on them
    ///   meanwhile, so the one tree may hold a partial or stale copy: it is
    ///   cleared and the copy starts over;
    /// - after step 2, the old trees left are exactly what step 1 copied and
    ///   made durable: a build of schema 2 or older refuses the folder once
    ///   the marker is there, and this build serves nothing (and writes
    ///   nothing through [`Kv`]) until `open` returns, which is after step 3.
    ///   So copying them again overwrites each key with the value it already
    ///   has, never newer data with older. The old `meta` is not copied
    ///   again: it holds only the marker, whose 3 must not replace the
    ///   copied schema 1 or 2 (that would skip the 1 → 2 index build in
    ///   `Store::init`).
    fn upgrade_layout(&self) -> Result<(), StoreError> {
        let names = self.db.tree_names();
        let exists = |tree: Tree| names.iter().any(|n| n.as_ref() == tree.name().as_bytes());
        let marker = if exists(Tree::Meta) {
            let meta = self.db.open_tree(Tree::Meta.name()).map_err(backend)?;
            match meta.get(keys::META_SCHEMA_VERSION).map_err(backend)? {
                Some(v) => Some(keys::read_u64("meta", &v)?),
                None => None,
            }
        } else {
            None
        };
        if let Some(found) = marker
            && found > ONE_TREE_SCHEMA
        {
            return Err(StoreError::Backend(format!(
                "data folder has schema {found}, this build knows up to {ONE_TREE_SCHEMA}"
            )));
        }
        let marked = marker == Some(ONE_TREE_SCHEMA);
        // Once marked, the old meta holds the marker alone (step 2 is one
        // batch), so only the other old trees can still hold data.
        let mut to_copy = Vec::new();
        for tree in Tree::ALL {
            if !exists(tree) || (tree == Tree::Meta && marked) {
                continue;
            }
            let old = self.db.open_tree(tree.name()).map_err(backend)?;
            if !old.is_empty() {
                to_copy.push(tree);
            }
        }

        if !to_copy.is_empty() {
            let started = Instant::now();
            if !marked {
                self.discard_partial_copy()?;
            }
            let mut entries = 0u64;
            for &tree in &to_copy {
                entries += self.copy_old_tree(tree)?;
            }
            self.sync()?; // step 1 durable before anything old goes away
            tracing::info!(
                entries,
                trees = to_copy.len(),
                resumed = marked,
                millis = started.elapsed().as_millis() as u64,
                "schema 3: copied the data into one sled tree"
            );
        }
        if !marked {
            // Also on a new folder, so an older build refuses it as well.
            self.mark_old_meta()?;
            self.sync()?; // the marker durable before any old tree is dropped
        }
        let mut dropped = 0usize;
        for tree in Tree::ALL {
            // Empty ones too: an older build that was refused still created
            // its trees when it opened the folder.
            if tree != Tree::Meta && exists(tree) {
                self.db.drop_tree(tree.name()).map_err(backend)?;
                dropped += 1;
            }
        }
        if dropped > 0 {
            self.sync()?;
            tracing::info!(dropped, "schema 3: dropped the old per-relation sled trees");
        }
        Ok(())
    }

    /// Before a fresh copy (the old meta not yet marked): the one tree can
    /// only hold what an interrupted copy left, because this build marks the
    /// old meta before it ever returns from `open`. Refuse rather than clear
    /// if it says otherwise (it was committed to as schema 3).
    fn discard_partial_copy(&self) -> Result<(), StoreError> {
        if let Some(v) = self
            .db
            .get(prefixed(Tree::Meta, keys::META_SCHEMA_VERSION))
            .map_err(backend)?
            && keys::read_u64("meta", &v)? >= ONE_TREE_SCHEMA
        {
            return Err(StoreError::Backend(
                "data folder holds data in both the old and the new layout; \
                 refusing to guess which is current"
                    .into(),
            ));
        }
        if !self.db.is_empty() {
            tracing::info!("schema 3: discarding the partial copy of an interrupted upgrade");
            self.db.clear().map_err(backend)?;
        }
        Ok(())
    }

    /// Copy one old named tree into the one tree, prefixed with its tag, in
    /// bounded batches. Returns the number of entries copied.
    fn copy_old_tree(&self, tree: Tree) -> Result<u64, StoreError> {
        let old = self.db.open_tree(tree.name()).map_err(backend)?;
        let mut batch = sled::Batch::default();
        let (mut in_batch, mut bytes, mut copied) = (0usize, 0usize, 0u64);
        for item in old.iter() {
            let (k, v) = item.map_err(backend)?;
            bytes += k.len() + 1 + v.len();
            batch.insert(prefixed(tree, &k), v);
            in_batch += 1;
            copied += 1;
            if in_batch >= UPGRADE_CHUNK_ENTRIES || bytes >= UPGRADE_CHUNK_BYTES {
                self.db
                    .apply_batch(std::mem::take(&mut batch))
                    .map_err(backend)?;
                (in_batch, bytes) = (0, 0);
            }
        }
        if in_batch > 0 {
            self.db.apply_batch(batch).map_err(backend)?;
        }
        Ok(copied)
    }

    /// Leave in the old named `meta` tree only `schema_version` = 3, in one
    /// batch. The tree holds a handful of keys (schema, last position, org
    /// room), so reading them all at once is bounded.
    fn mark_old_meta(&self) -> Result<(), StoreError> {
        let meta = self.db.open_tree(Tree::Meta.name()).map_err(backend)?;
        let mut batch = sled::Batch::default();
        for key in meta.iter().keys() {
            batch.remove(key.map_err(backend)?);
        }
        batch.insert(keys::META_SCHEMA_VERSION, keys::u64_value(ONE_TREE_SCHEMA));
        meta.apply_batch(batch).map_err(backend)
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A logical tree's key as stored: its tag, then the key.
fn prefixed(tree: Tree, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(tree.tag());
    k.extend_from_slice(key);
    k
}

/// The stored form of a logical range's start: an unbounded start is the
/// tree's first possible key (its tag alone, the empty logical key).
fn stored_start(tree: Tree, start: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match start {
        Bound::Included(k) => Bound::Included(prefixed(tree, k)),
        Bound::Excluded(k) => Bound::Excluded(prefixed(tree, k)),
        Bound::Unbounded => Bound::Included(vec![tree.tag()]),
    }
}

/// The stored form of a logical range's end: an unbounded end stops before
/// the next tag. Tag 255 has no next tag, and nothing sorts after it.
fn stored_end(tree: Tree, end: &Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match end {
        Bound::Included(k) => Bound::Included(prefixed(tree, k)),
        Bound::Excluded(k) => Bound::Excluded(prefixed(tree, k)),
        Bound::Unbounded => match tree.tag().checked_add(1) {
            Some(next) => Bound::Excluded(vec![next]),
            None => Bound::Unbounded,
        },
    }
}

impl Kv for SledKv {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get(prefixed(tree, key))
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
        if limit == 0 || range_is_empty(&start, &end) {
            return Ok(Vec::new());
        }
        let iter = self
            .db
            .range((stored_start(tree, &start), stored_end(tree, &end)));
        let mut out = Vec::new();
        let mut push = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<bool, StoreError> {
            let (k, v) = item.map_err(backend)?;
            match k.split_first() {
                Some((&tag, key)) if tag == tree.tag() => out.push((key.to_vec(), v.to_vec())),
                // The bounds keep a scan inside its tag; anything else is a bug.
                _ => {
                    return Err(StoreError::Corrupt {
                        tree: tree.name(),
                        detail: "range read a key of another tree".into(),
                    });
                }
            }
            Ok(out.len() < limit)
        };
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
        if batch.is_empty() {
            return Ok(());
        }
        // One sled batch on one tree: atomic, and no transaction. A later
        // write of the same key replaces an earlier one in the batch, so the
        // last op wins, as in the order given.
        let mut b = sled::Batch::default();
        for op in &batch.ops {
            match op {
                Op::Put(t, k, v) => b.insert(prefixed(*t, k), v.as_slice()),
                Op::Delete(t, k) => b.remove(prefixed(*t, k)),
            }
        }
        self.db.apply_batch(b).map_err(backend)
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

#[cfg(test)]
mod tests {
    //! The layout in one sled tree: ranges stay inside their logical tree,
    //! and folders of the old layout (one sled tree per relation) move into
    //! it whole, also when a move was interrupted at any step.
    use super::*;
    use crate::store::{MemoryKv, SCHEMA_VERSION, Store, put_event};
    use std::collections::BTreeSet;
    use std::time::Duration;
    use townhall_protocol::{Content, Event, Role, RoomId, ServerFrame, UserId, UserInfo};

    const CACHE: u64 = 8 * 1024 * 1024;

    /// sled's background flusher holds the folder's lock a moment after the
    /// last handle drops: retry (bounded), as a restarted process would.
    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    fn open_kv(path: &Path) -> Result<SledKv, StoreError> {
        let until = deadline();
        loop {
            match SledKv::open(path, CACHE) {
                Err(StoreError::Locked(_)) if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn open_as_is(path: &Path) -> SledKv {
        let until = deadline();
        loop {
            match SledKv::open_as_is(path, CACHE) {
                Ok(kv) => return kv,
                Err(StoreError::Locked(_)) if Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("open as is: {e}"),
            }
        }
    }

    /// sled itself, as an older build (or this test) opens it.
    fn raw_db(path: &Path) -> sled::Db {
        let until = deadline();
        loop {
            match sled::Config::new().path(path).cache_capacity(CACHE).open() {
                Ok(db) => return db,
                Err(_) if Instant::now() < until => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("open sled: {e}"),
            }
        }
    }

    /// Every logical entry, tree by tree.
    fn dump(kv: &dyn Kv) -> Vec<(Tree, Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for tree in Tree::ALL {
            let rows = kv
                .range(tree, Bound::Unbounded, Bound::Unbounded, false, usize::MAX)
                .expect("range");
            out.extend(rows.into_iter().map(|(k, v)| (tree, k, v)));
        }
        out
    }

    fn expected(data: &Batch) -> Vec<(Tree, Vec<u8>, Vec<u8>)> {
        let kv = MemoryKv::new();
        kv.apply(data).expect("apply");
        dump(&kv)
    }

    /// Keys in several relations, with the edges of a prefix layout (the
    /// empty key, keys of 0xff bytes, the first and the last tag), and
    /// `events` messages (more than one copy batch holds, when asked).
    fn old_data(schema: u64, events: u64) -> Batch {
        let mut b = Batch::default();
        b.put(
            Tree::Meta,
            keys::META_SCHEMA_VERSION,
            keys::u64_value(schema),
        );
        b.put(Tree::Meta, keys::META_LAST_POS, keys::u64_value(events));
        b.put(Tree::Meta, keys::META_ORG_ROOM, [7u8; 16]);
        b.put(Tree::UserRecord, [1u8; 16], b"alice".to_vec());
        b.put(Tree::UserRecord, [2u8; 16], b"bob".to_vec());
        b.put(Tree::UsernameUser, b"alice".to_vec(), [1u8; 16]);
        b.put(Tree::UsernameUser, b"bob".to_vec(), [2u8; 16]);
        b.put(Tree::UserRoomRead, Vec::new(), b"the empty key".to_vec());
        b.put(Tree::UserRoomRead, vec![0xff; 3], b"an 0xff key".to_vec());
        b.put(Tree::RoomThreadReply, vec![0xff; 40], Vec::new());
        b.put(Tree::RoomThreadReply, vec![0x00], Vec::new());
        let room = RoomId::from_bytes([9; 16]);
        for seq in 1..=events {
            b.put(
                Tree::RoomSeqEvent,
                keys::room_seq(room, seq),
                format!("event {seq}").into_bytes(),
            );
        }
        b
    }

    /// A data folder as a build of schema 2 (or 1) leaves it: one sled tree
    /// per relation named `Tree::name`, all of them created (that build
    /// opened every one at start), holding `data`.
    fn write_old_layout(path: &Path, data: &Batch) {
        let db = raw_db(path);
        for tree in Tree::ALL {
            let named = db.open_tree(tree.name()).expect("open tree");
            let mut b = sled::Batch::default();
            for op in &data.ops {
                match op {
                    Op::Put(t, k, v) if *t == tree => b.insert(k.as_slice(), v.as_slice()),
                    Op::Delete(t, k) if *t == tree => b.remove(k.as_slice()),
                    _ => {}
                }
            }
            named.apply_batch(b).expect("write old tree");
        }
        db.flush().expect("flush");
    }

    /// What a build of schema 2 finds: the named trees of our relations
    /// that exist, and the schema in the named `meta` tree, which its
    /// `Store::init` compares with its own 2.
    fn old_build_view(path: &Path) -> (Vec<&'static str>, Vec<KvPair>) {
        let db = raw_db(path);
        let names = db.tree_names();
        let present: Vec<&'static str> = Tree::ALL
            .iter()
            .map(|t| t.name())
            .filter(|n| names.iter().any(|x| x.as_ref() == n.as_bytes()))
            .collect();
        let meta = if present.contains(&"meta") {
            db.open_tree("meta")
                .expect("meta")
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("read"))
                .collect()
        } else {
            Vec::new()
        };
        (present, meta)
    }

    /// Moved: every entry reads through the new layout, and only the
    /// schema-3 marker is left of the old trees, which an older build
    /// refuses.
    fn assert_moved(path: &Path, want: &[(Tree, Vec<u8>, Vec<u8>)], why: &str) {
        let kv = open_kv(path).expect("open");
        let got = dump(&kv);
        assert_eq!(got.len(), want.len(), "{why}: entry count");
        assert!(got == want, "{why}: entries differ");
        drop(kv);
        let (present, meta) = old_build_view(path);
        assert_eq!(present, vec!["meta"], "{why}: old trees left");
        assert_eq!(
            meta,
            vec![(
                keys::META_SCHEMA_VERSION.to_vec(),
                keys::u64_value(ONE_TREE_SCHEMA)
            )],
            "{why}: the old meta holds the marker alone"
        );
    }

    /// The whole default tree, raw: to see that a reopen wrote nothing.
    fn raw_contents(kv: &SledKv) -> Vec<KvPair> {
        kv.db
            .iter()
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("read"))
            .collect()
    }

    #[test]
    fn ranges_never_leak_into_the_neighbouring_tree() {
        // The first tag, one in the middle, the last, with their neighbours,
        // each holding the edge keys of a prefix layout.
        let edges: [&[u8]; 9] = [
            &[],
            &[0],
            &[0, 0],
            &[1],
            &[0x7f],
            &[0xfe],
            &[0xff],
            &[0xff, 0xff],
            &[0xff, 0xff, 0xff],
        ];
        let trees = [
            Tree::Meta,
            Tree::UserRecord,
            Tree::UsernameUser,
            Tree::UserRoomMember,
            Tree::RoomSeqEvent,
            Tree::UserClientAck,
            Tree::RoomSeqMention,
            Tree::RoomThreadReply,
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        let sled = open_kv(&dir.path().join("db")).expect("open");
        let memory = MemoryKv::new();
        let mut b = Batch::default();
        for tree in trees {
            for (i, k) in edges.iter().enumerate() {
                b.put(tree, k.to_vec(), vec![tree.tag(), i as u8]);
            }
        }
        sled.apply(&b).expect("apply");
        memory.apply(&b).expect("apply");

        // Bounds on every edge key and on keys in between.
        let mut points: Vec<Vec<u8>> = edges.iter().map(|k| k.to_vec()).collect();
        points.extend([vec![0, 1], vec![0x80], vec![0xff, 0]]);
        let mut bounds = vec![Bound::Unbounded];
        for p in &points {
            bounds.push(Bound::Included(p.clone()));
            bounds.push(Bound::Excluded(p.clone()));
        }
        for tree in trees {
            for k in &points {
                assert_eq!(
                    sled.get(tree, k).expect("get"),
                    memory.get(tree, k).expect("get"),
                    "{} get {k:?}",
                    tree.name()
                );
            }
            assert_ranges_match(&sled, &memory, tree, &bounds, &[0, 1, 2, 5, 100]);
        }
    }

    /// Every range over `bounds` × `bounds`, both directions, each limit:
    /// the same on sled as on the memory store.
    fn assert_ranges_match(
        sled: &SledKv,
        memory: &MemoryKv,
        tree: Tree,
        bounds: &[Bound<Vec<u8>>],
        limits: &[usize],
    ) {
        for start in bounds {
            for end in bounds {
                for reverse in [false, true] {
                    for &limit in limits {
                        let got = sled
                            .range(tree, start.clone(), end.clone(), reverse, limit)
                            .expect("range");
                        let want = memory
                            .range(tree, start.clone(), end.clone(), reverse, limit)
                            .expect("range");
                        assert_eq!(
                            got,
                            want,
                            "{} {start:?}..{end:?} reverse {reverse} limit {limit}",
                            tree.name()
                        );
                    }
                }
            }
        }
    }

    /// The same comparison with thousands of keys in adjacent trees, so
    /// that scans cross sled's node boundaries (forward and backward, from
    /// the middle of the one tree) instead of staying in one leaf.
    #[test]
    fn ranges_across_many_nodes_match_the_memory_store() {
        let trees = [Tree::UserRecord, Tree::UsernameUser, Tree::RoomRecord];
        let dir = tempfile::tempdir().expect("temp dir");
        let sled = open_kv(&dir.path().join("db")).expect("open");
        let memory = MemoryKv::new();
        let mut b = Batch::default();
        for tree in trees {
            for i in 0..3_000u32 {
                b.put(tree, i.to_be_bytes().to_vec(), vec![tree.tag(); 40]);
            }
        }
        sled.apply(&b).expect("apply");
        memory.apply(&b).expect("apply");
        let key = |i: u32| i.to_be_bytes().to_vec();
        let bounds = [
            Bound::Unbounded,
            Bound::Included(key(0)),
            Bound::Excluded(key(1_499)),
            Bound::Included(key(2_999)),
            Bound::Excluded(key(2_999)),
            Bound::Included(key(5_000)),
        ];
        for tree in trees {
            assert_ranges_match(&sled, &memory, tree, &bounds, &[1, 700, usize::MAX]);
        }
    }

    #[test]
    fn a_batch_deletes_and_later_writes_of_a_key_win_in_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kv = open_kv(&dir.path().join("db")).expect("open");
        let mut b = Batch::default();
        b.put(Tree::UserRecord, b"k".to_vec(), b"first".to_vec());
        b.put(Tree::UserRoomRead, b"k".to_vec(), b"other tree".to_vec());
        b.put(Tree::UserRecord, b"k".to_vec(), b"second".to_vec());
        b.put(Tree::UserRecord, b"gone".to_vec(), b"x".to_vec());
        b.delete(Tree::UserRecord, b"gone".to_vec());
        kv.apply(&b).expect("apply");
        assert_eq!(
            kv.get(Tree::UserRecord, b"k").expect("get"),
            Some(b"second".to_vec())
        );
        assert_eq!(
            kv.get(Tree::UserRoomRead, b"k").expect("get"),
            Some(b"other tree".to_vec())
        );
        assert_eq!(kv.get(Tree::UserRecord, b"gone").expect("get"), None);
    }

    #[test]
    fn an_old_layout_folder_moves_into_one_tree_and_a_second_open_changes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        // 25,000 events: three copy batches.
        let data = old_data(2, 25_000);
        write_old_layout(&path, &data);
        let want = expected(&data);
        assert_moved(&path, &want, "first open");

        // Opening again moves nothing and writes nothing.
        let kv = open_kv(&path).expect("open");
        let before = raw_contents(&kv);
        drop(kv);
        let kv = open_kv(&path).expect("reopen");
        assert!(
            raw_contents(&kv) == before,
            "a second open changed the data"
        );
        drop(kv);
        assert_moved(&path, &want, "second open");

        // The typed store takes it from there: schema 2 → 3, same position.
        let store = Store::new(std::sync::Arc::new(open_kv(&path).expect("open")));
        assert_eq!(store.init().expect("init"), 25_000);
        assert_eq!(
            store
                .kv()
                .get(Tree::Meta, keys::META_SCHEMA_VERSION)
                .expect("get"),
            Some(keys::u64_value(SCHEMA_VERSION))
        );
        drop(store);

        // An older build opening the folder creates its (empty) trees, reads
        // schema 3 where it keeps its schema, and refuses: its `init` fails
        // on a schema above its own 2.
        let db = raw_db(&path);
        for tree in Tree::ALL {
            db.open_tree(tree.name())
                .expect("old build opens its trees");
        }
        let found = db
            .open_tree("meta")
            .expect("meta")
            .get(keys::META_SCHEMA_VERSION)
            .expect("read")
            .map(|v| keys::read_u64("meta", &v).expect("u64"));
        assert_eq!(found, Some(3));
        assert!(found > Some(2), "a schema-2 build must refuse this folder");
        db.flush().expect("flush");
        drop(db);
        // The empty trees it left are dropped at the next start.
        let mut want = want;
        for row in &mut want {
            if row.0 == Tree::Meta && row.1 == keys::META_SCHEMA_VERSION {
                row.2 = keys::u64_value(SCHEMA_VERSION);
            }
        }
        assert_moved(&path, &want, "after an older build was refused");
    }

    #[test]
    fn a_new_folder_is_refused_by_an_older_build_too() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        let store = Store::new(std::sync::Arc::new(open_kv(&path).expect("open")));
        assert_eq!(store.init().expect("init"), 0);
        drop(store);
        let (present, meta) = old_build_view(&path);
        assert_eq!(present, vec!["meta"]);
        assert_eq!(
            meta,
            vec![(keys::META_SCHEMA_VERSION.to_vec(), keys::u64_value(3))]
        );
    }

    #[test]
    fn an_upgrade_interrupted_during_the_copy_starts_over_from_the_old_trees() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        let mut data = old_data(2, 2_500);
        write_old_layout(&path, &data);
        // The copy got through two trees, then the process died.
        let kv = open_as_is(&path);
        kv.copy_old_tree(Tree::Meta).expect("copy");
        kv.copy_old_tree(Tree::UserRecord).expect("copy");
        kv.sync().expect("sync");
        drop(kv);
        // Then an older build ran on the folder (nothing marked it yet) and
        // changed what was already copied: the copy must not bring back a
        // deleted key or an old value.
        let mut changes = Batch::default();
        changes.delete(Tree::UserRecord, [2u8; 16]);
        changes.put(Tree::UserRecord, [1u8; 16], b"alice, renamed".to_vec());
        changes.put(Tree::UserRecord, [3u8; 16], b"carol".to_vec());
        changes.put(Tree::Meta, keys::META_LAST_POS, keys::u64_value(2_501));
        write_old_layout(&path, &changes);
        data.append(changes);
        assert_moved(&path, &expected(&data), "after an interrupted copy");
    }

    #[test]
    fn an_upgrade_interrupted_after_the_copy_reopens_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        let data = old_data(2, 2_500);
        write_old_layout(&path, &data);
        let kv = open_as_is(&path);
        for tree in Tree::ALL {
            kv.copy_old_tree(tree).expect("copy");
        }
        kv.sync().expect("sync");
        drop(kv);
        assert_moved(&path, &expected(&data), "copied, nothing dropped");
    }

    #[test]
    fn an_upgrade_interrupted_while_dropping_the_old_trees_copies_what_is_left() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        // Schema 1: the copied schema must stay 1 (not become the marker's
        // 3), or `Store::init` would skip building the indexes.
        let data = old_data(1, 2_500);
        write_old_layout(&path, &data);
        let kv = open_as_is(&path);
        for tree in Tree::ALL {
            kv.copy_old_tree(tree).expect("copy");
        }
        kv.sync().expect("sync");
        kv.mark_old_meta().expect("mark");
        kv.sync().expect("sync");
        // Half of the other old trees dropped, among them one with data.
        for tree in [Tree::UserRecord, Tree::UserRoomRead, Tree::TimeAudit] {
            kv.db.drop_tree(tree.name()).expect("drop");
        }
        kv.sync().expect("sync");
        drop(kv);
        let want = expected(&data);
        assert_moved(&path, &want, "some old trees dropped");
        let kv = open_kv(&path).expect("open");
        assert_eq!(
            kv.get(Tree::Meta, keys::META_SCHEMA_VERSION).expect("get"),
            Some(keys::u64_value(1)),
            "the marker was copied over the real schema"
        );
    }

    #[test]
    fn a_schema_1_folder_moves_then_gets_its_indexes_then_schema_3() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        let room = RoomId::new();
        let alice = UserId::new();
        let mut data = Batch::default();
        for (seq, thread) in [(1u64, None), (2, Some(1))] {
            let event = Event {
                pos: seq,
                room,
                seq,
                ts: 0,
                sender: UserInfo {
                    id: alice,
                    username: "alice".into(),
                    display_name: "alice".into(),
                    role: Role::Staff,
                    transformation_team: false,
                    avatar: None,
                },
                client_id: None,
                content: Content::Message {
                    body: format!("message {seq}"),
                    thread,
                    question: false,
                    attachments: Vec::new(),
                },
                state: Default::default(),
            };
            let json = ServerFrame::Event(event).to_json();
            put_event(&mut data, room, seq, seq, seq, json.as_bytes());
        }
        data.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(1));
        data.put(Tree::Meta, keys::META_LAST_POS, keys::u64_value(2));
        write_old_layout(&path, &data);

        let store = Store::new(std::sync::Arc::new(open_kv(&path).expect("open")));
        assert_eq!(store.init().expect("init"), 2);
        assert_eq!(
            store.thread_replies(room, 1, 0, 10).expect("replies"),
            vec![2],
            "the 1 → 2 migration built the thread index"
        );
        assert_eq!(
            store
                .kv()
                .get(Tree::Meta, keys::META_SCHEMA_VERSION)
                .expect("get"),
            Some(keys::u64_value(SCHEMA_VERSION))
        );
        drop(store);
        let (present, meta) = old_build_view(&path);
        assert_eq!(present, vec!["meta"]);
        assert_eq!(
            meta,
            vec![(keys::META_SCHEMA_VERSION.to_vec(), keys::u64_value(3))]
        );
    }

    #[test]
    fn a_folder_marked_by_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        let mut data = Batch::default();
        data.put(Tree::Meta, keys::META_SCHEMA_VERSION, keys::u64_value(4));
        write_old_layout(&path, &data);
        match open_kv(&path) {
            Err(StoreError::Backend(text)) => assert!(text.contains("schema 4"), "{text}"),
            Err(e) => panic!("wrong error: {e}"),
            Ok(_) => panic!("a folder of schema 4 was opened"),
        }
    }

    #[test]
    fn an_unbounded_range_runs_from_the_tag_to_the_next_tag() {
        let found: BTreeSet<u8> = Tree::ALL.iter().map(|t| t.tag()).collect();
        assert_eq!(found.len(), Tree::ALL.len());
        for tree in Tree::ALL {
            assert_eq!(
                stored_end(tree, &Bound::Unbounded),
                Bound::Excluded(vec![tree.tag() + 1])
            );
            assert_eq!(
                stored_start(tree, &Bound::Unbounded),
                Bound::Included(vec![tree.tag()])
            );
        }
    }
}
