//! What an operator meets deploying instances: migrations under a lock, `migrate --check`,
//! `serve --no-migrate`, secrets in files and never printed (README, "Configuration").

use std::process::Stdio;

use crate::common;
use crate::common::{PostgresDatabase, output_text as text, sqlite_url, warren};
use migration::MigratorTrait;
use sea_orm::{ConnectionTrait, Database, Statement};

/// Four instances started at once on an empty PostgreSQL database: one migrates while the
/// others wait for its lock, then find nothing to do; all four serve, and every migration is
/// recorded once.
#[cfg_attr(
    no_test_postgres,
    ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_instances_started_at_once_on_an_empty_database_all_serve() {
    let Some((url, _database)) = PostgresDatabase::create().await else {
        eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set");
        return;
    };
    // Small pools: four instances beside the other tests stay under PostgreSQL's
    // max_connections.
    let pool = [("WARREN_DATABASE_MAX_CONNECTIONS", "2")];
    let starts = (0..4).map(|_| common::serve_process(&url, "warn", Stdio::null(), &pool));
    let instances = futures_util::future::join_all(starts).await;
    let client = reqwest::Client::new();
    for (_, addr) in &instances {
        let answer: serde_json::Value = client
            .post(format!("http://{addr}/graphql"))
            .json(&serde_json::json!({ "query": "{ __typename }" }))
            .send()
            .await
            .expect("POST")
            .json()
            .await
            .expect("JSON");
        assert_eq!(answer["data"]["__typename"], "Query");
    }
    let db = Database::connect(&url).await.expect("connect");
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n, COUNT(DISTINCT version) AS names FROM seaql_migrations",
        ))
        .await
        .expect("read the migrations")
        .expect("a row");
    let known = migration::Migrator::migrations().len() as i64;
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), known);
    assert_eq!(row.try_get::<i64>("", "names").expect("names"), known);
}

/// `migrate --check` applies nothing and fails while migrations are pending; `serve
/// --no-migrate` refuses to start on a database behind this version and starts on one that is
/// not.
#[tokio::test]
async fn migrations_can_be_checked_and_left_to_a_deploy_step() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(&dir.path().join("warren.db"));
    let env = [("WARREN_DATABASE_URL", url.as_str())];

    let check = warren(&["migrate", "--check"], &env);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let listed = String::from_utf8_lossy(&check.stdout);
    assert!(
        listed.contains("m20261128_000001_people"),
        "{}",
        text(&check)
    );
    let again = warren(&["migrate", "--check"], &env);
    assert_eq!(
        again.status.code(),
        Some(1),
        "the check applied nothing: {}",
        text(&again)
    );

    let refused = warren(&["serve", "--no-migrate", "--listen", "127.0.0.1:0"], &env);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("run `warren migrate` first"),
        "{}",
        text(&refused)
    );

    let migrated = warren(&["migrate"], &env);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let check = warren(&["migrate", "--check"], &env);
    assert!(check.status.success(), "{}", text(&check));

    let (_server, addr) = common::serve_process(
        &url,
        "warn",
        Stdio::null(),
        &[("WARREN_NO_MIGRATE", "true")],
    )
    .await;
    let ready = reqwest::get(format!("http://{addr}/readyz"))
        .await
        .expect("GET /readyz");
    assert!(ready.status().is_success());
}

/// The database URL may come from a file (as container platforms mount secrets), and secret
/// values never show in `--help` or in an error.
#[tokio::test]
async fn secrets_come_from_files_and_are_never_printed() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(&dir.path().join("warren.db"));
    let file = dir.path().join("database-url");
    std::fs::write(&file, format!("{url}\n")).expect("write the secret file");
    let file = file.display().to_string();
    let migrated = warren(&["migrate"], &[("WARREN_DATABASE_URL_FILE", &file)]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(
        dir.path().join("warren.db").exists(),
        "the URL from the file was used"
    );

    let secrets = [
        (
            "WARREN_DATABASE_URL",
            "postgres://warren:hunter2-db@127.0.0.1:1/warren",
        ),
        (
            "WARREN_SMTP_URL",
            "smtps://mailer:hunter2-smtp@mail.example",
        ),
        ("WARREN_OIDC_CLIENT_SECRET", "hunter2-oidc"),
    ];
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let help = warren(args, &secrets);
        assert!(help.status.success(), "{}", text(&help));
        assert!(!text(&help).contains("hunter2"), "{}", text(&help));
    }
    // Nothing listens on port 1: the error names the database without its password.
    let failed = warren(&["migrate"], &secrets);
    assert!(!failed.status.success(), "{}", text(&failed));
    assert!(!text(&failed).contains("hunter2"), "{}", text(&failed));
    assert!(
        text(&failed).contains("warren:***@127.0.0.1"),
        "{}",
        text(&failed)
    );
}

/// From SIGTERM on, `/readyz` answers 503 while the server goes on accepting and serving for
/// the drain period; then it stops, cleanly. Judged by order, not by time: once `/readyz` has
/// said 503 it never says 200 again, queries sent after that are still answered (each on a
/// new connection), and every query answered is answered 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_server_drains_before_it_stops() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(&dir.path().join("warren.db"));
    let (mut server, addr) = common::serve_process(
        &url,
        "warn",
        Stdio::null(),
        &[("WARREN_SHUTDOWN_DRAIN", "3")],
    )
    .await;
    let pid = server.id().expect("the server's pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());

    // A new connection for every request: each must be accepted by the listener.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client");
    let mut draining = false;
    let mut served_while_draining = 0;
    loop {
        let ready = match client.get(format!("http://{addr}/readyz")).send().await {
            Ok(response) => response.status().as_u16(),
            // The listener closed: the drain is over.
            Err(_) if draining => break,
            Err(err) => panic!("/readyz before the drain began: {err}"),
        };
        match (draining, ready) {
            (_, 503) => draining = true,
            (false, 200) => {}
            (true, status) => panic!("/readyz answered {status} after 503"),
            (false, status) => panic!("/readyz answered {status}"),
        }
        let query = client
            .post(format!("http://{addr}/graphql"))
            .json(&serde_json::json!({ "query": "{ __typename }" }))
            .send()
            .await;
        match query {
            Ok(response) => {
                assert_eq!(response.status().as_u16(), 200, "a query during the drain");
                if draining {
                    served_while_draining += 1;
                }
            }
            Err(_) if draining => break,
            Err(err) => panic!("a query before the drain began: {err}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(draining, "/readyz never said the server was going");
    assert!(
        served_while_draining > 0,
        "nothing was served during the drain"
    );
    let status = server.wait().await.expect("the server's exit");
    assert!(status.success(), "{status:?}");
}

/// With `--metrics-listen`, `/metrics` is served on that address only, with the process's
/// own metrics beside the service's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_have_an_address_of_their_own() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = sqlite_url(&dir.path().join("warren.db"));
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .to_string();
    let (_server, addr) = common::serve_process(
        &url,
        "warn",
        Stdio::null(),
        &[("WARREN_METRICS_LISTEN", &metrics_addr)],
    )
    .await;
    let on_main = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(on_main.status().as_u16(), 404, "not beside the API");
    let scraped = reqwest::get(format!("http://{metrics_addr}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics");
    for name in [
        "warren_database_pool_connections",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(scraped.contains(name), "{name} is missing:\n{scraped}");
    }
}
