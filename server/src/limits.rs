//! Rate limits: a token bucket per connection for requests, and the login
//! guard against password guessing: back-off per (account, source), a
//! per-account budget that tightens it under attack, and a per-IP budget of
//! attempts that a successful login gives back. A correct password is never
//! refused because of someone else's failures.
//!
//! # Why this is still ours and not `governor` (issue 18)
//!
//! Issue 18 asked for `governor` 0.10 (GCRA, keyed limiters with
//! `retain_recent`). Checked on 2026-11-30 and kept ours, for these reasons:
//!
//! - **Second copies of crates.** governor 0.10 needs its `std` feature for
//!   any real clock, and `std` pulls `parking_lot` 0.12 (+ `parking_lot_core`
//!   0.9) next to the 0.11 that sled `=0.34.7` pins; its default `dashmap`
//!   adds `hashbrown` 0.14 as well. `cargo tree -d` must show no second copy
//!   introduced by the change, and neither can be unified from our side.
//! - **No refund.** The per-IP budget takes a turn when an attempt starts
//!   (so concurrent guesses are bounded) and a successful login gives it
//!   back ([`TokenBucket::give_back`]): an office behind one NAT address
//!   spends nothing at 9:00. GCRA has no way to return a cell.
//! - **The lockout is not a rate.** Per (account, source): five free
//!   failures, then a doubling back-off up to 15 minutes, failures
//!   remembered an hour after the last one, and only two free failures
//!   while the account is under attack. That is a small state machine, not
//!   a quota.
//! - **A hard bound on memory.** `retain_recent` forgets only keys whose
//!   bucket has refilled, so an attacker rotating usernames or /64s within
//!   the refill window grows a governor map without limit. [`make_room`]
//!   caps each map at [`MAX_TRACKED`], dropping stale entries and then the
//!   least recently used eighth, never the whole map (which would hand
//!   every guesser a fresh budget).
//!
//! What is left that governor would do (the per-connection bucket) is ten
//! lines here; on its own it is not worth a dependency with second copies.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
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

    /// Return a token taken for something that turned out not to count
    /// (never above `burst`).
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.burst);
    }

    /// Would the bucket be full by `now`? Then it limits nothing and a
    /// fresh one would behave the same: safe to forget.
    fn is_full_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_sec >= self.burst
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

/// Failed logins of one account from one source before that source backs
/// off, and the longest back-off. Five covers a person's own typos (caps
/// lock, an old password); 15 minutes keeps a guesser to about four
/// guesses an hour per source.
const FREE_FAILURES: u32 = 5;
const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// How long a source's failures are remembered after its last one. Without
/// it a guesser would get its free failures back each time a lock ends.
const FAILURE_MEMORY: Duration = Duration::from_secs(60 * 60);
/// Failed logins of one account from all sources together, per hour. A
/// person mistypes a handful of times a day; more than this in an hour
/// means someone is guessing. Past it the account is "under attack": each
/// source gets only [`FREE_FAILURES_UNDER_ATTACK`] failures and then the
/// longest lock at once. A correct password from a source that has not
/// failed itself still gets in, so nobody can lock another person out.
const ACCOUNT_FAILURES_PER_HOUR: f64 = 100.0;
const FREE_FAILURES_UNDER_ATTACK: u32 = 2;
/// Login attempts per IP per minute (any account): stops spraying one
/// password over many accounts. An attempt takes its turn when it starts
/// (so a flood of concurrent guesses is bounded too) and a successful one
/// gives it back: an office behind one NAT address where everyone logs in
/// at 9:00 spends nothing, while wrong passwords still count.
const IP_LOGINS_PER_MIN: f64 = 30.0;
/// Entries per map before stale ones (and then the least recently used
/// eighth) are dropped: bounds memory under an attack with random
/// usernames or rotating addresses, without ever clearing a map wholesale
/// (which would hand every guesser a fresh budget).
pub const MAX_TRACKED: usize = 100_000;

/// The key a client address is limited under: IPv4 as is (an IPv4-mapped
/// IPv6 address as its IPv4), IPv6 cut to its /64. One subscriber or host
/// is usually given a whole /64 and can rotate through it freely, so a
/// per-address limit on IPv6 would limit nothing.
pub fn ip_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// Make room in a map that has reached `cap`: drop stale entries (those
/// that no longer change any decision), then, if fewer than an eighth went,
/// the least recently used (by `last_used`) down to seven eighths of `cap`.
/// Each call is O(n) and frees at least `cap / 8`, so it runs at most once
/// per `cap / 8` inserts.
fn make_room<K: Eq + Hash, V>(
    map: &mut HashMap<K, V>,
    cap: usize,
    stale: impl Fn(&V) -> bool,
    last_used: impl Fn(&V) -> Instant,
) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, v| !stale(v));
    let target = cap - cap / 8 - 1;
    if map.len() <= target {
        return;
    }
    let mut ages: Vec<Instant> = map.values().map(&last_used).collect();
    let n = map.len() - target;
    let (_, cutoff, _) = ages.select_nth_unstable(n - 1);
    let cutoff = *cutoff;
    map.retain(|_, v| last_used(v) > cutoff);
}

