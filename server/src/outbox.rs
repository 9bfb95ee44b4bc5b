//! A connection's outbox: a bounded queue from many senders (the hub, the
//! handlers) to the one writer task, sized to what it holds.
//!
//! Every connection has two (events, and every other frame), for its
//! whole life, and most connections are idle. tokio's `mpsc` allocates its
//! first block of 32 slots when the channel is made, so two cost about
//! 3.4 KB per connection (heaptrack) before anything is sent. This queue
//! is a `VecDeque` behind a lock: empty, it holds no slots (the shared part
//! is about 150 bytes), grows while frames wait, and gives back a large
//! buffer once drained.
//!
//! The semantics the server relies on are tokio's, except for the order
//! among senders waiting on a full queue (tokio serves them first come,
//! first served; here a freed slot goes to whoever queues first, so a
//! waiting reply can be overtaken while its client is not reading; bounded
//! by the sends a connection may have in flight):
//! - [`Sender::try_send`] fails at once when the queue holds `capacity`
//!   items (the hub treats a full events queue as a slow consumer) or the
//!   receiver is gone;
//! - [`Sender::send`] waits while it is full (a handler's reply waits for
//!   the writer, bounding what one connection can queue);
//! - [`Receiver::recv`] ends (`None`) once the queue is empty and every
//!   sender is dropped; that is how the writer learns that its session
//!   ended.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use tokio::sync::Notify;

/// A drained queue whose buffer grew past this many slots gives it back
/// (a burst must not pin its peak for the connection's life): at most
/// 16 × 40 B of events and 16 × 32 B of frames stay after activity.
const KEEP_SLOTS: usize = 16;

/// A bounded queue of `capacity` items (at least 1).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            receiver: None,
            senders: 1,
            closed: false,
        }),
        room: Notify::new(),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared<T> {
    /// Why a lock: many senders and one receiver touch the queue, each for
    /// a push or a pop (never across an await); the receiver registers its
    /// waker under the same lock the senders check, so no wakeup is lost.
    state: Mutex<State<T>>,
    /// Senders waiting for room in a full queue.
    room: Notify,
    capacity: usize,
}

struct State<T> {
    queue: VecDeque<T>,
    /// The receiver waiting for an item, if it is.
    receiver: Option<Waker>,
    /// Live senders; at 0 the receiver ends once the queue is empty.
    senders: usize,
    /// The receiver is gone: sends fail.
    closed: bool,
}

impl<T> Shared<T> {
    /// The state (a poisoned lock only means a panic elsewhere mid-push
    /// or mid-pop, which leaves the queue whole).
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Why [`Sender::try_send`] did not queue the item (it comes back).
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    Full(T),
    Closed(T),
}

/// The receiver is gone (the item comes back).
#[derive(Debug, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Nothing waiting now: empty, or (`Closed`) empty for good.
#[derive(Debug, PartialEq, Eq)]
pub enum TryRecvError {
    Empty,
    Closed,
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.state();
            state.senders -= 1;
            if state.senders == 0 {
                state.receiver.take()
            } else {
                None
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("outbox::Sender")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// Queue `item` unless the queue is full or the receiver is gone.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        if let Some(w) = self.try_send_deferred(item)? {
            w.wake();
        }
        Ok(())
    }

    /// [`try_send`](Self::try_send) that hands back the receiver's waker
    /// instead of calling it: the caller must wake it, when it chooses.
    /// There is one when the receiver was waiting, or left its waker when
    /// it stopped waiting (a `select!` that took another branch) and has
    /// not looked at the queue since. The hub queues an event to a room's
    /// sessions under its lock, then wakes their writers outside it, after
    /// the committer queued the acks of the sends it completes (whose
    /// pushes wake those writers first).
    #[must_use = "the receiver only looks at the queue once this waker is woken"]
    pub fn try_send_deferred(&self, item: T) -> Result<Option<Waker>, TrySendError<T>> {
        let mut state = self.shared.state();
        if state.closed {
            return Err(TrySendError::Closed(item));
        }
        if state.queue.len() >= self.shared.capacity {
            return Err(TrySendError::Full(item));
        }
        state.queue.push_back(item);
        Ok(state.receiver.take())
    }

    /// Queue `item`, waiting while the queue is full; fails only if the
    /// receiver is gone.
    pub async fn send(&self, item: T) -> Result<(), SendError<T>> {
        // Nearly always there is room: no wait is registered then.
        let mut item = match self.try_send(item) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(back)) => return Err(SendError(back)),
            Err(TrySendError::Full(back)) => back,
        };
        loop {
            // Registered before the next attempt, so room made between a
            // full attempt and the wait is not missed.
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.try_send(item) {
                Ok(()) => {
                    // Room is made one pop at a time and told to one
                    // waiter: pass it on if some is left (else a second
                    // waiter could wait on a queue with room).
                    if self.shared.state().queue.len() < self.shared.capacity {
                        self.shared.room.notify_one();
                    }
                    return Ok(());
                }
                Err(TrySendError::Closed(back)) => return Err(SendError(back)),
                Err(TrySendError::Full(back)) => item = back,
            }
            room.await;
        }
    }
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (dropped, waker) = {
            let mut state = self.shared.state();
            state.closed = true;
            (std::mem::take(&mut state.queue), state.receiver.take())
        };
        // Not kept alive by the senders that outlive it.
        drop(waker);
        // Dropped outside the lock; waiting senders learn it is closed.
        drop(dropped);
        self.shared.room.notify_waiters();
    }
}

