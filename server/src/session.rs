//! A session: one WebSocket connection's life.
//!
//! 1. Authenticate: the first frame must be a `hello` with a valid token,
//!    within the auth timeout; otherwise an `error` and Close 4001.
//! 2. Register with the hub, which returns the position `H` the
//!    connection is live from; start the writer with the backlog
//!    `(resume, H]` (it sends `caught_up{H}` after it, then live frames).
//! 3. Read requests until the peer leaves, goes silent past the idle
//!    timeout, is killed (logout, slow consumer) or the server shuts down;
//!    each request gets its reply or an `error` frame, and bad input never
//!    ends the connection except an oversized message (Close 1009).
//! 4. Unregister; wait for in-flight acks to be written; close.

use crate::app::App;
use crate::error::ServerError;
use crate::frame::{SharedFrame, shared};
use crate::handlers::{self, Ctx, MAX_IN_FLIGHT};
use crate::hub::{CloseReason, KillSwitch, SessionHandle};
use crate::limits::{REFUSALS_BEFORE_CLOSE, REQUEST_BURST_FACTOR, TokenBucket};
use crate::writer::Writer;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use townhall_protocol::{ClientFrame, ErrorCode, PROTOCOL_VERSION, ServerFrame, close};

/// How long to keep reading after a Close so the handshake completes.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// Non-event frames queued for one connection: replies to its own requests
/// (bounded by its rate limit and in-flight sends), typing, presence. A
/// client that stops reading fills it and its reader waits: backpressure.
const FRAME_QUEUE: usize = 512;

/// How long a finished session waits for its writer (whose every write
/// already has a 30 s timeout, plus 5 s for the goodbye).
const WRITER_GRACE: Duration = Duration::from_secs(40);

/// How long shutdown waits for a connection's in-flight acks.
const ACK_DRAIN: Duration = Duration::from_secs(5);

pub fn run(socket: WebSocket, app: App) -> impl Future<Output = ()> {
    // The handshake runs in a future of its own on the heap, made before
    // the session's future: an idle connection's task then holds neither
    // the socket twice nor the handshake's states, only what the read loop
    // needs (measured with `size_of_val`: the connection task's future
    // went from 7.0 KB to 2.9 KB; 7,177 → 4,112 B of RSS per idle
    // connection in `scripts/bench.sh --only idle`). It had grown to 4.9 KB
    // again; see `serve` and the test below.
    let opening = Box::pin(open(socket, app));
    async move {
        if let Some(open) = opening.await {
            serve(open).await;
        }
    }
}

/// A connection that passed the handshake: registered with the hub, its
/// writer started.
struct Open {
    stream: SplitStream<WebSocket>,
    /// The person, their device, their reply queue: what requests need.
    ctx: Ctx,
    session_id: u64,
    kill: Arc<KillSwitch>,
    writer: tokio::task::JoinHandle<crate::writer::WriterEnd>,
}

