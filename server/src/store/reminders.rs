//! Broadcast reminders (issue 13): which reminders were sent for a
//! broadcast, when, and to how many people.
//!
//! - `broadcast_time_reminder`: broadcast id ‖ at (big-endian ms) → the
//!   reminder (JSON: `at`, `reminded`, `by`). Written by
//!   `committer/reminders.rs`; the newest one decides whether another may
//!   be sent (at most one an hour), and `reach` lists them newest first.
//!   Who was reminded is not kept: each reminded person's copy is a
//!   `broadcast_reminder` frame in their own `user_pos_notice` entries.

use super::Store;
use super::kv::{Batch, StoreError, Tree, prefix_successor};
use std::ops::Bound;
use townhall_protocol::{Millis, Reminder};

fn broadcast_at(broadcast: uuid::Uuid, at: Millis) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    k.extend_from_slice(broadcast.as_bytes());
    k.extend_from_slice(&at.to_be_bytes());
    k
}

/// Record a reminder sent for `broadcast`.
pub fn put_reminder(b: &mut Batch, broadcast: uuid::Uuid, reminder: &Reminder) {
    // A `Reminder` is plain data: serializing it cannot fail.
    let v = serde_json::to_vec(reminder).unwrap_or_default();
    b.put(
        Tree::BroadcastTimeReminder,
        broadcast_at(broadcast, reminder.at),
        v,
    );
}

impl Store {
    /// The newest `limit` reminders sent for `broadcast`, newest first.
    pub fn reminders(
        &self,
        broadcast: uuid::Uuid,
        limit: usize,
    ) -> Result<Vec<Reminder>, StoreError> {
        let prefix = broadcast.as_bytes().to_vec();
        let end = match prefix_successor(&prefix) {
            Some(next) => Bound::Excluded(next),
            None => Bound::Unbounded,
        };
        self.kv()
            .range(
                Tree::BroadcastTimeReminder,
                Bound::Included(prefix),
                end,
                true,
                limit,
            )?
            .into_iter()
            .map(|(_, v)| {
                serde_json::from_slice(&v)
                    .map_err(|e| super::corrupt(Tree::BroadcastTimeReminder, e))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryKv;
    use townhall_protocol::{Role, UserId, UserInfo};

    fn lead() -> UserInfo {
        UserInfo {
            id: UserId::from_bytes([1; 16]),
            username: "lead".into(),
            display_name: "Lead".into(),
            role: Role::Leader,
            transformation_team: false,
            avatar: None,
        }
    }

    #[test]
    fn reminders_come_back_newest_first_and_only_for_their_broadcast() {
        let store = Store::new(std::sync::Arc::new(MemoryKv::default()));
        let (a, other) = (
            uuid::Uuid::from_bytes([7; 16]),
            uuid::Uuid::from_bytes([8; 16]),
        );
        let mut b = Batch::default();
        for (at, reminded) in [(1_000, 3), (3_601_000, 2), (300, 9)] {
            let r = Reminder {
                at,
                reminded,
                by: lead(),
            };
            put_reminder(&mut b, a, &r);
        }
        put_reminder(
            &mut b,
            other,
            &Reminder {
                at: 5_000_000,
                reminded: 1,
                by: lead(),
            },
        );
        store.kv().apply(&b).expect("apply");
        let got: Vec<(u64, u64)> = store
            .reminders(a, 10)
            .expect("reminders")
            .into_iter()
            .map(|r| (r.at, r.reminded))
            .collect();
        assert_eq!(got, vec![(3_601_000, 2), (1_000, 3), (300, 9)]);
        assert_eq!(store.reminders(a, 1).expect("newest").len(), 1);
    }
}
