//! Faults survived: a PostgreSQL outage while warren serves requests and subscriptions. The
//! test runs a PostgreSQL of its own (initdb and pg_ctl on a temporary directory and port), so
//! that stopping it disturbs nothing else. During the outage requests fail fast with 503 and
//! `INTERNAL`, and `/readyz` says not ready; afterwards everything works without restarting
//! warren, and a subscriber resuming with `after` misses no event.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::demo::Demo;
use common::{TestApp, error_code, ws};
use serde_json::json;

/// A PostgreSQL server of this test's own.
struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    /// Initialises and starts one, or `None` when this machine has no PostgreSQL server
    /// binaries (then the test is skipped, unless WARREN_TEST_REQUIRE_POSTGRES is set).
    fn start() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|version| version.path().join("bin"))
            .find(|bin| bin.join("initdb").exists())?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let postgres = OwnPostgres { bin, dir, port };
        // PostgreSQL refuses to run as root: then it runs as the `postgres` user.
        postgres.give_to_postgres();
        postgres.run(
            "initdb",
            &[
                "-D",
                &postgres.data().display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        postgres.pg_ctl("start");
        Some(postgres)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn is_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    }

    fn give_to_postgres(&self) {
        if OwnPostgres::is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(self.dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the data directory");
        }
    }

    /// Runs a PostgreSQL program, as `postgres` when this test runs as root.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if OwnPostgres::is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .output()
            .expect("run a PostgreSQL program");
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl(&self, action: &str) {
        let data = self.data().display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        match action {
            "start" => self.run(
                "pg_ctl",
                &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
            ),
            _ => self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]),
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = Command::new(if OwnPostgres::is_root() {
            "runuser"
        } else {
            "true"
        })
        .args(if OwnPostgres::is_root() {
            vec!["-u", "postgres", "--"]
        } else {
            vec![]
        })
        .arg(self.bin.join("pg_ctl"))
        .args(["-D", &data.display().to_string(), "-m", "immediate", "stop"])
        .output();
    }
}

fn required() -> bool {
    std::env::var_os("WARREN_TEST_REQUIRE_POSTGRES").is_some()
}

async fn wait_until_ready(app: &TestApp, within: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Ok(answer) = reqwest::get(app.url("/readyz")).await
            && answer.status().is_success()
        {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not ready again within {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_survived() {
    let Some(postgres) = OwnPostgres::start() else {
        assert!(!required(), "PostgreSQL's server programs are missing");
        return;
    };
    assert!(Path::new(&postgres.data()).exists());
    let app = TestApp::spawn_on_postgres(postgres.url(), |addr| async move {
        warren::http::Settings::new(&format!("http://{addr}"))
    })
    .await;
    let demo = Demo::seed(&app).await;
    // Subscribed after the newest event so far, the subscriber gets the next one whether its
    // subscription is live before that commits or not.
    let newest = app
        .query(
            &demo.ana,
            "{ events(last: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    let after = newest["events"]["edges"][0]["cursor"].clone();
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    ws::subscribe(&mut socket, "feed", json!({ "after": after })).await;
    assert_eq!(
        app.mutation_code(&demo.ana, "createTeam", json!({ "name": "Before" }))
            .await,
        None
    );
    let before = ws::next_event(&mut socket).await;
    let cursor = before["cursor"].as_str().expect("a cursor").to_owned();

    postgres.pg_ctl("stop");
    // The first request to meet the outage waits for a connection as long as the pool lets
    // it (5 s); from then on requests are refused at once, with a code, and the instance says
    // it is not ready.
    let (status, body) = app
        .graphql_raw(Some(&demo.ana), "{ viewer { name } }", json!({}))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = app
            .graphql_raw(Some(&demo.ana), "{ viewer { name } }", json!({}))
            .await;
        let took = started.elapsed();
        eprintln!("during the outage: {status} in {took:?}");
        assert_eq!(status, 503, "{body}");
        assert_eq!(error_code(&body), Some("INTERNAL"), "{body}");
        assert!(took < Duration::from_secs(2), "took {took:?}");
    }
    let started = Instant::now();
    let ready = reqwest::get(app.url("/readyz")).await.expect("GET /readyz");
    assert_eq!(ready.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;

    postgres.pg_ctl("start");
    let recovered = wait_until_ready(&app, Duration::from_secs(30)).await;
    eprintln!("ready again {recovered:?} after PostgreSQL started");
    // Connections the restart broke are found out before they are used (sqlx tests each
    // one it hands out), so every write goes through.
    let mut written = Vec::new();
    for i in 0..5 {
        let name = format!("After {i}");
        let (body, code) = app
            .mutate(
                &demo.ana,
                "createTeam",
                json!({ "name": name }),
                "clientMutationId",
            )
            .await;
        assert_eq!(code, None, "{body}");
        written.push(name);
    }

    // The old subscription may have ended with the outage; resuming after the last event it
    // had gives every event written since, once, in order.
    let mut resumed = ws::connect(app.addr, &demo.ana).await;
    ws::subscribe(&mut resumed, "again", json!({ "after": cursor })).await;
    let mut seen = Vec::new();
    while seen.len() < written.len() {
        let event = ws::next_event(&mut resumed).await;
        if event["type"] == "TEAM_CREATED" {
            seen.push(event["summary"].as_str().unwrap_or_default().to_owned());
        }
    }
    for (name, summary) in written.iter().zip(&seen) {
        assert!(
            summary.contains(name.as_str()),
            "{summary} should be about {name}"
        );
    }
}
