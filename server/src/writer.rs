//! The writer: the one task that owns a connection's sink.
//!
//! It sends the `welcome`, then the backlog read from the store in position
//! order (with any replies that are waiting, and pings, between chunks),
//! then `caught_up`, then whatever the hub and the handlers queue on the
//! connection's bounded channels, batching: it writes every frame that is
//! already waiting and flushes once. On a kill it sends the Close frame with
//! the reason's code.
//!
//! Every socket write races the kill switch and a timeout, so a peer that
//! stops reading (a full TCP window) can never pin this task: it is killed
//! as a slow consumer by the hub, or times out here.

use crate::frame::{SharedFrame, shared};
use crate::hub::{CloseReason, EventFrame, KillSwitch};
use crate::outbox;
use crate::store::{Backlog, Store};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use townhall_protocol::{Pos, ServerFrame, close};

/// Events read from the store per backlog step: big enough for few, large
/// ordered scans; small enough that one step is a few milliseconds.
const BACKLOG_CHUNK: usize = 512;

/// Frames written before one flush when many are waiting: one syscall for
/// many frames, without holding a huge batch in the socket buffer.
const WRITE_BATCH: usize = 256;

/// Longest a single socket write may block. A healthy peer drains a chat
/// frame in microseconds; 30 s covers a stalled mobile link recovering.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest the goodbye (queued replies, then the Close frame) may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The runtime the writers run on, when the process made one for them
/// (`main`'s `serve`). Why apart: a fan-out wakes up to thousands of writer
/// tasks at once, and a runtime's run queue is one FIFO per worker, so on a
/// shared runtime the next request's read, the committer's wakeup and the
/// ack's write each queued behind all of them (a broadcast's ack waited
/// for the previous broadcast's 1,000 writes). With the writers on threads
/// of their own, the kernel shares the cores between the two runtimes:
/// the sessions and the committer wait for a core, no longer for every
/// writer task queued before them. Unset (the library run inside a test's runtime): the
/// current runtime.
static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

/// Run the writers on `handle` from now on. False when one was already set.
pub fn use_runtime(handle: tokio::runtime::Handle) -> bool {
    RUNTIME.set(handle).is_ok()
}

/// Start a writer on the writers' runtime (or the current one).
pub fn spawn<F>(writer: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match RUNTIME.get() {
        Some(rt) => rt.spawn(writer),
        None => tokio::spawn(writer),
    }
}

pub struct Writer {
    pub sink: SplitSink<WebSocket, Message>,
    pub events: outbox::Receiver<EventFrame>,
    pub frames: outbox::Receiver<SharedFrame>,
    pub kill: Arc<KillSwitch>,
    pub store: Store,
    pub ping_every: Duration,
}

pub enum WriterEnd {
    /// The channels closed (the session ended) or the socket failed.
    Done,
    Killed(CloseReason),
}

/// Why writing stopped.
enum Stop {
    Killed,
    Failed,
}

/// Run one socket operation unless the session is killed or it stalls.
/// The operation is polled first: a write that completes at once (nearly
/// all of them) never registers with the kill switch or the timer. Those
/// two are made, on the heap, only for a write that has to wait, so they
/// are not part of every connection's writer future (an idle connection
/// holds that future for its whole life; as an `async fn` racing them in
/// a `select!`, this was 152 B at each of its uses). The writer's loop
/// sees a kill before its next write.
fn guarded<F>(kill: &KillSwitch, op: F) -> Guarded<'_, F> {
    Guarded {
        kill,
        op,
        waiting: None,
    }
}

struct Guarded<'a, F> {
    kill: &'a KillSwitch,
    op: F,
    /// The timeout and the kill wait, once the operation had to wait.
    waiting: Option<Waiting<'a>>,
}

/// A stalled write's timeout and kill wait.
type Waiting<'a> = (
    Pin<Box<tokio::time::Sleep>>,
    Pin<Box<tokio_util::sync::WaitForCancellationFuture<'a>>>,
);