/// Steps 1 and 2: `hello`, authentication, registration, the writer with
/// the backlog. `None` when the connection was refused (and closed) or left.
async fn open(socket: WebSocket, app: App) -> Option<Open> {
    let (sink, mut stream) = socket.split();
    let auth_timeout = Duration::from_secs(app.config.auth_timeout_secs);
    let hello = tokio::select! {
        r = tokio::time::timeout(auth_timeout, next_text(&mut stream)) => r,
        _ = app.shutdown.cancelled() => return None,
    };
    let (token, resume, device) = match hello {
        Err(_) => {
            return refuse(
                sink,
                stream,
                None,
                ErrorCode::AuthTimeout,
                "no hello within the timeout",
            )
            .await;
        }
        Ok(None) => return None,
        Ok(Some(Err(code))) => {
            return refuse(sink, stream, None, code, "message too large").await;
        }
        Ok(Some(Ok(text))) => match ClientFrame::decode(&text) {
            Ok(ClientFrame::Hello {
                version,
                token,
                resume,
                device,
            }) => {
                if version != PROTOCOL_VERSION {
                    let msg = format!("this server speaks protocol version {PROTOCOL_VERSION}");
                    return refuse(sink, stream, None, ErrorCode::UnsupportedVersion, &msg).await;
                }
                (token, resume, device)
            }
            Ok(_) => {
                return refuse(
                    sink,
                    stream,
                    None,
                    ErrorCode::NotAuthenticated,
                    "the first frame must be a hello",
                )
                .await;
            }
            Err(e) => return refuse(sink, stream, e.req_id, e.code, &e.message).await,
        },
    };
    let token_for_check = token.clone();
    let (user, token_hash) = match app.authenticate_async(token).await {
        Ok(found) => found,
        Err(e) => {
            if e.is_server_side() {
                tracing::error!(error = %e, "authentication failed on the server side");
            }
            return refuse(sink, stream, None, e.code(), &e.client_message()).await;
        }
    };
    let device = device.filter(|d| !d.is_empty() && d.len() <= 128);
    // In a cluster, `caught_up` covers every write acknowledged anywhere
    // before this connection opened: wait until this node has applied the
    // log as it stands now (one JetStream request shared by every barrier
    // waiting for it; at most 3 s: past that, it answers from what it has
    // and the rest comes live after `caught_up`, nothing lost either way).
    // Without it, a message acknowledged by another node a moment earlier
    // came after `caught_up` instead of before it. cluster/barrier.rs.
    app.catch_up_reads().await;
    // In a cluster, a client resuming from a position this node has not
    // applied yet (it came from a node further ahead) waits for this node
    // to get there: a reset would make it drop what it has, a backlog from
    // here would leave a gap.
    if let (Some(r), Some(_)) = (resume, &app.cluster)
        && r > app.hub.published()
    {
        let wait = Duration::from_secs(app.config.cluster.resume_wait_secs);
        if !app.hub.wait_published(r, wait).await {
            return refuse(
                sink,
                stream,
                None,
                ErrorCode::Unavailable,
                "this node has not yet applied the log up to your position; retry, or connect to another node",
            )
            .await;
        }
    }
    crate::metrics::inc(&crate::metrics::get().connections_opened);

    let (events_tx, events_rx) = crate::outbox::channel(app.config.outbox_frames);
    let (frames_tx, frames_rx) = crate::outbox::channel(FRAME_QUEUE);
    let kill = Arc::new(KillSwitch::default());
    let session_id = app.next_session_id();
    let handle = SessionHandle {
        id: session_id,
        user: user.id,
        token_hash,
        events: events_tx,
        frames: frames_tx.clone(),
        kill: kill.clone(),
        registered_at: 0,
    };
    let Some(upto) = app.hub.register(handle, app.config.max_sessions_per_user) else {
        let msg = format!(
            "at most {} connections per user",
            app.config.max_sessions_per_user
        );
        return refuse(sink, stream, None, ErrorCode::RateLimited, &msg).await;
    };
    // A logout or a disable that committed between our token check and the
    // registration would have missed this session: check once more.
    let recheck = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || app.authenticate(&token_for_check)).await
    };
    if !matches!(recheck, Ok(Ok(_))) {
        app.hub.unregister(user.id, session_id);
        return refuse(
            sink,
            stream,
            None,
            ErrorCode::BadToken,
            "invalid, expired or revoked token",
        )
        .await;
    }

    // Where to resume: what the client says; else what this device last
    // acknowledged; else, for a device never seen, the furthest any of the
    // user's devices got (a new browser shows history on demand rather than
    // replaying it); else (the user's very first login) the start of their
    // memberships.
    let stored = match resume {
        Some(_) => None,
        None => {
            let (store, uid, d) = (app.store.clone(), user.id, device.clone());
            tokio::task::spawn_blocking(move || -> Result<Option<u64>, crate::store::StoreError> {
                if let Some(d) = d
                    && let Some(pos) = store.device_pos(uid, &d)?
                {
                    return Ok(Some(pos));
                }
                store.max_device_pos(uid)
            })
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
        }
    };
    // A position beyond the server's (its data folder was restored from an
    // older backup) would make the client ignore new events: tell it to
    // reset instead. (In a cluster, a node behind the client waited above.)
    let reset = resume.is_some_and(|r| r > upto);
    let from = if reset {
        upto
    } else {
        resume.or(stored).unwrap_or(0)
    };
    let backlog = {
        let (store, uid) = (app.store.clone(), user.id);
        tokio::task::spawn_blocking(move || {
            let backlog = store.backlog(uid, from, upto)?;
            let notices = store.notices(uid, from, upto)?;
            Ok::<_, crate::store::StoreError>((backlog, notices))
        })
        .await
    };
    let (backlog, notices) = match backlog {
        Ok(Ok(b)) => b,
        other => {
            let detail = match other {
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
                Ok(Ok(_)) => String::new(),
            };
            tracing::error!(%detail, "cannot open backlog");
            app.hub.unregister(user.id, session_id);
            return refuse(
                sink,
                stream,
                None,
                ErrorCode::StorageError,
                "cannot read your queue",
            )
            .await;
        }
    };
    tracing::debug!(session = session_id, user = %user.username, from, upto, "session ready");

    let writer = Writer {
        sink,
        events: events_rx,
        frames: frames_rx,
        kill: kill.clone(),
        store: app.store.clone(),
        ping_every: Duration::from_secs(app.config.ping_secs.max(1)),
    };
    let welcome = ServerFrame::Welcome {
        version: PROTOCOL_VERSION,
        user: user.info(),
        resume_from: from,
        reset,
        transformation_team: user.transformation_team,
    };
    let notices = notices
        .into_iter()
        .filter_map(|(_, bytes)| String::from_utf8(bytes).ok().map(SharedFrame::from))
        .collect();
    let start = Box::new(crate::writer::CatchUp {
        welcome: shared(&welcome),
        backlog,
        notices,
        upto,
    });
    let writer = crate::writer::spawn(writer.run(start));
    // The hash is only read where a password is checked, against the store.
    let user = crate::store::UserRecord {
        password_hash: String::new(),
        ..user
    };
    let ctx = Ctx {
        app,
        user,
        device,
        frames: frames_tx,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
    };
    Some(Open {
        stream,
        ctx,
        session_id,
        kill,
        writer,
    })
}

