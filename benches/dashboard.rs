//! The dashboard benchmark: the dashboard query (`tests/queries/dashboard.graphql`) and the
//! events screen's three queries against a release `warren serve` process on the bench world,
//! their floors, the dashboard's PostGraphile peer and a write mix.
//!
//! ```sh
//! bench/run        # installs wrk and the peer's node packages, then runs this with defaults
//! cargo bench --bench dashboard -- --backends sqlite,postgres --scales 1,100 \
//!     --concurrency 1,8,64 --seconds 10 --screens dashboard,events \
//!     --database-url postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! The queries (`--screens`): the dashboard; the events screen's `events(last: 20)` with its
//! `totalCount`, a team's events (the viewer's "Team 0") and the events of one category
//! (TECHNICAL). For each backend and scale, on a fresh database (a SQLite file in a temporary
//! directory, or a PostgreSQL database `warren_bench_<uuid>` dropped afterwards) seeded by
//! `warren seed bench --scale N`:
//! - in-process, through warren's own router (`warren::http::router`, the same code as
//!   `POST /graphql` minus the socket), one request of each query as the viewer after a first
//!   one: its SQL statements, recorded with their values (`Db::record_statements`), and the
//!   size of its answer, checked (the viewer's teams in the dashboard, events in each events
//!   query: a wrong id or filter would otherwise measure an empty answer);
//! - the floor of each query: exactly its statements, back to back on one connection,
//!   `--replays` times; the median is the time the database alone needs for one request;
//! - over HTTP, `wrk` for `--seconds`, the dashboard at each `--concurrency` and each events
//!   query at the lowest one only (its latency against its floor is the question, and the run
//!   time stays bounded): requests/s and latency p50 and p99, with every response checked
//!   (status 200 and exactly the size of the answer checked in-process beforehand); the
//!   server's peak RSS (VmHWM) after the dashboard;
//! - with the dashboard, on PostgreSQL, PostGraphile 4 (`bench/postgraphile`) on the same
//!   database, with its equivalent query, the same way;
//! - with the dashboard, after every read (its events would change the events queries'
//!   answers), a write mix: `--write-workers` workers, each looping over createApp,
//!   inviteToTeam, acceptInvitation, subscribeToApp, deleteApp and leaveTeam for `--seconds`;
//!   every mutation must succeed and write its event.
//!
//! The bench exits non-zero, loudly, when any request or mutation failed. The load generator
//! shares the machine's cores with the server, and the bench prints how much CPU everything
//! else on the machine used meanwhile.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use clap::{Parser, ValueEnum};
use entity::enums::EventType;
use entity::enums::{AccountType, TeamRole, TokenScope};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database as SeaDatabase, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use warren::api::relay::{NodeKind, global_id};
use warren::store::db::Db;

use support::{Backend, CpuMeter, CpuSplit, Scratch, Server, Summary};

/// The dashboard's first screen, as the project's shared query has it.
const DASHBOARD: &str = include_str!("../tests/queries/dashboard.graphql");
/// The same screen against PostGraphile's generated schema (`$viewer`: the person's UUID).
const PEER_DASHBOARD: &str = include_str!("../bench/postgraphile/dashboard.graphql");
/// The bench world's viewer (`warren::seed::bench`).
const VIEWER_EMAIL: &str = "person0@bench.example";
/// Teams the viewer belongs to at every scale: a response without them is a wrong one.
const VIEWER_TEAMS: i64 = 10;
/// The events screen: the viewer's newest events, with the count the screen shows beside them.
const EVENTS: &str = "{ events(last: 20) { totalCount edges { cursor node { sequence type category summary occurredAt } } } }";
/// The events screen on a team's page (`$team`: the global id of `EVENTS_TEAM`): the events
/// about one team, which reach the events through the team rather than through the viewer.
const TEAM_EVENTS: &str = "query($team: ID!) { node(id: $team) { ... on Team { name events(last: 20) { totalCount edges { node { sequence summary } } } } } }";
/// The events screen filtered to one category: the filter narrows the candidates, and the
/// count must honour it.
const TECHNICAL_EVENTS: &str = "{ events(last: 20, filter: { categories: [TECHNICAL] }) { totalCount edges { node { sequence summary } } } }";
/// The team of `TEAM_EVENTS`: the viewer is an UNLIMITED member of it at every scale
/// (`warren::seed::bench`), so it has events the viewer sees.
const EVENTS_TEAM: &str = "Team 0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendName {
    Sqlite,
    Postgres,
}

/// What a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Screen {
    /// The dashboard query, with the PostGraphile peer and the write mix.
    Dashboard,
    /// The events screen's three queries.
    Events,
}

#[derive(Debug, Parser)]
#[command(
    name = "dashboard",
    about = "Dashboard and events screen benchmark: throughput, latency, floor, PostGraphile \
             peer, write mix"
)]
struct Args {
    /// Databases to measure on.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    backends: Vec<BackendName>,
    /// Bench world scales (`warren seed bench --scale N`); each gets a fresh database.
    #[arg(long, value_delimiter = ',', default_value = "1,100")]
    scales: Vec<u32>,
    /// Screens to measure: the dashboard (with the PostGraphile peer and the write mix) and the
    /// events screen (its three queries, over HTTP at the lowest `--concurrency` only).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "dashboard,events"
    )]
    screens: Vec<Screen>,
    /// Concurrent connections of the load generator, one measurement each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    concurrency: Vec<usize>,
    /// Length of each measurement (and of the write mix) in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Unmeasured load before the first measurement of each server, in seconds (at
    /// concurrency 8), so that connection pools are full and the peer's JIT has compiled.
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// PostgreSQL URL whose user may create databases: each run creates `warren_bench_<uuid>`
    /// there and drops it afterwards.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,
    /// Skip the PostGraphile peer.
    #[arg(long)]
    no_peer: bool,
    /// Replays of the request's statements for the floor.
    #[arg(long, default_value_t = 200)]
    replays: usize,
    /// Concurrent workers of the write mix; 0 skips it.
    #[arg(long, default_value_t = 8)]
    write_workers: usize,
    /// The server sends traces (`--otlp-endpoint`) to a receiver in the bench process that
    /// discards them: what tracing costs (BENCHMARKS.md, "Traces").
    #[arg(long)]
    traces: bool,
    /// The server binary to run instead of the one `cargo bench` built.
    #[arg(long)]
    server: Option<PathBuf>,
    /// The load generator.
    #[arg(long, default_value = "wrk")]
    wrk: PathBuf,
    /// `cargo bench` passes it to every bench binary.
    #[arg(long, hide = true)]
    bench: bool,
}

impl Args {
    fn measures(&self, screen: Screen) -> bool {
        self.screens.contains(&screen)
    }

