//! Backups of the embedded default (README, "Backups"; `store::backup`): `warren backup` takes
//! a consistent copy while a server writes, `warren restore` puts it back, and is refused while
//! the database is in use.

use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use entity::enums::AccountType;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::json;
use warren::seed::world::{Clock, World};

use crate::common::{
    self, Backend, PostgresDatabase, TestApp, output_text as text, sqlite_url, warren,
};

/// One column of integers, in the order the statement gives them.
async fn integers(db: &DatabaseConnection, sql: &str) -> Vec<i64> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect(sql)
        .iter()
        .map(|row| row.try_get_by_index::<i64>(0).expect("an integer"))
        .collect()
}

/// One column of text.
async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect(sql)
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).expect("text"))
        .collect()
}

/// Writers create teams as fast as the server answers; once some are acknowledged, a backup is
/// taken by `warren backup` (another process, as an operator would run it), and the writers go
/// on. Restored into a new file, the backup holds every team acknowledged before the backup
/// started, with its event; the event log has no gap; and a server on the restored database
/// continues the sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_writes_restores_every_committed_event() {
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let mut world = World::new(&app.db.conn, Clock::now());
    let (_, token) = common::person_with_token(
        &mut world,
        "Writer",
        "writer@example.com",
        AccountType::Developer,
    )
    .await;
    let dir = tempfile::tempdir().expect("temporary folder");
    let backup_file = dir.path().join("backup.db");

    let stop = AtomicBool::new(false);
    let acknowledged: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let acknowledged_count = || acknowledged.lock().map(|names| names.len()).unwrap_or(0);
    let write = |writer: usize| {
        let (app, token, stop, acknowledged) = (&app, &token, &stop, &acknowledged);
        async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("Team {writer}-{n}");
                let (body, code) = app
                    .mutate(token, "createTeam", json!({ "name": name }), "team { id }")
                    .await;
                assert_eq!(code, None, "{body}");
                acknowledged.lock().expect("names").push(name);
                n += 1;
            }
        }
    };
    let back_up = async {
        while acknowledged_count() < 20 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let before = acknowledged.lock().expect("names").clone();
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_warren"))
            .args(["backup", "--to"])
            .arg(&backup_file)
            .env("WARREN_DATABASE_URL", &app.database_url)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run warren backup");
        // Writes go on after the backup, and must not be in it.
        let target = acknowledged_count() + 20;
        while acknowledged_count() < target {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.store(true, Ordering::Relaxed);
        (before, output)
    };
    let (_, _, (before, output)) = tokio::join!(write(0), write(1), back_up);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("backed up to"),
        "{}",
        text(&output)
    );
    let written = acknowledged.lock().expect("names").len();

    let restored_file = dir.path().join("restored.db");
    let restored_url = sqlite_url(&restored_file);
    let restore = warren(
        &["restore", "--from", &backup_file.display().to_string()],
        &[("WARREN_DATABASE_URL", &restored_url)],
    );
    assert!(restore.status.success(), "{}", text(&restore));

    let restored = Database::connect(&restored_url).await.expect("open");
    let sequences = integers(&restored, "SELECT sequence FROM event ORDER BY sequence").await;
    let last = sequences.len() as i64;
    assert_eq!(
        sequences,
        (1..=last).collect::<Vec<_>>(),
        "the restored event log has gaps"
    );
    let teams = strings(&restored, "SELECT name FROM team").await;
    for name in &before {
        assert!(
            teams.contains(name),
            "{name}, acknowledged before the backup, is missing"
        );
    }
    assert!(
        teams.len() < written,
        "the backup holds all {written} teams, even those written after it"
    );
    let without_event = integers(
        &restored,
        "SELECT COUNT(*) FROM team t WHERE NOT EXISTS \
         (SELECT 1 FROM event_subject s WHERE s.kind = 'TEAM' AND s.object_id = t.id)",
    )
    .await;
    assert_eq!(without_event, [0], "a restored team lost its event");
    restored.close().await.expect("close");

    // A server on the restored database takes the sequence up where the backup left it.
    let (_server, addr) = common::serve_process(&restored_url, "warn", Stdio::null(), &[]).await;
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .json(&json!({
            "query": "mutation { createTeam(input: {name: \"After the restore\"}) { team { events(last: 1) { edges { node { sequence } } } } } }"
        }))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        answer["data"]["createTeam"]["team"]["events"]["edges"][0]["node"]["sequence"],
        json!(last + 1),
        "{answer}"
    );
}

/// A restore needs the database to itself: refused while a server runs on it (the server goes
/// on answering), done once it stopped. A file that is not a warren database, or a backup over
/// an existing file, is refused without touching anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_is_refused_while_the_database_is_in_use() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let database = dir.path().join("warren.db");
    let url = sqlite_url(&database);
    let env = [("WARREN_DATABASE_URL", url.as_str())];
    let seeded = warren(&["seed", "demo"], &env);
    assert!(seeded.status.success(), "{}", text(&seeded));
    let backup_file = dir.path().join("backup.db").display().to_string();
    let backed_up = warren(&["backup", "--to", &backup_file], &env);
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    let again = warren(&["backup", "--to", &backup_file], &env);
    assert!(!again.status.success(), "{}", text(&again));
    assert!(
        text(&again).contains("never overwrites"),
        "{}",
        text(&again)
    );

    let (mut server, addr) = common::serve_process(&url, "warn", Stdio::null(), &[]).await;
    let refused = warren(&["restore", "--from", &backup_file], &env);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("in use by a warren process"),
        "{}",
        text(&refused)
    );
    let ready = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("readyz");
    assert!(ready.status().is_success(), "the server was disturbed");
    server.kill().await.expect("stop the server");
    server.wait().await.expect("the server's end");

    // Another program with the file open is refused too: SQLite tells.
    let other = Database::connect(&url).await.expect("open");
    integers(&other, "SELECT COUNT(*) FROM person").await;
    let refused = warren(&["restore", "--from", &backup_file], &env);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("open in another program"),
        "{}",
        text(&refused)
    );
    other.close().await.expect("close");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database, not even close").expect("write");
    let refused = warren(&["restore", "--from", &junk.display().to_string()], &env);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains("not a warren SQLite database"),
        "{}",
        text(&refused)
    );

    let restored = warren(&["restore", "--from", &backup_file], &env);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(text(&restored).contains("restored"), "{}", text(&restored));
    let db = Database::connect(&url).await.expect("open");
    assert!(integers(&db, "SELECT COUNT(*) FROM person").await[0] > 1);
}

/// PostgreSQL has its own tools: both commands say which.
#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backups_are_pg_dumps_job() {
    let Some((url, _database)) = PostgresDatabase::create().await else {
        eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set");
        return;
    };
    let env = [
        ("WARREN_DATABASE_URL", url.as_str()),
        ("WARREN_DATABASE_MAX_CONNECTIONS", "2"),
    ];
    let migrated = warren(&["migrate"], &env);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let backup = warren(&["backup", "--to", "/tmp/never-written.db"], &env);
    assert!(!backup.status.success(), "{}", text(&backup));
    assert!(text(&backup).contains("pg_dump"), "{}", text(&backup));
    assert!(!std::path::Path::new("/tmp/never-written.db").exists());
    let restore = warren(&["restore", "--from", "/tmp/never-read.db"], &env);
    assert!(!restore.status.success(), "{}", text(&restore));
    assert!(text(&restore).contains("pg_restore"), "{}", text(&restore));
}