/// Steps 3 and 4: read requests until the connection ends, then close.
///
/// This future is what an idle connection's task holds for its whole life,
/// and a future is as large as its largest state plus every local that
/// lives across more than one: the rare paths (an error reply, a Close,
/// the end) run in boxes of their own, and `open` (with the request
/// context in it) is held once, not also taken apart into locals
/// (heaptrack, per idle connection: the session's box 4,908 → 2,620 B).
async fn serve(mut open: Open) {
    // Live frames about this person's anonymous questions find them here,
    // until the connection ends.
    let _anon_route = crate::anon::RouteGuard::new(&open.ctx.app, &open.ctx.user);
    let shutting_down = read_loop(&open.ctx, &mut open.stream, &open.kill).await;
    Box::pin(finish(open, shutting_down)).await;
}

/// Step 3: read and handle frames until the connection is to end; true
/// when it ends because the server is shutting down.
async fn read_loop(ctx: &Ctx, stream: &mut SplitStream<WebSocket>, kill: &KillSwitch) -> bool {
    let app = &ctx.app;
    let idle = Duration::from_secs(app.config.ping_secs.max(1) * 3);
    let mut shutting_down = false;
    let rate = app.config.requests_per_sec.max(1.0);
    let mut bucket = TokenBucket::new(rate, rate * REQUEST_BURST_FACTOR);
    let mut refused_in_a_row = 0u32;
    // One wait on each token and one idle timer for the whole loop rather
    // than new ones per frame: a `cancelled()` registers with its token's
    // mutex when first polled, and a fresh timeout is a timer-wheel insert
    // and removal per frame (pongs included). Each frame notes the time once
    // it has been handled (a slow request is not idleness); the timer, when
    // it fires, re-arms itself from that time.
    let killed = kill.token().cancelled();
    tokio::pin!(killed);
    let stopping = app.shutdown.cancelled();
    tokio::pin!(stopping);
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let mut last_frame = tokio::time::Instant::now();
    loop {
        let next = tokio::select! {
            // A frame already waiting wins over the idle timer.
            biased;
            _ = &mut killed => break,
            _ = &mut stopping => { shutting_down = true; break }
            n = stream.next() => n,
            () = &mut idle_timer => {
                let due = last_frame + idle;
                if tokio::time::Instant::now() >= due {
                    tracing::debug!("idle timeout");
                    break;
                }
                idle_timer.as_mut().reset(due);
                continue;
            }
        };
        let msg = match next {
            None => break,
            Some(Err(e)) => {
                if is_too_big(&e) {
                    Box::pin(reply(
                        ctx,
                        ServerFrame::error(
                            None,
                            ErrorCode::FrameTooLarge,
                            "message over the frame limit",
                        ),
                    ))
                    .await;
                    kill.kill(CloseReason {
                        code: close::TOO_BIG,
                        reason: "frame_too_large",
                    });
                }
                break;
            }
            Some(Ok(msg)) => msg,
        };
        match msg {
            Message::Binary(_) if !bucket.take() => {
                refused_in_a_row += 1;
                if refused_in_a_row > REFUSALS_BEFORE_CLOSE {
                    kill.kill(CloseReason {
                        code: close::POLICY,
                        reason: "rate_limited",
                    });
                    break;
                }
            }
            Message::Text(text) => {
                if bucket.take() {
                    refused_in_a_row = 0;
                    // Boxed for the same reason as the handshake: a request's
                    // states (every handler's) are not part of an idle task.
                    Box::pin(handle_text(ctx, text.as_str())).await;
                } else {
                    refused_in_a_row += 1;
                    if refused_in_a_row > REFUSALS_BEFORE_CLOSE {
                        tracing::warn!(user = %ctx.user.username, "closing a connection that ignores rate limits");
                        kill.kill(CloseReason {
                            code: close::POLICY,
                            reason: "rate_limited",
                        });
                        break;
                    }
                    Box::pin(refuse_rate(ctx, text.as_str())).await;
                }
            }
            Message::Binary(_) => {
                Box::pin(reply(
                    ctx,
                    ServerFrame::error(
                        None,
                        ErrorCode::BadJson,
                        "frames are JSON text, not binary",
                    ),
                ))
                .await;
            }
            Message::Close(_) => {
                Box::pin(drain_after_close(stream)).await;
                break;
            }
            Message::Ping(_) | Message::Pong(_) => {}
        }
        last_frame = tokio::time::Instant::now();
    }
    shutting_down
}

