//! A GraphQL-over-WebSocket client for the tests (`graphql-transport-ws`).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The live feed, with everything the tests look at.
pub const EVENTS: &str = "subscription($after: String, $filter: EventFilterInput) {
  events(after: $after, filter: $filter) { sequence cursor type summary }
}";

/// A `graphql-transport-ws` connection to the server at `addr` on which nothing was said yet.
pub async fn handshake(addr: SocketAddr) -> Socket {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    socket
}

/// A connection that sent `connection_init` with `payload`.
pub async fn open(addr: SocketAddr, payload: Value) -> Socket {
    let mut socket = handshake(addr).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    socket
}

/// A connection authenticated with `token`, acknowledged.
pub async fn connect(addr: SocketAddr, token: &str) -> Socket {
    let mut socket = open(addr, json!({ "Authorization": format!("Bearer {token}") })).await;
    let ack = receive(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

pub async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
}

/// The next text message, or `{"closed": code}` for a close frame. The timeout only keeps a
/// broken server from hanging the suite.
pub async fn receive(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a message within 20 s")
            .expect("the connection is open")
            .expect("a message");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Close(frame) => return json!({ "closed": frame.map(|f| u16::from(f.code)) }),
            _ => continue,
        }
    }
}

/// Starts subscription `id` to the live feed with `variables` (`after`, `filter`).
pub async fn subscribe(socket: &mut Socket, id: &str, variables: Value) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": EVENTS, "variables": variables } }),
    )
    .await;
}

/// The next event delivered on `socket` (a `next` message).
pub async fn next_event(socket: &mut Socket) -> Value {
    let message = receive(socket).await;
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"]["events"].clone()
}
