//! The accept loop. axum's own `serve` gives hyper no timer, so hyper's header read timeout
//! does not apply there: a client could hold a connection (and its memory and file
//! descriptor) for ever by sending its request line and headers a byte at a time, or not at
//! all. Here each connection is served by hyper's HTTP/1.1 server with a timer: the headers of
//! every request must arrive within `header_timeout` of the connection opening or of the
//! previous answer, which also closes keep-alive connections idle for that long.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::rules::rate_limit::ClientAddress;

/// Serves `router` on every connection `listener` accepts until `shutdown` completes; then
/// accepts no more, lets each connection finish the request it is answering and waits for
/// them all. Upgraded connections (WebSockets) are no longer HTTP and are not waited for: the
/// router's own shutdown closes them.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopping) = watch::channel(false);
    // Each connection's task holds a receiver; all are gone when every connection is closed.
    let (open, connection_open) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    wait_after_accept_error(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Every request says where it came from: anonymous requests are charged to it.
        let address = ClientAddress(peer.ip());
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(address);
                request
            },
        ));
        let mut stopping = stopping.clone();
        let connection_open = connection_open.clone();
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = http
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                // The guard `wait_for` returns must not be held across the await below.
                _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = served {
                // Clients that go away or time out are routine, not the server's trouble.
                tracing::debug!(%err, "a connection ended with an error");
            }
            drop(connection_open);
        });
    }
    drop(listener);
    // Nobody listens any more if every connection has already ended.
    let _ = stop.send(true);
    drop(connection_open);
    open.closed().await;
}

/// Errors of one connection (reset before it was accepted) do not concern the others; others
/// (out of file descriptors, say) pass with time, so the loop waits before it accepts again
/// rather than spinning.
async fn wait_after_accept_error(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%err, "accepting a connection failed; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
