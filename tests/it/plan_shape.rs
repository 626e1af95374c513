//! What a read costs follows what the viewer may see, not the size of the database
//! (docs/architecture.md, "Reads that follow the viewer's share"). Measured in the plans'
//! shape, not in time: for the dashboard and the events screen, on PostgreSQL after `ANALYZE`,
//! the rows every scan node reads (actual rows × loops, from `EXPLAIN (ANALYZE, FORMAT JSON)`),
//! summed over every statement the query runs, may grow at most ×1.2 from the bench world at
//! scale 10 to scale 100, whose viewer has the same share at every scale. A plan that scans a
//! whole table, or tests every event, grows ×10 and fails.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};

const DASHBOARD: &str = include_str!("../queries/dashboard.graphql");

/// The events screen: the newest events with their count, a team's, and a filtered list.
const EVENTS_SCREEN: &str = "{
  events(last: 20) { totalCount edges { cursor node { sequence type summary actorName } } }
  viewer { teams(first: 1) { nodes { events(last: 20) { totalCount edges { node { sequence summary } } } } } }
  technical: events(last: 20, filter: { categories: [TECHNICAL] }) { totalCount edges { node { sequence } } }
}";

/// How much growth from scale 10 to scale 100 is still "follows the viewer's share".
const MAX_GROWTH: f64 = 1.2;

/// Rows read by the scan nodes of a plan: actual rows × loops, summed over the tree.
fn scanned_rows(plan: &Value) -> f64 {
    let own = if plan["Node Type"]
        .as_str()
        .is_some_and(|node| node.contains("Scan"))
    {
        plan["Actual Rows"].as_f64().unwrap_or(0.0) * plan["Actual Loops"].as_f64().unwrap_or(1.0)
    } else {
        0.0
    };
    own + plan["Plans"]
        .as_array()
        .map_or(0.0, |children| children.iter().map(scanned_rows).sum())
}

/// The rows each statement of `query` scans, as the viewer of `token` on `app`, with the start
/// of each statement's text, the heaviest first.
async fn scans_of(app: &TestApp, token: &str, query: &str) -> Vec<(f64, String)> {
    // A first run records the token's use and warms the caches; measure a later one.
    app.query(token, query, json!({})).await;
    app.db.record_statements();
    let data = app.query(token, query, json!({})).await;
    assert!(!data.is_null(), "the query answered");
    let mut scans = Vec::new();
    for statement in app.db.take_recorded() {
        // Only reads: `EXPLAIN ANALYZE` runs what it explains.
        let text = statement.sql.trim_start();
        if !text.to_ascii_uppercase().starts_with("SELECT") || text.contains("FOR UPDATE") {
            continue;
        }
        let explain = Statement {
            sql: format!("EXPLAIN (ANALYZE, FORMAT JSON) {text}"),
            ..statement.clone()
        };
        let row = app
            .db
            .conn
            .query_one_raw(explain)
            .await
            .expect("explain")
            .expect("a plan");
        let plan: Value = row.try_get("", "QUERY PLAN").expect("a JSON plan");
        let rows = scanned_rows(&plan[0]["Plan"]);
        scans.push((rows, text.chars().take(140).collect()));
    }
    scans.sort_by(|a, b| b.0.total_cmp(&a.0));
    scans
}

/// The bench world at `scale`, analyzed, and its viewer's token.
async fn world(scale: u32) -> Option<(TestApp, String)> {
    let app = TestApp::spawn(Backend::Postgres).await?;
    let report = warren::seed::bench(&app.db, scale)
        .await
        .map_err(|e| e.message())
        .expect("seed");
    app.db
        .conn
        .execute_unprepared("ANALYZE")
        .await
        .expect("analyze");
    Some((app, report.token))
}

/// The scans of each query on the bench world at `scale`. One world at a time: each holds a
/// pool of connections, and the suites beside this one need theirs.
async fn measure(scale: u32) -> Option<Vec<Vec<(f64, String)>>> {
    let (app, token) = world(scale).await?;
    let mut scans = Vec::new();
    for (_, query) in QUERIES {
        scans.push(scans_of(&app, &token, query).await);
    }
    Some(scans)
}

/// The queries measured, by name.
const QUERIES: [(&str, &str); 2] = [("dashboard", DASHBOARD), ("events screen", EVENTS_SCREEN)];

#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_the_viewers_share_not_the_database() {
    let Some(small) = measure(10).await else {
        eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set");
        return;
    };
    let large = measure(100).await.expect("same backend");
    for (((name, _), before), after) in QUERIES.iter().zip(&small).zip(&large) {
        let total = |scans: &[(f64, String)]| scans.iter().map(|(rows, _)| rows).sum::<f64>();
        let (rows_10, rows_100) = (total(before), total(after));
        eprintln!(
            "{name}: {} statements; scanned rows {rows_10} at scale 10, {rows_100} at scale 100",
            after.len()
        );
        assert_eq!(before.len(), after.len(), "{name}: statement count");
        assert!(
            rows_100 <= rows_10 * MAX_GROWTH,
            "{name}: scanned rows grew from {rows_10} to {rows_100}; heaviest at scale 100: \
             {:#?}\nat scale 10: {:#?}",
            &after[..after.len().min(5)],
            &before[..before.len().min(5)],
        );
    }
}
