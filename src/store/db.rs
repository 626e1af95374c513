//! Connecting to the database (SQLite file by default, PostgreSQL in production) and applying
//! the migrations, which are the only way the schema is ever created.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, DatabaseConnection, DbBackend, DbErr, Statement};

use crate::store::backup::{self, UseLock};

/// A database handle plus a count of every statement it has executed. The count feeds the
/// statement-count tests (a query's cost must depend on its shape, not on the data) and metrics.
#[derive(Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    /// Where write transactions begin (`change::begin_write`). On an SQLite file, a pool of
    /// one connection shared by every handle of the process: writers queue for it in order,
    /// instead of each retrying SQLite's lock in sleeps of up to 100 ms (which gave writes a
    /// p99 of 0.2 to 0.5 s under load; BENCHMARKS.md). Elsewhere the handle's own pool.
    pub writer: DatabaseConnection,
    url: Arc<str>,
    statements: Arc<AtomicU64>,
    recorder: Arc<Recorder>,
    /// Rung after every commit that wrote events, so this instance's event feed reads them
    /// at once (other instances hear of them through PostgreSQL's NOTIFY).
    news: Arc<tokio::sync::Notify>,
    /// Whether the database was found unreachable and not reached again since.
    outage: Arc<Outage>,
    /// On an SQLite file, the shared lock that tells a restore the file is in use
    /// (`store::backup`), held while any clone of the handle lives.
    _in_use: Option<Arc<UseLock>>,
}

/// What is known of a database outage, shared by every clone of a handle.
#[derive(Default)]
struct Outage {
    /// Requests are refused at once while it is set.
    on: AtomicBool,
    /// A task is probing the database until it answers again.
    probing: AtomicBool,
}

/// Applies pending migrations to a PostgreSQL database, one instance at a time: on one
/// connection that holds `MIGRATION_LOCK` from before it looks at what is applied until after.
async fn migrate_postgres(url: &str) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5));
    let migrating = sea_orm::Database::connect(options).await?;
    let lock = format!("SELECT pg_advisory_lock({MIGRATION_LOCK})");
    migrating.execute_unprepared(&lock).await?;
    let migrated = Migrator::up(&migrating, None).await;
    let unlock = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})");
    let unlocked = migrating.execute_unprepared(&unlock).await;
    // Closing ends the session, which gives the lock back in any case.
    migrating.close().await?;
    migrated?;
    unlocked?;
    Ok(())
}

/// What a new pool shares with other handles (see `companion` and `sibling`); all new by
/// default.
#[derive(Default)]
struct Shared {
    news: Arc<tokio::sync::Notify>,
    statements: Arc<AtomicU64>,
    recorder: Arc<Recorder>,
    outage: Arc<Outage>,
    /// The writer of an SQLite file (see `Db::writer`), to share rather than open.
    writer: Option<DatabaseConnection>,
}

/// How long SQLite waits for another connection's write lock before it gives up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a probe waits for the database (`/readyz`, and during an outage).
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the database is probed during an outage.
const PROBE_EVERY: Duration = Duration::from_millis(500);

/// Connections of a handle's pool unless configured (`--database-max-connections`). SQLite:
/// readers run beside the one writer (WAL); PostgreSQL: enough for two cores.
pub const DEFAULT_CONNECTIONS: u32 = 16;

/// The PostgreSQL advisory lock instances hold while they migrate (session level, so a
/// process that dies gives it back): instances started at once on an outdated database wait
/// for the first, then find nothing to do. ASCII "warmig"; the event log's lock is "warren".
const MIGRATION_LOCK: i64 = 0x7761_726d_6967;

impl Db {
    pub async fn connect(url: &str) -> Result<Db, DbErr> {
        Db::connect_with(url, DEFAULT_CONNECTIONS).await
    }

    /// A handle whose pool holds `connections` connections.
    pub async fn connect_with(url: &str, connections: u32) -> Result<Db, DbErr> {
        Db::connect_pool(url, connections.max(1), Shared::default()).await
    }

    /// A small pool of its own on the same database, for background work (the event feed):
    /// it never takes a connection requests need, and its statements are counted apart. It
    /// shares this handle's `announce_events`.
    pub async fn companion(&self, connections: u32) -> Result<Db, DbErr> {
        if self.url.contains(":memory:") || self.url.contains("mode=memory") {
            // A second pool would open a second, empty in-memory database.
            return Ok(self.clone());
        }
        let shared = Shared {
            news: self.news.clone(),
            writer: Some(self.writer.clone()),
            ..Shared::default()
        };
        Db::connect_pool(&self.url, connections, shared).await
    }

