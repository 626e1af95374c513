//! Several instances on one PostgreSQL database: an event written through one reaches the
//! subscribers of another (NOTIFY wakes it; the table is the truth), also after the listening
//! connection of that instance was killed.

use crate::common;

use std::process::Stdio;

use crate::common::demo::Demo;
use crate::common::{Backend, TestApp, ws};
use serde_json::json;

/// The summary of the next event on `socket`.
async fn next_summary(socket: &mut ws::Socket) -> String {
    ws::next_event(socket).await["summary"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn create_team(app: &TestApp, token: &str, name: &str) {
    assert_eq!(
        app.mutation_code(token, "createTeam", json!({ "name": name }))
            .await,
        None
    );
}

#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_written_on_one_instance_reach_subscribers_of_another() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set");
        return;
    };
    let demo = Demo::seed(&app).await;
    create_team(&app, &demo.ana, "Before").await;
    let newest = app
        .query(
            &demo.ana,
            "{ events(last: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    let after = newest["events"]["edges"][0]["cursor"].clone();
    let (_child, other) =
        common::serve_process(&app.database_url, "warn", Stdio::null(), &[]).await;
    let mut socket = ws::connect(other, &demo.ana).await;
    ws::subscribe(&mut socket, "1", json!({ "after": after })).await;

    // Written through the first instance, read from the second.
    create_team(&app, &demo.ana, "Across instances").await;
    assert!(next_summary(&mut socket).await.contains("Across instances"));

    // Kill the second instance's LISTEN connection: it comes back and reads what it missed.
    use sea_orm::{ConnectionTrait, Statement};
    let killed = app
        .db
        .conn
        .query_all_raw(Statement::from_string(
            app.db.backend(),
            "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'",
        ))
        .await
        .expect("terminate the listeners");
    assert!(!killed.is_empty(), "no LISTEN connection found to kill");
    create_team(&app, &demo.ana, "After the listener died").await;
    create_team(&app, &demo.ana, "And one more").await;
    assert!(
        next_summary(&mut socket)
            .await
            .contains("After the listener died")
    );
    assert!(next_summary(&mut socket).await.contains("And one more"));
}
