//! Observability: `/metrics` in Prometheus's format, a request id on every answer, and logs that
//! name the request and its operation but never a token or a secret.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::demo::Demo;
use common::{TestApp, ws};
use serde_json::json;
use tokio::io::AsyncReadExt;

/// The value of the sample `name{labels}` in a Prometheus text exposition, 0 when absent.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let answer = reqwest::get(app.url("/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/plain"),
    );
    answer.text().await.expect("a body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_subscriptions_events_and_connections() {
    let app = TestApp::spawn(common::Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let demo = Demo::seed(&app).await;
    let viewer_ok = r#"warren_graphql_requests_total{operation="query.viewer",outcome="ok"}"#;
    let created = r#"warren_graphql_requests_total{operation="mutation.createTeam",outcome="ok"}"#;
    let invalid = r#"warren_graphql_requests_total{operation="invalid",outcome="error"}"#;
    let before = scrape(&app).await;

    app.query(&demo.ana, "{ viewer { name } }", json!({})).await;
    assert_eq!(
        app.mutation_code(&demo.ana, "createTeam", json!({ "name": "Counted" }))
            .await,
        None
    );
    let (_, body) = app
        .graphql_raw(Some(&demo.ana), "{ viewer { noSuchField } }", json!({}))
        .await;
    assert!(body["errors"].is_array(), "{body}");
    assert_eq!(
        app.mutation_code(&demo.ana, "createTeam", json!({ "name": "Seen" }))
            .await,
        None
    );
    // The subscription is running once it delivers; resuming after the event before the last
    // one, it does whenever it starts.
    let events = app
        .query(
            &demo.ana,
            "{ events(last: 2) { edges { cursor } } }",
            json!({}),
        )
        .await;
    let after = events["events"]["edges"][0]["cursor"].clone();
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    ws::subscribe(&mut socket, "feed", json!({ "after": after })).await;
    ws::next_event(&mut socket).await;

    let after = scrape(&app).await;
    assert!(
        sample(&after, viewer_ok) >= sample(&before, viewer_ok) + 1.0,
        "{after}"
    );
    assert!(
        sample(&after, created) >= sample(&before, created) + 2.0,
        "{after}"
    );
    assert!(
        sample(&after, invalid) >= sample(&before, invalid) + 1.0,
        "{after}"
    );
    assert!(
        sample(&after, "warren_events_written_total")
            >= sample(&before, "warren_events_written_total") + 2.0,
        "{after}"
    );
    assert!(sample(&after, "warren_subscriptions") >= 1.0, "{after}");
    assert!(
        sample(&after, "warren_websocket_connections") >= 1.0,
        "{after}"
    );
    assert!(
        after.contains(
            r#"warren_graphql_request_duration_seconds_bucket{operation="query.viewer",le="0.25"}"#
        ),
        "{after}"
    );
    let idle = sample(&after, r#"warren_database_pool_connections{state="idle"}"#);
    let in_use = sample(
        &after,
        r#"warren_database_pool_connections{state="in_use"}"#,
    );
    assert!(idle + in_use >= 1.0, "{after}");
    // The client's operation names never become labels: anyone could vary them without end.
    assert!(!after.contains("Dashboard"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn(common::Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let client = reqwest::Client::new();
    let answer = client.get(app.url("/healthz")).send().await.expect("GET");
    let id = answer.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let answer = client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("GET");
    assert_eq!(answer.headers()["x-request-id"], "trace-me-42");
}

/// A `warren serve` process logging JSON at debug level: its log names each request's id and
/// operation, and holds neither the bearer token nor an invitation link's secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_name_requests_and_operations_but_never_secrets() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("warren.db").display()
    );
    let db = warren::store::db::Db::connect_and_migrate(&url)
        .await
        .expect("migrate");
    let token = warren::seed::demo(&db)
        .await
        .map_err(|e| e.message())
        .expect("demo seed")
        .token;
    let (mut server, addr) = common::serve_process(
        &url,
        "debug,sqlx=warn,sea_orm=warn,hyper=warn,h2=warn",
        Stdio::piped(),
        &[("WARREN_LOG_FORMAT", "json")],
    )
    .await;
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .header("x-request-id", "find-me-7")
        .json(&json!({ "query": "query Mine { viewer { name } }" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), 200);
    let secret = "wrn_inv_this-is-a-secret-invitation-token";
    client
        .get(format!("http://{addr}/invitations/accept?token={secret}"))
        .send()
        .await
        .expect("GET");
    // SIGTERM, so that it flushes its log and exits.
    if let Some(pid) = server.id() {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    let mut log = String::new();
    if let Some(mut stderr) = server.stderr.take() {
        let _ =
            tokio::time::timeout(Duration::from_secs(10), stderr.read_to_string(&mut log)).await;
    }
    let _ = server.wait().await;
    let request_line = log
        .lines()
        .find(|line| line.contains("find-me-7") && line.contains("query.viewer"));
    assert!(
        request_line.is_some(),
        "no line names the request and its operation:\n{log}"
    );
    assert!(!log.contains(&token), "the log holds the bearer token");
    assert!(
        !log.contains(secret),
        "the log holds an invitation's secret"
    );
}