    /// The concurrency the events queries are measured at, and at which every query's p50 is
    /// set against its floor.
    fn lowest_concurrency(&self) -> usize {
        self.concurrency.iter().copied().min().unwrap_or(1)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(problem) = preflight(&args) {
        eprintln!("{problem}");
        return ExitCode::FAILURE;
    }
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_warren")));
    let backends: Vec<Backend> = args
        .backends
        .iter()
        .map(|name| match name {
            BackendName::Sqlite => Backend::Sqlite,
            BackendName::Postgres => Backend::Postgres(args.database_url.clone()),
        })
        .collect();

    let started = Instant::now();
    let mut runs = Vec::new();
    for backend in &backends {
        for &scale in &args.scales {
            eprintln!("== {} at scale {scale}", backend.name());
            runs.push(run(&args, &server, backend, scale).await);
        }
    }
    print_report(&args, &runs, started.elapsed()).await;

    let failures: Vec<String> = runs
        .iter()
        .flat_map(|run| {
            run.failures
                .iter()
                .map(move |f| format!("{} scale {}: {f}", run.backend, run.scale))
        })
        .collect();
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!();
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! THE RUN FAILED: some requests or mutations did not succeed, and the");
        eprintln!("!!! numbers above that include them measure errors, not the queries");
        for failure in &failures {
            eprintln!("!!! {failure}");
        }
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        ExitCode::FAILURE
    }
}

/// What the bench needs before it starts seeding: the load generator and, for the peer, node
/// with the peer's packages installed (`bench/run` sees to both).
fn preflight(args: &Args) -> Result<(), String> {
    if args.concurrency.contains(&0) || args.seconds == 0 {
        return Err("--concurrency values and --seconds must be positive".to_owned());
    }
    if args.concurrency.is_empty() || args.screens.is_empty() || args.scales.is_empty() {
        return Err("--concurrency, --screens and --scales need a value each".to_owned());
    }
    if std::process::Command::new(&args.wrk)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return Err(format!(
            "the load generator `{}` is not installed: run bench/run, or `apt-get install -y wrk`",
            args.wrk.display()
        ));
    }
    if args.backends.contains(&BackendName::Postgres)
        && !args.no_peer
        && args.measures(Screen::Dashboard)
    {
        let modules = peer_dir().join("node_modules/postgraphile");
        if !modules.is_dir() {
            return Err(format!(
                "the PostGraphile peer is not installed ({} is missing): run bench/run, or \
                 `npm ci` in bench/postgraphile, or pass --no-peer",
                modules.display()
            ));
        }
    }
    Ok(())
}

fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/postgraphile")
}

// ---------------------------------------------------------------------------------------------
// One backend at one scale

/// Everything measured on one database.
struct Run {
    backend: &'static str,
    postgres: bool,
    scale: u32,
    /// The seed's summary line.
    world: String,
    /// The dashboard, unless `--screens` left it out.
    dashboard: Option<Measured>,
    /// The events screen's queries, unless `--screens` left them out.
    events: Vec<Measured>,
    peer: Option<Served>,
    writes: Option<WriteMix>,
    /// Why the run's numbers cannot be trusted; empty when every request succeeded.
    failures: Vec<String>,
    server_complaints: (usize, Vec<String>),
}

impl Run {
    /// Every query measured, the dashboard first.
    fn measured(&self) -> impl Iterator<Item = &Measured> {
        self.dashboard.iter().chain(&self.events)
    }
}

/// One query measured by warren: in-process, its floor, and over HTTP.
struct Measured {
    name: &'static str,
    in_process: InProcess,
    floor: Floor,
    warren: Served,
}

impl Measured {
    /// The measurement at `concurrency`, if it succeeded.
    fn load_at(&self, concurrency: usize) -> Option<&Load> {
        self.warren
            .loads
            .iter()
            .find(|l| l.concurrency == concurrency)
    }
}

/// One server under a query's load.
struct Served {
    /// Bytes of one response body over HTTP.
    response_bytes: usize,
    loads: Vec<Load>,
    /// VmHWM after the measurements.
    peak_rss_kib: u64,
}

async fn run(args: &Args, binary: &Path, backend: &Backend, scale: u32) -> Run {
    let scratch = Scratch::create(backend).await;
    let (world, token) = seed(binary, &scratch.url, scale).await;
    let database = scratch.postgres.as_ref().map(|(_, name)| name.clone());
    let db = Db::connect(&scratch.url)
        .await
        .expect("connect to the bench database");
    if backend.is_postgres() {
        // The seed's rows are fresh: without this, autovacuum's ANALYZE lands at a different
        // moment of each run and the plans change under the measurement.
        let conn = SeaDatabase::connect(&scratch.url)
            .await
            .expect("connect to the bench database");
        conn.execute_unprepared("VACUUM ANALYZE")
            .await
            .expect("VACUUM ANALYZE the bench world");
        conn.close().await.expect("close the connection");
    }

    eprintln!("   in-process requests and floors");
    let queries = queries(args, &db.conn).await;
    let router = in_process_router(&db).await;
    let mut measured = Vec::new();
    for query in &queries {
        let (in_process, recorded) = in_process(&db, &router, &token, query).await;
        let floor = floor(&db, &recorded, args.replays).await;
        measured.push((in_process, floor));
    }
    drop(router);
    let writers = if args.write_workers > 0 && args.measures(Screen::Dashboard) {
        Some(prepare_writers(&db, args.write_workers).await)
    } else {
        None
    };
    let viewer_id = viewer_id(&db.conn).await;
    db.conn.close().await.expect("close the in-process pool");

    let mut failures = Vec::new();
    let collector = if args.traces {
        Some(support::discarding_collector().await)
    } else {
        None
    };
    let traced: Vec<(&str, &str)> = collector
        .iter()
        .map(|endpoint| ("WARREN_OTLP_ENDPOINT", endpoint.as_str()))
        .collect();
    let server = Server::start_with(binary, &scratch, false, &traced).await;
    let mut dashboard = None;
    let mut events = Vec::new();
    for (query, (in_process, floor)) in queries.iter().zip(measured) {
        let is_dashboard = matches!(query.expect, Expect::Dashboard);
        let target = Target {
            name: format!("warren {}", query.key),
            url: server.graphql_url(),
            body: query.body.clone(),
            token: Some(token.clone()),
            pid: server.pid,
            database: database.clone(),
        };
        // The events queries at one concurrency: what the screen costs one person against its
        // floor is their question, and three more sweeps would triple the run.
        let concurrencies = if is_dashboard {
            args.concurrency.clone()
        } else {
            vec![args.lowest_concurrency()]
        };
        let warren = serve_load(
            args,
            &target,
            &concurrencies,
            &scratch,
            &mut failures,
            |body| query.check(body),
        )
        .await;
        if warren.response_bytes != in_process.response_bytes {
            failures.push(format!(
                "{}: the answer over HTTP has {} bytes, in-process {}",
                query.name, warren.response_bytes, in_process.response_bytes
            ));
        }
        let measured = Measured {
            name: query.name,
            in_process,
            floor,
            warren: Served {
                peak_rss_kib: server.peak_rss_kib(),
                ..warren
            },
        };
        if is_dashboard {
            dashboard = Some(measured);
        } else {
            events.push(measured);
        }
    }

    let peer = if backend.is_postgres() && !args.no_peer && args.measures(Screen::Dashboard) {
        eprintln!("   PostGraphile");
        let peer = Peer::start(&scratch).await;
        let target = Target {
            name: "PostGraphile".to_owned(),
            url: peer.url.clone(),
            body: json!({ "query": PEER_DASHBOARD, "variables": { "viewer": viewer_id } })
                .to_string(),
            token: None,
            pid: peer.pid,
            database: database.clone(),
        };
        let served = serve_load(
            args,
            &target,
            &args.concurrency,
            &scratch,
            &mut failures,
            check_peer_answer,
        )
        .await;
        let served = Served {
            peak_rss_kib: support::status_kib(peer.pid, "VmHWM:"),
            ..served
        };
        peer.stop().await;
        Some(served)
    } else {
        None
    };

    let writes = match writers {
        Some(writers) => {
            eprintln!("   write mix");
            let mix = write_mix(args, &server, &scratch, database.as_deref(), writers).await;
            failures.extend(mix.failures.iter().cloned());
            Some(mix)
        }
        None => None,
    };
    let server_complaints = server.complaints();
    server.stop().await;
    scratch.remove().await;
    Run {
        backend: backend.name(),
        postgres: backend.is_postgres(),
        scale,
        world,
        dashboard,
        events,
        peer,
        writes,
        failures,
        server_complaints,
    }
}