/// One account's failures from one source.
#[derive(Debug)]
struct SourceState {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// The account name and the source (`None`: an address we cannot tell
/// apart, i.e. loopback without `--trust-forwarded-for`).
type PairKey = (String, Option<IpAddr>);

pub struct LoginGuard {
    /// Lockouts per (lowercase username, source): a guesser locks only
    /// itself out. A std Mutex (as for the maps below): lookups take
    /// nanoseconds and it is never held across an await.
    pairs: Mutex<HashMap<PairKey, SourceState>>,
    /// Failures per lowercase username from every source, as a bucket of
    /// [`ACCOUNT_FAILURES_PER_HOUR`]: empty means under attack.
    accounts: Mutex<HashMap<String, TokenBucket>>,
    /// Attempts per source key (see [`ip_key`]).
    ips: Mutex<HashMap<IpAddr, TokenBucket>>,
    /// [`MAX_TRACKED`] in production; small in unit tests.
    cap: usize,
}

impl Default for LoginGuard {
    fn default() -> Self {
        LoginGuard::with_capacity(MAX_TRACKED)
    }
}

impl LoginGuard {
    fn with_capacity(cap: usize) -> LoginGuard {
        LoginGuard {
            pairs: Mutex::default(),
            accounts: Mutex::default(),
            ips: Mutex::default(),
            cap,
        }
    }

    /// May this attempt go ahead? `Err(wait)` when this source is backing
    /// off for this account or is over its budget. Never refused because
    /// of another source's failures.
    pub fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        self.check_at(username, ip, Instant::now())
    }

    fn check_at(&self, username: &str, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let ip = ip.map(ip_key);
        if let Some(ip) = ip
            && let Ok(mut ips) = self.ips.lock()
        {
            if !ips.contains_key(&ip) {
                make_room(&mut ips, self.cap, |b| b.is_full_at(now), |b| b.last);
            }
            let bucket = ips
                .entry(ip)
                .or_insert_with(|| TokenBucket::new(IP_LOGINS_PER_MIN / 60.0, IP_LOGINS_PER_MIN));
            if !bucket.take_at(now) {
                return Err(Duration::from_secs(2));
            }
        }
        if let Ok(pairs) = self.pairs.lock()
            && let Some(SourceState {
                locked_until: Some(until),
                ..
            }) = pairs.get(&(username.to_lowercase(), ip))
            && *until > now
        {
            return Err(*until - now);
        }
        Ok(())
    }

    /// A wrong password (or unknown user) for `username` from `ip`.
    pub fn failed(&self, username: &str, ip: Option<IpAddr>) {
        self.failed_at(username, ip, Instant::now())
    }

    fn failed_at(&self, username: &str, ip: Option<IpAddr>, now: Instant) {
        let name = username.to_lowercase();
        let under_attack = match self.accounts.lock() {
            Ok(mut accounts) => {
                if !accounts.contains_key(&name) {
                    make_room(&mut accounts, self.cap, |b| b.is_full_at(now), |b| b.last);
                }
                let bucket = accounts.entry(name.clone()).or_insert_with(|| {
                    TokenBucket::new(
                        ACCOUNT_FAILURES_PER_HOUR / 3600.0,
                        ACCOUNT_FAILURES_PER_HOUR,
                    )
                });
                !bucket.take_at(now)
            }
            Err(_) => false,
        };
        let Ok(mut pairs) = self.pairs.lock() else {
            return;
        };
        let key = (name, ip.map(ip_key));
        if !pairs.contains_key(&key) {
            let stale = |s: &SourceState| {
                s.locked_until.is_none_or(|t| t <= now)
                    && now.saturating_duration_since(s.last_failure) > FAILURE_MEMORY
            };
            // Ranked by when an entry stops mattering: a lock protects
            // until it ends, so locks are the last to go.
            let until =
                |s: &SourceState| s.locked_until.unwrap_or(s.last_failure).max(s.last_failure);
            make_room(&mut pairs, self.cap, stale, until);
        }
        let state = pairs.entry(key).or_insert(SourceState {
            failures: 0,
            locked_until: None,
            last_failure: now,
        });
        if now.saturating_duration_since(state.last_failure) > FAILURE_MEMORY {
            state.failures = 0;
        }
        state.failures += 1;
        state.last_failure = now;
        if under_attack && state.failures > FREE_FAILURES_UNDER_ATTACK {
            state.locked_until = Some(now + MAX_LOCKOUT);
        } else if state.failures > FREE_FAILURES {
            let exp = (state.failures - FREE_FAILURES).min(12);
            let wait = Duration::from_secs(1u64 << exp).min(MAX_LOCKOUT);
            state.locked_until = Some(now + wait);
        }
    }

