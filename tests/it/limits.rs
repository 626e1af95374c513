//! Request limits: each breach is refused with BAD_USER_INPUT naming the limit, its maximum
//! and the request's value, over HTTP and WebSocket alike, and nothing of the request runs.
//! The limits do not depend on the database, so these run on SQLite only.

use crate::common;

use crate::common::demo::Demo;
use crate::common::{TestApp, error_code, ws};
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::spawn(common::Backend::Sqlite)
        .await
        .expect("SQLite is always available")
}

/// `count` mutations creating teams named `<prefix>…`, each aliased, with `payload` selected.
fn create_teams(prefix: &str, count: usize, payload: &str) -> String {
    let fields: String = (0..count)
        .map(|i| {
            format!(r#" t{i}: createTeam(input: {{ name: "{prefix} {i}" }}) {{ team {payload} }}"#)
        })
        .collect();
    format!("mutation {{{fields} }}")
}

async fn team_names(app: &TestApp, token: &str) -> Vec<String> {
    let data = app
        .query(
            token,
            "{ viewer { teams(first: 100) { nodes { name } } } }",
            json!({}),
        )
        .await;
    data["viewer"]["teams"]["nodes"]
        .as_array()
        .expect("teams")
        .iter()
        .filter_map(|team| team["name"].as_str().map(str::to_owned))
        .collect()
}

/// The refused limit and its value, from the first error.
fn refused(body: &Value) -> (&str, u64) {
    assert_eq!(error_code(body), Some("BAD_USER_INPUT"), "{body}");
    assert!(body["data"].is_null(), "nothing may run: {body}");
    let extensions = &body["errors"][0]["extensions"];
    (
        extensions["limit"].as_str().expect("the limit named"),
        extensions["value"].as_u64().expect("the value named"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_over_any_limit_writes_nothing() {
    let app = app().await;
    let demo = Demo::seed(&app).await;
    let before = team_names(&app, &demo.ana).await;
    let deep_payload = format!(
        "{{ id{}{} }}",
        " members { nodes { teams { nodes { id".repeat(4),
        " } } } }".repeat(4)
    );
    let wide_payload = "{ members(first: 100) { nodes { teams(first: 100) { nodes { apps(first: 100) { totalCount } } } } } }";
    let directives = " @include(if: true)".repeat(51);
    let cases = [
        ("aliases", 31, create_teams("Alias", 31, "{ id }")),
        ("rootFields", 21, create_teams("Root", 21, "{ id }")),
        ("depth", 19, create_teams("Deep", 1, &deep_payload)),
        (
            "complexity",
            100 + 100 * 100 + 100 * 100 * 100,
            create_teams("Wide", 1, wide_payload),
        ),
        (
            "pageSize",
            500,
            create_teams("Page", 1, "{ members(first: 500) { totalCount } }"),
        ),
        (
            "directives",
            51,
            create_teams("Directive", 1, &format!("{{ id{directives} }}")),
        ),
        (
            "queryBytes",
            32 * 1024 + 40,
            format!(
                "{} # {}",
                create_teams("Long", 1, "{ id }"),
                "x".repeat(32 * 1024 + 40 - create_teams("Long", 1, "{ id }").len() - 3)
            ),
        ),
    ];
    for (limit, value, query) in cases {
        let (status, body) = app.graphql_raw(Some(&demo.ana), &query, json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(refused(&body), (limit, value), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("({limit})")) || limit == "pageSize",
            "{message}"
        );
    }
    assert_eq!(team_names(&app, &demo.ana).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_413_naming_it() {
    let app = app().await;
    let query = format!("{{ viewer {{ id }} }} # {}", "x".repeat(300 * 1024));
    let body = json!({ "query": query }).to_string();
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 413);
    let answer: Value = response.json().await.expect("a JSON body");
    assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["limit"], "bodyBytes");
    assert_eq!(answer["errors"][0]["extensions"]["max"], 256 * 1024);
    assert_eq!(answer["errors"][0]["extensions"]["value"], body.len());
}

/// Lists nested in an argument deeper than the parser follows: refused with a code, not a
/// stack overflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syntax_nested_too_deep_is_refused() {
    let app = app().await;
    let demo = Demo::seed(&app).await;
    let ids = format!("{}\"x\"{}", "[".repeat(100), "]".repeat(100));
    let (status, body) = app
        .graphql_raw(
            Some(&demo.ana),
            &format!("{{ nodes(ids: {ids}) {{ id }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_held_to_the_same_limits() {
    let app = app().await;
    let demo = Demo::seed(&app).await;
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    let aliases: String = (0..31).map(|i| format!(" s{i}: summary")).collect();
    ws::send(
        &mut socket,
        json!({
            "id": "wide",
            "type": "subscribe",
            "payload": { "query": format!("subscription {{ events {{{aliases} }} }}") },
        }),
    )
    .await;
    // async-graphql answers a refused request with its errors in `next`, then `complete`.
    let message = ws::receive(&mut socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"]["data"].is_null(), "{message}");
    let error = &message["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{message}");
    assert_eq!(error["extensions"]["limit"], "aliases", "{message}");
    assert_eq!(error["extensions"]["value"], 31, "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_configurable() {
    let app = TestApp::spawn_configured(common::Backend::Sqlite, |addr| async move {
        let mut settings = warren::http::Settings::new(&format!("http://{addr}"));
        settings.limits.aliases = 40;
        settings.limits.root_fields = 40;
        settings
    })
    .await
    .expect("SQLite is always available");
    let demo = Demo::seed(&app).await;
    let (_, body) = app
        .graphql_raw(
            Some(&demo.ana),
            &create_teams("Many", 31, "{ id }"),
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        team_names(&app, &demo.ana)
            .await
            .iter()
            .filter(|name| name.starts_with("Many "))
            .count(),
        31
    );
}