/// `warren seed bench --scale N` with the binary under test; returns the seed's summary and
/// the viewer's token (its last line).
async fn seed(binary: &Path, url: &str, scale: u32) -> (String, String) {
    let output = support::warren_command(binary)
        .arg("--database-url")
        .arg(url)
        .args(["seed", "bench", "--scale", &scale.to_string()])
        .env("WARREN_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run warren seed bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "warren seed bench --scale {scale} failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    let token = lines
        .last()
        .map(|l| l.trim().to_owned())
        .expect("seed bench printed the viewer's token");
    let world = lines
        .iter()
        .find(|l| l.starts_with("bench world"))
        .map_or_else(String::new, |l| (*l).to_owned());
    (world, token)
}

/// One query the bench measures, as a client sends it.
struct Query {
    /// Its name in the report.
    name: &'static str,
    /// Its name in the bench's messages and files.
    key: &'static str,
    /// The JSON request body: the query and its variables.
    body: String,
    /// What its answer must hold.
    expect: Expect,
}

/// What an answer must hold, beyond having no errors, to be the one meant.
#[derive(Clone, Copy)]
enum Expect {
    /// The viewer's dashboard, with every team of the viewer's.
    Dashboard,
    /// Events in the event connection at this path under `data`.
    Events(&'static [&'static str]),
}

impl Query {
    fn new(
        name: &'static str,
        key: &'static str,
        query: &str,
        variables: Value,
        expect: Expect,
    ) -> Query {
        Query {
            name,
            key,
            body: json!({ "query": query, "variables": variables }).to_string(),
            expect,
        }
    }

    /// Checks one answer in full (the load then checks only each answer's status and size).
    fn check(&self, body: &[u8]) -> Result<(), String> {
        match self.expect {
            Expect::Dashboard => check_warren_answer(body),
            Expect::Events(path) => check_events_answer(body, path),
        }
    }
}

/// The queries of the screens `--screens` names, the dashboard first (so that the server's
/// peak RSS after it is the dashboard's).
async fn queries(args: &Args, conn: &DatabaseConnection) -> Vec<Query> {
    let mut queries = Vec::new();
    if args.measures(Screen::Dashboard) {
        queries.push(Query::new(
            "dashboard",
            "dashboard",
            DASHBOARD,
            json!({}),
            Expect::Dashboard,
        ));
    }
    if args.measures(Screen::Events) {
        let team = global_id(NodeKind::Team, team_id(conn, EVENTS_TEAM).await).0;
        queries.extend([
            Query::new(
                "events(last: 20) with totalCount",
                "events",
                EVENTS,
                json!({}),
                Expect::Events(&["events"]),
            ),
            Query::new(
                "a team's events(last: 20) with totalCount",
                "team-events",
                TEAM_EVENTS,
                json!({ "team": team }),
                Expect::Events(&["node", "events"]),
            ),
            Query::new(
                "events(last: 20, TECHNICAL) with totalCount",
                "technical-events",
                TECHNICAL_EVENTS,
                json!({}),
                Expect::Events(&["events"]),
            ),
        ]);
    }
    queries
}

/// The id of the team named `name` (the bench world's team names are unique).
async fn team_id(conn: &DatabaseConnection, name: &str) -> uuid::Uuid {
    entity::team::Entity::find()
        .filter(entity::team::Column::Name.eq(name))
        .one(conn)
        .await
        .expect("read the team")
        .expect("the bench world has the team")
        .id
}

async fn viewer_id(conn: &DatabaseConnection) -> uuid::Uuid {
    entity::person::Entity::find()
        .filter(entity::person::Column::Email.eq(VIEWER_EMAIL))
        .one(conn)
        .await
        .expect("read the viewer")
        .expect("the bench world has its viewer")
        .id
}

// ---------------------------------------------------------------------------------------------
// In-process: statements and floor

/// One request run in-process.
struct InProcess {
    statements: u64,
    response_bytes: usize,
}

/// warren's router on the in-process pool, with an event feed of its own, as `warren serve`
/// builds it: one for every query of a run, as one server answers them all.
async fn in_process_router(db: &Db) -> axum::Router {
    let feed = warren::feed::Feed::start(db, 256, 10_000)
        .await
        .map_err(|err| err.message())
        .expect("start the event feed");
    warren::http::router(
        db.clone(),
        feed,
        warren::http::Settings::new("http://127.0.0.1:8000"),
    )
    .expect("build the router")
}

/// Runs `query` through warren's router, as `POST /graphql` with the viewer's bearer token: a
/// first request (which also records the token's use), then the measured one, whose
/// statements are recorded.
async fn in_process(
    db: &Db,
    router: &axum::Router,
    token: &str,
    query: &Query,
) -> (InProcess, Vec<Statement>) {
    let request = || {
        axum::http::Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(query.body.clone()))
            .expect("a request")
    };
    let answer = |response: axum::response::Response| async move {
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the response body");
        assert_eq!(
            status,
            200,
            "in-process {}: {}",
            query.name,
            String::from_utf8_lossy(&bytes)
        );
        if let Err(problem) = query.check(&bytes) {
            panic!("in-process {}: {problem}", query.name);
        }
        bytes.len()
    };
    let first = router.clone().oneshot(request()).await.expect("infallible");
    answer(first).await;

    db.record_statements();
    let before = db.statement_count();
    let response = router.clone().oneshot(request()).await.expect("infallible");
    let response_bytes = answer(response).await;
    let statements = db.statement_count() - before;
    let recorded = db.take_recorded();
    assert_eq!(
        recorded.len() as u64,
        statements,
        "every counted statement is recorded"
    );
    (
        InProcess {
            statements,
            response_bytes,
        },
        recorded,
    )
}

/// The database's share of one request: its statements back to back on one connection.
struct Floor {
    replays: usize,
    median: Duration,
    p10: Duration,
    p90: Duration,
    /// `(median time, rows, SQL)` of each statement, slowest first.
    statements: Vec<(Duration, usize, String)>,
}