impl<F, T> Future for Guarded<'_, F>
where
    F: Future<Output = Result<T, axum::Error>> + Unpin,
{
    type Output = Result<T, Stop>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.waiting.is_none() && this.kill.is_killed() {
            return Poll::Ready(Err(Stop::Killed));
        }
        if let Poll::Ready(r) = Pin::new(&mut this.op).poll(cx) {
            return Poll::Ready(r.map_err(|e| {
                tracing::debug!(error = %e, "socket write failed");
                Stop::Failed
            }));
        }
        let kill = this.kill;
        let (timeout, killed) = this.waiting.get_or_insert_with(|| {
            (
                Box::pin(tokio::time::sleep(WRITE_TIMEOUT)),
                Box::pin(kill.token().cancelled()),
            )
        });
        if killed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(Stop::Killed));
        }
        if timeout.as_mut().poll(cx).is_ready() {
            tracing::debug!("socket write timed out");
            return Poll::Ready(Err(Stop::Failed));
        }
        Poll::Pending
    }
}

/// What the writer sends before live traffic: the welcome, the backlog up
/// to `upto`, the notices of the same positions (then `caught_up`). Given
/// in a box: an async fn keeps its arguments for its whole life, and the
/// writer's future lives as long as the connection.
pub struct CatchUp {
    pub welcome: SharedFrame,
    pub backlog: Backlog,
    pub notices: Vec<SharedFrame>,
    pub upto: Pos,
}

impl Writer {
    /// The writer's whole life. An `async` block rather than an `async fn`:
    /// an `async fn` keeps its arguments and the locals they are moved
    /// into, so the 128-byte `Writer` was held twice for the connection's
    /// whole life.
    #[allow(clippy::manual_async_fn)] // on purpose: see above
    pub fn run(mut self, start: Box<CatchUp>) -> impl Future<Output = WriterEnd> + Send {
        async move {
            let end = match self.stream(start).await {
                Stop::Killed => {
                    let reason = self.kill.reason().unwrap_or(CloseReason::SHUTDOWN);
                    // Boxed: a state only a closing connection needs.
                    let goodbye = tokio::time::timeout(CLOSE_TIMEOUT, self.goodbye(&reason));
                    let _ = Box::pin(goodbye).await;
                    WriterEnd::Killed(reason)
                }
                Stop::Failed => WriterEnd::Done,
            };
            // Whatever ended the writer ends the session too.
            self.kill.kill(CloseReason {
                code: close::NORMAL,
                reason: "closed",
            });
            end
        }
    }

