//! GraphQL over WebSocket: subscriptions at `/graphql`, in the `graphql-transport-ws` protocol
//! or the legacy `graphql-ws` one. async-graphql runs the protocol; this module carries its
//! messages over axum's socket and, for `graphql-transport-ws`, enforces the rules of the
//! protocol that async-graphql lets pass, with the close codes the protocol prescribes: no
//! `connection_init` in time (4408), a second one (4429), `subscribe` before the connection is
//! acknowledged (4401), an id already in use (4409), a message that is not one of the protocol
//! (4400), a refused `connection_init` (4403; async-graphql sends 1002).
//!
//! Every operation is authorized as of its own start (`graphql::api::LiveCredential`). One that
//! finds the connection's credential ended is answered with an `error` message
//! (UNAUTHENTICATED), and the connection is closed with 4403: nothing more can run on it.

use std::collections::HashSet;
use std::future::Future;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_graphql::Data;
use async_graphql::http::{WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::http::HeaderMap;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use futures_util::{FutureExt, SinkExt, StreamExt, future};
use serde::Deserialize;
use tokio::sync::{oneshot, watch};
use uuid::Uuid;

use crate::api::admission::{Api, CredentialEnded};
use crate::occupancy::{Occupancy, Turns};

/// The clocks and bounds of live connections.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// How long a client has to send `connection_init` after the upgrade.
    pub init_timeout: Duration,
    /// How often the server pings an open connection, so that proxies keep idle ones open. A
    /// peer that takes no message for as long is gone, and its connection is dropped.
    pub heartbeat: Duration,
    /// How many batches of new events a subscriber may fall behind the feed before its
    /// subscription ends with the cursor to resume after (see `feed`).
    pub feed_backlog: usize,
    /// How many recent events the feed keeps for subscribers resuming after one of them.
    pub feed_history: usize,
    /// Operations (subscriptions, and queries or mutations in flight) one connection may run at
    /// once; one more closes it (4429).
    pub max_operations: usize,
    /// Connections one person may hold at once; one more is refused at init (4429).
    pub max_connections_per_person: usize,
    /// Connections from one client address not signed in yet; one more is refused (429).
    pub max_pending_per_address: usize,
    /// Subscriptions one person may hold at once, over all their connections.
    pub max_subscriptions_per_person: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            init_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(30),
            feed_backlog: 256,
            feed_history: 10_000,
            max_operations: 100,
            max_connections_per_person: 50,
            max_pending_per_address: 256,
            max_subscriptions_per_person: 200,
        }
    }
}

/// The live connections of a server, closed together when it shuts down: each is told with
/// close code 1001 (going away), so that clients reconnect, elsewhere or later, and resume.
/// They also count what each person and each address holds (`occupancy`).
#[derive(Debug, Clone)]
pub struct LiveConnections {
    closing: Arc<watch::Sender<bool>>,
    /// Connections not signed in yet, by client address.
    pub pending: Occupancy<IpAddr>,
    /// Signed-in connections, by person.
    pub people: Occupancy<Uuid>,
    /// Live subscriptions, by person.
    pub subscriptions: Occupancy<Uuid>,
    /// Each person's turns to start operations (`TURNS_PER_PERSON` at once).
    pub turns: Turns,
}

/// A person's operations started at once over their WebSockets (credential, measure, charge);
/// the rest of a burst waits its turn without holding back anyone else's.
const TURNS_PER_PERSON: usize = 2;

impl Default for LiveConnections {
    fn default() -> Self {
        LiveConnections {
            closing: Arc::new(watch::Sender::new(false)),
            pending: Occupancy::default(),
            people: Occupancy::default(),
            subscriptions: Occupancy::default(),
            turns: Turns::new(TURNS_PER_PERSON),
        }
    }
}

