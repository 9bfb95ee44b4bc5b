//! Rate limits: a token bucket per connection for requests, and the login
//! guard (per-account back-off, per-IP budget) against password guessing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A classic token bucket: `burst` requests at once, `per_sec` sustained.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(per_sec: f64, burst: f64) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            burst,
            per_sec,
            last: Instant::now(),
        }
    }

    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    pub fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A connection's burst is this many seconds of its sustained rate
/// (`--requests-per-sec`, 50 by default): a person types a few messages a
/// minute and a client syncs in bursts; 50/s with bursts of 200 leaves room
/// for both and stops a flood.
pub const REQUEST_BURST_FACTOR: f64 = 4.0;

/// Refused requests in a row after which the connection is closed (1008):
/// a client that keeps going after hundreds of `rate_limited` is not listening.
pub const REFUSALS_BEFORE_CLOSE: u32 = 500;

/// Failed logins of one account before it backs off, and the longest back-off.
const FREE_FAILURES: u32 = 5;
const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Login attempts per IP per minute (any account): stops spraying one
/// password over many accounts.
const IP_LOGINS_PER_MIN: f64 = 30.0;
/// Tracked accounts and IPs before old entries are forgotten: bounds memory
/// under an attack with random usernames.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
struct AccountState {
    failures: u32,
    locked_until: Option<Instant>,
}

#[derive(Default)]
pub struct LoginGuard {
    /// Per lowercase username and per IP. A std Mutex: lookups are
    /// nanoseconds and never held across an await.
    accounts: Mutex<HashMap<String, AccountState>>,
    ips: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl LoginGuard {
    /// May this attempt go ahead? `Err(wait)` when the account is backing
    /// off or the IP is over its budget.
    pub fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(ip) = ip
            && let Ok(mut ips) = self.ips.lock()
        {
            if ips.len() > MAX_TRACKED {
                ips.clear();
            }
            let bucket = ips
                .entry(ip)
                .or_insert_with(|| TokenBucket::new(IP_LOGINS_PER_MIN / 60.0, IP_LOGINS_PER_MIN));
            if !bucket.take_at(now) {
                return Err(Duration::from_secs(2));
            }
        }
        if let Ok(accounts) = self.accounts.lock()
            && let Some(AccountState {
                locked_until: Some(until),
                ..
            }) = accounts.get(&username.to_lowercase())
            && *until > now
        {
            return Err(*until - now);
        }
        Ok(())
    }

    pub fn failed(&self, username: &str) {
        let Ok(mut accounts) = self.accounts.lock() else {
            return;
        };
        if accounts.len() > MAX_TRACKED {
            // Forget accounts that are not backing off; never lift a lockout.
            let now = Instant::now();
            accounts.retain(|_, s| s.locked_until.is_some_and(|t| t > now));
            if accounts.len() > MAX_TRACKED {
                return;
            }
        }
        let state = accounts
            .entry(username.to_lowercase())
            .or_insert(AccountState {
                failures: 0,
                locked_until: None,
            });
        state.failures += 1;
        if state.failures > FREE_FAILURES {
            let exp = (state.failures - FREE_FAILURES).min(12);
            let wait = Duration::from_secs(1u64 << exp).min(MAX_LOCKOUT);
            state.locked_until = Some(Instant::now() + wait);
        }
    }

    pub fn succeeded(&self, username: &str) {
        if let Ok(mut accounts) = self.accounts.lock() {
            accounts.remove(&username.to_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_sustained_rate() {
        let start = Instant::now();
        let mut b = TokenBucket::new(10.0, 5.0);
        b.last = start;
        assert!((0..5).all(|_| b.take_at(start)));
        assert!(!b.take_at(start));
        assert!(b.take_at(start + Duration::from_millis(100)));
        assert!(!b.take_at(start + Duration::from_millis(100)));
    }

    #[test]
    fn an_account_backs_off_after_repeated_failures_and_recovers_on_success() {
        let g = LoginGuard::default();
        for _ in 0..FREE_FAILURES {
            assert!(g.check("Alice", None).is_ok());
            g.failed("alice");
        }
        assert!(g.check("alice", None).is_ok());
        g.failed("ALICE");
        assert!(
            g.check("alice", None).is_err(),
            "locked after the free failures"
        );
        assert!(g.check("bob", None).is_ok(), "other accounts unaffected");
        g.succeeded("alice");
        assert!(g.check("alice", None).is_ok());
    }
}
