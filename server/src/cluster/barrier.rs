//! Read-your-writes across nodes: wait until this node has applied the log
//! as far as it stood when a read began.
//!
//! A write is acknowledged by the node that took it once that node has
//! applied it; the other nodes apply it a moment later. A client whose next
//! request lands on another node (a token issued by node A presented to
//! node B, a room made through A joined through B) could find nothing
//! there for that moment. So a read that finds nothing, every password
//! login and every WebSocket session open (whose `caught_up` must cover
//! what was acknowledged anywhere before it) first asks the stream for its
//! last entry (one JetStream request) and waits until this node has
//! applied up to it, then looks again. Every write acknowledged before the
//! read began is at or before that entry.
//!
//! Only misses, logins and session opens pay: a found token or room in a
//! request is answered from sled at once.

use async_nats::jetstream;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// Barrier requests to NATS in flight at once on a node. Misses are cheap
/// to cause (a bad token costs the client nothing), so they must not turn
/// into unbounded requests to the brokers: beyond this, a miss is answered
/// as a miss at once. 32 covers a burst of reconnects after a node change.
pub const MAX_IN_FLIGHT: usize = 32;

/// The same bound for session opens, on permits of their own: a reconnect
/// storm (thousands of sessions opening after a node change) takes these
/// and leaves the misses' permits free, so that a token issued a moment
/// ago on another node is still found during the storm.
pub const MAX_SESSIONS_IN_FLIGHT: usize = 32;

/// How long a read waits for this node to catch up before it answers with
/// what it has. Longer than a healthy node's lag by orders of magnitude,
/// short enough that a client is not left hanging.
pub const WAIT: Duration = Duration::from_secs(3);

/// What a node needs to wait for its own log position.
pub struct Barrier {
    js: jetstream::Context,
    stream: String,
    applied: watch::Receiver<u64>,
    /// Why a semaphore: bounds the JetStream requests misses can cause
    /// ([`MAX_IN_FLIGHT`]); a miss beyond it is answered as a miss.
    permits: Semaphore,
    /// Session opens' own bound ([`MAX_SESSIONS_IN_FLIGHT`]).
    session_permits: Semaphore,
}

impl Barrier {
    pub fn new(js: jetstream::Context, stream: String, applied: watch::Receiver<u64>) -> Barrier {
        Barrier {
            js,
            stream,
            applied,
            permits: Semaphore::new(MAX_IN_FLIGHT),
            session_permits: Semaphore::new(MAX_SESSIONS_IN_FLIGHT),
        }
    }

    /// [`Barrier::wait`] for a session open, on the sessions' permits.
    pub async fn wait_for_session(&self) -> bool {
        self.wait_on(&self.session_permits).await
    }

    /// Wait until this node has applied every entry the log held when this
    /// call began. `false` if that could not be done within [`WAIT`] (NATS
    /// unreachable, node lagging, or too many barriers at once): the caller
    /// then answers from what it has.
    pub async fn wait(&self) -> bool {
        self.wait_on(&self.permits).await
    }

    async fn wait_on(&self, permits: &Semaphore) -> bool {
        let Ok(_permit) = permits.try_acquire() else {
            crate::metrics::inc(&crate::metrics::get().cluster_barriers_refused);
            return false;
        };
        let started = std::time::Instant::now();
        let ok = tokio::time::timeout(WAIT, async {
            let stream = match self.js.get_stream(&self.stream).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "read barrier: cannot read the stream's position");
                    return false;
                }
            };
            let last = stream.cached_info().state.last_sequence;
            let mut applied = self.applied.clone();
            applied.wait_for(|a| *a >= last).await.is_ok()
        })
        .await
        .unwrap_or(false);
        if ok {
            crate::metrics::inc(&crate::metrics::get().cluster_barriers);
        } else {
            crate::metrics::inc(&crate::metrics::get().cluster_barrier_timeouts);
        }
        tracing::debug!(
            ok,
            ms = started.elapsed().as_millis() as u64,
            "read barrier"
        );
        ok
    }
}
