//! Snapshots: the whole store as one file, and a store made from one.
//!
//! A snapshot's state is fixed ([`Store::snapshot_begin`]) while the
//! committer is paused for an instant (see `Committer::paused`), so it is
//! the state at one applied position: in a
//! cluster, at one log sequence, which its `meta` tree records. A new node
//! restores one (`townhall restore FILE --data DIR`) and applies the log
//! from the entry after it.
//!
//! Format, version 2: the magic line `TOWNHALL-SNAPSHOT 2\n`; then per pair
//! a tree tag (u8, below 253), the key's length (u32, big-endian), the key,
//! the value's length (u32), the value; then per attachment file the tag
//! 254, its kind (u8: 0 the bytes, 1 the thumbnail), the length of its
//! content hash (u8) and the hash (lowercase hex sha256, its name on disk),
//! its length (u64, big-endian) and its bytes; then the tag 255; then the
//! SHA-256 of every byte before it. Restoring checks the magic, every
//! length and the checksum, and refuses a folder that is not empty.
//! Version 1 is version 2 without file sections (and its own magic line):
//! still read.
//!
//! The pairs are then written while writes go on, copy-on-write (see
//! `cow_kv.rs`), and the files after them ([`SnapshotWriter::add_file`]):
//! the caller holds each referenced hash against the sweep from inside the
//! pause until its bytes are copied, and stored bytes never change (they are named by their
//! hash), so the files are exactly those the pairs reference.

use super::{Batch, Store, StoreError, Tree};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::ops::Bound;

pub(crate) const MAGIC: &[u8] = b"TOWNHALL-SNAPSHOT 2\n";
/// Version 1 (no files): restored as before.
pub(crate) const MAGIC_V1: &[u8] = b"TOWNHALL-SNAPSHOT 1\n";
const END: u8 = 255;
/// A file section (version 2).
const FILE: u8 = 254;
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
    /// Attachment files (bytes and thumbnails) in it.
    pub files: u64,
}

/// Which stored file a file section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotFile {
    /// The bytes of an attachment.
    Content,
    /// Its thumbnail.
    Thumbnail,
}

/// What `import` does with a file section: (kind, hash, length, a reader
/// of exactly its bytes).
pub type OnFile<'a> =
    dyn FnMut(SnapshotFile, &str, u64, &mut dyn Read) -> Result<(), StoreError> + 'a;

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

/// A reader that hashes what passes through it.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backend(format!("snapshot: {e}"))
}

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("snapshot: {what}"))
}

/// A snapshot begun ([`Store::snapshot_begin`]) whose pairs are not written
/// yet. Dropping it ends the copy.
pub struct SnapshotCopy {
    copy: super::CowCopy,
    log_seq: u64,
    pos: u64,
}

impl SnapshotCopy {
    /// Write the magic line and every pair as they were at the start, while
    /// writes to the store go on; files may follow.
    /// Stops with an error at the next chunk once `cancelled` is set.
    pub fn write_pairs<W: Write>(
        mut self,
        out: W,
        cancelled: &std::sync::atomic::AtomicBool,
    ) -> Result<SnapshotWriter<W>, StoreError> {
        let mut w = Hashing {
            inner: std::io::BufWriter::new(out),
            hash: Sha256::new(),
            bytes: 0,
        };
        w.write_all(MAGIC).map_err(io)?;
        let mut pairs = 0u64;
        while let Some((tree, chunk)) = self.copy.next_chunk()? {
            if cancelled.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(bad("cancelled"));
            }
            for (k, v) in &chunk {
                w.write_all(&[tree.tag()]).map_err(io)?;
                w.write_all(&(k.len() as u32).to_be_bytes()).map_err(io)?;
                w.write_all(k).map_err(io)?;
                w.write_all(&(v.len() as u32).to_be_bytes()).map_err(io)?;
                w.write_all(v).map_err(io)?;
            }
            pairs += chunk.len() as u64;
        }
        Ok(SnapshotWriter {
            w,
            info: SnapshotInfo {
                pairs,
                bytes: 0,
                log_seq: self.log_seq,
                pos: self.pos,
                files: 0,
            },
        })
    }
}

/// A snapshot whose pairs are written: files may follow, then
/// [`SnapshotWriter::finish`].
pub struct SnapshotWriter<W: Write> {
    w: Hashing<std::io::BufWriter<W>>,
    info: SnapshotInfo,
}

impl<W: Write> SnapshotWriter<W> {
    /// Append a file section: `len` bytes read from `bytes`.
    pub fn add_file(
        &mut self,
        kind: SnapshotFile,
        hash: &str,
        len: u64,
        bytes: impl Read,
    ) -> Result<(), StoreError> {
        let name = hash.as_bytes();
        let name_len = u8::try_from(name.len()).map_err(|_| bad("a file name is too long"))?;
        let kind = match kind {
            SnapshotFile::Content => 0u8,
            SnapshotFile::Thumbnail => 1,
        };
        self.w.write_all(&[FILE, kind, name_len]).map_err(io)?;
        self.w.write_all(name).map_err(io)?;
        self.w.write_all(&len.to_be_bytes()).map_err(io)?;
        let copied = std::io::copy(&mut bytes.take(len), &mut self.w).map_err(io)?;
        if copied != len {
            return Err(bad("a file ended before its length"));
        }
        self.info.files += 1;
        Ok(())
    }

