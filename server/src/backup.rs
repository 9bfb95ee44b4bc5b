//! Online backup: `townhall backup` fetches a running server's snapshot
//! (`GET /api/admin/snapshot`, format in `store/snapshot.rs`), checks the
//! snapshot's own SHA-256 as it arrives, and stores it gzip-compressed;
//! [`open_snapshot`] is what `townhall restore` reads either form through.
//!
//! The file appears under its final name only once complete and checked:
//! it is written to `FILE.tmp`, synced, then renamed, so a backup cut short
//! (network, disk full, a damaged transfer) never leaves a file that looks
//! like a backup.
//!
//! The HTTP client is a single HTTP/1.1 GET over hyper's low-level client
//! connection: hyper is already the server's HTTP stack, and a full client
//! (reqwest) would add a TLS stack and a connection pool for one request.
//! Plain `http://` only: back up from the host itself or a trusted network,
//! or through a TLS-terminating tunnel.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

use crate::store::{SNAPSHOT_MAGIC as MAGIC, SNAPSHOT_MAGIC_V1 as MAGIC_V1};

/// The first two bytes of every gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The snapshot's trailer: the SHA-256 of every byte before it.
const SUM_LEN: usize = 32;
/// The server writes the whole snapshot to disk before it answers (writes
/// wait meanwhile): a big store takes minutes, so the first byte may too.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Once streaming, a pause this long means a dead peer, not a slow disk.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of an error response is kept for the message.
const ERROR_BODY_LIMIT: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Url(String),
    #[error("connecting to {0}")]
    Connect(String, #[source] std::io::Error),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("the server answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the snapshot is damaged: {0}")]
    Damaged(String),
    #[error("writing {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out waiting for the server")]
    Timeout,
}

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupInfo {
    /// The last position in it: every write acknowledged at or before it,
    /// nothing after it.
    pub pos: u64,
    /// Cluster mode: the last log entry in it (0 for an embedded node).
    pub log_seq: u64,
    /// The snapshot's size, uncompressed.
    pub snapshot_bytes: u64,
    /// The file's size, compressed.
    pub file_bytes: u64,
}

/// Checks a snapshot as it streams past: the magic line at the start, the
/// SHA-256 of everything but the last 32 bytes against those 32 bytes.
#[derive(Default)]
pub struct SnapshotCheck {
    hash: Sha256,
    head: Vec<u8>,
    /// The last (up to) 32 bytes seen: the checksum once the stream ends.
    tail: Vec<u8>,
    bytes: u64,
}

impl SnapshotCheck {
    pub fn update(&mut self, buf: &[u8]) {
        self.bytes += buf.len() as u64;
        if self.head.len() < MAGIC.len() {
            let n = (MAGIC.len() - self.head.len()).min(buf.len());
            self.head.extend_from_slice(&buf[..n]);
        }
        if buf.len() >= SUM_LEN {
            self.hash.update(&self.tail);
            let (body, tail) = buf.split_at(buf.len() - SUM_LEN);
            self.hash.update(body);
            self.tail.clear();
            self.tail.extend_from_slice(tail);
        } else {
            self.tail.extend_from_slice(buf);
            let excess = self.tail.len().saturating_sub(SUM_LEN);
            self.hash.update(&self.tail[..excess]);
            self.tail.drain(..excess);
        }
    }

    /// The stream ended: whether it is a whole, undamaged snapshot.
    pub fn finish(self) -> Result<u64, BackupError> {
        if self.head != MAGIC && self.head != MAGIC_V1 {
            return Err(BackupError::Damaged(
                "not a Townhall snapshot (or a newer format)".into(),
            ));
        }
        if self.tail.len() < SUM_LEN || self.bytes < (MAGIC.len() + 1 + SUM_LEN) as u64 {
            return Err(BackupError::Damaged("it ends early".into()));
        }
        let sum: [u8; 32] = self.hash.finalize().into();
        if sum.as_slice() != self.tail.as_slice() {
            return Err(BackupError::Damaged("checksum mismatch".into()));
        }
        Ok(self.bytes)
    }
}