async fn floor(db: &Db, recorded: &[Statement], replays: usize) -> Floor {
    let single = db
        .companion(1)
        .await
        .expect("a one-connection pool on the bench database");
    let recorded: Vec<Replayed> = recorded
        .iter()
        .map(|statement| {
            let sql = statement.sql.trim_start().to_ascii_uppercase();
            let answers_rows =
                sql.starts_with("SELECT") || sql.starts_with("WITH") || sql.contains("RETURNING");
            (statement.clone(), answers_rows)
        })
        .collect();
    // The first rounds prepare the statements on the connection (the server's connections
    // have theirs prepared too) and bring the pages into the cache.
    for _ in 0..10 {
        replay(&single, recorded.clone(), &mut Vec::new()).await;
    }
    let mut totals = Vec::with_capacity(replays);
    let mut each: Vec<Vec<Duration>> = vec![Vec::with_capacity(replays); recorded.len()];
    let mut rows = Vec::new();
    for _ in 0..replays.max(1) {
        let statements = recorded.clone();
        let mut times = Vec::with_capacity(recorded.len());
        rows.clear();
        let started = Instant::now();
        replay_timed(&single, statements, &mut times, &mut rows).await;
        totals.push(started.elapsed());
        for (i, time) in times.into_iter().enumerate() {
            each[i].push(time);
        }
    }
    single
        .conn
        .close()
        .await
        .expect("close the floor's connection");
    totals.sort_unstable();
    let at = |q: f64| totals[((totals.len() - 1) as f64 * q).round() as usize];
    let mut statements: Vec<(Duration, usize, String)> = each
        .into_iter()
        .zip(&recorded)
        .zip(rows.iter().copied())
        .map(|((mut times, (statement, _)), rows)| {
            times.sort_unstable();
            (times[times.len() / 2], rows, statement.sql.clone())
        })
        .collect();
    statements.sort_by_key(|s| std::cmp::Reverse(s.0));
    Floor {
        replays: replays.max(1),
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
        statements,
    }
}

/// A recorded statement, and whether it answers rows (decided before any timing).
type Replayed = (Statement, bool);

async fn replay(db: &Db, statements: Vec<Replayed>, rows: &mut Vec<usize>) {
    replay_timed(db, statements, &mut Vec::new(), rows).await;
}

/// Runs each statement as the server did: those that answer rows fetch them all (without
/// decoding them into models), the rest execute.
async fn replay_timed(
    db: &Db,
    statements: Vec<Replayed>,
    times: &mut Vec<Duration>,
    rows: &mut Vec<usize>,
) {
    for (statement, answers_rows) in statements {
        let started = Instant::now();
        let count = if answers_rows {
            db.conn
                .query_all_raw(statement)
                .await
                .expect("replay a statement")
                .len()
        } else {
            db.conn
                .execute_raw(statement)
                .await
                .expect("replay a statement")
                .rows_affected() as usize
        };
        times.push(started.elapsed());
        rows.push(count);
    }
}

// ---------------------------------------------------------------------------------------------
// Over HTTP: wrk

/// A server answering one query over HTTP.
struct Target {
    /// The server and the query, in the bench's messages and files.
    name: String,
    url: String,
    /// The JSON request body.
    body: String,
    token: Option<String>,
    pid: i32,
    /// The PostgreSQL database, whose backends' CPU is counted apart.
    database: Option<String>,
}

/// One wrk measurement.
struct Load {
    concurrency: usize,
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu: CpuSplit,
}

/// Checks one answer of the target, then warms it up and measures it at each of
/// `concurrencies`.
async fn serve_load(
    args: &Args,
    target: &Target,
    concurrencies: &[usize],
    scratch: &Scratch,
    failures: &mut Vec<String>,
    check: impl Fn(&[u8]) -> Result<(), String>,
) -> Served {
    // One answer checked in full before the load: the load only checks each answer's status
    // and size against it.
    let client = reqwest::Client::new();
    let mut request = client
        .post(&target.url)
        .header("content-type", "application/json")
        .body(target.body.clone());
    if let Some(token) = &target.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the first request");
    let status = response.status();
    let bytes = response.bytes().await.expect("the first answer");
    assert!(
        status.is_success(),
        "{}: the first request answered {status}: {}",
        target.name,
        String::from_utf8_lossy(&bytes)
    );
    if let Err(problem) = check(&bytes) {
        panic!("{}: {problem}", target.name);
    }
    let response_bytes = bytes.len();

    let script = write_wrk_script(target, scratch.dir.path(), response_bytes);
    if args.warmup > 0 {
        eprintln!("   {}: warm-up {} s", target.name, args.warmup);
        let warm = wrk(args, target, &script, 8, args.warmup).await;
        if let Err(problem) = warm {
            failures.push(format!("{} warm-up: {problem}", target.name));
        }
    }
    let mut loads = Vec::new();
    for &concurrency in concurrencies {
        eprintln!(
            "   {}: concurrency {concurrency}, {} s",
            target.name, args.seconds
        );
        match wrk(args, target, &script, concurrency, args.seconds).await {
            Ok(load) => loads.push(load),
            Err(problem) => {
                failures.push(format!(
                    "{} at concurrency {concurrency}: {problem}",
                    target.name
                ));
            }
        }
    }
    Served {
        response_bytes,
        loads,
        peak_rss_kib: 0,
    }
}

/// The wrk script: POSTs the body with its headers, and counts every response that is not a
/// 200 of exactly the checked answer's size. The answers are deterministic (the data does not
/// change while they are measured), so a 200 of that size is that answer; anything else, an
/// error in the GraphQL sense included, is counted and the first one shown. (Reading each
/// body costs wrk some CPU; measuring errors would cost the measurement.)
fn write_wrk_script(target: &Target, dir: &Path, expected_bytes: usize) -> PathBuf {
    let stem: String = target
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let body = dir.join(format!("{stem}-body.json"));
    std::fs::write(&body, &target.body).expect("write the request body");
    let authorization = target.token.as_ref().map_or_else(String::new, |token| {
        format!("wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n")
    });
    let script = format!(
        r#"-- Written by benches/dashboard.rs for one run.
local file = assert(io.open("{body}", "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
{authorization}
local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end

bad = 0
first_bad = nil
function response(status, headers, body)
  if status ~= 200 or #body ~= {expected_bytes} then
    bad = bad + 1
    if first_bad == nil then
      first_bad = status .. " (" .. #body .. " bytes): " .. string.sub(body, 1, 400)
    end
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("bad") or 0)
    local first = thread:get("first_bad")
    if first ~= nil then
      io.write("BENCH-FIRST-BAD ", (string.gsub(first, "\n", " ")), "\n")
    end
  end
  io.write("BENCH-BAD ", total, "\n")
end
"#,
        body = body.display(),
    );
    let path = dir.join(format!("{stem}.lua"));
    std::fs::write(&path, script).expect("write the wrk script");
    path
}

/// `wrk -t min(c, 2) -c C -d Ns --latency`, its output parsed; an error when any request
/// failed or wrk did.
async fn wrk(
    args: &Args,
    target: &Target,
    script: &Path,
    concurrency: usize,
    seconds: u32,
) -> Result<Load, String> {
    let mut command = std::process::Command::new(&args.wrk);
    command
        .arg("-t")
        .arg(concurrency.min(2).to_string())
        .arg("-c")
        .arg(concurrency.to_string())
        .arg("-d")
        .arg(format!("{seconds}s"))
        // wrk's default of 2 s would count slow answers at concurrency 64 as errors; they are
        // latency, and belong in the distribution.
        .arg("--timeout")
        .arg("60s")
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(&target.url)
        .stdin(Stdio::null());
    let meter = CpuMeter::start(&[target.pid], target.database.as_deref());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the wrk task")
        .map_err(|err| format!("cannot run wrk: {err}"))?;
    let cpu = meter.stop();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    parse_wrk(&stdout, concurrency, cpu)
}

fn parse_wrk(out: &str, concurrency: usize, cpu: CpuSplit) -> Result<Load, String> {
    let field = |prefix: &str| {
        out.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix).map(str::trim))
    };
    let mut problems = Vec::new();
    if let Some(non_2xx) = field("Non-2xx or 3xx responses:") {
        problems.push(format!("{non_2xx} non-2xx or 3xx responses"));
    }
    if let Some(errors) = field("Socket errors:") {
        problems.push(format!("socket errors: {errors}"));
    }
    match field("BENCH-BAD").map(str::parse::<u64>) {
        Some(Ok(0)) => {}
        Some(Ok(bad)) => problems.push(format!(
            "{bad} responses were not the checked answer; the first: {}",
            field("BENCH-FIRST-BAD").unwrap_or("?")
        )),
        _ => problems.push("the wrk script did not report its check".to_owned()),
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let unparsable = || format!("cannot read wrk's output:\n{out}");
    let per_second: f64 = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .ok_or_else(unparsable)?;
    let requests: u64 = out
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .ok_or_else(unparsable)?;
    let percentile = |p: &str| field(p).and_then(wrk_time_ms).ok_or_else(unparsable);
    Ok(Load {
        concurrency,
        requests,
        per_second,
        p50_ms: percentile("50%")?,
        p99_ms: percentile("99%")?,
        cpu,
    })
}

