//! File metadata through the log: an upload's record (pending, owned by
//! the uploader), binding uploads to the message they are posted with, and
//! forgetting them (message deleted, or never posted).
//!
//! The bytes are not here: the upload handler has written and fsynced them
//! under `<data>/files/` before it submits [`FileOp::Upload`], so an
//! acknowledged upload always has its bytes. Reclaiming bytes that no
//! record references is node-local (`crate::files::sweep`), after apply.

use super::{Reply, Worker};
use crate::error::{Result, ServerError};
use crate::store::{self, Batch, FileRecord};
use townhall_protocol::{Attachment, MAX_ATTACHMENTS, Millis, RoomId, RoomSeq, UserId};
use uuid::Uuid;

/// A change to file metadata.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOp {
    /// Bytes are stored under `hash`: record a pending upload for `owner`,
    /// refused past `quota` bytes held by them.
    Upload {
        owner: UserId,
        hash: String,
        name: String,
        size: u64,
        content_type: String,
        thumbnail: bool,
        width: Option<u32>,
        height: Option<u32>,
        quota: u64,
    },
    /// Forget uploads pending for longer than `older_than_ms` (their
    /// message never came).
    Sweep { older_than_ms: u64 },
}

/// May a user holding `count` files of `held` bytes add `size` bytes
/// under `quota`? Checked by the upload route before it reads the body
/// and again at apply. A user holds at most `MAX_FILES_PER_USER` files:
/// past that the quota's scan would stop short and undercount.
pub fn check_file_quota(count: usize, held: u64, size: u64, quota: u64) -> Result<()> {
    if count >= store::MAX_FILES_PER_USER {
        return Err(ServerError::LimitReached(format!(
            "you hold {} files, the most allowed; delete some first",
            store::MAX_FILES_PER_USER
        )));
    }
    if held.saturating_add(size) > quota {
        return Err(quota_error(quota));
    }
    Ok(())
}

/// The refusal of an upload past the uploader's quota.
pub fn quota_error(quota: u64) -> ServerError {
    ServerError::LimitReached(format!(
        "your files would take more than your quota of {} MiB",
        quota >> 20
    ))
}

impl Worker {
    pub(super) fn file_op(&mut self, b: &mut Batch, op: FileOp) -> Result<Reply> {
        match op {
            FileOp::Upload {
                owner,
                hash,
                name,
                size,
                content_type,
                thumbnail,
                width,
                height,
                quota,
            } => {
                let held = self.store.user_files(owner)?;
                let bytes: u64 = held.iter().map(|f| f.size).sum();
                check_file_quota(held.len(), bytes, size, quota)?;
                let record = FileRecord {
                    id: self.new_id(),
                    owner,
                    hash,
                    name,
                    size,
                    content_type,
                    thumbnail,
                    width,
                    height,
                    created_at: self.now(),
                    posted: None,
                };
                store::put_file(b, &record);
                Ok(Reply::File(record))
            }
            FileOp::Sweep { older_than_ms } => {
                let before: Millis = self.now().saturating_sub(older_than_ms);
                let stale = self.store.stale_pending_files(before, store::MAX_SWEPT)?;
                let mut swept = 0;
                for id in stale {
                    if let Some(r) = self.store.file(id)?
                        && r.posted.is_none()
                    {
                        store::delete_file(b, &r);
                        swept += 1;
                    }
                }
                Ok(Reply::Done(swept))
            }
        }
    }

    /// The attachments of a new message: each must be `user`'s own upload,
    /// still pending, and named once. Checked before anything is written.
    pub(super) fn check_attachments(&self, user: UserId, ids: &[Uuid]) -> Result<Vec<FileRecord>> {
        if ids.len() > MAX_ATTACHMENTS {
            return Err(ServerError::Invalid(format!(
                "a message carries at most {MAX_ATTACHMENTS} files"
            )));
        }
        let mut files = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(ServerError::Invalid(format!("file {id} is named twice")));
            }
            // Someone else's upload, a posted one, or none: the same answer.
            let record = self
                .store
                .file(*id)?
                .filter(|r| r.owner == user && r.posted.is_none())
                .ok_or_else(|| {
                    ServerError::Invalid(format!(
                        "file {id} is not an upload of yours waiting to be posted"
                    ))
                })?;
            files.push(record);
        }
        Ok(files)
    }

    /// Bind checked uploads to the message at `room`/`seq`.
    pub(super) fn bind_attachments(
        &self,
        b: &mut Batch,
        files: Vec<FileRecord>,
        room: RoomId,
        seq: RoomSeq,
    ) {
        for mut f in files {
            f.posted = Some((room, seq));
            store::put_file(b, &f);
        }
    }

    /// A message is deleted: its files are gone for every reader at once
    /// (their records go in the same batch), and their bytes become
    /// reclaimable if nothing else references them.
    pub(super) fn unbind_attachments(
        &self,
        b: &mut Batch,
        attachments: &[Attachment],
    ) -> Result<()> {
        for a in attachments {
            if let Some(r) = self.store.file(a.id)? {
                store::delete_file(b, &r);
            }
        }
        Ok(())
    }
}
