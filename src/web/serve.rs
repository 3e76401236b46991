//! Serving connections with limits (issue 16, finding 5): a client must send its request headers
//! within `header_timeout_secs` (also while a kept-alive connection idles), its body within
//! `body_timeout_secs`, and at most `max_connections` connections are served at once (more are
//! closed at once rather than queued). Slowloris-style clients that trickle headers or bodies,
//! or idle forever, are closed. Shutdown is graceful: in-flight requests finish. With `tls`
//! (`web::tls`) each connection is a TLS session, its handshake bounded like the headers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// `[http]` in nixa.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    pub header_timeout_secs: u64,
    pub body_timeout_secs: u64,
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { header_timeout_secs: 10, body_timeout_secs: 30, max_connections: 10_000 }
    }
}

/// Serves `router` on `listener` (over TLS with `tls`) until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &HttpLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(Duration::from_secs(limits.body_timeout_secs.max(1))));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    // HTTP/1.1 only (HTTP/2 ends at the reverse proxy): detecting the version would read the
    // first bytes with no timeout at all.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(limits.header_timeout_secs.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors or similar: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: closing now tells the client (or its proxy) to go elsewhere or retry.
            drop(stream);
            continue;
        };
        let first_byte = Duration::from_secs(limits.header_timeout_secs.max(1));
        let service = router.clone().map_request(move |mut req: axum::extract::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            // hyper times the headers from their first byte: a client that connects and says
            // nothing is closed here.
            // (A peek, not `readable()`: readiness may be reported before any byte arrived.)
            if !matches!(tokio::time::timeout(first_byte, stream.peek(&mut [0u8; 1])).await, Ok(Ok(1..))) {
                return;
            }
            let service = TowerToHyperService::new(service);
            match tls {
                None => {
                    let _ = watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned()).await;
                }
                Some(tls) => {
                    // A handshake that does not finish in time is closed like silent headers.
                    let Ok(Ok(stream)) = tokio::time::timeout(first_byte, tls.accept(stream)).await else { return };
                    let _ = watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned()).await;
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
