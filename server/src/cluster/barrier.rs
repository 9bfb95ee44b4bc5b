//! Read-your-writes across nodes: wait until this node has applied the log
//! as far as it stood when a read began.
//!
//! A write is acknowledged by the node that took it once that node has
//! applied it; the other nodes apply it a moment later. A client whose next
//! request lands on another node (a token issued by node A presented to
//! node B, a room made through A joined through B) could find nothing
//! there for that moment. So a read that finds nothing, every password
//! login and every WebSocket session open (whose `caught_up` must cover
//! what was acknowledged anywhere before it) first learns the stream's last
//! entry and waits until this node has applied up to it, then looks again.
//! Every write acknowledged before the read began is at or before that
//! entry.
//!
//! **One request serves many.** The last entry is read by one JetStream
//! request (`STREAM.INFO`) at a time per node, and each answer serves every
//! barrier that began before that request was sent: a reconnect storm of
//! thousands of sessions costs the brokers about one request per round
//! trip, not one per session ([`Positions`]).
//!
//! Only misses, logins and session opens pay: a found token or room in a
//! request is answered from sled at once.

use async_nats::jetstream;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// Barriers waiting at once on a node. Coalesced, they cost the brokers
/// one request per round trip whatever their number; this bounds the
/// waiting itself (each holds a request or a session open for up to
/// [`WAIT`]). Beyond it, a read is answered from what the node has. A
/// reconnect storm of a few thousand sessions mostly finds the node caught
/// up at once and releases its permit within a round trip.
pub const MAX_WAITING: usize = 1024;

/// How long a read waits for this node to catch up before it answers with
/// what it has. Longer than a healthy node's lag by orders of magnitude,
/// short enough that a client is not left hanging.
pub const WAIT: Duration = Duration::from_secs(3);

/// Reads the log's last sequence (one request to the brokers).
type Fetch = Arc<dyn Fn() -> BoxFuture<'static, Result<u64, String>> + Send + Sync>;

/// What a node needs to wait for its own log position.
pub struct Barrier {
    positions: Arc<Positions>,
    applied: watch::Receiver<u64>,
    /// Why a semaphore: bounds the barriers waiting at once
    /// ([`MAX_WAITING`]); one beyond it is answered as if it had failed.
    permits: Semaphore,
}

impl Barrier {
    pub fn new(js: jetstream::Context, stream: String, applied: watch::Receiver<u64>) -> Barrier {
        let fetch: Fetch = Arc::new(move || {
            let (js, stream) = (js.clone(), stream.clone());
            Box::pin(async move {
                let s = js.get_stream(&stream).await.map_err(|e| e.to_string())?;
                Ok(s.cached_info().state.last_sequence)
            })
        });
        Barrier {
            positions: Positions::new(fetch),
            applied,
            permits: Semaphore::new(MAX_WAITING),
        }
    }

