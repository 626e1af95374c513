//! The number of SQL statements a query costs depends on its shape, never on the amount of
//! data: the dashboard's first query costs the same on the bench world at scale 1 and 4. And
//! the bench world keeps its promise: its viewer sees the same share at every scale, so that
//! what the benchmarks compare across scales is the size of the database alone.

use crate::common::{Backend, TestApp};
use serde_json::{Value, json};

const DASHBOARD: &str = include_str!("../queries/dashboard.graphql");
const MAX_STATEMENTS: u64 = 40;

/// How many events of each kind the viewer sees, and the types, categories and subject kinds of
/// its last twenty.
const EVENTS_SHARE: &str = r#"{
  all: events(last: 20) { totalCount edges { node { type category subjects { kind } } } }
  technical: events(last: 1, filter: {categories: [TECHNICAL]}) { totalCount }
  collaboration: events(last: 1, filter: {categories: [COLLABORATION]}) { totalCount }
  billing: events(last: 1, filter: {categories: [BILLING]}) { totalCount }
}"#;

/// An answer with what names things blanked (ids, names, labels: they differ between scales):
/// the counts, roles, types and the shape of every list are left to compare.
fn share(answer: &Value) -> Value {
    match answer {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("id" | "name" | "label", Value::String(_)) => (key.clone(), json!("")),
                    _ => (key.clone(), share(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(share).collect()),
        other => other.clone(),
    }
}

/// Seeds the bench world at `scale` and returns the statements the dashboard query costs, with
/// the response to sanity-check it and what the viewer sees of the event log.
async fn dashboard_cost(backend: Backend, scale: u32) -> Option<(u64, Value, Value)> {
    let app = TestApp::spawn(backend).await?;
    let report = warren::seed::bench(&app.db, scale)
        .await
        .map_err(|e| e.message())
        .expect("seed");
    // The first request records the token's use; measure a later one.
    app.query(&report.token, DASHBOARD, json!({})).await;
    let before = app.statements();
    tracing::info!("measuring the dashboard");
    let data = app.query(&report.token, DASHBOARD, json!({})).await;
    let statements = app.statements() - before;
    let events = app.query(&report.token, EVENTS_SHARE, json!({})).await;
    app.assert_subjects_repeat_their_events().await;
    Some((statements, data, events))
}

async fn check(backend: Backend) {
    let Some((small, data, events)) = dashboard_cost(backend, 1).await else {
        eprintln!("skipped: {backend:?} is not configured");
        return;
    };
    let (large, large_data, large_events) = dashboard_cost(backend, 4).await.expect("same backend");
    eprintln!("{backend:?}: dashboard costs {small} statements at scale 1, {large} at scale 4");

    // The query did real work: the viewer sees its teams, their members and apps.
    let teams = &data["viewer"]["teams"];
    assert_eq!(teams["totalCount"], 10, "{teams}");
    assert!(
        teams["edges"][0]["node"]["members"]["totalCount"]
            .as_i64()
            .unwrap_or(0)
            > 1
    );
    assert!(data["viewer"]["apps"]["totalCount"].as_i64().unwrap_or(0) > 10);
    assert_eq!(large_data["viewer"]["teams"]["totalCount"], 10);
    for category in ["technical", "collaboration", "billing"] {
        assert!(
            events[category]["totalCount"].as_i64().unwrap_or(0) > 20,
            "{events}"
        );
    }

    // The same share at every scale: what the dashboard and the event log show differs only by
    // names.
    assert_eq!(share(&data), share(&large_data), "the dashboard's share");
    assert_eq!(
        share(&events),
        share(&large_events),
        "the event log's share"
    );

    assert_eq!(small, large, "statement count grew with the data");
    assert!(
        small <= MAX_STATEMENTS,
        "{small} statements, at most {MAX_STATEMENTS} allowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_statement_count_is_constant_on_sqlite() {
    check(Backend::Sqlite).await;
}

#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_statement_count_is_constant_on_postgres() {
    check(Backend::Postgres).await;
}

/// What the bench world's viewer sees, with text that needs escaping in COPY's format (an
/// invoice address has a line break) and JSON payloads.
const WORLD_AS_SEEN: &str = r#"{
  viewer {
    paymentMethods(first: 20) { totalCount edges { node { id label invoiceAddress vatId createdAt } } }
    teams(first: 20) { totalCount edges { node { id name } } }
    apps(first: 100) { totalCount edges { node { id name } } }
  }
  events(last: 50) { totalCount edges { node { id sequence type category occurredAt summary payload actorName subjects { kind name } } } }
}"#;

/// The bench world is the same rows on both databases, ids and timestamps included: PostgreSQL
/// loads it by COPY, SQLite by INSERT, and what the viewer sees must not tell them apart.
#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bench_world_is_the_same_on_both_databases() {
    let Some(postgres) = TestApp::spawn(Backend::Postgres).await else {
        eprintln!("skipped: PostgreSQL is not configured");
        return;
    };
    let sqlite = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let mut seen = Vec::new();
    for app in [&sqlite, &postgres] {
        let report = warren::seed::bench(&app.db, 1)
            .await
            .map_err(|e| e.message())
            .expect("seed");
        seen.push(app.query(&report.token, WORLD_AS_SEEN, json!({})).await);
    }
    let address = &seen[1]["viewer"]["paymentMethods"]["edges"][0]["node"]["invoiceAddress"];
    assert!(
        address.as_str().is_some_and(|a| a.contains('\n')),
        "{address}"
    );
    assert!(seen[1]["events"]["totalCount"].as_i64().unwrap_or(0) > 50);
    assert_eq!(seen[0], seen[1]);
}
