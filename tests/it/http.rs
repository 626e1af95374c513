//! HTTP hygiene: CORS closed unless origins are configured, security headers on every answer,
//! large answers compressed, and a request that takes too long stopped with 503.

use crate::common;

use std::time::Duration;

use crate::common::demo::Demo;
use crate::common::{TestApp, error_code};
use serde_json::{Value, json};

async fn app_with(configure: impl FnOnce(&mut warren::http::Settings) + Send + 'static) -> TestApp {
    TestApp::spawn_configured(common::Backend::Sqlite, |addr| async move {
        let mut settings = warren::http::Settings::new(&format!("http://{addr}"));
        configure(&mut settings);
        settings
    })
    .await
    .expect("SQLite is always available")
}

/// A browser's preflight for a POST to /graphql from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("OPTIONS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_closed_by_default_and_open_to_configured_origins() {
    let closed = app_with(|_| {}).await;
    let answer = preflight(&closed, "https://elsewhere.example").await;
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        answer.headers()
    );

    let open = app_with(|settings| {
        settings.cors_origins = vec!["https://dashboard.example".to_owned()];
    })
    .await;
    let answer = preflight(&open, "https://dashboard.example").await;
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://dashboard.example"
    );
    assert_eq!(answer.headers()["access-control-allow-credentials"], "true");
    let allowed = answer.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ASCII")
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    // An origin not on the list is not let in.
    let answer = preflight(&open, "https://elsewhere.example").await;
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let app = app_with(|_| {}).await;
    let client = reqwest::Client::new();
    for path in ["/", "/graphql", "/healthz", "/invitations/accept?token=x"] {
        let answer = client.get(app.url(path)).send().await.expect("GET");
        let headers = answer.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            headers["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        // Over plain HTTP there is no HSTS: it would be ignored, and wrong behind no TLS.
        assert!(headers.get("strict-transport-security").is_none(), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_answers_are_compressed_for_clients_that_accept_it() {
    let app = app_with(|_| {}).await;
    let demo = Demo::seed(&app).await;
    let dashboard = include_str!("../queries/dashboard.graphql");
    let request = |encoding: &'static str, query: &'static str| {
        reqwest::Client::builder()
            .no_gzip()
            .build()
            .expect("a client")
            .post(app.url("/graphql"))
            .bearer_auth(&demo.ana)
            .header("accept-encoding", encoding)
            .json(&json!({ "query": query }))
            .send()
    };
    let compressed = request("gzip", dashboard).await.expect("POST");
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let zipped = compressed.bytes().await.expect("a body");
    let plain = request("identity", dashboard).await.expect("POST");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain: Value = plain.json().await.expect("JSON");
    assert!(plain.get("errors").is_none(), "{plain}");
    assert!(
        zipped.len() * 3 < plain.to_string().len(),
        "{} bytes zipped",
        zipped.len()
    );
    // A small answer is not worth compressing.
    let small = request("gzip", "{ viewer { id } }").await.expect("POST");
    assert!(small.headers().get("content-encoding").is_none());
}

/// A zero timeout stops every request that has to wait for anything, which each does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_over_the_timeout_is_stopped_with_503() {
    let app = app_with(|settings| settings.request_timeout = Duration::ZERO).await;
    let demo = Demo::seed(&app).await;
    let (status, body) = app
        .graphql_raw(
            Some(&demo.ana),
            "{ viewer { teams { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("did not finish within"),
        "{body}"
    );
}

/// PostgreSQL cancels a statement of the service that runs too long, so that it cannot hold a
/// connection for ever (a request stopped by its timeout does not stop its statement).
#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statements_have_a_timeout() {
    use sea_orm::{ConnectionTrait, Statement};
    let Some(app) = TestApp::spawn(common::Backend::Postgres).await else {
        return;
    };
    let row = app
        .db
        .conn
        .query_one_raw(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SHOW statement_timeout",
        ))
        .await
        .expect("SHOW")
        .expect("a row");
    let timeout: String = row.try_get("", "statement_timeout").expect("a setting");
    assert_eq!(
        timeout,
        format!("{}s", warren::store::db::STATEMENT_TIMEOUT.as_secs())
    );
}

/// Reads from `stream` until the server closes it, and returns what it sent; fails if it is
/// still open after `within` (generous: this checks that it closes, not how fast).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut received))
        .await
        .expect("the server closed the connection")
        .ok();
    String::from_utf8_lossy(&received).into_owned()
}

/// A client that opens connections and sends its request headers slowly, or never (slowloris),
/// cannot hold them: the server closes each once the header timeout has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_whose_headers_do_not_arrive_are_closed() {
    use tokio::io::AsyncWriteExt;
    let app = app_with(|settings| settings.header_timeout = Duration::from_millis(300)).await;

    let mut silent = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let mut slow = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    slow.write_all(b"POST /graphql HTTP/1.1\r\nHost: warren\r\nContent-")
        .await
        .expect("write");
    assert_eq!(
        read_until_closed(&mut silent, Duration::from_secs(20)).await,
        ""
    );
    assert_eq!(
        read_until_closed(&mut slow, Duration::from_secs(20)).await,
        ""
    );

    // A keep-alive connection idle for as long is closed the same way, after its answer.
    let mut idle = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: warren\r\n\r\n")
        .await
        .expect("write");
    let answered = read_until_closed(&mut idle, Duration::from_secs(20)).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // Requests that come in time are served as ever.
    let (status, body) = app.graphql_raw(None, "{ __typename }", json!({})).await;
    assert_eq!(status, 200, "{body}");
}

/// A request body that trickles in is given up on after the request timeout, with a GraphQL
/// error, so it cannot hold a connection and its buffer for ever either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_is_refused() {
    use tokio::io::AsyncWriteExt;
    let app = app_with(|settings| settings.request_timeout = Duration::from_millis(300)).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: warren\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\nConnection: close\r\n\r\n{\"query\":",
        )
        .await
        .expect("write");
    let answer = read_until_closed(&mut stream, Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default())
        .unwrap_or_else(|err| panic!("{err}: {answer}"));
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}