    /// Wait until this node has applied every entry the log held when this
    /// call began. `false` if that could not be done within [`WAIT`] (NATS
    /// unreachable, node lagging, or too many barriers at once): the caller
    /// then answers from what it has.
    pub async fn wait(&self) -> bool {
        let Ok(_permit) = self.permits.try_acquire() else {
            crate::metrics::inc(&crate::metrics::get().cluster_barriers_refused);
            return false;
        };
        let started = std::time::Instant::now();
        let ok = tokio::time::timeout(WAIT, async {
            let Some(last) = self.positions.last().await else {
                return false;
            };
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

/// The log's last sequence, read for many barriers at once: a barrier
/// takes a ticket as it begins; one reading task sends a request, and its
/// answer serves every ticket taken before it was sent (they all began
/// before it, so every write acknowledged before any of them is at or
/// before the answer). Tickets taken meanwhile wait for the next request.
struct Positions {
    fetch: Fetch,
    /// Tickets handed out, one per barrier as it begins.
    issued: AtomicU64,
    /// The newest answer, and the highest ticket it serves.
    answered: watch::Sender<Answer>,
    /// Whether the reading task runs (at most one does).
    reading: AtomicBool,
}

#[derive(Clone, Copy, Default)]
struct Answer {
    ticket: u64,
    /// `None`: the request failed (or timed out); those barriers give up.
    last: Option<u64>,
}

impl Positions {
    fn new(fetch: Fetch) -> Arc<Positions> {
        Arc::new(Positions {
            fetch,
            issued: AtomicU64::new(0),
            answered: watch::Sender::new(Answer::default()),
            reading: AtomicBool::new(false),
        })
    }

    /// The log's last sequence as answered to a request sent after this
    /// call began; `None` if that request failed.
    async fn last(self: &Arc<Self>) -> Option<u64> {
        let mut answers = self.answered.subscribe();
        let ticket = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        if !self.reading.swap(true, Ordering::SeqCst) {
            tokio::spawn(self.clone().read());
        }
        let answer = *answers.wait_for(|a| a.ticket >= ticket).await.ok()?;
        answer.last
    }

    /// The reading task: one request at a time while tickets wait.
    async fn read(self: Arc<Self>) {
        loop {
            // Loaded before the request is sent: every ticket up to here
            // began before it.
            let upto = self.issued.load(Ordering::SeqCst);
            if upto > self.answered.borrow().ticket {
                let last = match tokio::time::timeout(WAIT, (self.fetch)()).await {
                    Ok(Ok(last)) => Some(last),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "read barrier: cannot read the stream's position");
                        None
                    }
                    Err(_) => {
                        tracing::warn!("read barrier: the stream's position did not come in time");
                        None
                    }
                };
                self.answered.send_replace(Answer { ticket: upto, last });
                continue;
            }
            self.reading.store(false, Ordering::SeqCst);
            // A ticket taken after the load above saw `reading` still set
            // and started no task: look once more, and go on if nobody
            // else has started since.
            if self.issued.load(Ordering::SeqCst) > self.answered.borrow().ticket
                && !self.reading.swap(true, Ordering::SeqCst)
            {
                continue;
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fetch that counts its requests and answers each with its number,
    /// once the test lets it (one permit per request).
    fn gated() -> (Fetch, Arc<AtomicU64>, Arc<Semaphore>) {
        let calls = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let (c, g) = (calls.clone(), gate.clone());
        let fetch: Fetch = Arc::new(move || {
            let (c, g) = (c.clone(), g.clone());
            Box::pin(async move {
                let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                g.acquire().await.map_err(|e| e.to_string())?.forget();
                Ok(n)
            })
        });
        (fetch, calls, gate)
    }

    async fn until(what: &str, check: impl Fn() -> bool) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !check() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    /// Fifty barriers that begin while a request is out share the next
    /// one; the barrier that began before it gets its answer.
    #[tokio::test]
    async fn one_request_serves_every_barrier_that_began_before_it_was_sent() {
        let (fetch, calls, gate) = gated();
        let p = Positions::new(fetch);
        let first = tokio::spawn({
            let p = p.clone();
            async move { p.last().await }
        });
        until("the first request", || calls.load(Ordering::SeqCst) == 1).await;
        let later: Vec<_> = (0..50)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.last().await })
            })
            .collect();
        until("51 tickets", || p.issued.load(Ordering::SeqCst) == 51).await;
        gate.add_permits(1);
        assert_eq!(first.await.expect("first"), Some(1));
        until("the second request", || calls.load(Ordering::SeqCst) == 2).await;
        gate.add_permits(1);
        for l in later {
            // Began after request 1 was sent: answered by request 2.
            assert_eq!(l.await.expect("later"), Some(2));
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "two requests for 51 barriers"
        );
        // Nothing waits: the reading task is gone, and a new barrier
        // starts one again.
        until("the reader to stop", || !p.reading.load(Ordering::SeqCst)).await;
        gate.add_permits(1);
        assert_eq!(p.last().await, Some(3));
    }

    /// A failed request fails the barriers it serves, and the next barrier
    /// sends a new one.
    #[tokio::test]
    async fn a_failed_request_gives_up_its_barriers_and_the_next_asks_again() {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let fetch: Fetch = Arc::new(move || {
            let c = c.clone();
            Box::pin(async move {
                match c.fetch_add(1, Ordering::SeqCst) {
                    0 => Err("no responders".to_owned()),
                    n => Ok(100 + n),
                }
            })
        });
        let p = Positions::new(fetch);
        assert_eq!(p.last().await, None);
        assert_eq!(p.last().await, Some(101));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