impl LiveConnections {
    /// Tells every connection, and every one that opens from now on, to close.
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }

    /// Waits until every connection has closed, or `within` has passed.
    pub async fn closed(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.closing.receiver_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What a connection watches to learn that it must close; it counts as open while the
    /// receiver lives.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

/// Connections of the pool live connections use (`http::live_pool`): four subscriptions
/// reading the database to start at once (`feed::STARTS_AT_ONCE`), the rest for the fields
/// their events are asked for and for queries and mutations sent over WebSockets.
pub const LIVE_CONNECTIONS: u32 = 8;

/// The runtime live connections run on, apart from the one serving requests. Delivering one
/// event to ten thousand subscribers keeps every worker busy for a while; on the request
/// runtime a mutation would wait behind that work at each of its statements, holding its
/// connection meanwhile, until mutations failed for want of one (BENCHMARKS.md). On threads
/// of their own, the operating system shares the cores between both, and requests stay
/// prompt. It lives as long as the process, so no connection outlives it; `None` when its
/// threads cannot be started, and connections then run where they were accepted.
pub fn live_runtime() -> Option<&'static tokio::runtime::Handle> {
    static LIVE: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    LIVE.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("warren-live")
            .enable_all()
            .build()
            .inspect_err(|err| tracing::error!(%err, "cannot start the live-connection runtime"))
            .ok()
    })
    .as_ref()
    .map(tokio::runtime::Runtime::handle)
}

/// The first subprotocol the client offers that we speak.
pub fn protocol(headers: &HeaderMap) -> Option<WebSocketProtocols> {
    headers
        .get(SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .find_map(|offered| WebSocketProtocols::from_str(offered.trim()).ok())
}

/// Why the server closes a `graphql-transport-ws` connection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    code: u16,
    reason: String,
}

impl Violation {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Violation {
            code,
            reason: reason.into(),
        }
    }
}

/// A client message as far as the rules need it.
#[derive(Deserialize)]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// The longest operation id a client may choose: ids are kept for as long as their operation
/// runs, and a client's own counter or UUID needs far less.
const MAX_ID_BYTES: usize = 128;

/// What the connection has seen so far.
#[derive(Default)]
struct Session {
    /// The legacy `graphql-ws` protocol, whose rules async-graphql enforces; only the bounds
    /// (ids, operations running) are checked here.
    legacy: bool,
    /// Operations that may run at once on the connection.
    max_running: usize,
    initialised: bool,
    acknowledged: bool,
    /// Subscriptions running, by the client's id.
    running: HashSet<String>,
}

impl Session {
    fn new(legacy: bool, max_running: usize) -> Self {
        Session {
            legacy,
            max_running,
            ..Session::default()
        }
    }

    /// Takes operation `id` as running, within the connection's bounds.
    fn start(&mut self, id: String) -> Result<(), Violation> {
        if id.len() > MAX_ID_BYTES {
            return Err(Violation::new(
                4400,
                format!("Invalid message: an id is at most {MAX_ID_BYTES} bytes long"),
            ));
        }
        if self.running.len() >= self.max_running && !self.running.contains(&id) {
            return Err(Violation::new(
                4429,
                format!(
                    "Too many operations on this connection: at most {} at once",
                    self.max_running
                ),
            ));
        }
        if !self.running.insert(id.clone()) && !self.legacy {
            return Err(Violation::new(
                4409,
                format!("Subscriber for {id} already exists"),
            ));
        }
        Ok(())
    }

    /// Checks one client message against the protocol; `Err` closes the connection.
    fn admit(&mut self, raw: &[u8]) -> Result<(), Violation> {
        if self.legacy {
            return self.admit_legacy(raw);
        }
        let message: ClientMessage = serde_json::from_slice(raw)
            .map_err(|_| Violation::new(4400, "Invalid message: not a protocol message"))?;
        match message.kind.as_str() {
            "connection_init" => {
                if self.initialised {
                    return Err(Violation::new(4429, "Too many initialisation requests"));
                }
                self.initialised = true;
            }
            "subscribe" => {
                if !self.acknowledged {
                    return Err(Violation::new(4401, "Unauthorized"));
                }
                let id = message
                    .id
                    .ok_or_else(|| Violation::new(4400, "Invalid message: subscribe without id"))?;
                self.start(id)?;
            }
            "complete" => {
                if let Some(id) = message.id {
                    self.running.remove(&id);
                }
            }
            "ping" | "pong" => {}
            other => {
                return Err(Violation::new(
                    4400,
                    format!("Invalid message: unknown type {other}"),
                ));
            }
        }
        Ok(())
    }

