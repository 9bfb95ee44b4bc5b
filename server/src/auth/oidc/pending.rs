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
}