/// Refuse a request over the rate limit, with its `req_id` when it has one.
async fn refuse_rate(ctx: &Ctx, text: &str) {
    let req_id = ClientFrame::decode(text)
        .ok()
        .and_then(|f| f.req_id().map(str::to_owned));
    let frame = ServerFrame::error(
        req_id,
        ErrorCode::RateLimited,
        "too many requests; slow down",
    );
    reply(ctx, frame).await;
}

/// Step 4: unregister, let in-flight acks out (on shutdown), stop the
/// writer and complete the Close.
async fn finish(open: Open, shutting_down: bool) {
    let Open {
        mut stream,
        ctx,
        session_id,
        kill,
        writer,
    } = open;
    ctx.app.hub.unregister(ctx.user.id, session_id);
    if shutting_down {
        // Let sends already queued reach the committer and their acks the writer.
        let _ =
            tokio::time::timeout(ACK_DRAIN, ctx.in_flight.acquire_many(MAX_IN_FLIGHT as u32)).await;
        kill.kill(CloseReason::SHUTDOWN);
    } else {
        kill.kill(CloseReason {
            code: close::NORMAL,
            reason: "bye",
        });
    }
    drop(ctx);
    // The writer's own writes time out, so this wait is bounded; abort it
    // anyway if something still holds it.
    let abort = writer.abort_handle();
    match tokio::time::timeout(WRITER_GRACE, writer).await {
        Ok(Ok(crate::writer::WriterEnd::Killed(_))) => {
            // The writer sent our Close; give the peer a moment to answer it.
            let _ = tokio::time::timeout(CLOSE_GRACE, drain_after_close(&mut stream)).await;
        }
        Ok(_) => {}
        Err(_) => abort.abort(),
    }
}