/// `812.00us`, `5.32ms`, `1.02s`, `1.50m` in milliseconds.
fn wrk_time_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    let factor = match unit.trim() {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    Some(value * factor)
}

fn check_warren_answer(body: &[u8]) -> Result<(), String> {
    let answer: Value = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    if answer.get("errors").is_some() {
        return Err(format!("errors in the answer: {}", answer["errors"]));
    }
    let teams = &answer["data"]["viewer"]["teams"];
    if teams["totalCount"] != VIEWER_TEAMS || teams["edges"].as_array().is_none_or(Vec::is_empty) {
        return Err(format!("not the viewer's dashboard: teams = {teams}"));
    }
    Ok(())
}

/// An events query's answer: events in the connection at `path` under `data` (a wrong team id
/// or filter would otherwise measure an empty answer, and a fast one).
fn check_events_answer(body: &[u8], path: &[&str]) -> Result<(), String> {
    let answer: Value = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    if answer.get("errors").is_some() {
        return Err(format!("errors in the answer: {}", answer["errors"]));
    }
    let events = path.iter().fold(&answer["data"], |value, key| &value[*key]);
    if events["totalCount"].as_i64().is_none_or(|n| n <= 0)
        || events["edges"].as_array().is_none_or(Vec::is_empty)
    {
        return Err(format!(
            "no events at data.{}: totalCount = {}",
            path.join("."),
            events["totalCount"]
        ));
    }
    Ok(())
}

