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

async fn app(live: warren::http::websocket::LiveOptions) -> TestApp {
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
    let limit = warren::api::limits::Limits::default().body_bytes;
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
    let app = app(warren::http::websocket::LiveOptions {
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
    let app = app(warren::http::websocket::LiveOptions {
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
    let app = app(warren::http::websocket::LiveOptions {
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

/// A server with the default live options whose settings `change` adjusts.
async fn configured(change: impl FnOnce(&mut warren::http::Settings) + Send) -> TestApp {
    TestApp::spawn_configured(common::Backend::Sqlite, |addr| async move {
        let mut settings = warren::http::Settings::new(&format!("http://{addr}"));
        settings.rate_limit = 1_000_000;
        change(&mut settings);
        settings
    })
    .await
    .expect("SQLite is always available")
}

/// The refused limit named by the first error of `body`, which has no data.
fn refused_limit(body: &serde_json::Value) -> &str {
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    body["errors"][0]["extensions"]["limit"]
        .as_str()
        .unwrap_or_default()
}

/// Finding 1: lists cost their worst case. An app's environments nested seven levels deep
/// (770 MB answered when lists cost nothing) is refused before it runs, however often it is
/// sent, and the server's memory stays flat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_lists_are_refused_for_their_worst_case() {
    let _alone = MEMORY.lock().await;
    let app = app(Default::default()).await;
    let demo = Demo::seed(&app).await;
    let shop = common::demo::app_id(&app, "acme-shop").await;
    for n in 0..10 {
        let (_, code) = app
            .mutate(
                &demo.ana,
                "createEnvironment",
                json!({ "appId": shop, "name": format!("env-{n}") }),
                "environment { id }",
            )
            .await;
        assert_eq!(code, None);
    }
    let nested = format!(
        "query($id: ID!) {{ node(id: $id) {{ ... on App {{ {} id name {} }} }} }}",
        "environments { app { ".repeat(7),
        "} } ".repeat(7)
    );
    let before = resident_bytes();
    for _ in 0..20 {
        let (_, body) = app
            .graphql_raw(Some(&demo.ana), &nested, json!({ "id": shop }))
            .await;
        assert_eq!(refused_limit(&body), "complexity");
    }
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 64 << 20, "the server grew by {grown} bytes");
    // Two levels are an ordinary question, answered.
    let two = "query($id: ID!) { node(id: $id) { ... on App { environments { app { environments { name } } } } } }";
    let data = app.query(&demo.ana, two, json!({ "id": shop })).await;
    let environments = data["node"]["environments"].as_array().expect("a list");
    assert!(environments.len() >= 10, "{data}");
}

/// Finding 1, the lists nothing bounds ahead: what a payment method's deletion would remove is
/// counted as 20 apps before the request runs, and the apps beyond them are charged (with what
/// is selected in each) as the list resolves, refused past the complexity limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_longer_than_counted_is_charged_as_it_resolves() {
    let app = configured(|settings| settings.limits.complexity = 500).await;
    let demo = Demo::seed(&app).await;
    let card = common::demo::payment_method_id(&app, "Ana's card").await;
    for n in 0..25 {
        let (_, code) = app
            .mutate(
                &demo.ana,
                "createApp",
                json!({ "name": format!("app-{n}"), "paymentMethodId": card }),
                "app { id }",
            )
            .await;
        assert_eq!(code, None);
    }
    // 20 apps × (1 + 20 developers) = 420 nodes counted ahead: admitted. The apps beyond 20
    // cost 21 each, and at least 25 take it past 500.
    let heavy = "query($id: ID!) { node(id: $id) { ... on PaymentMethod { deletionImpact { apps { developers(first: 20) { nodes { id } } } } } } }";
    let (_, body) = app
        .graphql_raw(Some(&demo.ana), heavy, json!({ "id": card }))
        .await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["limit"], "complexity", "{body}");
    assert_eq!(error["extensions"]["max"], 500, "{body}");
    assert_eq!(
        error["path"],
        json!(["node", "deletionImpact", "apps"]),
        "{body}"
    );
    // The same list with little selected in it is answered whole.
    let light = "query($id: ID!) { node(id: $id) { ... on PaymentMethod { deletionImpact { apps { id } } } } }";
    let data = app.query(&demo.ana, light, json!({ "id": card })).await;
    let apps = data["node"]["deletionImpact"]["apps"]
        .as_array()
        .expect("apps");
    assert!(apps.len() >= 25, "{data}");
}

/// Finding 1, the answer itself: past the answer-size limit serialization stops and the answer
/// is an error naming the limit, over HTTP and over a WebSocket alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_size_limit_is_an_error_naming_it() {
    let app = configured(|settings| settings.limits.answer_bytes = 2_000).await;
    let demo = Demo::seed(&app).await;
    let large = "{ __schema { types { name description } } }";
    let (status, body) = app.graphql_raw(Some(&demo.ana), large, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(refused_limit(&body), "answerBytes");
    assert_eq!(body["errors"][0]["extensions"]["max"], 2_000, "{body}");
    let small = app.query(&demo.ana, "{ viewer { name } }", json!({})).await;
    assert_eq!(small["viewer"]["name"], "Ana Alvarez");

    let mut socket = ws::connect(app.addr, &demo.ana).await;
    let payload = ws::execute(&mut socket, "big", large, json!({})).await;
    assert_eq!(refused_limit(&payload), "answerBytes");
    let payload = ws::execute(&mut socket, "small", "{ viewer { name } }", json!({})).await;
    assert_eq!(
        payload["data"]["viewer"]["name"], "Ana Alvarez",
        "{payload}"
    );
}

/// The introspection query GraphiQL and client generators send.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;

/// Posts `query` without a credential; the status, `X-RateLimit-Used` and the body.
async fn anonymous(app: &TestApp, query: &str) -> (u16, u64, serde_json::Value) {
    let answer = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("POST");
    let status = answer.status().as_u16();
    let used = answer
        .headers()
        .get("x-ratelimit-used")
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    (status, used, answer.json().await.expect("JSON"))
}

/// Finding 6: anonymous requests are charged to their address, introspection costed like any
/// query by the nodes it may return. Past the address's budget they are refused (429) before
/// they run, while a signed-in person is served from a budget of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_spend_a_budget_of_their_address() {
    let app = configured(|settings| settings.anonymous_rate_limit = 100).await;
    let demo = Demo::seed(&app).await;
    let (status, used, body) = anonymous(&app, INTROSPECTION).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["__schema"]["types"].is_array(), "{body}");
    // More than one point: the types, their fields and the fields' arguments multiply.
    let cost = used;
    assert!(cost > 1, "introspection cost {cost}");
    let mut answered = 1;
    loop {
        let (status, _, body) = anonymous(&app, INTROSPECTION).await;
        if status == 429 {
            assert_eq!(common::error_code(&body), Some("RATE_LIMITED"), "{body}");
            assert!(
                body.get("data").is_none_or(serde_json::Value::is_null),
                "{body}"
            );
            break;
        }
        answered += 1;
        assert!(
            answered * cost <= 100,
            "{answered} introspections of {cost} points"
        );
    }
    assert!(
        (answered + 1) * cost > 100,
        "{answered} introspections of {cost} points"
    );
    // What is left goes on cheaper requests, then nothing; a signed-in person is not touched.
    let mut cheap = 0;
    while anonymous(&app, "{ __typename }").await.0 != 429 {
        cheap += 1;
        assert!(
            answered * cost + cheap <= 100,
            "{cheap} more requests answered"
        );
    }
    let data = app.query(&demo.ana, "{ viewer { name } }", json!({})).await;
    assert_eq!(data["viewer"]["name"], "Ana Alvarez");
    // Starting a sign-in stores an attempt: it is paid from the same budget.
    let login = app
        .client
        .get(app.url("/auth/login"))
        .send()
        .await
        .expect("GET");
    assert_eq!(login.status().as_u16(), 429);
}

/// Finding 7, connections: a person holds at most so many WebSocket connections (one more is
/// refused at `connection_init` with 4429), and an address at most so many that have not
/// signed in yet (one more is refused before the upgrade, 429). Places come back as
/// connections sign in or close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_person_and_per_address_are_bounded() {
    let app = app(warren::http::websocket::LiveOptions {
        max_connections_per_person: 2,
        max_pending_per_address: 2,
        ..Default::default()
    })
    .await;
    let demo = Demo::seed(&app).await;
    let first = ws::connect(app.addr, &demo.ana).await;
    let _second = ws::connect(app.addr, &demo.ana).await;
    let mut third = ws::handshake(app.addr).await;
    send(
        &mut third,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", demo.ana) } }),
    )
    .await;
    assert_eq!(ending(&mut third).await, Some(4429));
    // Someone else is not counted against Ana; Ana's closed connection gives its place back.
    let _bo = ws::connect(app.addr, &demo.bo).await;
    drop(first);
    let mut again = None;
    for _ in 0..100 {
        let mut socket = ws::handshake(app.addr).await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", demo.ana) } }),
        )
        .await;
        if receive(&mut socket).await["type"] == "connection_ack" {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "a closed connection's place came back");

    // Two sockets that say nothing hold the address's places; a third is refused outright.
    let silent = [ws::handshake(app.addr).await, ws::handshake(app.addr).await];
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    match tokio_tungstenite::connect_async(request.clone()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429);
        }
        other => panic!(
            "a third silent socket was accepted: {:?}",
            other.map(|_| ())
        ),
    }
    // One signing in gives its place back.
    let [one, _two] = silent;
    let _signed_in = ws::authenticate(one, &demo.chen).await;
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}

