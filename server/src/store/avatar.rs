//! Profile pictures in the store: one tree, `user_avatar` (tag 46), user
//! id → version (u32, big-endian) ‖ PNG bytes. The PNG is the server's own
//! re-encoding (`files/avatar.rs`: a small square, never the uploaded
//! bytes), small enough to travel inside the log command that sets it, so
//! every node of a cluster holds it with no shared file store.
//!
//! A removal keeps the key with the version and no bytes: the version is
//! the cache key of `GET /api/avatar/{id}?v=N`, so it must never be reused
//! for another picture.

use super::kv::{Batch, StoreError, Tree};
use super::{Store, corrupt, keys};
use townhall_protocol::UserId;

/// A stored profile picture (or the trace of a removed one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAvatar {
    pub version: u32,
    /// Empty after a removal.
    pub png: Vec<u8>,
}

impl Store {
    /// The user's picture entry, if they ever set one.
    pub fn avatar(&self, user: UserId) -> Result<Option<StoredAvatar>, StoreError> {
        let Some(v) = self.kv().get(Tree::UserAvatar, &keys::user(user))? else {
            return Ok(None);
        };
        let (version, png) = v
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt(Tree::UserAvatar, "value shorter than its version"))?;
        Ok(Some(StoredAvatar {
            version: u32::from_be_bytes(*version),
            png: png.to_vec(),
        }))
    }
}

/// Store `png` (empty: removed) as `user`'s picture under `version`.
pub fn put_avatar(b: &mut Batch, user: UserId, version: u32, png: &[u8]) {
    let mut value = Vec::with_capacity(4 + png.len());
    value.extend_from_slice(&version.to_be_bytes());
    value.extend_from_slice(png);
    b.put(Tree::UserAvatar, keys::user(user), value);
}
