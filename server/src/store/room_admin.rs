//! Room management's storage: a public room's claim on its name in
//! `public_name_room` (case-folded name → room id) moves with a rename.
//!
//! The room record itself is `room_record` (`put_room`); an archived room
//! keeps its name claim, so unarchiving never collides.

use super::kv::{Batch, StoreError, Tree};
use super::{RoomRecord, Store, keys};

impl Store {
    /// Free the name `record` holds, in both key forms (case-folded and the
    /// older plain lowercase), leaving alone a row that names another room:
    /// a duplicate from before names were unique never takes the name away
    /// from the room that holds it.
    pub fn release_public_name(
        &self,
        b: &mut Batch,
        record: &RoomRecord,
    ) -> Result<(), StoreError> {
        for key in [
            keys::public_room_name(&record.name),
            keys::legacy_public_room_name(&record.name),
        ] {
            if self.public_name_row(&key)? == Some(record.id) {
                b.delete(Tree::PublicNameRoom, key);
            }
        }
        Ok(())
    }
}
