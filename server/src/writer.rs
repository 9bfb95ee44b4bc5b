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
use crate::store::{Backlog, Store};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
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

pub struct Writer {
    pub sink: SplitSink<WebSocket, Message>,
    pub events: mpsc::Receiver<EventFrame>,
    pub frames: mpsc::Receiver<SharedFrame>,
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
/// all of them) never registers with the kill switch or the timer; the
/// writer's loop sees a kill before its next write.
async fn guarded<T>(
    kill: &KillSwitch,
    op: impl Future<Output = Result<T, axum::Error>>,
) -> Result<T, Stop> {
    if kill.is_killed() {
        return Err(Stop::Killed);
    }
    tokio::select! {
        biased;
        r = tokio::time::timeout(WRITE_TIMEOUT, op) => match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "socket write failed");
                Err(Stop::Failed)
            }
            Err(_) => {
                tracing::debug!("socket write timed out");
                Err(Stop::Failed)
            }
        },
        _ = kill.token().cancelled() => Err(Stop::Killed),
    }
}

impl Writer {
    pub async fn run(
        mut self,
        welcome: SharedFrame,
        backlog: Backlog,
        notices: Vec<SharedFrame>,
        upto: Pos,
    ) -> WriterEnd {
        let end = match self.stream(welcome, backlog, notices, upto).await {
            Stop::Killed => {
                let reason = self.kill.reason().unwrap_or(CloseReason::SHUTDOWN);
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.goodbye(&reason)).await;
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

    /// Welcome, backlog, caught-up, then live traffic until stopped.
    async fn stream(
        &mut self,
        welcome: SharedFrame,
        backlog: Backlog,
        notices: Vec<SharedFrame>,
        upto: Pos,
    ) -> Stop {
        // On the heap, so that the writer's task holds the catch-up's
        // states (the backlog, its reads) only while it runs, not for the
        // connection's whole life. With the welcome arriving already
        // serialized, an idle connection's writer future went from 2.4 KB
        // to 1.2 KB (measured with `size_of_val`).
        if let Err(stop) = Box::pin(self.catch_up(welcome, backlog, notices, upto)).await {
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
    async fn catch_up(
        &mut self,
        welcome: SharedFrame,
        backlog: Backlog,
        notices: Vec<SharedFrame>,
        upto: Pos,
    ) -> Result<(), Stop> {
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
