//! GraphQL over WebSocket: subscriptions at `/graphql`, in the `graphql-transport-ws` protocol
//! or the legacy `graphql-ws` one. async-graphql runs the protocol; this module carries its
//! messages over axum's socket and answers a refused `connection_init` with the close code the
//! `graphql-transport-ws` protocol prescribes (4403), which async-graphql does not.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::Data;
use async_graphql::http::{WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::http::HeaderMap;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use futures_util::{SinkExt, StreamExt, future};

use crate::graphql::WarrenSchema;

/// Close code for a refused `connection_init` (graphql-transport-ws: "Forbidden").
const FORBIDDEN: u16 = 4403;

/// The first subprotocol the client offers that we speak.
pub fn protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|offered| WebSocketProtocols::from_str(offered.trim()).ok())
}

/// Serves one connection until either side closes it. `authenticate` turns the
/// `connection_init` payload into the connection's data, or refuses it.
pub async fn serve<F, R>(
    socket: WebSocket,
    schema: WarrenSchema,
    protocol: WebSocketProtocols,
    authenticate: F,
) where
    F: FnOnce(serde_json::Value) -> R + Send + 'static,
    R: Future<Output = async_graphql::Result<Data>> + Send + 'static,
{
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => Some(message.into_data()),
                _ => None,
            })
        });
    let refused = Arc::new(AtomicBool::new(false));
    let init_refused = refused.clone();
    let output = async_graphql::http::WebSocket::new(schema, input, protocol).on_connection_init(
        move |payload| {
            let verdict = authenticate(payload);
            async move {
                let data = verdict.await;
                init_refused.store(data.is_err(), Ordering::Release);
                data
            }
        },
    );
    futures_util::pin_mut!(output);
    while let Some(message) = output.next().await {
        let message = match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => {
                // async-graphql closes a refused init with 1002, the protocol wants 4403.
                let code = if refused.load(Ordering::Acquire)
                    && protocol == WebSocketProtocols::GraphQLWS
                {
                    FORBIDDEN
                } else {
                    code
                };
                Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))
            }
        };
        if sink.send(message).await.is_err() {
            break;
        }
    }
}