/// `http://HOST:PORT[/PREFIX]` → (authority, path prefix).
fn parse_base(url: &str) -> Result<(String, String), BackupError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        BackupError::Url(format!(
            "{url}: only http://HOST:PORT is supported (run it on the server's host or through a tunnel)"
        ))
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(BackupError::Url(format!("{url}: no host")));
    }
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_owned()))
}

fn header_u64(headers: &hyper::HeaderMap, name: &str) -> Result<u64, BackupError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| BackupError::Http(format!("the response has no {name} header")))
}

/// `FILE` → `FILE.tmp`, beside it (so the rename stays on one filesystem).
pub fn temp_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Fetch the snapshot of the server at `base` (an admin's `token`) into
/// `to`, compressed and checked; see the module comment.
pub async fn backup(base: &str, token: &str, to: &Path) -> Result<BackupInfo, BackupError> {
    let tmp = temp_path(to);
    let result = fetch_into(base, token, to, &tmp).await;
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

async fn fetch_into(
    base: &str,
    token: &str,
    to: &Path,
    tmp: &Path,
) -> Result<BackupInfo, BackupError> {
    let (authority, prefix) = parse_base(base)?;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    let stream = tokio::time::timeout(
        CHUNK_TIMEOUT,
        tokio::net::TcpStream::connect(authority.as_str()),
    )
    .await
    .map_err(|_| BackupError::Timeout)?
    .map_err(|e| BackupError::Connect(authority.clone(), e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| BackupError::Http(e.to_string()))?;
    // Drives the connection; ends with it.
    tokio::spawn(conn);
    let request = hyper::Request::get(format!("{prefix}/api/admin/snapshot"))
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(http_body_util::Empty::<Bytes>::new())
        .map_err(|e| BackupError::Http(e.to_string()))?;
    let response = tokio::time::timeout(RESPONSE_TIMEOUT, sender.send_request(request))
        .await
        .map_err(|_| BackupError::Timeout)?
        .map_err(|e| BackupError::Http(e.to_string()))?;
    let status = response.status();
    let (parts, mut body) = response.into_parts();
    if !status.is_success() {
        let mut text = Vec::new();
        while text.len() < ERROR_BODY_LIMIT {
            match tokio::time::timeout(CHUNK_TIMEOUT, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        text.extend_from_slice(&data);
                    }
                }
                _ => break,
            }
        }
        text.truncate(ERROR_BODY_LIMIT);
        return Err(BackupError::Status {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&text).into_owned(),
        });
    }
    let pos = header_u64(&parts.headers, "x-townhall-pos")?;
    let log_seq = header_u64(&parts.headers, "x-townhall-log-seq")?;
    let length = header_u64(&parts.headers, "content-length")?;

    let file = std::fs::File::create(tmp).map_err(io_err(tmp))?;
    // Fast compression: the backup shares the machine with a server taking
    // writes, and snapshot pairs (ids, JSON) still shrink several-fold.
    let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::fast());
    let mut check = SnapshotCheck::default();
    loop {
        let frame = match tokio::time::timeout(CHUNK_TIMEOUT, body.frame()).await {
            Err(_) => return Err(BackupError::Timeout),
            Ok(None) => break,
            Ok(Some(frame)) => frame.map_err(|e| BackupError::Http(e.to_string()))?,
        };
        if let Ok(data) = frame.into_data() {
            check.update(&data);
            gz.write_all(&data).map_err(io_err(tmp))?;
        }
    }
    let snapshot_bytes = check.finish()?;
    if snapshot_bytes != length {
        return Err(BackupError::Damaged(format!(
            "{snapshot_bytes} bytes received of {length}"
        )));
    }
    let file = gz
        .finish()
        .map_err(io_err(tmp))?
        .into_inner()
        .map_err(|e| e.into_error())
        .map_err(io_err(tmp))?;
    file.sync_all().map_err(io_err(tmp))?;
    let file_bytes = file.metadata().map_err(io_err(tmp))?.len();
    drop(file);
    std::fs::rename(tmp, to).map_err(io_err(to))?;
    // The rename is durable once the folder is synced.
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok(BackupInfo {
        pos,
        log_seq,
        snapshot_bytes,
        file_bytes,
    })
}

