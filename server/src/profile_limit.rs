//! The profile-change limit: each person may change what others see of
//! them (their display name) at most [`CHANGES_PER_WINDOW`] times per
//! [`WINDOW`]. Every change goes through the log and fans out a
//! `user_updated` frame to every online session in the company, so without
//! it one person renaming in a loop would push frames to everyone at the
//! rate of their request budget. Refused changes answer `rate_limited`.
//!
//! In memory, per user, with a fixed window from the first change: a
//! restart forgets the counts (at worst one more window's budget). One
//! entry per person who changed something lately; the table is swept of
//! expired windows when it passes [`SWEEP_AT`] entries, at most once per
//! [`SWEEP_EVERY`], and never drops a live window (so nobody can reset
//! their count by filling the table; it is bounded by the number of
//! accounts anyway, since only a logged-in person can change a profile).

use crate::idhash::IdMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use townhall_protocol::UserId;

/// Changes one person may make per window: a few corrections in a row
/// pass, a loop does not.
pub const CHANGES_PER_WINDOW: u32 = 5;

/// The window of [`CHANGES_PER_WINDOW`].
pub const WINDOW: Duration = Duration::from_secs(600);

/// Entries above which expired windows are swept (about 40 bytes each).
const SWEEP_AT: usize = 10_000;

/// A sweep runs at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    changes: u32,
}

#[derive(Default)]
struct State {
    by_user: IdMap<UserId, Window>,
    last_sweep: Option<Instant>,
}

/// Shared by every session (lives in `App`).
#[derive(Default)]
pub struct ProfileLimiter {
    /// A std Mutex: one map lookup per profile change, never held across
    /// an await.
    state: Mutex<State>,
}

impl ProfileLimiter {
    /// May `user` change their profile once more now? Counts it if so.
    pub fn allow(&self, user: UserId) -> bool {
        self.allow_at(user, Instant::now())
    }

    pub fn allow_at(&self, user: UserId, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let expired = |w: &Window| now.saturating_duration_since(w.started) >= WINDOW;
        if s.by_user.len() >= SWEEP_AT
            && s.last_sweep
                .is_none_or(|t| now.saturating_duration_since(t) >= SWEEP_EVERY)
        {
            s.last_sweep = Some(now);
            s.by_user.retain(|_, w| !expired(w));
        }
        let w = s.by_user.entry(user).or_insert(Window {
            started: now,
            changes: 0,
        });
        if expired(w) {
            *w = Window {
                started: now,
                changes: 0,
            };
        }
        if w.changes >= CHANGES_PER_WINDOW {
            return false;
        }
        w.changes += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_changes_per_person_per_window_then_refused_until_it_ends() {
        let limiter = ProfileLimiter::default();
        let (alice, bob) = (UserId::new(), UserId::new());
        let t0 = Instant::now();
        for _ in 0..CHANGES_PER_WINDOW {
            assert!(limiter.allow_at(alice, t0));
        }
        assert!(!limiter.allow_at(alice, t0 + Duration::from_secs(599)));
        // Someone else has their own budget.
        assert!(limiter.allow_at(bob, t0));
        // A new window.
        assert!(limiter.allow_at(alice, t0 + WINDOW));
    }
}
