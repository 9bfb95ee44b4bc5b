//! Profile pictures (issue 13): a person sets or removes their own.
//!
//! The HTTP route (`http/avatar.rs`) has already turned the upload into a
//! small square PNG of the server's own making; the command carries those
//! bytes (base64 in the log's JSON, under 90 KiB), so every node applies the
//! same picture from the log alone. Apply checks the record (an active
//! account), gives the picture the next version (versions never go back,
//! a removal included: the version is the cache key of its URL), stores it
//! in `user_avatar`, and tells everyone online with `user_updated`.
//! Deterministic: it reads only the store.

use super::{Pending, Reply, Worker};
use crate::error::{Result, ServerError};
use crate::frame::shared;
use crate::store::{self, Batch};
use serde::{Deserialize, Serialize};
use townhall_protocol::{ServerFrame, UserId};

/// Largest PNG apply accepts. A 128 × 128 RGBA PNG is at most about 66 KB
/// (stored blocks); the route never makes a larger one. This is a guard
/// against a log entry written by anything else: the log's payload limit
/// (1 MiB in NATS by default) is far above it.
pub const MAX_AVATAR_PNG_BYTES: usize = 96 * 1024;

/// A change to one's own profile picture.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvatarOp {
    /// Set my picture to `png` (made by the server, see `files/thumb.rs`).
    Set {
        user: UserId,
        #[serde(with = "base64_bytes")]
        png: Vec<u8>,
    },
    /// Remove my picture (initials again).
    Remove { user: UserId },
}

/// `Vec<u8>` as one base64 string: a JSON array of numbers would be three
/// to four times the size in the log.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

impl Worker {
    pub(super) fn avatar_op(
        &mut self,
        b: &mut Batch,
        p: &mut Pending,
        op: AvatarOp,
    ) -> Result<Reply> {
        let (user, png) = match op {
            AvatarOp::Set { user, png } => (user, Some(png)),
            AvatarOp::Remove { user } => (user, None),
        };
        let mut record = match self.store.user(user)? {
            Some(u) if !u.disabled => u,
            _ => return Err(ServerError::BadToken),
        };
        let last = self
            .store
            .avatar(user)?
            .map_or(0, |a| a.version)
            .max(record.avatar.unwrap_or(0));
        match png {
            Some(png) => {
                if png.is_empty()
                    || png.len() > MAX_AVATAR_PNG_BYTES
                    || !png.starts_with(b"\x89PNG\r\n\x1a\n")
                {
                    return Err(ServerError::Invalid("not a server-made picture".into()));
                }
                // 5 changes a minute would take 800 years to get here.
                let version = last
                    .checked_add(1)
                    .ok_or_else(|| ServerError::LimitReached("picture versions".into()))?;
                store::put_avatar(b, user, version, &png);
                record.avatar = Some(version);
            }
            None => {
                if record.avatar.is_none() {
                    return Ok(Reply::User(record));
                }
                store::put_avatar(b, user, last, &[]);
                record.avatar = None;
            }
        }
        store::put_user(b, &record);
        p.frames_to_everyone.push(shared(&ServerFrame::UserUpdated {
            req_id: None,
            user: record.info(),
        }));
        Ok(Reply::User(record))
    }
}