    /// Welcome, backlog, caught-up, then live traffic until stopped.
    async fn stream(&mut self, start: Box<CatchUp>) -> Stop {
        let upto = start.upto;
        // On the heap, so that the writer's task holds the catch-up's
        // states (the backlog, its reads) only while it runs, not for the
        // connection's whole life. With the welcome arriving already
        // serialized, an idle connection's writer future went from 2.4 KB
        // to 1.2 KB (measured with `size_of_val`).
        if let Err(stop) = Box::pin(self.catch_up(start)).await {
            return stop;
        }
        let mut last_sent = upto;
        let mut ping = tokio::time::interval(self.ping_every);
        ping.tick().await;
        // One wait on the kill switch for the whole loop: making a new one
        // per wakeup registered with the token's mutex each time.
        let kill = self.kill.clone();
        let killed = kill.token().cancelled();
        tokio::pin!(killed);
        loop {
            let step = tokio::select! {
                biased;
                _ = &mut killed => return Stop::Killed,
                event = self.events.recv() => match event {
                    Some(event) => self.write_events(event, &mut last_sent).await,
                    None => return Stop::Failed,
                },
                frame = self.frames.recv() => match frame {
                    Some(frame) => self.write_frames(Some(frame)).await,
                    None => return Stop::Failed,
                },
                _ = ping.tick() => guarded(&self.kill, self.sink.send(Message::Ping(Default::default()))).await,
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    /// Welcome, the backlog, the notices of the same positions, then
    /// `caught_up`.
    async fn catch_up(&mut self, start: Box<CatchUp>) -> Result<(), Stop> {
        let CatchUp {
            welcome,
            backlog,
            notices,
            upto,
        } = *start;
        let started = Instant::now();
        guarded(&self.kill, self.sink.send(Message::Text(welcome))).await?;
        let backlog_events = self.send_backlog(backlog).await?;
        crate::metrics::record_backlog(backlog_events);
        for notice in notices {
            guarded(&self.kill, self.sink.feed(Message::Text(notice))).await?;
        }
        let caught_up = Message::Text(shared(&ServerFrame::CaughtUp { pos: upto }));
        guarded(&self.kill, self.sink.send(caught_up)).await?;
        crate::metrics::record_catch_up(started.elapsed());
        Ok(())
    }

    /// Write this event and the others already waiting, any waiting
    /// frames, then flush once.
    async fn write_events(&mut self, first: EventFrame, last_sent: &mut Pos) -> Result<(), Stop> {
        let mut next = Some(first);
        let mut written = 0;
        while let Some(e) = next.take() {
            // Registration makes an old event impossible; the check keeps
            // "never twice" true even if that reasoning is ever broken.
            if e.pos > *last_sent {
                *last_sent = e.pos;
                guarded(&self.kill, self.sink.feed(Message::Text(e.frame))).await?;
            }
            written += 1;
            if written < WRITE_BATCH {
                next = self.events.try_recv().ok();
            }
        }
        self.write_frames(None).await
    }

    /// Write `first` and the non-event frames already waiting (a batch at
    /// most), then flush.
    async fn write_frames(&mut self, first: Option<SharedFrame>) -> Result<(), Stop> {
        if let Some(frame) = first {
            guarded(&self.kill, self.sink.feed(Message::Text(frame))).await?;
        }
        for _ in 0..WRITE_BATCH {
            match self.frames.try_recv() {
                Ok(frame) => guarded(&self.kill, self.sink.feed(Message::Text(frame))).await?,
                Err(_) => break,
            }
        }
        guarded(&self.kill, self.sink.flush()).await
    }

    /// Stream the backlog in chunks; between chunks, send the replies that
    /// are waiting (a `summary` asked for at login need not wait for the
    /// whole backlog) and a ping when one is due.
    /// Returns how many events it sent.
    async fn send_backlog(&mut self, mut backlog: Backlog) -> Result<u64, Stop> {
        let mut last_ping = Instant::now();
        let mut sent = 0u64;
        loop {
            let store = self.store.clone();
            let read = tokio::task::spawn_blocking(move || {
                let chunk = backlog.next_chunk(&store, BACKLOG_CHUNK);
                (backlog, chunk)
            });
            let (next, chunk) = tokio::select! {
                biased;
                _ = self.kill.token().cancelled() => return Err(Stop::Killed),
                r = read => match r {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "backlog task failed");
                        return Err(Stop::Failed);
                    }
                },
            };
            backlog = next;
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "backlog read failed");
                    return Err(Stop::Failed);
                }
            };
            if chunk.is_empty() {
                return Ok(sent);
            }
            sent += chunk.len() as u64;
            crate::metrics::add(
                &crate::metrics::get().backlog_events_sent,
                chunk.len() as u64,
            );
            for e in chunk {
                let Some(frame) = crate::reply::stored_event_frame(e) else {
                    return Err(Stop::Failed);
                };
                guarded(&self.kill, self.sink.feed(Message::Text(frame))).await?;
            }
            if last_ping.elapsed() >= self.ping_every {
                last_ping = Instant::now();
                guarded(
                    &self.kill,
                    self.sink.feed(Message::Ping(Default::default())),
                )
                .await?;
            }
            self.write_frames(None).await?;
        }
    }

    /// After a kill: unless the client is too slow to care, send the replies
    /// still queued (acks of finished sends), then the Close frame.
    async fn goodbye(&mut self, reason: &CloseReason) {
        if *reason != CloseReason::SLOW_CONSUMER {
            while let Ok(frame) = self.frames.try_recv() {
                if self.sink.feed(Message::Text(frame)).await.is_err() {
                    return;
                }
            }
        }
        let frame = CloseFrame {
            code: reason.code,
            reason: reason.reason.into(),
        };
        let _ = self.sink.send(Message::Close(Some(frame))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, R>(_: fn(A, B) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// The writer's future is held by every connection for its whole
    /// life: 1,296 B before it took its catch-up in one box, made the
    /// timer and kill wait of a write only when it has to wait, and
    /// stopped keeping the `Writer` twice (an `async fn`'s argument and
    /// the local it is moved into). A change that puts a large state
    /// back fails here before it shows as idle RSS.
    #[test]
    fn an_idle_writers_future_stays_small() {
        let run = future_size(Writer::run as fn(Writer, Box<CatchUp>) -> _);
        assert!(
            run <= 800,
            "the writer's future is {run} B (744 B measured)"
        );
    }
}