async fn handle_text(ctx: &Ctx, text: &str) {
    let frame = match ClientFrame::decode(text) {
        Ok(f) => f,
        Err(e) => {
            reply(ctx, ServerFrame::error(e.req_id, e.code, e.message)).await;
            return;
        }
    };
    let req_id = frame.req_id().map(str::to_owned);
    match handlers::dispatch(ctx, frame).await {
        Ok(Some(frame)) => reply(ctx, frame).await,
        Ok(None) => {}
        Err(e) => {
            log_error(&e);
            reply(
                ctx,
                ServerFrame::error(req_id, e.code(), e.client_message()),
            )
            .await;
        }
    }
}

fn log_error(e: &ServerError) {
    if e.is_server_side() {
        tracing::error!(error = %e, "request failed");
    }
}

async fn reply(ctx: &Ctx, frame: ServerFrame) {
    // Waits while the outbox is full: a client that does not read its
    // replies stops being read from, which is the backpressure we want.
    // A reply too large for one frame leaves in parts (`reply::parts`).
    for part in crate::reply::parts(frame) {
        if ctx.frames.send(part).await.is_err() {
            return;
        }
    }
}

/// The next text message; `Err` for an oversized one; `None` when the peer left.
async fn next_text(stream: &mut SplitStream<WebSocket>) -> Option<Result<String, ErrorCode>> {
    loop {
        match stream.next().await? {
            Ok(Message::Text(t)) => return Some(Ok(t.as_str().to_owned())),
            Ok(Message::Binary(_)) => return Some(Ok(String::new())),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) => return None,
            Err(e) if is_too_big(&e) => return Some(Err(ErrorCode::FrameTooLarge)),
            Err(_) => return None,
        }
    }
}

/// Did reading fail because a message or frame was over the size limit?
fn is_too_big(e: &axum::Error) -> bool {
    let text = e.to_string();
    text.contains("too long") || text.contains("too big") || text.contains("Space limit")
}

/// Tell the client why, then close with 4001 (or 1009 for size). Always
/// `None`: the handshake ends here.
async fn refuse(
    mut sink: SplitSink<WebSocket, Message>,
    mut stream: SplitStream<WebSocket>,
    req_id: Option<String>,
    code: ErrorCode,
    message: &str,
) -> Option<Open> {
    crate::metrics::inc(&crate::metrics::get().auth_failures);
    let frame = ServerFrame::error(req_id, code, message);
    // Only an authentication failure closes with 4001 (which makes a client
    // drop its login); a full server or a storage fault is "try again".
    let close_code = match code {
        ErrorCode::FrameTooLarge => close::TOO_BIG,
        ErrorCode::RateLimited | ErrorCode::Unavailable => close::TRY_AGAIN_LATER,
        ErrorCode::StorageError | ErrorCode::Internal => close::SERVER_ERROR,
        _ => close::AUTH_FAILED,
    };
    let _ = sink.send(Message::Text(shared(&frame))).await;
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: close_code,
            reason: code.as_str().into(),
        })))
        .await;
    let _ = tokio::time::timeout(CLOSE_GRACE, drain_after_close(&mut stream)).await;
    None
}

/// Keep reading until the stream ends so the close handshake completes.
async fn drain_after_close(stream: &mut SplitStream<WebSocket>) {
    while let Some(Ok(_)) = stream.next().await {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<A, B, R>(_: fn(A, B) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// What an idle connection's task holds for its whole life is the
    /// session's future: it was 2,968 B with `App` inline (400 B, held at
    /// four levels) and 4.9 KB with the read loop's rare paths inline. A
    /// change that puts a large state back in it fails here, before it
    /// shows as idle RSS (same sizes in debug and release builds).
    #[test]
    fn an_idle_sessions_future_stays_small() {
        assert_eq!(std::mem::size_of::<App>(), std::mem::size_of::<usize>());
        let run = future_size(run as fn(WebSocket, App) -> _);
        assert!(
            run <= 1_536,
            "the session's future is {run} B (1,280 B measured)"
        );
    }
}