    /// A small pool of its own on the same database that stands for this one: its statements
    /// are counted and recorded with this handle's, and an outage is shared. For work that
    /// runs on another runtime (`websocket::live_runtime`): a PostgreSQL connection waits for
    /// its socket through the runtime that opened it, so each runtime needs its own pool.
    pub async fn sibling(&self, connections: u32) -> Result<Db, DbErr> {
        if self.url.contains(":memory:") || self.url.contains("mode=memory") {
            return Ok(self.clone());
        }
        let shared = Shared {
            news: self.news.clone(),
            statements: self.statements.clone(),
            recorder: self.recorder.clone(),
            outage: self.outage.clone(),
            writer: Some(self.writer.clone()),
        };
        Db::connect_pool(&self.url, connections, shared).await
    }

    async fn connect_pool(url: &str, connections: u32, shared: Shared) -> Result<Db, DbErr> {
        let in_use = match backup::sqlite_file(url) {
            Some(file) => Some(Arc::new(UseLock::shared(&file).map_err(DbErr::Custom)?)),
            None => None,
        };
        let mut conn = sea_orm::Database::connect(Db::options(url, connections)).await?;
        let mut writer = match shared.writer {
            Some(writer) => writer,
            None if url.starts_with("sqlite:")
                && !url.contains("mode=memory")
                && !url.contains(":memory:") =>
            {
                let mut options = Db::options(url, 1);
                // As long as SQLite itself would wait for the lock (`busy_timeout`).
                options.acquire_timeout(SQLITE_BUSY_TIMEOUT);
                sea_orm::Database::connect(options).await?
            }
            None => conn.clone(),
        };
        let counter = shared.statements.clone();
        let recording = shared.recorder.clone();
        let count = move |info: &sea_orm::metric::Info<'_>| {
            counter.fetch_add(1, Ordering::Relaxed);
            recording.record(info.statement);
            tracing::trace!(target: "warren::sql", elapsed = ?info.elapsed, failed = info.failed, sql = %info.statement.sql);
        };
        conn.set_metric_callback(count.clone());
        writer.set_metric_callback(count);
        Ok(Db {
            conn,
            writer,
            url: Arc::from(url),
            statements: shared.statements,
            recorder: shared.recorder,
            news: shared.news,
            outage: shared.outage,
            _in_use: in_use,
        })
    }

    fn options(url: &str, connections: u32) -> ConnectOptions {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(connections)
            // Every connection is opened now, on the runtime serving requests: a PostgreSQL
            // connection waits for its socket through the runtime that opened it, and one
            // opened lazily by a live subscription (`websocket::live_runtime`) would make
            // every later statement on it wait while deliveries keep that runtime busy
            // (mutations took seconds and failed; BENCHMARKS.md).
            .min_connections(connections)
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(5));
        if url.starts_with("postgres") {
            // A slow statement cannot hold a connection for ever: PostgreSQL cancels it (a
            // request dropped by its own timeout does not stop its statement server-side).
            //
            // Reads cost what the viewer's share costs only if the planner walks indexes from the
            // few rows a request starts from. PostgreSQL's default `random_page_cost` (4) models
            // spinning disks: with it, a page of 200 edges hashes the whole `app` table (30,000
            // rows at bench scale 100) rather than looking up 200 rows. 1.1 is the usual value
            // for SSDs and for data in memory, where warren's working set lives; set for its own
            // sessions only (tests/it/plan_shape.rs holds the shape).
            options.map_sqlx_postgres_opts(|opts| {
                opts.options([
                    (
                        "statement_timeout",
                        STATEMENT_TIMEOUT.as_millis().to_string(),
                    ),
                    ("random_page_cost", RANDOM_PAGE_COST.to_owned()),
                ])
            });
        }
        if url.starts_with("sqlite:") {
            // WAL lets readers proceed while a writer commits; NORMAL is durable in WAL mode
            // except for the last transactions on power loss, the usual embedded trade-off.
            options.map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    // Pages are read through a shared mapping of the file instead of being
                    // copied into each connection's own cache (2 MB apiece, 16 connections):
                    // one copy of the hot pages, in the OS page cache.
                    .pragma("mmap_size", MMAP_BYTES.to_string())
            });
        }
        options
    }

    /// Connects and applies every pending migration.
    pub async fn connect_and_migrate(url: &str) -> Result<Db, DbErr> {
        Db::connect_and_migrate_with(url, DEFAULT_CONNECTIONS).await
    }

    /// `connect_and_migrate` with a pool of `connections`. On PostgreSQL the migrations run on
    /// a connection of their own, without the statement timeout (rewriting a large table may
    /// rightly take longer), under `MIGRATION_LOCK`.
    pub async fn connect_and_migrate_with(url: &str, connections: u32) -> Result<Db, DbErr> {
        if url.starts_with("postgres") {
            migrate_postgres(url).await?;
            return Db::connect_with(url, connections).await;
        }
        let db = Db::connect_with(url, connections).await?;
        Migrator::up(&db.conn, None).await?;
        Ok(db)
    }

    /// The names of the migrations this build knows that the database has not applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, DbErr> {
        Ok(Migrator::get_pending_migrations_read_only(&self.conn)
            .await?
            .iter()
            .map(|migration| migration.name().to_owned())
            .collect())
    }

    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Tells this instance's event feed that events were committed.
    pub fn announce_events(&self) {
        self.news.notify_one();
    }

    /// Completes at the next `announce_events` (or at once if one came since the last wait).
    pub async fn events_announced(&self) {
        self.news.notified().await;
    }

    /// How many statements this handle has executed since it was opened.
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Starts recording every statement this handle (and its clones, not its companions)
    /// executes, with its bound values, discarding anything recorded before. For measuring
    /// what a request costs: the dashboard bench replays a request's statements on their own
    /// to find the database's share of its latency.
    pub fn record_statements(&self) {
        self.recorder.start();
    }

    /// Stops recording and returns the statements executed since `record_statements`, in the
    /// order they finished (empty when it was never called).
    pub fn take_recorded(&self) -> Vec<Statement> {
        self.recorder.take()
    }

    /// The request pool's connections: open, and idle among them.
    pub fn pool_connections(&self) -> (u32, u32) {
        let idle = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match self.backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), idle(pool.num_idle()))
            }
            DbBackend::Sqlite => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), idle(pool.num_idle()))
            }
            _ => (0, 0),
        }
    }

    /// `true` when the database answers within a second; used by `/readyz`. Not reaching it
    /// starts an outage (see `note_unreachable`); reaching it ends one.
    pub async fn is_reachable(&self) -> bool {
        let reached = self.ping().await;
        if reached {
            self.outage.on.store(false, Ordering::Relaxed);
        } else {
            self.note_unreachable();
        }
        reached
    }

    async fn ping(&self) -> bool {
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, self.conn.ping()).await,
            Ok(Ok(()))
        )
    }

    /// Whether the database is known to be unreachable right now: requests are then refused
    /// at once instead of each waiting for a connection that will not come.
    pub fn in_outage(&self) -> bool {
        self.outage.on.load(Ordering::Relaxed)
    }

    /// Notes that the database could not be reached. Until a probe (every half second, on the
    /// runtime of the caller: the one serving requests) reaches it again, `in_outage` is true.
    pub fn note_unreachable(&self) {
        self.outage.on.store(true, Ordering::Relaxed);
        if self.outage.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        tracing::warn!("the database is unreachable; refusing requests until it answers again");
        let db = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                if db.ping().await {
                    break;
                }
            }
            db.outage.on.store(false, Ordering::Relaxed);
            db.outage.probing.store(false, Ordering::Release);
            tracing::warn!("the database answers again");
        });
    }
}

