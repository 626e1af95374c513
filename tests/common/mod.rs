//! Test harness: every test gets a freshly migrated database of its own (a temporary SQLite
//! file, or a new PostgreSQL database dropped afterwards) and a server on port 0.
//!
//! PostgreSQL tests run when `WARREN_TEST_POSTGRES_URL` points at a server whose user may
//! create databases; with `WARREN_TEST_REQUIRE_POSTGRES=1` (as in CI) its absence fails them.
//! Logs stay silent unless `TEST_LOG` is set to a filter (`TEST_LOG=warren::sql=trace` prints
//! every statement).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Once;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use warren::store::db::Db;

pub mod demo;
pub mod keys;
pub mod node;
pub mod ws;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    /// The database's URL, for a second server on the same database.
    pub database_url: String,
    pub backend: Backend,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresDatabase>,
}

/// A PostgreSQL database that exists for one test: dropped with this value.
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl PostgresDatabase {
    /// A new, empty database (no migration applied) and its URL, or `None` when PostgreSQL is
    /// not configured.
    pub async fn create() -> Option<(String, PostgresDatabase)> {
        let admin_url = postgres_admin_url()?;
        let name = format!("warren_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL");
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        admin.close().await.expect("close admin connection");
        let url = warren::store::db::with_database(&admin_url, &name);
        Some((url, PostgresDatabase { admin_url, name }))
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // Drop runs outside async code; a short-lived runtime on its own thread does the work.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}

fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(std::env::var("TEST_LOG").unwrap_or_default())
                .with_test_writer()
                .try_init();
        }
    });
}

fn postgres_admin_url() -> Option<String> {
    match std::env::var("WARREN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("WARREN_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("WARREN_TEST_REQUIRE_POSTGRES=1 but WARREN_TEST_POSTGRES_URL is not set");
            }
            None
        }
    }
}

