//! Room management's storage: a public room's claim on its name in
//! `public_name_room` (case-folded name → room id) moves with a rename.
//!
//! The room record itself is `room_record` (`put_room`); an archived room
//! keeps its name claim, so unarchiving never collides.
//!
//! Migration 4 → 5 ([`Store::fold_public_names`]) rewrites the rows that
//! builds before case folding wrote (plain lowercase keys), so every claim is
//! in the one key form that lookups and new claims use.

use super::kv::{Batch, StoreError, Tree};
use super::{RoomId, RoomKind, RoomRecord, SCAN_LIMIT, Store, Visibility, keys, scan_prefix};
use std::collections::BTreeMap;

impl Store {
    /// Free the name `record` holds, leaving alone a row that names another
    /// room: a duplicate from before names were unique never takes the name
    /// away from the room that holds it.
    pub fn release_public_name(
        &self,
        b: &mut Batch,
        record: &RoomRecord,
    ) -> Result<(), StoreError> {
        let key = keys::public_room_name(&record.name);
        if self.public_name_row(&key)? == Some(record.id) {
            b.delete(Tree::PublicNameRoom, key);
        }
        Ok(())
    }

    /// Migration 4 → 5: every `public_name_room` row under its case-folded
    /// key. A row already in folded form keeps its holder (lookups have
    /// answered with it since folding came in); legacy rows that fold to the
    /// same key go to the oldest room (ids are time-ordered). Rows whose room
    /// is gone are dropped. Deterministic (store reads only), one batch with
    /// the schema bump, so a crash before it reruns it. Returns the number of
    /// rows rewritten.
    pub(super) fn fold_public_names(&self, b: &mut Batch) -> Result<usize, StoreError> {
        let rows = scan_prefix(self.kv.as_ref(), Tree::PublicNameRoom, &[], SCAN_LIMIT)?;
        // folded key → (holder, whether the holder's row was already folded)
        let mut holders: BTreeMap<Vec<u8>, (RoomId, bool)> = BTreeMap::new();
        let mut rewritten = 0;
        for (key, _) in &rows {
            let Some(id) = self.public_name_row(key)? else {
                continue;
            };
            let folded = keys::public_room_name(&String::from_utf8_lossy(key));
            let already = folded == *key;
            if !already {
                b.delete(Tree::PublicNameRoom, key.clone());
                rewritten += 1;
            }
            if self.room(id)?.is_none() {
                if already {
                    b.delete(Tree::PublicNameRoom, key.clone());
                }
                continue;
            }
            holders
                .entry(folded)
                .and_modify(|held| {
                    let better = (already && !held.1) || (already == held.1 && id < held.0);
                    if better {
                        *held = (id, already);
                    }
                })
                .or_insert((id, already));
        }
        for (folded, (id, _)) in holders {
            b.put(Tree::PublicNameRoom, folded, id.as_bytes().to_vec());
        }
        Ok(rewritten)
    }

    /// Public rooms that share a name (case folded) with another, oldest
    /// first in each group: made before names were unique. The store keeps
    /// them; the server logs them at start so an admin can rename one.
    pub fn duplicate_public_names(&self) -> Result<Vec<Vec<RoomRecord>>, StoreError> {
        let mut groups: BTreeMap<Vec<u8>, Vec<RoomRecord>> = BTreeMap::new();
        for r in self.rooms()? {
            if r.kind == RoomKind::Room && r.visibility == Visibility::Public {
                groups
                    .entry(keys::public_room_name(&r.name))
                    .or_default()
                    .push(r);
            }
        }
        Ok(groups.into_values().filter(|g| g.len() > 1).collect())
    }
}
