//! The typing throttle: at most one `typing` fan-out per (user, room) per
//! [`TYPING_INTERVAL`], across all of that user's connections, and none in
//! rooms bigger than [`TYPING_ROOM_LIMIT`].
//!
//! Typing is best-effort: a frame the throttle drops is dropped silently (no
//! error), exactly like one a full client queue drops. A client repeats
//! `typing` every few seconds while the person types, so the recipients'
//! indicator stays lit all the same.
//!
//! Memory: one entry per (user, room) that typed within the last interval.
//! A key needs an authenticated user who is a current member of the room
//! (the handler checks membership first), so an attacker cannot invent keys
//! freely; still the table is capped at [`MAX_TRACKED`]. When it is full the
//! expired entries are swept (at most once per [`SWEEP_EVERY`], so a full
//! table does not turn every request into a full scan); if it is still full,
//! new keys are refused (their typing is dropped) and live entries are never
//! evicted, so filling the table can never let anyone past their throttle.

use crate::idhash::IdHasher;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use townhall_protocol::{RoomId, UserId};

/// One fan-out per (user, room) per this long: web clients send `typing`
/// about every 2-3 s while a key is pressed and show the indicator for a
/// few seconds, so recipients lose nothing; a flood from 32 sockets becomes
/// one frame per 3 s (the issue-17 attack gave 1,664 frames/s).
pub const TYPING_INTERVAL: Duration = Duration::from_secs(3);

/// Rooms with more members than this get no typing fan-out at all: each
/// frame walks every member under the hub lock, and "someone among 1,000
/// people is typing" tells nobody anything useful.
pub const TYPING_ROOM_LIMIT: u64 = 1_000;

/// Entries kept at most (about 64 bytes each: a few MiB). 100,000 people
/// each typing in a different room within 3 s is far beyond a company.
const MAX_TRACKED: usize = 100_000;

/// A full table is swept of expired entries at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

type Key = (UserId, RoomId);

struct State {
    last: HashMap<Key, Instant, BuildHasherDefault<IdHasher>>,
    last_sweep: Option<Instant>,
}

/// Shared by every session (lives in `App`).
pub struct TypingThrottle {
    /// A std Mutex: one map lookup per `typing`, never held across an await.
    state: Mutex<State>,
    max_tracked: usize,
}

impl Default for TypingThrottle {
    fn default() -> Self {
        TypingThrottle::with_capacity(MAX_TRACKED)
    }
}

impl TypingThrottle {
    fn with_capacity(max_tracked: usize) -> TypingThrottle {
        TypingThrottle {
            state: Mutex::new(State {
                last: HashMap::default(),
                last_sweep: None,
            }),
            max_tracked,
        }
    }

    /// May `user`'s typing in `room` be fanned out now? Records it if so.
    pub fn allow(&self, user: UserId, room: RoomId) -> bool {
        self.allow_at(user, room, Instant::now())
    }

    pub fn allow_at(&self, user: UserId, room: RoomId, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let key = (user, room);
        if let Some(last) = s.last.get_mut(&key) {
            if now.saturating_duration_since(*last) < TYPING_INTERVAL {
                return false;
            }
            *last = now;
            return true;
        }
        if s.last.len() >= self.max_tracked {
            let due = s
                .last_sweep
                .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY);
            if due {
                s.last_sweep = Some(now);
                s.last
                    .retain(|_, t| now.saturating_duration_since(*t) < TYPING_INTERVAL);
            }
            if s.last.len() >= self.max_tracked {
                return false;
            }
        }
        s.last.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fan_out_per_interval_per_user_and_room() {
        let t = TypingThrottle::default();
        let (alice, bob) = (UserId::new(), UserId::new());
        let (lobby, other) = (RoomId::new(), RoomId::new());
        let start = Instant::now();
        assert!(t.allow_at(alice, lobby, start));
        assert!(!t.allow_at(alice, lobby, start + Duration::from_millis(2_900)));
        assert!(t.allow_at(alice, other, start), "other rooms are separate");
        assert!(t.allow_at(bob, lobby, start), "other people are separate");
        assert!(t.allow_at(alice, lobby, start + TYPING_INTERVAL));
    }

    #[test]
    fn a_full_table_drops_new_keys_but_never_frees_a_throttled_one() {
        let t = TypingThrottle::with_capacity(2);
        let start = Instant::now();
        let (a, b, c) = (UserId::new(), UserId::new(), UserId::new());
        let room = RoomId::new();
        assert!(t.allow_at(a, room, start));
        assert!(t.allow_at(b, room, start));
        assert!(!t.allow_at(c, room, start), "full: a new key is dropped");
        assert!(!t.allow_at(a, room, start), "a is still throttled");
        // Once a's and b's entries expire, the sweep makes room.
        let later = start + TYPING_INTERVAL;
        assert!(t.allow_at(c, room, later));
        assert!(!t.allow_at(c, room, later));
    }
}
