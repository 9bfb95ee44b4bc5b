//! Past broadcasts in the store: the broadcast records (tree
//! `broadcast_record`, keyed by their time-ordered v7 id) read newest first.

use super::kv::{StoreError, Tree};
use super::{BroadcastRecord, Store, corrupt};
use std::ops::Bound;

impl Store {
    /// Up to `limit` broadcast records older than `before` (all when
    /// `None`), newest first. Ids are UUID v7, so id order is time order.
    pub fn broadcasts_before(
        &self,
        before: Option<uuid::Uuid>,
        limit: usize,
    ) -> Result<Vec<BroadcastRecord>, StoreError> {
        let end = match before {
            Some(id) => Bound::Excluded(id.as_bytes().to_vec()),
            None => Bound::Unbounded,
        };
        self.kv()
            .range(Tree::BroadcastRecord, Bound::Unbounded, end, true, limit)?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(|e| corrupt(Tree::BroadcastRecord, e)))
            .collect()
    }
}
