//! File metadata: uploads, what they are bound to, who references stored
//! bytes. The bytes themselves are never sled values: they live under
//! `<data>/files/` by content hash (`crate::files`).
//!
//! - `file_record`: file id → [`FileRecord`] (JSON). `posted` is `None`
//!   while the upload waits for its message, then the message's room and
//!   seq. Deleting the message deletes the record.
//! - `hash_file`: sha256 ‖ file id → (nothing). The bytes of a hash are
//!   referenced while any key with that prefix exists.
//! - `user_file`: user ‖ file id → created (ms) ‖ size ‖ pending (1 byte),
//!   big-endian: a user's files, summed for the quota, and scanned by the
//!   sweep of uploads never posted (17 bytes a value, no JSON to decode).

use super::kv::{Batch, StoreError, Tree, scan_prefix};
use super::{Store, corrupt, json, keys};
use serde::{Deserialize, Serialize};
use townhall_protocol::{Attachment, Millis, RoomId, RoomSeq, UserId};
use uuid::Uuid;

/// Most files one user may hold at once (pending or posted): bounds the
/// quota's prefix scan; at the default limits that is far more than the
/// quota holds in photos.
pub const MAX_FILES_PER_USER: usize = 100_000;

/// Records one sweep removes at most: a sweep is one command (one log
/// entry); the next sweep takes the rest.
pub const MAX_SWEPT: usize = 10_000;

/// One uploaded file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: Uuid,
    pub owner: UserId,
    /// sha256 of the bytes, hex (their name on disk).
    pub hash: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub thumbnail: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub created_at: Millis,
    /// The message it was posted with; `None` while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted: Option<(RoomId, RoomSeq)>,
}

impl FileRecord {
    /// What readers of the message see.
    pub fn attachment(&self) -> Attachment {
        Attachment {
            id: self.id,
            name: self.name.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            thumbnail: self.thumbnail,
            width: self.width,
            height: self.height,
        }
    }
}

/// A user's file as the `user_file` tree holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserFile {
    pub id: Uuid,
    pub created_at: Millis,
    pub size: u64,
    pub pending: bool,
}

fn hash_bytes(hash: &str) -> Vec<u8> {
    // Hex from our own hasher; a malformed one still gets a stable key.
    hex::decode(hash).unwrap_or_else(|_| hash.as_bytes().to_vec())
}

fn user_file_key(user: UserId, id: Uuid) -> Vec<u8> {
    let mut k = keys::user(user);
    k.extend_from_slice(id.as_bytes());
    k
}

fn user_file_value(r: &FileRecord) -> Vec<u8> {
    let mut v = r.created_at.to_be_bytes().to_vec();
    v.extend_from_slice(&r.size.to_be_bytes());
    v.push(u8::from(r.posted.is_none()));
    v
}

impl Store {
    pub fn file(&self, id: Uuid) -> Result<Option<FileRecord>, StoreError> {
        self.get_json(Tree::FileRecord, id.as_bytes())
    }

    /// Does any file record still reference these bytes?
    pub fn hash_referenced(&self, hash: &str) -> Result<bool, StoreError> {
        Ok(!scan_prefix(self.kv(), Tree::HashFile, &hash_bytes(hash), 1)?.is_empty())
    }

    /// The files `user` holds (pending and posted), in id order.
    pub fn user_files(&self, user: UserId) -> Result<Vec<UserFile>, StoreError> {
        scan_prefix(
            self.kv(),
            Tree::UserFile,
            &keys::user(user),
            MAX_FILES_PER_USER,
        )?
        .into_iter()
        .map(|(k, v)| decode_user_file(&k, &v))
        .collect()
    }

    /// Pending uploads made before `before`, up to `limit`, over all users.
    pub fn stale_pending_files(
        &self,
        before: Millis,
        limit: usize,
    ) -> Result<Vec<Uuid>, StoreError> {
        let mut out = Vec::new();
        let mut start = std::ops::Bound::Unbounded;
        // Pages of the whole tree: values are 17 bytes, so a page is small.
        const PAGE: usize = 4096;
        loop {
            let page = self.kv().range(
                Tree::UserFile,
                start,
                std::ops::Bound::Unbounded,
                false,
                PAGE,
            )?;
            let Some((last, _)) = page.last() else {
                return Ok(out);
            };
            start = std::ops::Bound::Excluded(last.clone());
            let full = page.len() == PAGE;
            for (k, v) in &page {
                let f = decode_user_file(k, v)?;
                if f.pending && f.created_at < before {
                    out.push(f.id);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            if !full {
                return Ok(out);
            }
        }
    }
}

fn decode_user_file(k: &[u8], v: &[u8]) -> Result<UserFile, StoreError> {
    let id: [u8; 16] = k
        .get(16..32)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt(Tree::UserFile, "key is not 32 bytes"))?;
    if v.len() != 17 {
        return Err(corrupt(Tree::UserFile, "value is not 17 bytes"));
    }
    let created_at = keys::read_u64("user_file", &v[0..8])?;
    let size = keys::read_u64("user_file", &v[8..16])?;
    Ok(UserFile {
        id: Uuid::from_bytes(id),
        created_at,
        size,
        pending: v[16] == 1,
    })
}

/// Write a file record and its two indexes (new, or posted now).
pub fn put_file(b: &mut Batch, r: &FileRecord) {
    b.put(Tree::FileRecord, r.id.as_bytes().to_vec(), json(r));
    let mut hk = hash_bytes(&r.hash);
    hk.extend_from_slice(r.id.as_bytes());
    b.put(Tree::HashFile, hk, Vec::new());
    b.put(
        Tree::UserFile,
        user_file_key(r.owner, r.id),
        user_file_value(r),
    );
}

/// Forget a file: its bytes become unreferenced if nothing else holds them.
pub fn delete_file(b: &mut Batch, r: &FileRecord) {
    b.delete(Tree::FileRecord, r.id.as_bytes().to_vec());
    let mut hk = hash_bytes(&r.hash);
    hk.extend_from_slice(r.id.as_bytes());
    b.delete(Tree::HashFile, hk);
    b.delete(Tree::UserFile, user_file_key(r.owner, r.id));
}