    /// The legacy protocol's messages: `start` within the bounds, `stop` ends one; the rest is
    /// async-graphql's to judge.
    fn admit_legacy(&mut self, raw: &[u8]) -> Result<(), Violation> {
        let Ok(message) = serde_json::from_slice::<ClientMessage>(raw) else {
            return Ok(());
        };
        match (message.kind.as_str(), message.id) {
            ("connection_init", _) => self.initialised = true,
            ("start", Some(id)) => self.start(id)?,
            ("stop", Some(id)) => {
                self.running.remove(&id);
            }
            _ => {}
        }
        Ok(())
    }

    /// Notes what the server tells the client: the acknowledgement, and subscriptions that
    /// ended (their ids may be used again).
    fn observe(&mut self, text: &str) {
        // Most messages are `next` (`data` in the legacy protocol); only the others need a look.
        if text.starts_with(r#"{"type":"next""#) || text.starts_with(r#"{"type":"data""#) {
            return;
        }
        if let Ok(message) = serde_json::from_str::<ClientMessage>(text) {
            match message.kind.as_str() {
                "connection_ack" => self.acknowledged = true,
                "complete" | "error" => {
                    if let Some(id) = message.id {
                        self.running.remove(&id);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Serves one connection until either side closes it. `authenticate` turns the
/// `connection_init` payload into the connection's data, or refuses it; the data holds
/// `ended`, which its operations set when they find the credential ended.
pub async fn serve<F, R>(
    socket: WebSocket,
    api: Api,
    protocol: WebSocketProtocols,
    timings: LiveOptions,
    mut shutdown: watch::Receiver<bool>,
    ended: CredentialEnded,
    authenticate: F,
) where
    F: FnOnce(serde_json::Value) -> R + Send + 'static,
    R: Future<Output = async_graphql::Result<Data>> + Send + 'static,
{
    let _open = crate::metrics::Held::new(&crate::metrics::METRICS.websocket_connections);
    // The legacy protocol is served as async-graphql speaks it, within the same bounds.
    let strict = protocol == WebSocketProtocols::GraphQLWS;
    let session = Arc::new(Mutex::new(Session::new(!strict, timings.max_operations)));
    // One violation ends the input, so there is at most one to tell. (A oneshot channel, not
    // an unbounded one: that one allocates a block of 32 slots up front, 1.5 KiB for every
    // connection.)
    let (violations, mut violated) = oneshot::channel::<Violation>();
    let mut violations = Some(violations);
    let (mut sink, stream) = socket.split();
    let inspected = session.clone();
    let input = stream
        .filter_map(|message| {
            future::ready(match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                    Some(Ok(message.into_data()))
                }
                Ok(_) => None,
                Err(err) => Some(Err(read_failure(err))),
            })
        })
        // A violation or a failed read ends the input, and the connection with it.
        .take_while(move |item| {
            let verdict = match item {
                Ok(raw) => inspected
                    .lock()
                    .map_or(Ok(()), |mut session| session.admit(raw).map_err(Some)),
                Err(failure) => Err(failure.clone()),
            };
            future::ready(match verdict {
                Ok(()) => true,
                Err(violation) => {
                    if let (Some(violations), Some(violation)) = (violations.take(), violation) {
                        let _ = violations.send(violation);
                    }
                    false
                }
            })
        })
        .filter_map(|item| future::ready(item.ok()));
    // The close code for a refused `connection_init`: 4403, or 4429 when the refusal names a
    // limit (the person's connections).
    let refused = Arc::new(Mutex::new(None::<u16>));
    let init_refused = refused.clone();
    let answer_bytes = api.answer_bytes();
    let output = async_graphql::http::WebSocket::new(api, input, protocol).on_connection_init(
        move |payload| {
            let verdict = authenticate(payload);
            async move {
                let data = verdict.await;
                if let Ok(mut refused) = init_refused.lock() {
                    *refused = data.as_ref().err().map(|error| {
                        let limit = error
                            .extensions
                            .as_ref()
                            .and_then(|extensions| extensions.get("limit"));
                        if limit.is_some() { 4429 } else { 4403 }
                    });
                }
                data
            }
        },
    );
    // Fused: after its end it keeps answering `None`, which the loop may ask twice.
    let output = output.fuse();
    futures_util::pin_mut!(output);
    let init_deadline = tokio::time::sleep(timings.init_timeout);
    futures_util::pin_mut!(init_deadline);
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + timings.heartbeat,
        timings.heartbeat,
    );
    // Set once the refusal of an operation whose credential ended is going out: the connection
    // closes right after it.
    let refused_credential = AtomicBool::new(false);
    let outgoing = |message: WsMessage| match message {
        WsMessage::Text(text) => {
            let text = if text.len() > answer_bytes {
                oversized(&text, answer_bytes)
            } else {
                text
            };
            let text = match ended.is_set().then(|| credential_refusal(&text)).flatten() {
                Some(refusal) => {
                    refused_credential.store(true, Ordering::Relaxed);
                    refusal
                }
                None => text,
            };
            if let Ok(mut session) = session.lock() {
                session.observe(&text);
            }
            Message::Text(text.into())
        }
        WsMessage::Close(code, reason) => {
            let refused = refused.lock().ok().and_then(|r| *r);
            // async-graphql closes a refused init with 1002; the protocol wants 4403 (4429
            // when too many connections are open).
            let code = match refused {
                Some(refusal) if strict => refusal,
                _ => code,
            };
            close(Violation { code, reason })
        }
    };
    // Empty until used: most connections are idle, and room for 64 messages takes 2.5 KiB.
    let mut batch = Vec::new();
    loop {
        let initialised = session.lock().map(|s| s.initialised).unwrap_or(true);
        let message = tokio::select! {
            // A violation first: it also ends the input, and with it async-graphql's output.
            biased;
            violation = &mut violated, if !violated.is_terminated() => match violation {
                Ok(violation) => close(violation),
                // The input is gone; the output ends too, and says how.
                Err(_) => continue,
            },
            () = &mut init_deadline, if !initialised => {
                if !strict {
                    // The legacy protocol tells why in a message of its own first.
                    batch.push(Message::Text(
                        r#"{"type":"connection_error","payload":{"message":"Connection initialisation timeout"}}"#.into(),
                    ));
                }
                close(Violation::new(4408, "Connection initialisation timeout"))
            }
            // Also at once for a connection opened while the server shuts down.
            Ok(_) = shutdown.wait_for(|closing| *closing) => close(Violation::new(
                1001,
                "the server is shutting down; connect again and resume with `after`",
            )),
            // A WebSocket ping (both protocols): clients answer it by themselves.
            _ = heartbeat.tick() => Message::Ping(Default::default()),
            message = output.next() => match message {
                Some(message) => outgoing(message),
                None => match violated.try_recv() {
                    Ok(violation) => close(violation),
                    Err(_) => break,
                },
            },
        };
        let mut closing = matches!(message, Message::Close(_));
        let mut bytes = size(&message);
        batch.push(message);
        // Whatever else is ready goes out with it, in one write: a subscriber behind the feed
        // catches up for a fraction of the cost per event. Bounded, because the socket's
        // write buffer keeps the size it once grew to.
        while !closing
            && !refused_credential.load(Ordering::Relaxed)
            && batch.len() < COALESCED
            && bytes < COALESCED_BYTES
        {
            match output.next().now_or_never() {
                Some(Some(message)) => {
                    let message = outgoing(message);
                    closing = matches!(message, Message::Close(_));
                    bytes += size(&message);
                    batch.push(message);
                }
                // Nothing more now, or the end, which the next turn of the loop handles.
                Some(None) | None => break,
            }
        }
        // Nothing goes out after the refusal but the close.
        if refused_credential.load(Ordering::Relaxed) && !closing {
            batch.push(close(Violation::new(
                4403,
                "what signed this connection in has ended; sign in and connect again",
            )));
            closing = true;
        }
        // A peer that stopped reading fills the socket's buffers and then blocks the send:
        // nothing more is produced for it meanwhile (its subscriptions fall behind the feed,
        // which bounds what is kept for them), and after a whole heartbeat it is let go.
        let sent = tokio::time::timeout(timings.heartbeat, async {
            for message in batch.drain(..) {
                sink.feed(message).await?;
            }
            sink.flush().await
        })
        .await;
        // The room a catch-up took is not kept for an idle connection.
        batch.shrink_to(4);
        match sent {
            Ok(Ok(())) if !closing => {}
            Ok(_) => break,
            Err(_) => {
                tracing::info!("dropping a WebSocket peer that took no message for a heartbeat");
                break;
            }
        }
    }
}

/// Why reading from the peer failed, as the close to send it: a message or frame over the size
/// limit is 1009 (message too big); anything else (the peer gone, or so far behind that what
/// waits for it outgrew the write buffer's bound) ends the connection without a word.
fn read_failure(err: axum::Error) -> Option<Violation> {
    use tungstenite::error::{CapacityError, Error};
    match err.into_inner().downcast_ref::<Error>() {
        Some(Error::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
            Some(Violation::new(
                1009,
                format!("a message is at most {max_size} bytes long; this one was {size}"),
            ))
        }
        _ => None,
    }
}

/// The `error` message for an operation refused because the connection's credential ended, in
/// place of the `next` (or legacy `data`) message async-graphql made of its refusal: it never
/// sends `error` itself. `None` for any other message.
fn credential_refusal(text: &str) -> Option<String> {
    let message: serde_json::Value = serde_json::from_str(text).ok()?;
    if !matches!(message["type"].as_str(), Some("next" | "data"))
        || !message["payload"]["data"].is_null()
    {
        return None;
    }
    let errors = message["payload"]["errors"].as_array()?;
    let unauthenticated = errors
        .iter()
        .any(|error| error["extensions"]["code"] == "UNAUTHENTICATED");
    unauthenticated.then(|| {
        serde_json::json!({ "type": "error", "id": message["id"], "payload": errors }).to_string()
    })
}

/// The message sent in place of `text`, an answer longer than `max` bytes: the same message
/// (`next`, the legacy `data`, or `error`) for the same operation, its payload the error naming
/// the limit. A subscription goes on with its next event.
fn oversized(text: &str, max: usize) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    tracing::info!(max, "a WebSocket answer over the size limit was not sent");
    let error = crate::api::limits::answer_too_large(max);
    // Reading the envelope skips over the payload without keeping any of it.
    let Ok(envelope) = serde_json::from_str::<Envelope>(text) else {
        return serde_json::json!({ "type": "error", "payload": [error] }).to_string();
    };
    let payload = if envelope.kind == "error" {
        serde_json::json!([error])
    } else {
        serde_json::json!({ "errors": [error] })
    };
    serde_json::json!({ "type": envelope.kind, "id": envelope.id, "payload": payload }).to_string()
}

/// The most messages written to a connection at once, and about the most bytes.
const COALESCED: usize = 64;
const COALESCED_BYTES: usize = 8 * 1024;

/// The payload bytes of a message.
fn size(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.as_str().len(),
        Message::Binary(data) => data.len(),
        _ => 0,
    }
}

fn close(violation: Violation) -> Message {
    Message::Close(Some(CloseFrame {
        code: violation.code,
        reason: violation.reason.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(session: &mut Session, message: &str) -> Result<(), u16> {
        session.admit(message.as_bytes()).map_err(|v| v.code)
    }

    /// An operation refused because the credential ended becomes an `error` message; any
    /// other message passes as it is.
    #[test]
    fn a_refused_credential_becomes_an_error_message() {
        let refused = r#"{"type":"next","id":"7","payload":{"data":null,"errors":[{"message":"invalid or expired token","extensions":{"code":"UNAUTHENTICATED"}}]}}"#;
        let error: serde_json::Value =
            serde_json::from_str(&credential_refusal(refused).expect("an error message"))
                .expect("JSON");
        assert_eq!(error["type"], "error");
        assert_eq!(error["id"], "7");
        assert_eq!(error["payload"][0]["extensions"]["code"], "UNAUTHENTICATED");
        let answered = r#"{"type":"next","id":"7","payload":{"data":{"viewer":null},"errors":[{"message":"x","extensions":{"code":"UNAUTHENTICATED"}}]}}"#;
        assert_eq!(credential_refusal(answered), None);
        let other = r#"{"type":"next","id":"7","payload":{"data":null,"errors":[{"message":"x","extensions":{"code":"NOT_FOUND"}}]}}"#;
        assert_eq!(credential_refusal(other), None);
        assert_eq!(credential_refusal(r#"{"type":"complete","id":"7"}"#), None);
    }

    #[test]
    fn the_protocol_rules_and_their_close_codes() {
        let mut session = Session::new(false, 100);
        assert_eq!(admit(&mut session, "not json"), Err(4400));
        assert_eq!(admit(&mut session, r#"{"type":"hello"}"#), Err(4400));
        assert_eq!(
            admit(
                &mut session,
                r#"{"type":"subscribe","id":"1","payload":{}}"#
            ),
            Err(4401)
        );
        assert_eq!(admit(&mut session, r#"{"type":"connection_init"}"#), Ok(()));
        assert_eq!(
            admit(&mut session, r#"{"type":"connection_init"}"#),
            Err(4429)
        );
        session.observe(r#"{"type":"connection_ack"}"#);
        assert_eq!(
            admit(
                &mut session,
                r#"{"type":"subscribe","id":"1","payload":{}}"#
            ),
            Ok(())
        );
        assert_eq!(
            admit(
                &mut session,
                r#"{"type":"subscribe","id":"1","payload":{}}"#
            ),
            Err(4409)
        );
        // Once the server completed it, the id is free again.
        session.observe(r#"{"type":"complete","id":"1"}"#);
        assert_eq!(
            admit(
                &mut session,
                r#"{"type":"subscribe","id":"1","payload":{}}"#
            ),
            Ok(())
        );
        assert_eq!(
            admit(&mut session, r#"{"type":"complete","id":"1"}"#),
            Ok(())
        );
        assert_eq!(
            admit(
                &mut session,
                r#"{"type":"subscribe","id":"1","payload":{}}"#
            ),
            Ok(())
        );
        assert_eq!(admit(&mut session, r#"{"type":"ping"}"#), Ok(()));
    }

    fn subscribe(id: &str, kind: &str) -> String {
        serde_json::json!({ "type": kind, "id": id, "payload": {} }).to_string()
    }

    /// Ids and operations at once are bounded on both protocols; the legacy one replaces an
    /// operation whose id is reused, as async-graphql does.
    #[test]
    fn ids_and_operations_are_bounded_on_both_protocols() {
        for (legacy, kind) in [(false, "subscribe"), (true, "start")] {
            let mut session = Session::new(legacy, 2);
            session.observe(r#"{"type":"connection_ack"}"#);
            let long = "i".repeat(MAX_ID_BYTES + 1);
            assert_eq!(admit(&mut session, &subscribe(&long, kind)), Err(4400));
            let longest = "i".repeat(MAX_ID_BYTES);
            assert_eq!(admit(&mut session, &subscribe(&longest, kind)), Ok(()));
            assert_eq!(admit(&mut session, &subscribe("2", kind)), Ok(()));
            assert_eq!(admit(&mut session, &subscribe("3", kind)), Err(4429));
            let reused = admit(&mut session, &subscribe("2", kind));
            assert_eq!(reused, if legacy { Ok(()) } else { Err(4409) });
        }
        let mut legacy = Session::new(true, 1);
        assert_eq!(admit(&mut legacy, &subscribe("1", "start")), Ok(()));
        assert_eq!(admit(&mut legacy, &subscribe("1", "stop")), Ok(()));
        assert_eq!(admit(&mut legacy, &subscribe("2", "start")), Ok(()));
        // What the legacy protocol does not know is async-graphql's to judge.
        assert_eq!(admit(&mut legacy, "not json"), Ok(()));
    }
}