    /// The right password from `ip`: that source starts afresh, and the
    /// turn its attempt took from the per-IP budget is given back. The
    /// account's budget is left alone (a success does not end an attack).
    pub fn succeeded(&self, username: &str, ip: Option<IpAddr>) {
        let ip = ip.map(ip_key);
        if let Ok(mut pairs) = self.pairs.lock() {
            pairs.remove(&(username.to_lowercase(), ip));
        }
        if let Some(ip) = ip
            && let Ok(mut ips) = self.ips.lock()
            && let Some(bucket) = ips.get_mut(&ip)
        {
            bucket.give_back();
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

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_source_backs_off_after_repeated_failures_and_recovers_on_success() {
        let g = LoginGuard::default();
        for _ in 0..FREE_FAILURES {
            assert!(g.check("Alice", None).is_ok());
            g.failed("alice", None);
        }
        assert!(g.check("alice", None).is_ok());
        g.failed("ALICE", None);
        assert!(
            g.check("alice", None).is_err(),
            "locked after the free failures"
        );
        assert!(g.check("bob", None).is_ok(), "other accounts unaffected");
        g.succeeded("alice", None);
        assert!(g.check("alice", None).is_ok());
    }

    #[test]
    fn successful_logins_do_not_spend_the_per_ip_budget_but_failures_do() {
        let g = LoginGuard::default();
        let office = ip("203.0.113.50");
        let now = Instant::now();
        // A whole office behind one NAT address logs in at 9:00.
        for i in 0..(3 * IP_LOGINS_PER_MIN as u32) {
            let name = format!("person{i}");
            assert!(g.check_at(&name, office, now).is_ok(), "login {i} refused");
            g.succeeded(&name, office);
        }
        // Wrong passwords from that address still count.
        let mut refused = false;
        for i in 0..=(IP_LOGINS_PER_MIN as u32) {
            let name = format!("guess{i}");
            if g.check_at(&name, office, now).is_err() {
                refused = true;
                break;
            }
            g.failed_at(&name, office, now);
        }
        assert!(refused, "a spray of failures from one address is limited");
    }

    #[test]
    fn another_source_is_never_locked_by_a_guesser() {
        let g = LoginGuard::default();
        let start = Instant::now();
        for _ in 0..20 {
            g.failed_at("bob", ip("203.0.113.7"), start);
        }
        assert!(g.check_at("bob", ip("203.0.113.7"), start).is_err());
        assert!(g.check_at("bob", ip("198.51.100.9"), start).is_ok());
        assert!(g.check_at("bob", None, start).is_ok());
    }

    #[test]
    fn under_attack_each_new_source_gets_only_a_couple_of_guesses() {
        let g = LoginGuard::default();
        let now = Instant::now();
        // A botnet spends the account's hourly budget, five per address.
        for i in 0..(ACCOUNT_FAILURES_PER_HOUR as u32 / FREE_FAILURES + 1) {
            let source = ip(&format!("10.0.{}.{}", i / 256, i % 256));
            for _ in 0..FREE_FAILURES {
                g.failed_at("bob", source, now);
            }
        }
        let fresh = ip("192.0.2.1");
        for _ in 0..FREE_FAILURES_UNDER_ATTACK {
            assert!(g.check_at("bob", fresh, now).is_ok());
            g.failed_at("bob", fresh, now);
        }
        g.failed_at("bob", fresh, now);
        assert_eq!(
            g.check_at("bob", fresh, now),
            Err(MAX_LOCKOUT),
            "the longest lock at once"
        );
        // Someone who has not failed still gets to try the right password.
        assert!(g.check_at("bob", ip("192.0.2.2"), now).is_ok());
    }

    #[test]
    fn ipv6_is_limited_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| ip_key(s.parse().expect("ip"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn a_full_map_drops_stale_then_oldest_entries_never_everything() {
        let g = LoginGuard::with_capacity(64);
        let start = Instant::now();
        // The attacker's own address spends its whole budget first.
        let attacker = ip("198.51.100.1");
        while g.check_at("x", attacker, start).is_ok() {}
        // Then rotates through many /64s, each used once, to flush it out.
        for i in 0..1000u32 {
            let t = start + Duration::from_millis(u64::from(i));
            let rotating = ip(&format!("2001:db8:{:x}:{:x}::1", i >> 16, i & 0xffff));
            let _ = g.check_at("x", rotating, t);
            // The spent address stays in use, so it is never the oldest.
            assert!(
                g.check_at("x", attacker, t).is_err(),
                "the budget was reset at step {i}"
            );
        }
        let len = g.ips.lock().map(|m| m.len()).unwrap_or_default();
        assert!(len <= 64, "bounded: {len}");
        assert!(len > 32, "not cleared wholesale: {len}");
    }

    #[test]
    fn stale_failures_are_forgotten_but_locks_are_kept_when_full() {
        let g = LoginGuard::with_capacity(16);
        let start = Instant::now();
        for _ in 0..=FREE_FAILURES {
            g.failed_at("bob", ip("203.0.113.7"), start);
        }
        let later = start + Duration::from_secs(1);
        for i in 0..15u32 {
            g.failed_at(&format!("user{i}"), ip("203.0.113.8"), later);
        }
        g.failed_at("carol", ip("203.0.113.9"), later);
        assert!(g.check_at("bob", ip("203.0.113.7"), later).is_err());
    }
}