    /// Write the end and the checksum; the inner writer, flushed.
    pub fn finish(mut self) -> Result<(SnapshotInfo, W), StoreError> {
        self.w.write_all(&[END]).map_err(io)?;
        let sum: [u8; 32] = self.w.hash.clone().finalize().into();
        let bytes = self.w.bytes + 32;
        let mut inner = self.w.inner;
        inner.write_all(&sum).map_err(io)?;
        let inner = inner.into_inner().map_err(|e| io(e.into_error()))?;
        self.info.bytes = bytes;
        Ok((self.info, inner))
    }
}

impl Store {
    /// Write every pair to `out` (a snapshot without files). The caller
    /// makes sure nothing writes meanwhile (the committer is paused).
    pub fn export(&self, out: impl Write) -> Result<SnapshotInfo, StoreError> {
        Ok(self.export_begin(out)?.finish()?.0)
    }

    /// Write the magic line and every pair; files may follow. The caller
    /// makes sure nothing writes meanwhile (the committer is paused).
    pub fn export_begin<W: Write>(&self, out: W) -> Result<SnapshotWriter<W>, StoreError> {
        self.snapshot_begin()?
            .write_pairs(out, &std::sync::atomic::AtomicBool::new(false))
    }

    /// Fix the store's state as it is now for a snapshot, which is then
    /// written with [`SnapshotCopy::write_pairs`] while writes go on (see
    /// `cow_kv.rs`). Call it between two applied groups (the committer
    /// paused for this instant only), so the state is one applied position.
    /// One at a time per store.
    pub fn snapshot_begin(&self) -> Result<SnapshotCopy, StoreError> {
        let cow = self
            .cow
            .as_ref()
            .ok_or_else(|| bad("the committer's overlay view cannot be copied"))?;
        let copy = cow.begin()?;
        Ok(SnapshotCopy {
            copy,
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
    /// checksum, and make it durable; a file section goes to `on_file`
    /// (kind, hash, length, a reader of exactly its bytes). On any error
    /// the store may hold part of the snapshot: the caller removes the
    /// folder.
    pub fn import(
        &self,
        input: impl Read,
        on_file: &mut OnFile<'_>,
    ) -> Result<SnapshotInfo, StoreError> {
        if !self.is_blank()? {
            return Err(bad("the target data folder is not empty"));
        }
        let mut r = HashingReader {
            inner: std::io::BufReader::new(input),
            hash: Sha256::new(),
        };
        let read = |buf: &mut [u8], r: &mut HashingReader<_>| -> Result<(), StoreError> {
            r.read_exact(buf)
                .map_err(|_| bad("the file ends early (truncated?)"))
        };
        let mut magic = [0u8; MAGIC.len()];
        read(&mut magic, &mut r)?;
        if magic != MAGIC && magic != MAGIC_V1 {
            return Err(bad("not a Townhall snapshot (or a newer format)"));
        }
        let files_allowed = magic == MAGIC;
        let trees: std::collections::HashMap<u8, Tree> =
            Tree::ALL.iter().map(|t| (t.tag(), *t)).collect();
        let mut batch = Batch::default();
        let mut pairs = 0u64;
        let mut files = 0u64;
        let mut bytes = MAGIC.len() as u64 + 1 + 32;
        loop {
            let mut tag = [0u8; 1];
            read(&mut tag, &mut r)?;
            if tag[0] == END {
                break;
            }
            if tag[0] == FILE && files_allowed {
                let mut head = [0u8; 2];
                read(&mut head, &mut r)?;
                let kind = match head[0] {
                    0 => SnapshotFile::Content,
                    1 => SnapshotFile::Thumbnail,
                    _ => return Err(bad("unknown kind of file (damaged file)")),
                };
                let mut name = vec![0u8; usize::from(head[1])];
                read(&mut name, &mut r)?;
                let name = String::from_utf8(name)
                    .ok()
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(|| bad("a file's name is not a hash (damaged file)"))?;
                let mut len = [0u8; 8];
                read(&mut len, &mut r)?;
                let len = u64::from_be_bytes(len);
                let mut part = (&mut r).take(len);
                on_file(kind, &name, len, &mut part)?;
                // Whatever the callback left is still part of the checksum.
                std::io::copy(&mut part, &mut std::io::sink()).map_err(io)?;
                if part.limit() != 0 {
                    return Err(bad("the file ends early (truncated?)"));
                }
                files += 1;
                bytes += 1 + 2 + name.len() as u64 + 8 + len;
                continue;
            }
            let tree = *trees.get(&tag[0]).ok_or_else(|| bad("unknown tree"))?;
            let mut kv = [Vec::new(), Vec::new()];
            for part in &mut kv {
                let mut len = [0u8; 4];
                read(&mut len, &mut r)?;
                let len = u32::from_be_bytes(len);
                if len > MAX_LEN {
                    return Err(bad("a length is out of range (damaged file)"));
                }
                part.resize(len as usize, 0);
                read(part, &mut r)?;
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
        let want: [u8; 32] = r.hash.clone().finalize().into();
        let mut sum = [0u8; 32];
        r.inner
            .read_exact(&mut sum)
            .map_err(|_| bad("the file ends before its checksum"))?;
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
            files,
        })
    }

    /// The content hashes (hex) some file record references, each once,
    /// in order: what a snapshot's file sections must hold.
    pub fn referenced_hashes(&self) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = Vec::new();
        let mut last: Vec<u8> = Vec::new();
        self.walk(Tree::HashFile, |k, _| {
            // hash bytes ‖ file id (16)
            let hash = &k[..k.len().saturating_sub(16)];
            if hash != last.as_slice() {
                last = hash.to_vec();
                out.push(hex::encode(hash));
            }
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::SnapshotFile;
    use crate::store::{Batch, Store, StoreError, Tree, put_last_pos, put_log_seq};
    use std::io::Read;

    fn no_files(_: SnapshotFile, _: &str, _: u64, _: &mut dyn Read) -> Result<(), StoreError> {
        panic!("no file expected")
    }

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
        let got = to.import(file.as_slice(), &mut no_files).expect("import");
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
        assert!(
            Store::memory()
                .import(flipped.as_slice(), &mut no_files)
                .is_err()
        );
        assert!(
            Store::memory()
                .import(&file[..file.len() - 10], &mut no_files)
                .is_err()
        );
        assert!(
            Store::memory()
                .import(&b"GIF89a"[..], &mut no_files)
                .is_err()
        );
        assert!(
            sample().import(file.as_slice(), &mut no_files).is_err(),
            "not empty"
        );
    }

    #[test]
    fn files_travel_with_the_pairs_and_version_1_is_still_read() {
        use sha2::{Digest, Sha256};
        let from = sample();
        let mut w = from.export_begin(Vec::new()).expect("begin");
        w.add_file(SnapshotFile::Content, "ab12", 5, &b"hello"[..])
            .expect("file");
        w.add_file(SnapshotFile::Thumbnail, "ab12", 0, &b""[..])
            .expect("thumb");
        let (info, file) = w.finish().expect("finish");
        assert_eq!(info.files, 2);
        assert_eq!(info.bytes, file.len() as u64);
        let mut got = Vec::new();
        let mut collect = |kind: SnapshotFile,
                           hash: &str,
                           len: u64,
                           r: &mut dyn Read|
         -> Result<(), StoreError> {
            let mut bytes = Vec::new();
            r.read_to_end(&mut bytes).expect("read");
            assert_eq!(bytes.len() as u64, len);
            got.push((kind, hash.to_owned(), bytes));
            Ok(())
        };
        let back = Store::memory()
            .import(file.as_slice(), &mut collect)
            .expect("import");
        assert_eq!(back, info);
        assert_eq!(
            got,
            [
                (SnapshotFile::Content, "ab12".to_owned(), b"hello".to_vec()),
                (SnapshotFile::Thumbnail, "ab12".to_owned(), Vec::new()),
            ]
        );
        // A file section cut short is refused.
        assert!(
            Store::memory()
                .import(
                    &file[..file.len() - 40],
                    &mut |_, _, _, r: &mut dyn Read| {
                        std::io::copy(r, &mut std::io::sink())
                            .map(|_| ())
                            .map_err(super::io)
                    }
                )
                .is_err()
        );

        // Version 1: the same pairs under the old magic line, no files.
        let mut v2 = Vec::new();
        from.export(&mut v2).expect("export");
        let mut v1 = super::MAGIC_V1.to_vec();
        v1.extend_from_slice(&v2[super::MAGIC.len()..v2.len() - 32]);
        let sum: [u8; 32] = Sha256::digest(&v1).into();
        v1.extend_from_slice(&sum);
        let old = Store::memory()
            .import(v1.as_slice(), &mut no_files)
            .expect("version 1");
        assert_eq!(old.pairs, 9_003);
        // A file section in a version 1 file is not one.
        let mut w = from.export_begin(Vec::new()).expect("begin");
        w.add_file(SnapshotFile::Content, "ab", 1, &b"x"[..])
            .expect("file");
        let (_, with_file) = w.finish().expect("finish");
        let mut forged = super::MAGIC_V1.to_vec();
        forged.extend_from_slice(&with_file[super::MAGIC.len()..with_file.len() - 32]);
        let sum: [u8; 32] = Sha256::digest(&forged).into();
        forged.extend_from_slice(&sum);
        assert!(
            Store::memory()
                .import(forged.as_slice(), &mut no_files)
                .is_err()
        );
    }
}
