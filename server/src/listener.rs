//! The accept loop: TCP connections in, one HTTP connection task each.
//!
//! We run hyper ourselves (rather than `axum::serve`) for two settings
//! `axum::serve` does not offer: a **header read timeout**, so a client that
//! trickles its request a byte at a time (slowloris) is dropped instead of
//! holding a socket forever; and `TCP_NODELAY`, because chat frames are
//! small and Nagle's algorithm meeting a delayed ACK holds one back ~40 ms.
//! The remote address is handed to handlers as axum's `ConnectInfo`.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long shutdown waits for in-flight HTTP requests (not WebSockets:
/// those are sessions, drained separately).
const HTTP_DRAIN: Duration = Duration::from_secs(5);

/// Accept until `shutdown` fires, then finish in-flight requests.
/// `header_timeout`: how long a client has to send its whole request head.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    header_timeout: Duration,
) {
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (tcp, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, most likely: back off briefly
                // rather than spin; the connection caps keep this rare.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = router
            .clone()
            .map_request(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                req.map(Body::new)
            });
        let service = TowerToHyperService::new(service);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::trace!(error = %e, %remote, "connection ended with an error");
                    }
                }
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    connections.close();
    if tokio::time::timeout(HTTP_DRAIN, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the drain timeout");
    }
}