/// Finding 7, subscriptions: a person holds at most so many live subscriptions over all their
/// connections; one more is answered with an error naming the limit, and ending one makes
/// room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_per_person_are_bounded_over_all_connections() {
    let app = app(warren::http::websocket::LiveOptions {
        max_subscriptions_per_person: 2,
        ..Default::default()
    })
    .await;
    let demo = Demo::seed(&app).await;
    let mut first = ws::connect(app.addr, &demo.ana).await;
    let mut second = ws::connect(app.addr, &demo.ana).await;
    ws::subscribe(&mut first, "a", json!({})).await;
    ws::subscribe(&mut second, "b", json!({})).await;
    let refused = |message: serde_json::Value| {
        assert_eq!(message["id"], "c", "{message}");
        let error = &message["payload"]["errors"][0];
        assert_eq!(
            error["extensions"]["limit"], "subscriptionsPerPerson",
            "{message}"
        );
        assert_eq!(error["extensions"]["max"], 2, "{message}");
    };
    ws::subscribe(&mut second, "c", json!({})).await;
    refused(receive(&mut second).await);
    assert_eq!(receive(&mut second).await["type"], "complete");
    // Another person is not counted against Ana.
    let mut bo = ws::connect(app.addr, &demo.bo).await;
    ws::subscribe(&mut bo, "x", json!({})).await;
    // Ending one makes room.
    send(&mut first, json!({ "type": "complete", "id": "a" })).await;
    let mut started = false;
    for attempt in 0..50 {
        let id = format!("d{attempt}");
        ws::subscribe(&mut second, &id, json!({})).await;
        let answer = tokio::time::timeout(Duration::from_millis(200), receive(&mut second)).await;
        match answer {
            // No message: the subscription runs and waits for events.
            Err(_) => {
                started = true;
                break;
            }
            Ok(message) => {
                assert_eq!(message["id"], id.as_str(), "{message}");
                if message["type"] == "complete" {
                    continue;
                }
                assert_eq!(
                    message["payload"]["errors"][0]["extensions"]["limit"],
                    "subscriptionsPerPerson",
                    "{message}"
                );
                let _ = receive(&mut second).await;
            }
        }
    }
    assert!(started, "the ended subscription's place came back");
}
