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
    let stream = TcpStream::connect(addr).await.expect("connect");
    handshake_on(addr, stream).await
}

/// `handshake` over a socket whose receive buffer is about `bytes` long, so that a client that
/// stops reading pushes back on the server after little data, as a slow one far away does.
pub async fn handshake_with_receive_buffer(addr: SocketAddr, bytes: u32) -> Socket {
    let socket = tokio::net::TcpSocket::new_v4().expect("TCP socket");
    socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("connect");
    handshake_on(addr, stream).await
}

async fn handshake_on(addr: SocketAddr, stream: TcpStream) -> Socket {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
        .await
        .expect("WebSocket handshake");
    socket
}

/// A `graphql-transport-ws` handshake carrying the session cookie header `cookie`, as a page
/// of `origin` makes it; nothing said yet.
pub async fn handshake_with_cookie(addr: SocketAddr, cookie: &str, origin: &str) -> Socket {
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("request");
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    headers.insert("Cookie", cookie.parse().expect("header"));
    headers.insert("Origin", origin.parse().expect("header"));
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("WebSocket handshake");
    socket
}

/// A connection that sent `connection_init` with `payload`.
pub async fn open(addr: SocketAddr, payload: Value) -> Socket {
    let mut socket = handshake(addr).await;
    init(&mut socket, payload).await;
    socket
}

async fn init(socket: &mut Socket, payload: Value) {
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
}

/// A connection authenticated with `token`, acknowledged.
pub async fn connect(addr: SocketAddr, token: &str) -> Socket {
    authenticate(handshake(addr).await, token).await
}

/// Authenticates `socket` with `token` and waits for the acknowledgement.
pub async fn authenticate(mut socket: Socket, token: &str) -> Socket {
    init(
        &mut socket,
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
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

/// Starts operation `id` on `socket`: a `subscribe` message carrying any document (a query or
/// a mutation as well as a subscription) and its variables.
pub async fn start(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }),
    )
    .await;
}

/// Runs query or mutation `id` on `socket` and returns its result (`{"data": …}`, with
/// `errors` if any): the payload of its one `next` message, which `complete` must follow.
pub async fn execute(socket: &mut Socket, id: &str, query: &str, variables: Value) -> Value {
    start(socket, id, query, variables).await;
    let result = receive(socket).await;
    assert_eq!(result["type"], "next", "operation {id}: {result}");
    assert_eq!(result["id"], id, "{result}");
    let done = receive(socket).await;
    assert_eq!(done["type"], "complete", "operation {id}: {done}");
    assert_eq!(done["id"], id, "{done}");
    result["payload"].clone()
}
