//! What this node keeps between the steps of a browser's OIDC login: the
//! state, nonce and PKCE verifier from `/api/oidc/start` to the callback,
//! and the session from the callback to the web client's exchange of its
//! one-time code. Both are short-lived, used once, and bounded.
//!
//! Node-local memory, not the store: a login in progress is worth nothing
//! after a restart (the user clicks again), and it never enters the log.
//! In a cluster, a login's steps must reach the same node (docs/operations.md).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A map whose entries expire after `ttl` and are taken at most once.
pub struct Expiring<V> {
    /// A std Mutex: held for a map insert or remove (and a sweep of the
    /// expired when the map is full), never across an await.
    entries: Mutex<HashMap<String, (Instant, V)>>,
    ttl: Duration,
    capacity: usize,
}

/// The map is full of live entries: answer `rate_limited`.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

impl<V> Expiring<V> {
    pub fn new(ttl: Duration, capacity: usize) -> Expiring<V> {
        Expiring {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    /// Keep `value` under `key` for the TTL. When the map is full, the
    /// expired entries are dropped first; if it is still full, [`Full`].
    pub fn insert(&self, key: String, value: V) -> Result<(), Full> {
        let mut map = self.entries.lock().map_err(|_| Full)?;
        if map.len() >= self.capacity {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.capacity {
                return Err(Full);
            }
        }
        map.insert(key, (Instant::now(), value));
        Ok(())
    }

    /// The value under `key`, removed (a second take finds nothing), or
    /// `None` when absent or expired.
    pub fn take(&self, key: &str) -> Option<V> {
        let mut map = self.entries.lock().ok()?;
        let (at, value) = map.remove(key)?;
        (at.elapsed() < self.ttl).then_some(value)
    }
}

/// Company logins started per address: at most [`StartLimiter::PER_IP`]
/// within [`StartLimiter::WINDOW`], so one client cannot fill the shared
/// map of logins in progress (and lock everyone out of company login).
/// Requests whose address is unknown (loopback without a trusted proxy
/// header) are not counted, as for password logins.
pub struct StartLimiter {
    /// A std Mutex: held for one map update (and a sweep when full), never
    /// across an await.
    starts: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

impl StartLimiter {
    pub const PER_IP: u32 = 30;
    pub const WINDOW: Duration = Duration::from_secs(600);
    /// Addresses remembered at once; past it, windows that ended are
    /// dropped, and if none has, a new address is refused.
    const ADDRESSES: usize = 100_000;

    pub fn new() -> StartLimiter {
        StartLimiter {
            starts: Mutex::new(HashMap::new()),
        }
    }

    /// Count a start from `ip`; `false` if it is over the limit.
    pub fn allow(&self, ip: Option<std::net::IpAddr>) -> bool {
        let Some(ip) = ip else { return true };
        let Ok(mut map) = self.starts.lock() else {
            return false;
        };
        if map.len() >= Self::ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, (since, _)| since.elapsed() < Self::WINDOW);
            if map.len() >= Self::ADDRESSES {
                return false;
            }
        }
        let entry = map.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Self::WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        entry.1 <= Self::PER_IP
    }
}

impl Default for StartLimiter {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_taken_once_and_a_full_map_refuses() {
        let m = Expiring::new(Duration::from_secs(60), 2);
        m.insert("a".into(), 1).expect("room");
        m.insert("b".into(), 2).expect("room");
        assert_eq!(m.insert("c".into(), 3), Err(Full));
        assert_eq!(m.take("a"), Some(1));
        assert_eq!(m.take("a"), None);
        m.insert("c".into(), 3).expect("room again");
        let expired = Expiring::new(Duration::ZERO, 1);
        expired.insert("x".into(), 1).expect("room");
        assert_eq!(expired.take("x"), None);
        // Expired entries make room.
        expired.insert("y".into(), 2).expect("swept");
    }

    #[test]
    fn one_address_cannot_start_more_than_its_share() {
        let l = StartLimiter::new();
        let ip: std::net::IpAddr = "192.0.2.7".parse().expect("ip");
        for _ in 0..StartLimiter::PER_IP {
            assert!(l.allow(Some(ip)));
        }
        assert!(!l.allow(Some(ip)));
        assert!(l.allow(Some("192.0.2.8".parse().expect("ip"))));
        assert!(l.allow(None));
    }
}