fn check_peer_answer(body: &[u8]) -> Result<(), String> {
    let answer: Value = serde_json::from_slice(body).map_err(|err| format!("not JSON: {err}"))?;
    if answer.get("errors").is_some() {
        return Err(format!("errors in the answer: {}", answer["errors"]));
    }
    let teams = &answer["data"]["viewer"]["teamMembers"];
    if teams["totalCount"] != VIEWER_TEAMS {
        return Err(format!(
            "not the viewer's dashboard: teamMembers.totalCount = {}",
            teams["totalCount"]
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The peer

/// PostGraphile's `serve.js` as a child process, killed when dropped.
struct Peer {
    child: tokio::process::Child,
    pid: i32,
    url: String,
}

impl Peer {
    /// Starts `node serve.js` on a port of its own choosing and waits for its `listening on
    /// URL` line (printed once the schema is built and the port bound).
    async fn start(scratch: &Scratch) -> Peer {
        let log = scratch.dir.path().join("postgraphile.log");
        let log_file = std::fs::File::create(&log).expect("the peer's log file");
        let mut child = tokio::process::Command::new("node")
            .arg("serve.js")
            .arg("--database-url")
            .arg(&scratch.url)
            .arg("--port")
            .arg("0")
            .current_dir(peer_dir())
            .env("NODE_ENV", "production")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the peer's log file"))
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("start node serve.js (is node installed?)");
        let pid = child.id().expect("the peer's pid") as i32;
        let started = Instant::now();
        let url = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|line| line.trim().strip_prefix("listening on "))
            {
                break url.to_owned();
            }
            let exited = child.try_wait().ok().flatten();
            assert!(
                started.elapsed() < Duration::from_secs(120) && exited.is_none(),
                "PostGraphile did not start ({}); {}:\n{text}",
                exited.map_or_else(|| "timed out".to_owned(), |status| status.to_string()),
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        Peer { child, pid, url }
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

// ---------------------------------------------------------------------------------------------
// The write mix

/// One worker of the write mix: an UNLIMITED member of a team the viewer is not in, and a
/// developer outside every worker's team whom it invites.
struct Writer {
    team: String,
    creator_token: String,
    invitee_email: String,
    invitee_token: String,
}

/// Picks a team per worker (one the viewer is not in, each with an UNLIMITED member not
/// picked yet) and an invitee per worker, and makes WRITE tokens for them in-process.
async fn prepare_writers(db: &Db, workers: usize) -> Vec<Writer> {
    use entity::{person, team_member};
    let people = person::Entity::find()
        .order_by_asc(person::Column::Id)
        .all(&db.conn)
        .await
        .expect("read the people");
    let memberships = team_member::Entity::find()
        .order_by_asc(team_member::Column::TeamId)
        .order_by_asc(team_member::Column::PersonId)
        .all(&db.conn)
        .await
        .expect("read the memberships");
    let viewer = people
        .iter()
        .find(|p| p.email == VIEWER_EMAIL)
        .expect("the bench world has its viewer")
        .id;
    let mut members: HashMap<uuid::Uuid, Vec<&team_member::Model>> = HashMap::new();
    for membership in &memberships {
        members
            .entry(membership.team_id)
            .or_default()
            .push(membership);
    }
    let mut teams: Vec<uuid::Uuid> = members.keys().copied().collect();
    teams.sort_unstable();
    let mut picked: Vec<(uuid::Uuid, uuid::Uuid)> = Vec::new();
    for team in teams {
        if picked.len() == workers {
            break;
        }
        let team_members = &members[&team];
        if team_members.iter().any(|m| m.person_id == viewer) {
            continue;
        }
        if let Some(creator) = team_members.iter().find(|m| {
            m.role == TeamRole::Unlimited && picked.iter().all(|(_, p)| *p != m.person_id)
        }) {
            picked.push((team, creator.person_id));
        }
    }
    assert_eq!(
        picked.len(),
        workers,
        "the bench world has too few teams without the viewer for {workers} write workers"
    );
    let in_picked_team = |person: uuid::Uuid| {
        memberships
            .iter()
            .any(|m| m.person_id == person && picked.iter().any(|(t, _)| *t == m.team_id))
    };
    let invitees: Vec<&person::Model> = people
        .iter()
        .filter(|p| {
            p.id != viewer
                && p.account_type == AccountType::Developer
                && p.cancelled_at.is_none()
                && !in_picked_team(p.id)
        })
        .take(workers)
        .collect();
    assert_eq!(
        invitees.len(),
        workers,
        "the bench world has too few people outside the write mix's teams"
    );
    let token = |person: uuid::Uuid| async move {
        warren::rules::auth::create_token(
            &db.conn,
            person,
            "bench write mix",
            TokenScope::Write,
            None,
        )
        .await
        .map_err(|err| err.message())
        .expect("a WRITE token")
        .secret
    };
    let mut writers = Vec::new();
    for ((team, creator), invitee) in picked.into_iter().zip(invitees) {
        writers.push(Writer {
            team: global_id(NodeKind::Team, team).0,
            creator_token: token(creator).await,
            invitee_email: invitee.email.clone(),
            invitee_token: token(invitee.id).await,
        });
    }
    writers
}

/// The mutations of one round, in order, with the event each writes.
const MUTATIONS: [(&str, EventType); 6] = [
    ("createApp", EventType::AppCreated),
    ("inviteToTeam", EventType::MemberInvited),
    ("acceptInvitation", EventType::MemberJoined),
    ("subscribeToApp", EventType::DeveloperSubscribed),
    ("deleteApp", EventType::AppDeleted),
    ("leaveTeam", EventType::MemberLeft),
];

/// What the write mix did.
struct WriteMix {
    workers: usize,
    wall: Duration,
    /// Response times of the successful mutations, by name.
    latencies: HashMap<&'static str, Vec<Duration>>,
    /// How much each mutation's event type grew in the events table.
    events_grown: HashMap<&'static str, i64>,
    events_total_grown: i64,
    cpu: CpuSplit,
    failures: Vec<String>,
}

impl WriteMix {
    fn successes(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }
}

/// Results of the workers, shared while they run.
#[derive(Default)]
struct WriteLog {
    latencies: HashMap<&'static str, Vec<Duration>>,
    failures: Vec<String>,
}

async fn write_mix(
    args: &Args,
    server: &Server,
    scratch: &Scratch,
    database: Option<&str>,
    writers: Vec<Writer>,
) -> WriteMix {
    let conn = SeaDatabase::connect(&scratch.url)
        .await
        .expect("connect to count the events");
    let before = event_counts(&conn).await;
    let log = Arc::new(Mutex::new(WriteLog::default()));
    let deadline = Instant::now() + Duration::from_secs(u64::from(args.seconds));
    let client = reqwest::Client::new();
    let url = server.graphql_url();
    let workers = writers.len();
    let meter = CpuMeter::start(&[server.pid], database);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (w, writer) in writers.into_iter().enumerate() {
        let (client, url, log) = (client.clone(), url.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            let mut round = 0;
            // A round always completes, so that the next one (or the next run) starts from the
            // same state: the invitee outside the team and no app left over.
            while Instant::now() < deadline {
                round += 1;
                if let Err(problem) = write_round(&client, &url, &writer, w, round, &log).await {
                    if let Ok(mut log) = log.lock() {
                        log.failures.push(problem);
                    }
                    break;
                }
            }
        }));
    }
    for task in tasks {
        if let Err(err) = task.await
            && let Ok(mut log) = log.lock()
        {
            log.failures.push(format!("a write worker failed: {err}"));
        }
    }
    let wall = started.elapsed();
    let cpu = meter.stop();
    let after = event_counts(&conn).await;
    conn.close().await.expect("close the counting connection");

    let WriteLog {
        latencies,
        mut failures,
    } = std::mem::take(
        &mut *log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    let grown = |event_type: &str| {
        after.get(event_type).copied().unwrap_or(0) - before.get(event_type).copied().unwrap_or(0)
    };
    let mut events_grown = HashMap::new();
    for (mutation, event_type) in MUTATIONS {
        let done = latencies.get(mutation).map_or(0, Vec::len) as i64;
        let grew = grown(event_type.as_str().as_str());
        if grew < done {
            failures.push(format!(
                "{done} {mutation} succeeded but only {grew} {} events were written",
                event_type.as_str()
            ));
        }
        events_grown.insert(mutation, grew);
    }
    let events_total_grown = after.values().sum::<i64>() - before.values().sum::<i64>();
    let successes: usize = latencies.values().map(Vec::len).sum();
    if events_total_grown < successes as i64 {
        failures.push(format!(
            "{successes} mutations succeeded but the events table grew by {events_total_grown}"
        ));
    }
    WriteMix {
        workers,
        wall,
        latencies,
        events_grown,
        events_total_grown,
        cpu,
        failures,
    }
}

/// One round of a worker: a new app in its team, the invitee invited, joining and subscribing
/// to it, the app deleted and the invitee leaving again.
async fn write_round(
    client: &reqwest::Client,
    url: &str,
    writer: &Writer,
    worker: usize,
    round: u32,
    log: &Mutex<WriteLog>,
) -> Result<(), String> {
    let mutate = |token: &str, name: &'static str, input: Value, fields: &'static str| {
        let token = token.to_owned();
        async move {
            let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
            let query = format!(
                "mutation($input: {input_type}!) {{ {name}(input: $input) {{ {fields} }} }}"
            );
            let started = Instant::now();
            let response = client
                .post(url)
                .bearer_auth(&token)
                .json(&json!({ "query": query, "variables": { "input": input } }))
                .send()
                .await
                .map_err(|err| format!("{name}: {err}"))?;
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|err| format!("{name}: {err}"))?;
            let elapsed = started.elapsed();
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let payload = answer["data"][name].clone();
            if !status.is_success() || answer.get("errors").is_some() || payload.is_null() {
                return Err(format!("{name} answered {status}: {text}"));
            }
            if let Ok(mut log) = log.lock() {
                log.latencies.entry(name).or_default().push(elapsed);
            }
            Ok(payload)
        }
    };
    let creator = writer.creator_token.as_str();
    let invitee = writer.invitee_token.as_str();
    let created = mutate(
        creator,
        "createApp",
        json!({ "name": format!("bench-w{worker}-r{round}"), "teamId": writer.team }),
        "app { id }",
    )
    .await?;
    let app = created["app"]["id"].clone();
    let invited = mutate(
        creator,
        "inviteToTeam",
        json!({ "teamId": writer.team, "email": writer.invitee_email, "role": "UNLIMITED" }),
        "invitation { id }",
    )
    .await?;
    mutate(
        invitee,
        "acceptInvitation",
        json!({ "invitationId": invited["invitation"]["id"] }),
        "invitation { id }",
    )
    .await?;
    mutate(
        invitee,
        "subscribeToApp",
        json!({ "appId": app, "teamId": writer.team }),
        "app { id }",
    )
    .await?;
    mutate(
        creator,
        "deleteApp",
        json!({ "appId": app }),
        "deletedAppId",
    )
    .await?;
    mutate(
        invitee,
        "leaveTeam",
        json!({ "teamId": writer.team }),
        "leftTeamId",
    )
    .await?;
    Ok(())
}

/// Events by type.
async fn event_counts(conn: &DatabaseConnection) -> HashMap<String, i64> {
    use entity::event;
    event::Entity::find()
        .select_only()
        .column(event::Column::EventType)
        .column_as(event::Column::Id.count(), "n")
        .group_by(event::Column::EventType)
        .into_tuple::<(String, i64)>()
        .all(conn)
        .await
        .expect("count the events")
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The report

async fn print_report(args: &Args, runs: &[Run], took: Duration) {
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        );
    let mut databases = Vec::new();
    if runs.iter().any(|r| !r.postgres) {
        databases.push(sqlite_version().await);
    }
    if runs.iter().any(|r| r.postgres) {
        databases.push(postgres_version(&args.database_url).await);
    }
    println!();
    println!("# Dashboard query benchmark");
    println!();
    println!(
        "Commit {commit}; {}; {}; wrk, {} s per measurement after a {} s warm-up; {} s in all.",
        support::machine_description(),
        databases.join(", "),
        args.seconds,
        args.warmup,
        took.as_secs(),
    );
    for run in runs {
        println!("- {} scale {}: {}", run.backend, run.scale, run.world);
    }
    if args.traces {
        println!(
            "- traces on: the server sends every span over OTLP/HTTP to a receiver in the bench process that discards them"
        );
    }

    let lowest = args.lowest_concurrency();
    let dashboards: Vec<(&Run, &Measured)> = runs
        .iter()
        .filter_map(|run| run.dashboard.as_ref().map(|d| (run, d)))
        .collect();
    if !dashboards.is_empty() {
        println!();
        println!("## Dashboard over HTTP (warren)");
        println!();
        println!(
            "| backend | scale | concurrency | req/s | p50 | p99 | statements/request | response | p50 per KiB | server peak RSS | server CPU/request | database CPU/request | bench + wrk CPU | other CPU |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for &(run, dashboard) in &dashboards {
        let kib = dashboard.warren.response_bytes as f64 / 1024.0;
        for load in &dashboard.warren.loads {
            println!(
                "| {} | {} | {} | {:.1} | {} | {} | {} | {:.1} KiB | {:.3} ms | {:.1} MiB | {:.2} ms | {} | {:.2} cores | {:.2} cores |",
                run.backend,
                run.scale,
                load.concurrency,
                load.per_second,
                ms(load.p50_ms),
                ms(load.p99_ms),
                dashboard.in_process.statements,
                kib,
                load.p50_ms / kib,
                dashboard.warren.peak_rss_kib as f64 / 1024.0,
                per_request_ms(load.cpu.watched, load.requests),
                if run.postgres {
                    format!("{:.2} ms", per_request_ms(load.cpu.database, load.requests))
                } else {
                    "(in server)".to_owned()
                },
                load.cpu.bench.as_secs_f64() / load.cpu.wall.as_secs_f64().max(1e-9),
                load.cpu.other_cores(),
            );
        }
    }

    if !dashboards.is_empty() {
        println!();
        println!("## Floor: the request's own statements, back to back on one connection");
        println!();
        println!(
            "| backend | scale | statements | floor median (p10 to p90) | HTTP p50 at concurrency {lowest} | overhead = p50 / floor |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
    }
    for &(run, dashboard) in &dashboards {
        let at_lowest = dashboard.load_at(lowest);
        let floor_ms = dashboard.floor.median.as_secs_f64() * 1000.0;
        println!(
            "| {} | {} | {} | {:.3} ms ({:.3} to {:.3}), {} replays | {} | {} |",
            run.backend,
            run.scale,
            dashboard.in_process.statements,
            floor_ms,
            dashboard.floor.p10.as_secs_f64() * 1000.0,
            dashboard.floor.p90.as_secs_f64() * 1000.0,
            dashboard.floor.replays,
            at_lowest.map_or_else(|| "not measured".to_owned(), |l| ms(l.p50_ms)),
            at_lowest.map_or_else(
                || "-".to_owned(),
                |l| format!("**{:.2}**", l.p50_ms / floor_ms.max(1e-9))
            ),
        );
    }
    if !dashboards.is_empty() {
        println!();
        println!("Slowest statements of the floor (median of the replays):");
    }
    for &(run, dashboard) in &dashboards {
        println!();
        println!("{} scale {}:", run.backend, run.scale);
        println!();
        println!("| median | rows | statement |");
        println!("|---:|---:|---|");
        for (time, rows, sql) in dashboard.floor.statements.iter().take(6) {
            let sql: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let sql: String = sql.chars().take(110).collect();
            println!(
                "| {:.3} ms | {rows} | `{}…` |",
                time.as_secs_f64() * 1000.0,
                sql.replace('|', "\\|")
            );
        }
    }

    if runs.iter().any(|r| r.peer.is_some()) {
        println!();
        println!("## warren against PostGraphile (same PostgreSQL database)");
        println!();
        println!(
            "| scale | concurrency | warren req/s | PostGraphile req/s | warren / PostGraphile | warren p99 | PostGraphile p99 | warren p99 / PostGraphile p99 | warren p50 | PostGraphile p50 | PostGraphile server CPU/request | PostGraphile database CPU/request | other CPU (warren / PostGraphile) |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &(run, dashboard) in &dashboards {
            let Some(peer) = &run.peer else { continue };
            for load in &dashboard.warren.loads {
                let Some(other) = peer
                    .loads
                    .iter()
                    .find(|l| l.concurrency == load.concurrency)
                else {
                    continue;
                };
                println!(
                    "| {} | {} | {:.1} | {:.1} | **{:.2}** | {} | {} | **{:.2}** | {} | {} | {:.2} ms | {:.2} ms | {:.2} / {:.2} cores |",
                    run.scale,
                    load.concurrency,
                    load.per_second,
                    other.per_second,
                    load.per_second / other.per_second.max(1e-9),
                    ms(load.p99_ms),
                    ms(other.p99_ms),
                    load.p99_ms / other.p99_ms.max(1e-9),
                    ms(load.p50_ms),
                    ms(other.p50_ms),
                    per_request_ms(other.cpu.watched, other.requests),
                    per_request_ms(other.cpu.database, other.requests),
                    load.cpu.other_cores(),
                    other.cpu.other_cores(),
                );
            }
        }
        println!();
        println!(
            "| scale | warren response | PostGraphile response | warren peak RSS | PostGraphile peak RSS |"
        );
        println!("|---:|---:|---:|---:|---:|");
        for &(run, dashboard) in &dashboards {
            let Some(peer) = &run.peer else { continue };
            println!(
                "| {} | {:.1} KiB | {:.1} KiB | {:.1} MiB | {:.1} MiB |",
                run.scale,
                dashboard.warren.response_bytes as f64 / 1024.0,
                peer.response_bytes as f64 / 1024.0,
                dashboard.warren.peak_rss_kib as f64 / 1024.0,
                peer.peak_rss_kib as f64 / 1024.0,
            );
        }
    }

    if runs.iter().any(|r| !r.events.is_empty()) {
        println!();
        println!("## Events screen over HTTP (warren)");
        println!();
        println!(
            "| backend | scale | query | statements/request | response | p50 at concurrency {lowest} | p99 | floor median (p10 to p90) | p50 / floor |"
        );
        println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
        for run in runs {
            for events in &run.events {
                let load = events.load_at(lowest);
                let floor_ms = events.floor.median.as_secs_f64() * 1000.0;
                println!(
                    "| {} | {} | `{}` | {} | {:.1} KiB | {} | {} | {:.3} ms ({:.3} to {:.3}) | {} |",
                    run.backend,
                    run.scale,
                    events.name,
                    events.in_process.statements,
                    events.warren.response_bytes as f64 / 1024.0,
                    load.map_or_else(|| "not measured".to_owned(), |l| ms(l.p50_ms)),
                    load.map_or_else(|| "-".to_owned(), |l| ms(l.p99_ms)),
                    floor_ms,
                    events.floor.p10.as_secs_f64() * 1000.0,
                    events.floor.p90.as_secs_f64() * 1000.0,
                    load.map_or_else(
                        || "-".to_owned(),
                        |l| format!("**{:.2}**", l.p50_ms / floor_ms.max(1e-9))
                    ),
                );
            }
        }
    }

    let mut backends: Vec<&str> = runs.iter().map(|r| r.backend).collect();
    backends.dedup();
    if args.scales.iter().any(|&scale| scale != args.scales[0]) {
        println!();
        println!("## Scaling: smallest against largest scale");
        println!();
        println!(
            "| backend | query | scales | statements | response | p50 at concurrency {lowest} | p50 per KiB | floor | p50 / floor |"
        );
        println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
        for backend in &backends {
            let of: Vec<&Run> = runs.iter().filter(|r| r.backend == *backend).collect();
            let (Some(&small), Some(&large)) = (
                of.iter().min_by_key(|r| r.scale),
                of.iter().max_by_key(|r| r.scale),
            ) else {
                continue;
            };
            if small.scale == large.scale {
                continue;
            }
            for at_small in small.measured() {
                let Some(at_large) = large.measured().find(|m| m.name == at_small.name) else {
                    continue;
                };
                print_scaling_row(
                    backend,
                    (small.scale, large.scale),
                    at_small,
                    at_large,
                    lowest,
                );
            }
        }
    }

    if runs.iter().any(|r| r.writes.is_some()) {
        println!();
        println!("## Write mix");
        println!();
        println!(
            "| backend | scale | workers | mutations | mutations/s | events written | server CPU/mutation | database CPU/mutation | other CPU | all succeeded |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        for run in runs {
            let Some(mix) = &run.writes else { continue };
            let successes = mix.successes();
            println!(
                "| {} | {} | {} | {} | **{:.1}** | {} | {:.2} ms | {} | {:.2} cores | {} |",
                run.backend,
                run.scale,
                mix.workers,
                successes,
                successes as f64 / mix.wall.as_secs_f64().max(1e-9),
                mix.events_total_grown,
                per_request_ms(mix.cpu.watched, successes as u64),
                if run.postgres {
                    format!(
                        "{:.2} ms",
                        per_request_ms(mix.cpu.database, successes as u64)
                    )
                } else {
                    "(in server)".to_owned()
                },
                mix.cpu.other_cores(),
                if mix.failures.is_empty() {
                    "yes".to_owned()
                } else {
                    format!("**NO**: {}", mix.failures.len())
                },
            );
        }
        println!();
        print!("| backend | scale |");
        for (mutation, _) in MUTATIONS {
            print!(" {mutation} p50 / p99 (events) |");
        }
        println!();
        println!("|---|---:|{}", "---:|".repeat(MUTATIONS.len()));
        for run in runs {
            let Some(mix) = &run.writes else { continue };
            print!("| {} | {} |", run.backend, run.scale);
            for (mutation, _) in MUTATIONS {
                let summary =
                    Summary::of(mix.latencies.get(mutation).map_or(&[][..], Vec::as_slice));
                print!(
                    " {} / {} ({}) |",
                    ms(summary.p50),
                    ms(summary.p99),
                    mix.events_grown.get(mutation).copied().unwrap_or(0)
                );
            }
            println!();
        }
    }

    let others: Vec<f64> = runs
        .iter()
        .flat_map(|r| {
            r.measured()
                .flat_map(|m| &m.warren.loads)
                .chain(r.peer.iter().flat_map(|p| &p.loads))
                .map(|l| l.cpu.other_cores())
        })
        .collect();
    if let (Some(min), Some(max)) = (
        others.iter().copied().reduce(f64::min),
        others.iter().copied().reduce(f64::max),
    ) {
        println!();
        println!(
            "Other work on the machine during the measurements (CPU not used by the servers, \
             their PostgreSQL backends, the bench or wrk): {min:.2} to {max:.2} cores on average."
        );
    }

    for run in runs {
        let (count, first) = &run.server_complaints;
        if *count > 0 {
            println!();
            println!(
                "{} scale {}: the server logged {count} warnings or errors; the first:",
                run.backend, run.scale
            );
            for line in first {
                println!("    {line}");
            }
        }
        for failure in &run.failures {
            println!();
            println!("{} scale {}: FAILED: {failure}", run.backend, run.scale);
        }
    }
}

/// One query's row of the scaling table: `small` and `large` are its measurements at the
/// smallest and the largest scale. The request's own statements should not grow with the world,
/// and its latency should stay as close to its floor as at the small scale.
fn print_scaling_row(
    backend: &str,
    (small_scale, large_scale): (u32, u32),
    small: &Measured,
    large: &Measured,
    concurrency: usize,
) {
    let change = |a: f64, b: f64| format!("×{:.2}", b / a.max(1e-9));
    let kib = |m: &Measured| m.warren.response_bytes as f64 / 1024.0;
    let floor_ms = |m: &Measured| m.floor.median.as_secs_f64() * 1000.0;
    let p50 = |m: &Measured| m.load_at(concurrency).map(|l| l.p50_ms);
    let (p_small, p_large) = (p50(small), p50(large));
    println!(
        "| {backend} | `{}` | {small_scale} → {large_scale} | {} → {}{} | {:.1} → {:.1} KiB ({}) | {} | {} | {:.3} → {:.3} ms ({}) | {} |",
        small.name,
        small.in_process.statements,
        large.in_process.statements,
        if large.in_process.statements > small.in_process.statements {
            " **(grew)**"
        } else {
            ""
        },
        kib(small),
        kib(large),
        change(kib(small), kib(large)),
        match (p_small, p_large) {
            (Some(a), Some(b)) => format!("{} → {} ({})", ms(a), ms(b), change(a, b)),
            _ => "not measured".to_owned(),
        },
        match (p_small, p_large) {
            (Some(a), Some(b)) => format!(
                "{:.3} → {:.3} ms ({})",
                a / kib(small),
                b / kib(large),
                change(a / kib(small), b / kib(large))
            ),
            _ => "not measured".to_owned(),
        },
        floor_ms(small),
        floor_ms(large),
        change(floor_ms(small), floor_ms(large)),
        match (p_small, p_large) {
            (Some(a), Some(b)) => format!(
                "{:.2} → {:.2}",
                a / floor_ms(small).max(1e-9),
                b / floor_ms(large).max(1e-9)
            ),
            _ => "not measured".to_owned(),
        },
    );
}

/// Milliseconds, with precision where it matters.
fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2} ms")
    } else {
        format!("{value:.1} ms")
    }
}

fn per_request_ms(cpu: Duration, requests: u64) -> f64 {
    cpu.as_secs_f64() * 1000.0 / requests.max(1) as f64
}

/// The first column of the first row of `sql`, or "unknown".
async fn version_of(url: &str, backend: DbBackend, sql: &str) -> String {
    let Ok(conn) = SeaDatabase::connect(url).await else {
        return "unknown".to_owned();
    };
    let version = conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .ok()
        .flatten()
        .and_then(|row| row.try_get_by_index::<String>(0).ok());
    let _ = conn.close().await;
    version.map_or_else(
        || "unknown".to_owned(),
        |v| v.split_whitespace().next().unwrap_or(&v).to_owned(),
    )
}

async fn sqlite_version() -> String {
    format!(
        "SQLite {}",
        version_of(
            "sqlite::memory:",
            DbBackend::Sqlite,
            "SELECT sqlite_version()"
        )
        .await
    )
}

async fn postgres_version(url: &str) -> String {
    format!(
        "PostgreSQL {}",
        version_of(url, DbBackend::Postgres, "SHOW server_version").await
    )
}