impl<T> Receiver<T> {
    /// The next item, waiting for one; `None` once the queue is empty and
    /// every sender is gone.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| {
            let mut state = self.shared.state();
            if !state.queue.is_empty() {
                return Poll::Ready(self.pop(state));
            }
            if state.senders == 0 {
                return Poll::Ready(None);
            }
            // Registered under the lock the senders push under: a push
            // after this sees the waker and wakes it.
            match &mut state.receiver {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let state = self.shared.state();
        let ended = state.senders == 0;
        match self.pop(state) {
            Some(item) => Ok(item),
            None if ended => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Take the first item under `state`'s lock; a drained queue gives
    /// back a large buffer, and a pop from a full queue tells one waiting
    /// sender there is room.
    fn pop(&self, mut state: MutexGuard<'_, State<T>>) -> Option<T> {
        let item = state.queue.pop_front()?;
        let was_full = state.queue.len() + 1 >= self.shared.capacity;
        if state.queue.is_empty() && state.queue.capacity() > KEEP_SLOTS {
            state.queue = VecDeque::new();
        }
        drop(state);
        if was_full {
            self.shared.room.notify_one();
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_deferred_push_hands_back_the_waiting_receivers_waker() {
        use std::future::Future;
        let (tx, mut rx) = channel::<u32>(8);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            tx.try_send_deferred(1).expect("room").is_none(),
            "nobody waits yet"
        );
        {
            let recv = rx.recv();
            let mut recv = std::pin::pin!(recv);
            assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Some(1)));
        }
        {
            // Polled on an empty queue, it leaves its waker (also once
            // this future is dropped): the next push calls it, the one
            // after finds none.
            let recv = rx.recv();
            let mut recv = std::pin::pin!(recv);
            assert_eq!(recv.as_mut().poll(&mut cx), Poll::Pending);
        }
        let waker = tx.try_send_deferred(2).expect("room");
        assert!(waker.is_some(), "the receiver's waker");
        assert!(
            tx.try_send_deferred(3).expect("room").is_none(),
            "handed back once"
        );
        assert_eq!(rx.try_recv().ok(), Some(2));
        assert_eq!(rx.try_recv().ok(), Some(3));
    }

    /// Receive until the end (within a minute): each sender's items (sender
    /// × 1,000,000 + its index) in order; how many.
    async fn receive_all(rx: &mut Receiver<u64>) -> usize {
        let mut last = std::collections::HashMap::<u64, u64>::new();
        let mut count = 0;
        let all = async {
            while let Some(v) = rx.recv().await {
                let (s, i) = (v / 1_000_000, v % 1_000_000);
                let prev = last.insert(s, i);
                assert!(prev.is_none_or(|l| l + 1 == i), "in order per sender");
                count += 1;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), all)
            .await
            .expect("the receiver ends");
        count
    }

    #[tokio::test]
    async fn items_arrive_in_order_and_the_end_follows_the_last_sender() {
        let (tx, mut rx) = channel(4);
        let tx2 = tx.clone();
        tx.try_send(1).expect("queued");
        tx2.send(2).await.expect("sent");
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(tx);
        tx2.try_send(3).expect("queued");
        drop(tx2);
        assert_eq!(rx.recv().await, Some(3), "queued before the end");
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_try_send_and_send_waits_for_room() {
        let (tx, mut rx) = channel(2);
        tx.try_send(1).expect("queued");
        tx.try_send(2).expect("queued");
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(3).await }
        });
        // Still waiting while the queue stays full.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        assert_eq!(rx.recv().await, Some(1));
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the send finishes once there is room")
            .expect("joined")
            .expect("sent");
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Ok(3));
    }

    #[tokio::test]
    async fn a_receiver_waiting_is_woken_by_a_send_and_by_the_last_drop() {
        let (tx, mut rx) = channel::<u32>(8);
        let reader = tokio::spawn(async move {
            let first = rx.recv().await;
            let end = rx.recv().await;
            (first, end)
        });
        tokio::task::yield_now().await;
        tx.try_send(7).expect("queued");
        tokio::task::yield_now().await;
        drop(tx);
        let got = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("woken")
            .expect("queued");
        assert_eq!(got, (Some(7), None));
    }

    #[tokio::test]
    async fn a_dropped_receiver_fails_sends_and_frees_waiting_senders() {
        let (tx, rx) = channel(1);
        tx.try_send(1).expect("queued");
        let waiting = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(2).await }
        });
        // One thread: the spawned sender runs until it waits for room.
        tokio::task::yield_now().await;
        drop(rx);
        let r = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("freed")
            .expect("queued");
        assert_eq!(r, Err(SendError(2)));
        assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    }

    /// Two senders wait on a full queue; two pops make room for both: both
    /// sends finish (the first one woken passes the second slot on).
    #[tokio::test]
    async fn two_waiting_senders_both_finish_after_two_pops() {
        let (tx, mut rx) = channel(2);
        tx.try_send(0).expect("queued");
        tx.try_send(0).expect("queued");
        let waiting: Vec<_> = (1..=2)
            .map(|i| {
                let tx = tx.clone();
                tokio::spawn(async move { tx.send(i).await })
            })
            .collect();
        // One thread: each spawned sender runs until it waits.
        tokio::task::yield_now().await;
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(rx.try_recv(), Ok(0));
        for w in waiting {
            tokio::time::timeout(Duration::from_secs(5), w)
                .await
                .expect("both sends finish")
                .expect("joined")
                .expect("sent");
        }
        let mut got = vec![rx.try_recv().expect("one"), rx.try_recv().expect("two")];
        got.sort_unstable();
        assert_eq!(got, vec![1, 2]);
    }

    /// Senders and the receiver on different threads, a small queue, many
    /// waits: nothing lost, nothing twice, in order per sender, and the
    /// receiver ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn threads_racing_on_a_small_queue_lose_nothing() {
        let (tx, mut rx) = channel(3);
        for s in 0..6u64 {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..5_000u64 {
                    if i % 3 == 0 {
                        // Some through the failing path too.
                        let mut v = s * 1_000_000 + i;
                        loop {
                            match tx.try_send(v) {
                                Ok(()) => break,
                                Err(TrySendError::Full(back)) => {
                                    v = back;
                                    tokio::task::yield_now().await;
                                }
                                Err(TrySendError::Closed(_)) => panic!("closed"),
                            }
                        }
                    } else {
                        tx.send(s * 1_000_000 + i).await.expect("sent");
                    }
                }
            });
        }
        drop(tx);
        assert_eq!(receive_all(&mut rx).await, 30_000);
    }

    #[tokio::test]
    async fn a_drained_burst_gives_its_buffer_back() {
        let (tx, mut rx) = channel(1_000);
        for i in 0..500 {
            tx.try_send(i).expect("queued");
        }
        while rx.try_recv().is_ok() {}
        assert_eq!(rx.shared.state().queue.capacity(), 0);
    }

    #[tokio::test]
    async fn many_senders_and_one_receiver_lose_nothing() {
        let (tx, mut rx) = channel(16);
        let mut senders = Vec::new();
        for s in 0..8u64 {
            let tx = tx.clone();
            senders.push(tokio::spawn(async move {
                for i in 0..1_000u64 {
                    tx.send(s * 1_000_000 + i).await.expect("sent");
                }
            }));
        }
        drop(tx);
        assert_eq!(receive_all(&mut rx).await, 8_000);
    }
}
