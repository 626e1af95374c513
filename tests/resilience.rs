//! No message or connection can make the server hold without bound (README, the WebSocket rows of
//! "Configuration"): message and frame sizes, operation ids, operations per connection, what
//! waits to be written to a peer that does not read, and the `connection_init` deadline on the
//! legacy protocol too. The database plays no part: SQLite.

mod common;

use std::time::Duration;

use common::TestApp;
use common::demo::Demo;
use common::ws::{self, receive, send};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn app(live: warren::websocket::LiveOptions) -> TestApp {
    TestApp::spawn_with(common::Backend::Sqlite, live)
        .await
        .expect("SQLite is always available")
}

/// The resident memory of this process (the server runs in it), in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|pages| pages.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Tests that measure this process's memory run one at a time.
static MEMORY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How a connection ended: the code of the server's close frame, or `None` when it was cut
/// (a server that closes with part of a refused message unread resets the connection, which
/// may overtake its close frame).
async fn ending(socket: &mut ws::Socket) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("an end within 20 s")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// A message over the body limit closes the connection with 1009 before it is held whole, even
/// before authentication, and however often it is tried: the server never answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_closes_the_connection_with_1009() {
    let _alone = MEMORY.lock().await;
    let app = app(Default::default()).await;
    let limit = warren::limits::Limits::default().body_bytes;
    let payload = "x".repeat(limit * 8);
    let before = resident_bytes();
    let mut endings = Vec::new();
    for _ in 0..10 {
        let mut socket = ws::handshake(app.addr).await;
        let message = json!({ "type": "connection_init", "payload": { "blob": payload } });
        if socket
            .send(Message::Text(message.to_string().into()))
            .await
            .is_ok()
        {
            endings.push(ending(&mut socket).await);
        }
    }
    assert!(
        endings.iter().all(|end| matches!(end, Some(1009) | None)),
        "{endings:?}"
    );
    // Just over the limit, sent whole: the close frame arrives.
    let mut socket = ws::handshake(app.addr).await;
    let message = json!({ "type": "connection_init", "payload": { "blob": "x".repeat(limit) } });
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
    assert!(matches!(ending(&mut socket).await, Some(1009) | None));
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 256 * 1024 * 1024,
        "the server grew by {grown} bytes for eleven refused messages"
    );
}

/// An operation id longer than 128 bytes closes the connection with 4400; more operations at
/// once than `max_operations` with 4429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_and_operations_per_connection_are_bounded() {
    let app = app(warren::websocket::LiveOptions {
        max_operations: 2,
        ..Default::default()
    })
    .await;
    let demo = Demo::seed(&app).await;

    let mut socket = ws::connect(app.addr, &demo.ana).await;
    ws::subscribe(&mut socket, &"i".repeat(129), json!({})).await;
    assert_eq!(receive(&mut socket).await["closed"], 4400);

    let mut socket = ws::connect(app.addr, &demo.ana).await;
    ws::subscribe(&mut socket, &"i".repeat(128), json!({})).await;
    ws::subscribe(&mut socket, "2", json!({})).await;
    ws::subscribe(&mut socket, "3", json!({})).await;
    assert_eq!(receive(&mut socket).await["closed"], 4429);

    // One that ended makes room for the next.
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    ws::subscribe(&mut socket, "1", json!({})).await;
    ws::subscribe(&mut socket, "2", json!({})).await;
    send(&mut socket, json!({ "id": "1", "type": "complete" })).await;
    ws::subscribe(&mut socket, "3", json!({})).await;
    send(
        &mut socket,
        json!({ "id": "4", "type": "subscribe", "payload": { "query": "{ viewer { name } }" } }),
    )
    .await;
    assert_eq!(
        ending(&mut socket).await,
        Some(4429),
        "2 and 3 run, so 4 is one too many"
    );
}

/// A peer that floods pings and never reads their pongs holds at most 16 MiB of the server's
/// memory (the write buffer's bound; the pongs that do not fit replace one another), and it is
/// dropped when the next message for it does not fit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_its_pongs_holds_bounded_memory() {
    let _alone = MEMORY.lock().await;
    let app = app(warren::websocket::LiveOptions {
        heartbeat: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    let demo = Demo::seed(&app).await;
    let mut socket = ws::handshake_with_receive_buffer(app.addr, 4096).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", demo.ana) } }),
    )
    .await;
    let before = resident_bytes();
    let ping = Message::Ping(vec![7u8; 125].into());
    // 800,000 pongs are 102 MB; the bound keeps 16 MiB of them.
    let mut dropped = false;
    for _ in 0..800_000 {
        let sent = tokio::time::timeout(Duration::from_secs(5), socket.send(ping.clone())).await;
        if !matches!(sent, Ok(Ok(()))) {
            dropped = true;
            break;
        }
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 48 * 1024 * 1024,
        "the server grew by {grown} bytes for one peer's unread pongs"
    );
    // The next heartbeat does not fit: the peer is let go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !dropped && tokio::time::Instant::now() < deadline {
        let sent = tokio::time::timeout(Duration::from_secs(5), socket.send(ping.clone())).await;
        dropped = !matches!(sent, Ok(Ok(())));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dropped, "a peer that reads nothing is dropped");
}

/// The legacy `graphql-ws` protocol has the `connection_init` deadline too: a silent client is
/// told with `connection_error` and the connection closed with 4408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_legacy_connection_is_closed_at_the_deadline() {
    let app = app(warren::websocket::LiveOptions {
        init_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    let told = receive(&mut socket).await;
    assert_eq!(told["type"], "connection_error", "{told}");
    assert_eq!(receive(&mut socket).await["closed"], 4408);
    // Nothing more: the server has let go.
    assert!(
        tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("the end within 5 s")
            .is_none_or(|message| message.is_err()),
    );
}
