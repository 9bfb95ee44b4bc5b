//! The writer: the one task that owns a connection's sink.
//!
//! It sends the `welcome`, then the backlog read from the store in position
//! order, then `caught_up`, then whatever the hub and the handlers queue on
//! the connection's bounded channel, batching: it writes every frame that is
//! already waiting and flushes once. It also pings, and on a kill sends the
//! Close frame with the reason's code.

use crate::frame::{SharedFrame, shared};
use crate::hub::{CloseReason, EventFrame, KillSwitch};
use crate::store::{Backlog, Store};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use townhall_protocol::{Pos, ServerFrame};

/// Events read from the store per backlog step: big enough for few, large
/// ordered scans; small enough that one step is a few milliseconds.
const BACKLOG_CHUNK: usize = 512;

/// Frames written before one flush when many are waiting: one syscall for
/// many frames, without holding a huge batch in the socket buffer.
const WRITE_BATCH: usize = 256;

pub struct Writer {
    pub sink: SplitSink<WebSocket, Message>,
    pub events: mpsc::Receiver<EventFrame>,
    pub frames: mpsc::Receiver<SharedFrame>,
    pub kill: Arc<KillSwitch>,
    pub store: Store,
    pub ping_every: Duration,
}

pub enum WriterEnd {
    /// The channel closed (the session ended) or the socket failed.
    Done,
    Killed(CloseReason),
}

impl Writer {
    pub async fn run(mut self, welcome: ServerFrame, backlog: Backlog, upto: Pos) -> WriterEnd {
        match self.run_inner(welcome, backlog, upto).await {
            Ok(end) => end,
            Err(e) => {
                tracing::debug!(error = %e, "socket write failed");
                WriterEnd::Done
            }
        }
    }

    async fn run_inner(
        &mut self,
        welcome: ServerFrame,
        backlog: Backlog,
        upto: Pos,
    ) -> Result<WriterEnd, axum::Error> {
        self.sink.send(Message::Text(shared(&welcome))).await?;
        if let Some(reason) = self.send_backlog(backlog).await? {
            return self.close(reason).await;
        }
        self.sink
            .send(Message::Text(shared(&ServerFrame::CaughtUp { pos: upto })))
            .await?;
        let mut last_sent = upto;
        let mut ping = tokio::time::interval(self.ping_every);
        ping.tick().await;
        loop {
            tokio::select! {
                biased;
                _ = self.kill.token().cancelled() => {
                    let reason = self.kill.reason().unwrap_or(CloseReason::SHUTDOWN);
                    if reason != CloseReason::SLOW_CONSUMER {
                        // What is already queued (acks of finished sends) still goes out.
                        while let Ok(e) = self.events.try_recv() {
                            self.feed_event(e, &mut last_sent).await?;
                        }
                        self.feed_frames().await?;
                    }
                    return self.close(reason).await;
                }
                event = self.events.recv() => {
                    let Some(event) = event else {
                        return Ok(WriterEnd::Done);
                    };
                    self.feed_event(event, &mut last_sent).await?;
                    for _ in 1..WRITE_BATCH {
                        match self.events.try_recv() {
                            Ok(e) => self.feed_event(e, &mut last_sent).await?,
                            Err(_) => break,
                        }
                    }
                    self.feed_frames().await?;
                    self.sink.flush().await?;
                }
                frame = self.frames.recv() => {
                    let Some(frame) = frame else {
                        return Ok(WriterEnd::Done);
                    };
                    self.sink.feed(Message::Text(frame)).await?;
                    self.feed_frames().await?;
                    self.sink.flush().await?;
                }
                _ = ping.tick() => {
                    self.sink.send(Message::Ping(Default::default())).await?;
                }
            }
        }
    }

    async fn feed_event(&mut self, e: EventFrame, last_sent: &mut Pos) -> Result<(), axum::Error> {
        // Registration makes this impossible; the check keeps "never
        // twice" true even if that reasoning is ever broken.
        if e.pos <= *last_sent {
            return Ok(());
        }
        *last_sent = e.pos;
        self.sink.feed(Message::Text(e.frame)).await
    }

    /// Write the non-event frames already waiting (at most a batch).
    async fn feed_frames(&mut self) -> Result<(), axum::Error> {
        for _ in 0..WRITE_BATCH {
            match self.frames.try_recv() {
                Ok(frame) => self.sink.feed(Message::Text(frame)).await?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Stream the backlog; returns a close reason if killed meanwhile.
    async fn send_backlog(
        &mut self,
        mut backlog: Backlog,
    ) -> Result<Option<CloseReason>, axum::Error> {
        loop {
            let store = self.store.clone();
            let read = tokio::task::spawn_blocking(move || {
                let chunk = backlog.next_chunk(&store, BACKLOG_CHUNK);
                (backlog, chunk)
            });
            let (next, chunk) = tokio::select! {
                biased;
                _ = self.kill.token().cancelled() => {
                    return Ok(Some(self.kill.reason().unwrap_or(CloseReason::SHUTDOWN)));
                }
                r = read => match r {
                    Ok(r) => r,
                    Err(e) => return Err(axum::Error::new(e)),
                },
            };
            backlog = next;
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "backlog read failed");
                    return Err(axum::Error::new(e));
                }
            };
            if chunk.is_empty() {
                return Ok(None);
            }
            crate::metrics::add(
                &crate::metrics::get().backlog_events_sent,
                chunk.len() as u64,
            );
            for e in chunk {
                let text = String::from_utf8(e.json).map_err(axum::Error::new)?;
                self.sink
                    .feed(Message::Text(SharedFrame::from(text)))
                    .await?;
            }
            self.sink.flush().await?;
        }
    }

    async fn close(&mut self, reason: CloseReason) -> Result<WriterEnd, axum::Error> {
        let frame = CloseFrame {
            code: reason.code,
            reason: reason.reason.into(),
        };
        let _ = self.sink.send(Message::Close(Some(frame))).await;
        Ok(WriterEnd::Killed(reason))
    }
}