impl TestApp {
    /// A server on a fresh database, or `None` when that backend is not configured.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, warren::http::websocket::LiveOptions::default()).await
    }

    /// `spawn` with the live-connection options given.
    pub async fn spawn_with(
        backend: Backend,
        ws: warren::http::websocket::LiveOptions,
    ) -> Option<TestApp> {
        TestApp::spawn_configured(backend, |addr| async move {
            let mut settings = warren::http::Settings::new(&format!("http://{addr}"));
            settings.live = ws;
            // Tests send thousands of requests as one person in seconds; the limiter runs,
            // with a budget no test spends (tests/it/rate_limit.rs sets small ones).
            settings.rate_limit = 1_000_000;
            settings.anonymous_rate_limit = 1_000_000;
            settings
        })
        .await
    }

    /// A server whose settings are made once its address is known (a sign-in provider must
    /// know warren's redirect URI before warren can be told about the provider).
    pub async fn spawn_configured<F, Fut>(backend: Backend, configure: F) -> Option<TestApp>
    where
        F: FnOnce(SocketAddr) -> Fut,
        Fut: std::future::Future<Output = warren::http::Settings>,
    {
        init_tracing();
        let (url, dir, postgres) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("warren.db").display()
                );
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let (url, database) = PostgresDatabase::create().await?;
                (url, None, Some(database))
            }
        };
        Some(TestApp::start(url, backend, dir, postgres, configure).await)
    }

    /// A server on the PostgreSQL database at `url`, which the caller set up and cleans up.
    pub async fn spawn_on_postgres<F, Fut>(url: String, configure: F) -> TestApp
    where
        F: FnOnce(SocketAddr) -> Fut,
        Fut: std::future::Future<Output = warren::http::Settings>,
    {
        init_tracing();
        TestApp::start(url, Backend::Postgres, None, None, configure).await
    }

    async fn start<F, Fut>(
        url: String,
        backend: Backend,
        dir: Option<tempfile::TempDir>,
        postgres: Option<PostgresDatabase>,
        configure: F,
    ) -> TestApp
    where
        F: FnOnce(SocketAddr) -> Fut,
        Fut: std::future::Future<Output = warren::http::Settings>,
    {
        let database_url = url.clone();
        let db = Db::connect_and_migrate(&url)
            .await
            .expect("migrate test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let server_db = db.clone();
        let settings = configure(addr).await;
        tokio::spawn(async move {
            let _ = warren::http::serve_with(listener, server_db, settings, async {
                let _ = stop.await;
            })
            .await;
        });
        TestApp {
            addr,
            db,
            database_url,
            backend,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            _dir: dir,
            postgres,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Runs a GraphQL document over HTTP and returns the status and JSON body.
    pub async fn graphql_raw(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Runs a GraphQL document that must succeed, returning `data`.
    pub async fn query(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.graphql_raw(Some(token), query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs mutation `name` with `input` as `$input: <Name>Input!`, selecting `fields` of its
    /// payload; returns the whole response and the first error's code.
    pub async fn mutate(
        &self,
        token: &str,
        name: &str,
        input: Value,
        fields: &str,
    ) -> (Value, Option<String>) {
        let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
        let query =
            format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ {fields} }} }}");
        let (_, body) = self
            .graphql_raw(Some(token), &query, json!({ "input": input }))
            .await;
        let code = error_code(&body).map(str::to_owned);
        (body, code)
    }

    /// The error code of mutation `name` with `input`; `None` when it succeeded.
    pub async fn mutation_code(&self, token: &str, name: &str, input: Value) -> Option<String> {
        self.mutate(token, name, input, "clientMutationId").await.1
    }

    /// Shuts the server down as a SIGTERM would: requests in flight finish, WebSocket
    /// connections are closed with 1001.
    pub fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Every event subject carries its event's category, type and sequence: event reads
    /// decide visibility from those copies alone (docs/architecture.md, "Reads that follow the
    /// viewer's share"), so every writer (mutations, seeds) must repeat them.
    pub async fn assert_subjects_repeat_their_events(&self) {
        let row = self
            .db
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.backend(),
                "SELECT COUNT(*) AS subjects, \
                 COALESCE(SUM(CASE WHEN s.category = e.category AND s.event_type = e.event_type \
                 AND s.sequence = e.sequence THEN 0 ELSE 1 END), 0) AS differing \
                 FROM event_subject s JOIN event e ON e.id = s.event_id",
            ))
            .await
            .expect("compare subjects with their events")
            .expect("one row");
        let subjects: i64 = row.try_get("", "subjects").expect("subjects");
        let differing: i64 = row.try_get("", "differing").expect("differing");
        assert!(subjects > 0, "no event subject was written");
        assert_eq!(
            differing, 0,
            "subjects whose copies differ from their event"
        );
    }

    /// How many statements the server's database has executed so far.
    pub fn statements(&self) -> u64 {
        self.db.statement_count()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The `warren` binary run with ARGS and the environment given (and no WARREN_* variable of the test's own).
pub fn warren(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_warren"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WARREN_") {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run warren")
}

/// A command's exit code and output, for assertion messages.
pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The URL of the SQLite database `file`, created on first use.
pub fn sqlite_url(file: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", file.display())
}

/// A `warren serve` process on `database_url`, logging at `log` (`WARREN_LOG`) to `stderr`,
/// ready to answer; killed when dropped.
pub async fn serve_process(
    database_url: &str,
    log: &str,
    stderr: std::process::Stdio,
    envs: &[(&str, &str)],
) -> (tokio::process::Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_warren"))
        .args(["serve", "--listen", &addr.to_string()])
        .env("WARREN_DATABASE_URL", database_url)
        .env("WARREN_LOG", log)
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("start warren serve");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("http://{addr}/readyz")).send().await
            && response.status().is_success()
        {
            return (child, addr);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("warren serve did not become ready");
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// Runs each listed `async fn(Backend)` once on SQLite and once on PostgreSQL, for tests that
/// set their server up themselves (and skip when `spawn_configured` gives none).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[cfg_attr(no_test_postgres, ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Runs each listed `async fn(TestApp)` once on SQLite and once on PostgreSQL; given
/// `mod sqlite_name, postgres_name with options;` first, on servers with those live-connection
/// options, in modules of those names.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $crate::on_both_databases!(
            mod sqlite, postgres with warren::http::websocket::LiveOptions::default();
            $($name),*
        );
    };
    (mod $sqlite:ident, $postgres:ident with $options:expr; $($name:ident),* $(,)?) => {
        mod $sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn_with(
                        $crate::common::Backend::Sqlite,
                        $options,
                    )
                    .await
                    .expect("SQLite is always available");
                    super::$name(app).await;
                }
            )*
        }
        mod $postgres {
            $(
                #[cfg_attr(no_test_postgres, ignore = "needs PostgreSQL: set WARREN_TEST_POSTGRES_URL")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match $crate::common::TestApp::spawn_with(
                        $crate::common::Backend::Postgres,
                        $options,
                    )
                    .await
                    {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("skipped: WARREN_TEST_POSTGRES_URL is not set"),
                    }
                }
            )*
        }
    };
}

/// A person written straight into the tables, with a WRITE token.
pub async fn person_with_token(
    world: &mut warren::seed::world::World<'_, sea_orm::DatabaseConnection>,
    name: &str,
    email: &str,
    account: entity::enums::AccountType,
) -> (uuid::Uuid, String) {
    let person = world.person(name, email, account).await.expect("person");
    let token = world
        .token(person, entity::enums::TokenScope::Write)
        .await
        .map_err(|e| e.message())
        .expect("token");
    (person, token)
}