/// A snapshot file, plain (as `GET /api/admin/snapshot` serves it) or
/// gzip-compressed (as `townhall backup` writes it), told apart by gzip's
/// magic bytes: a plain snapshot starts with `TOWNHALL-SNAPSHOT`.
pub fn open_snapshot(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    let mut file = BufReader::new(std::fs::File::open(path)?);
    let gzip = file.fill_buf()?.starts_with(&GZIP_MAGIC);
    Ok(if gzip {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// `townhall restore`: write one file section of a snapshot into
/// `<data>/files/` (through a `.part` file, renamed once whole; an
/// attachment's bytes are checked against their hash first).
pub fn restore_file(
    data: &Path,
    kind: crate::store::SnapshotFile,
    hash: &str,
    bytes: &mut dyn Read,
) -> std::io::Result<()> {
    let root = data.join("files");
    let dest = match kind {
        crate::store::SnapshotFile::Content => crate::files::content_path_in(&root, hash),
        crate::store::SnapshotFile::Thumbnail => crate::files::thumb_path_in(&root, hash),
    };
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let part = temp_path(&dest);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&part)?);
    let mut sum = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = bytes.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sum.update(&buf[..n]);
        out.write_all(&buf[..n])?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    if kind == crate::store::SnapshotFile::Content && hex::encode(sum.finalize()) != hash {
        let _ = std::fs::remove_file(&part);
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the bytes of {hash} do not match their hash"),
        ));
    }
    std::fs::rename(&part, &dest)?;
    // The rename is durable only once its directory is.
    match dest.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// fsync a directory, so the names created in it survive a power loss.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, Store, Tree};

    fn snapshot() -> Vec<u8> {
        let s = Store::memory();
        let mut b = Batch::default();
        for i in 0u32..500 {
            b.put(Tree::RoomSeqEvent, i.to_be_bytes().to_vec(), vec![7; 40]);
        }
        s.apply(&b).expect("apply");
        let mut out = Vec::new();
        s.export(&mut out).expect("export");
        out
    }

    fn check_in_pieces(bytes: &[u8], piece: usize) -> Result<u64, BackupError> {
        let mut c = SnapshotCheck::default();
        for chunk in bytes.chunks(piece) {
            c.update(chunk);
        }
        c.finish()
    }

    #[test]
    fn a_whole_snapshot_passes_whatever_the_chunk_sizes() {
        let file = snapshot();
        for piece in [1, 7, 31, 32, 33, 1000, file.len()] {
            assert_eq!(
                check_in_pieces(&file, piece).expect("whole"),
                file.len() as u64,
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn a_damaged_or_short_snapshot_is_refused() {
        let file = snapshot();
        let mut flipped = file.clone();
        flipped[file.len() / 2] ^= 1;
        assert!(check_in_pieces(&flipped, 100).is_err());
        assert!(check_in_pieces(&file[..file.len() - 1], 100).is_err());
        assert!(check_in_pieces(&file[..10], 3).is_err());
        assert!(check_in_pieces(b"", 3).is_err());
    }

    #[test]
    fn restore_reads_plain_and_gzip_files_alike() {
        let file = snapshot();
        let dir = tempfile::tempdir().expect("dir");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, &file).expect("write");
        let gz = dir.path().join("gz");
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&file).expect("gzip");
        std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
        for path in [plain, gz] {
            let mut back = Vec::new();
            open_snapshot(&path)
                .expect("open")
                .read_to_end(&mut back)
                .expect("read");
            assert_eq!(back, file, "{}", path.display());
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base("http://127.0.0.1:8080").expect("url"),
            ("127.0.0.1:8080".into(), String::new())
        );
        assert_eq!(
            parse_base("http://chat.example/townhall/").expect("url"),
            ("chat.example:80".into(), "/townhall".into())
        );
        assert!(parse_base("https://x").is_err());
    }
}