/// The statements of a `Db` while someone records them (`Db::record_statements`). The flag lets
/// a handle that is not recording (a server's, always) skip the lock on every statement.
#[derive(Default)]
struct Recorder {
    on: AtomicBool,
    statements: Mutex<Vec<Statement>>,
}

impl Recorder {
    fn start(&self) {
        let mut statements = self.lock();
        statements.clear();
        self.on.store(true, Ordering::Release);
    }

    fn record(&self, statement: &Statement) {
        if self.on.load(Ordering::Acquire) {
            let mut statements = self.lock();
            // Checked again under the lock: a `take` may have ended the recording meanwhile.
            if self.on.load(Ordering::Relaxed) {
                statements.push(statement.clone());
            }
        }
    }

    fn take(&self) -> Vec<Statement> {
        let mut statements = self.lock();
        self.on.store(false, Ordering::Release);
        std::mem::take(&mut *statements)
    }

    /// A panic while the lock was held cannot leave the list half-written (push and take are
    /// whole), so a poisoned lock is still good to use.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Statement>> {
        self.statements
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A PostgreSQL URL (`postgres://user@host:port/db?options`) naming database `name` instead,
/// for tools that make a database per run from an administrative URL: the tests and benches.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..path_start])
}

/// The longest a PostgreSQL statement of the service may run. The dashboard's statements take
/// milliseconds; SQLite has no such setting, and its statements run on small embedded data.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The planner's cost of a random page read on PostgreSQL, for warren's sessions (see
/// `Db::options`).
const RANDOM_PAGE_COST: &str = "1.1";

/// How much of an SQLite file is read through a memory mapping: more than these databases
/// grow to; beyond it, pages are read as usual.
const MMAP_BYTES: u64 = 1 << 30;

/// The URL of the default embedded database: `./warren.db`, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://warren.db?mode=rwc";

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn names_another_database_keeping_the_options() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://u@h/admin?sslmode=disable", "t2"),
            "postgres://u@h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t3"), "postgres://u@h/t3");
    }
}
