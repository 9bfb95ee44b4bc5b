//! Invitation links in the store: one tree, `token_invitation` (tag 45),
//! SHA-256 of the token (32 bytes) → the [`Invitation`] as JSON. The token
//! itself is never written anywhere, so a copy of the data folder cannot
//! be used to redeem one.
//!
//! Used and revoked invitations stay (the admin list shows them); lookups
//! by id or username scan the tree, which holds a company's invitations
//! (hundreds, not millions): [`MAX_INVITATIONS`] bounds it.

use super::kv::{Batch, StoreError, Tree, scan_prefix};
use super::{Store, corrupt};
use townhall_protocol::invite::Invitation;

/// Invitations kept at most. Creating one past this is refused
/// (`limit_reached`): each scan reads them all, and a company invites
/// people by the hundred, not by the ten thousand.
pub const MAX_INVITATIONS: usize = 10_000;

fn decode(v: &[u8]) -> Result<Invitation, StoreError> {
    serde_json::from_slice(v).map_err(|e| corrupt(Tree::TokenInvitation, e))
}

impl Store {
    /// The invitation whose token hashes to `token_hash`.
    pub fn invitation(&self, token_hash: &[u8; 32]) -> Result<Option<Invitation>, StoreError> {
        self.kv()
            .get(Tree::TokenInvitation, token_hash)?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Every invitation with its token hash, in hash order (callers sort).
    pub fn invitations(&self) -> Result<Vec<([u8; 32], Invitation)>, StoreError> {
        scan_prefix(self.kv(), Tree::TokenInvitation, &[], MAX_INVITATIONS + 1)?
            .into_iter()
            .map(|(k, v)| {
                let hash = <[u8; 32]>::try_from(k.as_slice())
                    .map_err(|_| corrupt(Tree::TokenInvitation, "key is not 32 bytes"))?;
                Ok((hash, decode(&v)?))
            })
            .collect()
    }
}

pub fn put_invitation(b: &mut Batch, token_hash: &[u8; 32], invitation: &Invitation) {
    // Serializing plain data to a Vec cannot fail.
    let value = serde_json::to_vec(invitation).unwrap_or_default();
    b.put(Tree::TokenInvitation, token_hash.to_vec(), value);
}
