//! The add limit: one person may add another to at most
//! [`ADDS_PER_TARGET_PER_HOUR`] rooms an hour, so nobody can be dragged into
//! room after room faster than they can leave them. Admins are exempt (they
//! onboard people in bulk, and already manage every room).
//!
//! In memory, per (adder, target), with a fixed one-hour window from the
//! first add: a restart forgets the counts, which at worst allows one more
//! hour's budget. Memory is bounded twice: each adder tracks at most
//! [`MAX_TARGETS_PER_ADDER`] people per window (beyond that their adds of
//! new people are refused, which costs nobody but them), and the whole table
//! at most [`MAX_TRACKED`] pairs (expired windows are swept when it is full,
//! at most once a minute; live counts are never dropped, so nobody can
//! reset their own limit by filling the table).

use crate::idhash::IdMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use townhall_protocol::UserId;

/// Rooms one person may add one other person to per window: far above a
/// team lead setting up a new colleague (a dozen rooms), far below spam.
pub const ADDS_PER_TARGET_PER_HOUR: u32 = 20;

/// The window of [`ADDS_PER_TARGET_PER_HOUR`].
const WINDOW: Duration = Duration::from_secs(3600);

/// Distinct people one adder may add in one window (see the module doc).
const MAX_TARGETS_PER_ADDER: usize = 1_000;

/// (adder, target) pairs tracked at most: about 40 bytes each.
const MAX_TRACKED: usize = 200_000;

/// A full table is swept of expired windows at most this often, so that a
/// full table does not turn every `add_member` into a scan of all of it.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    adds: u32,
}

#[derive(Default)]
struct State {
    by_adder: IdMap<UserId, IdMap<UserId, Window>>,
    tracked: usize,
    last_sweep: Option<Instant>,
}

/// Shared by every session (lives in `App`).
#[derive(Default)]
pub struct AddLimiter {
    /// A std Mutex: a couple of map lookups per `add_member`, never held
    /// across an await.
    state: Mutex<State>,
}

impl AddLimiter {
    /// May `adder` add `target` to one more room now? Counts it if so.
    pub fn allow(&self, adder: UserId, target: UserId) -> bool {
        self.allow_at(adder, target, Instant::now())
    }

    pub fn allow_at(&self, adder: UserId, target: UserId, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let expired = |w: &Window| now.saturating_duration_since(w.started) >= WINDOW;
        if let Some(w) = s.by_adder.get_mut(&adder).and_then(|t| t.get_mut(&target)) {
            if expired(w) {
                *w = Window {
                    started: now,
                    adds: 1,
                };
                return true;
            }
            if w.adds >= ADDS_PER_TARGET_PER_HOUR {
                return false;
            }
            w.adds += 1;
            return true;
        }
        // A new pair: make room among this adder's and then everyone's
        // expired windows if needed, never by dropping a live one.
        let State {
            by_adder,
            tracked,
            last_sweep,
        } = &mut *s;
        let targets = by_adder.entry(adder).or_default();
        if targets.len() >= MAX_TARGETS_PER_ADDER {
            let before = targets.len();
            targets.retain(|_, w| !expired(w));
            *tracked -= before - targets.len();
            if targets.len() >= MAX_TARGETS_PER_ADDER {
                return false;
            }
        }
        if *tracked >= MAX_TRACKED {
            if last_sweep.is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY) {
                *last_sweep = Some(now);
                for targets in by_adder.values_mut() {
                    targets.retain(|_, w| !expired(w));
                }
                by_adder.retain(|a, t| !t.is_empty() || *a == adder);
                *tracked = by_adder.values().map(|t| t.len()).sum();
            }
            if *tracked >= MAX_TRACKED {
                return false;
            }
        }
        if let Some(targets) = by_adder.get_mut(&adder) {
            targets.insert(
                target,
                Window {
                    started: now,
                    adds: 1,
                },
            );
            *tracked += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_adds_per_pair_per_hour_then_refused_until_the_window_ends() {
        let limiter = AddLimiter::default();
        let (mallory, bob, carol) = (UserId::new(), UserId::new(), UserId::new());
        let start = Instant::now();
        for _ in 0..ADDS_PER_TARGET_PER_HOUR {
            assert!(limiter.allow_at(mallory, bob, start));
        }
        assert!(!limiter.allow_at(mallory, bob, start + Duration::from_secs(3599)));
        assert!(
            limiter.allow_at(mallory, carol, start),
            "other targets are separate"
        );
        assert!(
            limiter.allow_at(carol, bob, start),
            "other adders are separate"
        );
        assert!(limiter.allow_at(mallory, bob, start + WINDOW));
    }
}
