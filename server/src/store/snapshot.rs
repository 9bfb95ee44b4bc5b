//! Snapshots: the whole store as one file, and a store made from one.
//!
//! A snapshot is taken while the committer is paused (see
//! `Committer::paused`), so it is the state at one applied position: in a
//! cluster, at one log sequence, which its `meta` tree records. A new node
//! restores one (`townhall restore FILE --data DIR`) and applies the log
//! from the entry after it.
//!
//! Format, version 1: the magic line `TOWNHALL-SNAPSHOT 1\n`; then per pair
//! a tree tag (u8), the key's length (u32, big-endian), the key, the
//! value's length (u32), the value; then the tag 255; then the SHA-256 of
//! every byte before it. Restoring checks the magic, every length and the
//! checksum, and refuses a folder that is not empty.

use super::{Batch, Store, StoreError, Tree};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::ops::Bound;

pub(crate) const MAGIC: &[u8] = b"TOWNHALL-SNAPSHOT 1\n";
const END: u8 = 255;
/// Pairs written per batch when restoring.
const CHUNK: usize = 4096;
/// No key or value of ours is near this; a bigger length is a damaged file.
const MAX_LEN: u32 = 64 << 20;

/// What a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub pairs: u64,
    pub bytes: u64,
    /// Cluster mode: the last log entry in it (0 for an embedded node).
    pub log_seq: u64,
    pub pos: u64,
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("snapshot: {e}"))
}

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("snapshot: {what}"))
}

impl Store {
    /// Write every pair to `out`. The caller makes sure nothing writes
    /// meanwhile (the committer is paused).
    pub fn export(&self, out: impl Write) -> Result<SnapshotInfo, StoreError> {
        let mut w = Hashing {
            inner: std::io::BufWriter::new(out),
            hash: Sha256::new(),
            bytes: 0,
        };
        w.write_all(MAGIC).map_err(io)?;
        let mut pairs = 0u64;
        for tree in Tree::ALL {
            pairs += self.walk(tree, |k, v| {
                w.write_all(&[tree.tag()]).map_err(io)?;
                w.write_all(&(k.len() as u32).to_be_bytes()).map_err(io)?;
                w.write_all(k).map_err(io)?;
                w.write_all(&(v.len() as u32).to_be_bytes()).map_err(io)?;
                w.write_all(v).map_err(io)
            })?;
        }
        w.write_all(&[END]).map_err(io)?;
        let sum: [u8; 32] = w.hash.clone().finalize().into();
        let bytes = w.bytes + 32;
        let mut inner = w.inner;
        inner.write_all(&sum).map_err(io)?;
        inner.flush().map_err(io)?;
        Ok(SnapshotInfo {
            pairs,
            bytes,
            log_seq: self.log_seq()?,
            pos: self.last_pos()?,
        })
    }

    /// Whether nothing but a schema version is stored.
    pub fn is_blank(&self) -> Result<bool, StoreError> {
        for tree in Tree::ALL {
            let some = self
                .kv
                .range(tree, Bound::Unbounded, Bound::Unbounded, false, 2)?;
            let blank = match tree {
                Tree::Meta => some
                    .iter()
                    .all(|(k, _)| k.as_slice() == super::keys::META_SCHEMA_VERSION),
                _ => some.is_empty(),
            };
            if !blank {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Fill this store (which must be empty) from a snapshot, check its
    /// checksum, and make it durable. On any error the store may hold part
    /// of the snapshot: the caller removes the folder.
    pub fn import(&self, input: impl Read) -> Result<SnapshotInfo, StoreError> {
        if !self.is_blank()? {
            return Err(bad("the target data folder is not empty"));
        }
        let mut r = std::io::BufReader::new(input);
        let mut hash = Sha256::new();
        let mut read = |buf: &mut [u8], hash: &mut Sha256| -> Result<(), StoreError> {
            r.read_exact(buf)
                .map_err(|_| bad("the file ends early (truncated?)"))?;
            hash.update(&*buf);
            Ok(())
        };
        let mut magic = [0u8; MAGIC.len()];
        read(&mut magic, &mut hash)?;
        if magic != MAGIC {
            return Err(bad("not a Townhall snapshot (or a newer format)"));
        }
        let trees: std::collections::HashMap<u8, Tree> =
            Tree::ALL.iter().map(|t| (t.tag(), *t)).collect();
        let mut batch = Batch::default();
        let mut pairs = 0u64;
        let mut bytes = MAGIC.len() as u64 + 1 + 32;
        loop {
            let mut tag = [0u8; 1];
            read(&mut tag, &mut hash)?;
            if tag[0] == END {
                break;
            }
            let tree = *trees.get(&tag[0]).ok_or_else(|| bad("unknown tree"))?;
            let mut kv = [Vec::new(), Vec::new()];
            for part in &mut kv {
                let mut len = [0u8; 4];
                read(&mut len, &mut hash)?;
                let len = u32::from_be_bytes(len);
                if len > MAX_LEN {
                    return Err(bad("a length is out of range (damaged file)"));
                }
                part.resize(len as usize, 0);
                read(part, &mut hash)?;
                bytes += 4 + u64::from(len);
            }
            bytes += 1;
            let [k, v] = kv;
            batch.put(tree, k, v);
            pairs += 1;
            if batch.ops.len() >= CHUNK {
                self.apply(&std::mem::take(&mut batch))?;
            }
        }
        let mut sum = [0u8; 32];
        r.read_exact(&mut sum)
            .map_err(|_| bad("the file ends before its checksum"))?;
        let want: [u8; 32] = hash.finalize().into();
        if sum != want {
            return Err(bad("checksum mismatch (damaged file)"));
        }
        self.apply(&batch)?;
        self.sync()?;
        Ok(SnapshotInfo {
            pairs,
            bytes,
            log_seq: self.log_seq()?,
            pos: self.last_pos()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Batch, Store, Tree, put_last_pos, put_log_seq};

    fn sample() -> Store {
        let s = Store::memory();
        let mut b = Batch::default();
        for i in 0u32..9_000 {
            b.put(Tree::RoomSeqEvent, i.to_be_bytes().to_vec(), vec![1; 20]);
        }
        b.put(Tree::UserRecord, b"u".to_vec(), Vec::new());
        put_last_pos(&mut b, 8_999);
        put_log_seq(&mut b, 12_345);
        s.apply(&b).expect("apply");
        s
    }

    #[test]
    fn a_restored_store_is_the_same_store() {
        let from = sample();
        let mut file = Vec::new();
        let info = from.export(&mut file).expect("export");
        assert_eq!((info.log_seq, info.pos, info.pairs), (12_345, 8_999, 9_003));
        assert_eq!(info.bytes, file.len() as u64);
        let dir = tempfile::tempdir().expect("dir");
        let to = Store::open_sled(&dir.path().join("db"), 8 << 20).expect("sled");
        let got = to.import(file.as_slice()).expect("import");
        assert_eq!(got, info);
        assert_eq!(to.digest().expect("d"), from.digest().expect("d"));
    }

    #[test]
    fn damaged_or_truncated_files_and_full_folders_are_refused() {
        let from = sample();
        let mut file = Vec::new();
        from.export(&mut file).expect("export");
        let mut flipped = file.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 1;
        assert!(Store::memory().import(flipped.as_slice()).is_err());
        assert!(Store::memory().import(&file[..file.len() - 10]).is_err());
        assert!(Store::memory().import(&b"GIF89a"[..]).is_err());
        assert!(sample().import(file.as_slice()).is_err(), "not empty");
    }
}
