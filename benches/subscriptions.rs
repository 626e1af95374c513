//! The live-feed benchmark: N concurrent `Subscription.events` subscribers, each on its own
//! WebSocket connection and as its own person, against a release `warren serve` process.
//!
//! ```sh
//! cargo bench --bench subscriptions -- --subscribers 1000,10000 --rate 100 --seconds 10
//! ```
//!
//! For each subscriber count it seeds a fresh database (SQLite in a temporary directory, and
//! PostgreSQL too with `--database-url`), starts the server as a child process and measures:
//! - memory: the server's VmRSS before any connection and with every subscription idle;
//! - a fixed-rate phase (`--rate` events/s for `--seconds`) and a burst phase (`--burst` events
//!   as fast as `--burst-writers` writers manage): for every (event, subscriber) delivery the
//!   latency from the event's `occurred_at` (taken inside the writing transaction, so it
//!   includes the commit) to the instant the subscriber's task read the message, on the same
//!   machine clock; and whether every subscriber got every event exactly once;
//! - the SQL statements the server runs per event with 1 and with `--statement-check`
//!   subscribers, from its `warren::sql` trace log.
//!
//! The server is the `warren` binary that `cargo bench` builds beside the bench, with the same
//! optimised profile (Cargo builds a package's binaries for its benches and tells them where in
//! `CARGO_BIN_EXE_warren`), or another one given with `--server`. Nothing is written outside
//! the temporary directory; a PostgreSQL database `warren_bench_*` is dropped at the end of its
//! run.
//!
//! The client shares the machine's cores with the server, so the numbers are an upper bound
//! on what the server alone would cost: each subscriber task only looks for `"sequence":` in
//! the text it receives and notes the time; everything else is worked out afterwards.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use entity::enums::{AccountType, PaymentType, TeamRole, TokenScope};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{
    ColumnTrait, Database as SeaDatabase, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::json;
use support::{Backend, Scratch, Server, cpu_time, machine_cpu, status_kib};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use warren::api::cursor::{self, List};
use warren::api::relay::{NodeKind, global_id};
use warren::seed::world::{Clock, World};
use warren::store::db::Db;
use warren::store::page::CursorKey;

#[derive(Debug, Parser)]
#[command(
    name = "subscriptions",
    about = "Live-feed benchmark: memory per subscription and delivery latency"
)]
struct Args {
    /// Subscriber counts to measure; each gets a fresh database and server.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    subscribers: Vec<usize>,
    /// Events per second in the fixed-rate phase.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// Length of the fixed-rate phase in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Events written as fast as possible in the burst phase; 0 skips it.
    #[arg(long, default_value_t = 200)]
    burst: u32,
    /// Concurrent writers in the burst phase.
    #[arg(long, default_value_t = 4)]
    burst_writers: usize,
    /// WebSocket connections being opened at once (the server's accept queue is 1,024 long).
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Also measure on PostgreSQL: a URL whose user may create databases. Each run creates a
    /// database `warren_bench_<uuid>` there and drops it afterwards.
    #[arg(long)]
    database_url: Option<String>,
    /// Subscribers of the second statement-count run (the first has one); 0 skips both.
    #[arg(long, default_value_t = 100)]
    statement_check: usize,
    /// What every subscriber selects on `events`; must include `sequence`.
    #[arg(long, default_value = "sequence cursor type occurredAt summary")]
    selection: String,
    /// The server binary to run instead of the one `cargo bench` built.
    #[arg(long)]
    server: Option<PathBuf>,
    /// Seconds without any new delivery after which waiting for the missing ones gives up.
    #[arg(long, default_value_t = 20)]
    stall_timeout: u64,
    /// `cargo bench` passes it to every bench binary.
    #[arg(long, hide = true)]
    bench: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    assert!(
        args.selection.split_whitespace().any(|f| f == "sequence"),
        "--selection must include `sequence`: deliveries are told apart by it"
    );
    let descriptors = raise_descriptor_limit();
    let largest = args.subscribers.iter().copied().max().unwrap_or(0);
    if largest as u64 + 200 > descriptors {
        eprintln!(
            "{largest} subscribers need more open files than the limit of {descriptors} \
             (`ulimit -Hn`); the bench and the server each hold one per connection"
        );
        return ExitCode::FAILURE;
    }
    let server = args
        .server
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_warren")));
    let mut backends = vec![Backend::Sqlite];
    if let Some(url) = &args.database_url {
        backends.push(Backend::Postgres(url.clone()));
    }

    let mut runs = Vec::new();
    let mut statements = Vec::new();
    for backend in &backends {
        for &subscribers in &args.subscribers {
            eprintln!("== {} with {subscribers} subscribers", backend.name());
            runs.push(run(&args, &server, backend, subscribers).await);
        }
        if args.statement_check > 0 {
            for subscribers in [1, args.statement_check] {
                eprintln!(
                    "== {}: statements with {subscribers} subscriber(s)",
                    backend.name()
                );
                statements.push(count_statements(&args, &server, backend, subscribers).await);
            }
        }
    }

    print_report(&args, &runs, &statements);
    let failures: Vec<String> = runs.iter().flat_map(Run::failures).collect();
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!();
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! THE RUN FAILED: not every subscriber got every event exactly once");
        for failure in &failures {
            eprintln!("!!! {failure}");
        }
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        ExitCode::FAILURE
    }
}

/// Lifts the soft limit on open files to the hard one: 10,000 connections need 10,000
/// descriptors in this process and as many in the server, which inherits the limit.
fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit/setrlimit to read and write.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            eprintln!(
                "cannot raise the open-file limit: {}",
                std::io::Error::last_os_error()
            );
        }
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
    }
    limit.rlim_cur
}

// ---------------------------------------------------------------------------------------------
// The database and its world

/// Who is in the seeded world.
struct Seeded {
    /// The team every subscriber belongs to (a global id).
    team: String,
    /// The UNLIMITED member who renames the team; not a subscriber.
    lead_token: String,
    /// One WRITE token per subscriber, each a person of its own.
    tokens: Vec<String>,
}

/// One team, "Platform", with a lead and `subscribers` members (every tenth UNLIMITED, the
/// rest LIMITED), ten apps billed to the team's payment method, the lead connected to each
/// app and its technical contact. The events fired are TEAM_RENAMED: a COLLABORATION event
/// whose only subject is the team, so every member sees it whatever its role, and which does
/// not change anyone's access (no subscriber reloads its reach). Written straight into the
/// tables in one transaction, as the seeds and tests do.
async fn seed(url: &str, subscribers: usize) -> Seeded {
    let db = Db::connect_and_migrate(url)
        .await
        .expect("migrate the bench database");
    let txn = db.conn.begin().await.expect("begin the seed transaction");
    let mut world = World::new(&txn, Clock::now());
    let lead = world
        .person("Lead", "lead@bench.example", AccountType::Developer)
        .await
        .expect("lead");
    let team = world.team("Platform").await.expect("team");
    world
        .member(team, lead, TeamRole::Unlimited)
        .await
        .expect("lead membership");
    let billing = world
        .payment_method("Platform", PaymentType::Invoice, "billing@bench.example")
        .await
        .expect("payment method");
    world.bill_team(billing, team).await.expect("team billing");
    for i in 0..10 {
        let app = world
            .app(&format!("service-{i}"), Some(billing))
            .await
            .expect("app");
        world.team_app(team, app).await.expect("team app");
        world
            .connect(lead, app, Some(team))
            .await
            .expect("developer connection");
        world.contact(app, lead).await.expect("technical contact");
    }
    let lead_token = world
        .token(lead, TokenScope::Write)
        .await
        .map_err(|err| err.message())
        .expect("lead token");
    let mut tokens = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let person = world
            .person(
                &format!("Developer {i}"),
                &format!("dev{i}@bench.example"),
                AccountType::Developer,
            )
            .await
            .expect("subscriber");
        let role = if i % 10 == 0 {
            TeamRole::Unlimited
        } else {
            TeamRole::Limited
        };
        world.member(team, person, role).await.expect("membership");
        tokens.push(
            world
                .token(person, TokenScope::Write)
                .await
                .map_err(|err| err.message())
                .expect("subscriber token"),
        );
    }
    txn.commit().await.expect("commit the seed");
    db.conn.close().await.expect("close the seeding connection");
    Seeded {
        team: global_id(NodeKind::Team, team).0,
        lead_token,
        tokens,
    }
}

/// `(sequence, occurred_at in µs since the Unix epoch)` of every event after `after`.
async fn events_after(url: &str, after: i64) -> Vec<(i64, i64)> {
    let conn = SeaDatabase::connect(url)
        .await
        .expect("connect to read the events");
    let events = entity::event::Entity::find()
        .filter(entity::event::Column::Sequence.gt(after))
        .order_by_asc(entity::event::Column::Sequence)
        .all(&conn)
        .await
        .expect("read the events");
    conn.close().await.expect("close the reading connection");
    events
        .into_iter()
        .map(|e| (e.sequence, e.occurred_at.timestamp_micros()))
        .collect()
}

async fn newest_sequence(url: &str) -> i64 {
    events_after(url, 0).await.last().map_or(0, |e| e.0)
}

// ---------------------------------------------------------------------------------------------
// Subscribers

/// Progress every subscriber task reports, read by the coordinator.
#[derive(Default)]
struct Progress {
    subscribed: AtomicUsize,
    failed: AtomicUsize,
    delivered: AtomicU64,
    /// Subscriptions cut off for falling too far behind (CONFLICT) and subscribed again
    /// after the cursor the error named, as a client does.
    resumed: AtomicU64,
    /// Messages that were not an event: GraphQL errors, `complete`, close frames.
    other: AtomicU64,
    first_problem: Mutex<Option<String>>,
}

impl Progress {
    fn problem(&self, what: String) {
        if let Ok(mut first) = self.first_problem.lock() {
            first.get_or_insert(what);
        }
    }
}

/// What one subscriber received: `(sequence, µs since the Unix epoch when read)`.
type Received = Vec<(i64, i64)>;

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Opens one connection (while holding a permit of `gate`), authenticates, subscribes, and
/// records every event until `stop` says so.
async fn subscriber(
    addr: SocketAddr,
    token: String,
    query: Arc<str>,
    start_after: Arc<str>,
    gate: Arc<Semaphore>,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
) -> Received {
    let permit = gate.acquire_owned().await.expect("the gate stays open");
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    // A small read buffer: tungstenite's default of 128 KiB per connection would make the
    // client alone hold over a gigabyte at 10,000 connections.
    let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
    let mut socket =
        match tokio_tungstenite::connect_async_with_config(request, Some(config), true).await {
            Ok((socket, _)) => socket,
            Err(err) => {
                progress.failed.fetch_add(1, Ordering::Relaxed);
                progress.problem(format!("connecting: {err}"));
                return Vec::new();
            }
        };
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    let acknowledged = async {
        socket.send(Message::Text(init.to_string().into())).await?;
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message? {
                return Ok(text.as_str().contains("\"connection_ack\""));
            }
        }
        Ok::<bool, tokio_tungstenite::tungstenite::Error>(false)
    }
    .await;
    match acknowledged {
        Ok(true) => {}
        outcome => {
            progress.failed.fetch_add(1, Ordering::Relaxed);
            progress.problem(format!("connection_init not acknowledged: {outcome:?}"));
            return Vec::new();
        }
    }
    let mut id = 1;
    if let Err(err) = socket.send(subscribe(id, &query, &start_after)).await {
        progress.failed.fetch_add(1, Ordering::Relaxed);
        progress.problem(format!("subscribing: {err}"));
        return Vec::new();
    }
    progress.subscribed.fetch_add(1, Ordering::Relaxed);
    drop(permit);

    let mut received = Received::new();
    // The cursor a CONFLICT named, to subscribe again after once the server completed.
    let mut resume_after: Option<String> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let at = now_micros();
                    let text = text.as_str();
                    match sequence_of_next(text) {
                        Some(sequence) => {
                            received.push((sequence, at));
                            progress.delivered.fetch_add(1, Ordering::Relaxed);
                        }
                        None if resume_after.is_none() && conflict_cursor(text).is_some() => {
                            resume_after = conflict_cursor(text);
                        }
                        None if resume_after.is_some() && completes(text, id) => {
                            let after = resume_after.take().unwrap_or_default();
                            id += 1;
                            if let Err(err) = socket.send(subscribe(id, &query, &after)).await {
                                progress.other.fetch_add(1, Ordering::Relaxed);
                                progress.problem(format!("subscribing again: {err}"));
                                break;
                            }
                            progress.resumed.fetch_add(1, Ordering::Relaxed);
                        }
                        None => {
                            progress.other.fetch_add(1, Ordering::Relaxed);
                            progress.problem(format!("unexpected message: {text}"));
                        }
                    }
                }
                // Pings are answered by tungstenite itself.
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    progress.other.fetch_add(1, Ordering::Relaxed);
                    progress.problem(format!("connection failed: {err}"));
                    break;
                }
                None => {
                    progress.other.fetch_add(1, Ordering::Relaxed);
                    progress.problem("the server closed a connection".to_owned());
                    break;
                }
            }
        }
    }
    received
}

/// A `subscribe` message of the bench's subscription.
fn subscribe(id: u32, query: &str, after: &str) -> Message {
    let message = json!({
        "id": id.to_string(),
        "type": "subscribe",
        "payload": { "query": query, "variables": { "after": after } },
    });
    Message::Text(message.to_string().into())
}

/// Whether `text` is the server's `complete` of subscription `id`.
fn completes(text: &str, id: u32) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|message| {
        message["type"] == "complete" && message["id"] == id.to_string().as_str()
    })
}

/// The cursor to resume after that a CONFLICT error names ("... subscribe again with after:
/// \"<cursor>\""), when `text` is a `next` message carrying one.
fn conflict_cursor(text: &str) -> Option<String> {
    let message: serde_json::Value = serde_json::from_str(text).ok()?;
    let error = message.pointer("/payload/errors/0")?;
    if error.pointer("/extensions/code")?.as_str()? != "CONFLICT" {
        return None;
    }
    let (_, rest) = error.get("message")?.as_str()?.split_once("after: \"")?;
    rest.split_once('"').map(|(cursor, _)| cursor.to_owned())
}

/// The `sequence` of a `next` message carrying an event, found without parsing the JSON:
/// the server writes `{"type":"next",...}` and the selection has one integer `sequence`.
fn sequence_of_next(text: &str) -> Option<i64> {
    if !text.starts_with(r#"{"type":"next""#) || text.contains(r#""errors":"#) {
        return None;
    }
    let (_, rest) = text.split_once(r#""sequence":"#)?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .map_or(rest, |end| &rest[..end]);
    digits.parse().ok()
}

/// Waits until `delivered` reaches `target`, giving up after `stall` without any progress.
/// Returns whether it got there.
async fn wait_for_deliveries(progress: &Progress, target: u64, stall: Duration) -> bool {
    let mut last = progress.delivered.load(Ordering::Relaxed);
    let mut last_change = Instant::now();
    loop {
        let now = progress.delivered.load(Ordering::Relaxed);
        if now >= target {
            return true;
        }
        if now != last {
            last = now;
            last_change = Instant::now();
        } else if last_change.elapsed() > stall {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Writers

struct Writer {
    client: reqwest::Client,
    url: String,
    token: String,
    team: String,
    next: AtomicU64,
}

/// What writing a phase's events gave.
#[derive(Default)]
struct Written {
    /// Mutations that failed (each is a missing event, reported).
    failed: usize,
    /// HTTP response time of each successful mutation.
    responses: Vec<Duration>,
    first_error: Option<String>,
}

impl Writer {
    fn new(server: &Server, seeded: &Seeded) -> Writer {
        Writer {
            client: reqwest::Client::new(),
            url: format!("http://{}/graphql", server.addr),
            token: seeded.lead_token.clone(),
            team: seeded.team.clone(),
            next: AtomicU64::new(0),
        }
    }

    /// One `renameTeam`, which writes one TEAM_RENAMED event.
    async fn rename(&self) -> Result<Duration, String> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "query": "mutation($input: RenameTeamInput!) { renameTeam(input: $input) { clientMutationId } }",
            "variables": { "input": { "teamId": self.team, "name": format!("Platform {n}") } },
        });
        let started = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|err| err.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|err| err.to_string())?;
        let elapsed = started.elapsed();
        if !status.is_success() || text.contains(r#""errors""#) {
            return Err(format!("renameTeam answered {status}: {text}"));
        }
        Ok(elapsed)
    }

    /// `rate` mutations a second for `seconds`, each started on schedule whether or not the
    /// ones before it have answered (a slow server does not lower the offered rate).
    async fn at_rate(self: &Arc<Self>, rate: u32, seconds: u32) -> Written {
        let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut pending = Vec::new();
        for _ in 0..rate * seconds {
            ticker.tick().await;
            let writer = self.clone();
            pending.push(tokio::spawn(async move { writer.rename().await }));
        }
        let mut written = Written::default();
        for outcome in futures_util::future::join_all(pending).await {
            written.record(outcome.unwrap_or_else(|err| Err(err.to_string())));
        }
        written
    }

    /// `count` mutations by `writers` concurrent writers, each sending its next one as soon as
    /// the previous answered.
    async fn burst(self: &Arc<Self>, count: u32, writers: usize) -> Written {
        let left = Arc::new(AtomicUsize::new(count as usize));
        let mut tasks = Vec::new();
        for _ in 0..writers.max(1) {
            let writer = self.clone();
            let left = left.clone();
            tasks.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    outcomes.push(writer.rename().await);
                }
                outcomes
            }));
        }
        let mut written = Written::default();
        for outcomes in futures_util::future::join_all(tasks).await {
            for outcome in outcomes.unwrap_or_else(|err| vec![Err(err.to_string())]) {
                written.record(outcome);
            }
        }
        written
    }
}

impl Written {
    fn record(&mut self, outcome: Result<Duration, String>) {
        match outcome {
            Ok(elapsed) => self.responses.push(elapsed),
            Err(err) => {
                self.failed += 1;
                self.first_error.get_or_insert(err);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One run

/// A phase of events and what became of them.
struct Phase {
    name: &'static str,
    /// Events are those with a sequence in `(after, upto]`.
    after: i64,
    upto: i64,
    /// Micros since the epoch when the first mutation was sent.
    started: i64,
    written: Written,
    /// How long the mutations took to send, start to last answer.
    writing: Duration,
    /// Whether every expected delivery arrived before giving up.
    drained: bool,
    server_cpu: Duration,
    client_cpu: Duration,
    /// CPU time of everything else on the machine meanwhile.
    other_cpu: Duration,
    /// Wall time from the first mutation sent to the end of waiting for deliveries.
    wall: Duration,
    /// Subscriptions cut off for falling behind and resumed with `after`.
    resumed: u64,
    /// Filled in by the analysis.
    result: Option<Delivery>,
}

/// Deliveries of one phase.
#[derive(Default)]
struct Delivery {
    events: usize,
    expected: u64,
    delivered: u64,
    latencies: Summary,
    /// Deliveries per second from the first mutation sent to the last delivery.
    per_second: f64,
    /// Events per second until every subscriber had every event of the phase.
    events_per_second: f64,
    /// Subscribers that missed at least one event, and how many deliveries are missing.
    incomplete: usize,
    missing: u64,
    duplicates: u64,
    out_of_order: usize,
}

#[derive(Default, Clone, Copy)]
struct Summary {
    p50: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

impl Summary {
    /// Percentiles of latencies in µs, in ms.
    fn of(latencies: &mut [i64]) -> Summary {
        if latencies.is_empty() {
            return Summary::default();
        }
        latencies.sort_unstable();
        let at = |q: f64| {
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i] as f64 / 1000.0
        };
        Summary {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: latencies[latencies.len() - 1] as f64 / 1000.0,
        }
    }
}

struct Run {
    backend: &'static str,
    subscribers: usize,
    subscribed: usize,
    failed: usize,
    connect_time: Duration,
    warmup_time: Duration,
    rss_before: u64,
    rss_idle: u64,
    rss_anon_before: u64,
    rss_anon_idle: u64,
    rss_after: u64,
    client_rss_idle: u64,
    phases: Vec<Phase>,
    other_messages: u64,
    first_problem: Option<String>,
    /// Warnings and errors in the server's log, and the first of them.
    server_complaints: (usize, Vec<String>),
}

impl Run {
    fn per_idle_subscription_kib(&self) -> f64 {
        (self.rss_idle as f64 - self.rss_before as f64) / self.subscribers.max(1) as f64
    }

    fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let label = format!("{} / {} subscribers", self.backend, self.subscribers);
        if self.failed > 0 || self.subscribed < self.subscribers {
            failures.push(format!(
                "{label}: only {} of {} subscriptions were opened ({} failed)",
                self.subscribed, self.subscribers, self.failed
            ));
        }
        for phase in &self.phases {
            if phase.written.failed > 0 {
                failures.push(format!(
                    "{label}, {}: {} mutations failed, e.g. {}",
                    phase.name,
                    phase.written.failed,
                    phase.written.first_error.as_deref().unwrap_or("?")
                ));
            }
            if let Some(d) = &phase.result
                && (d.incomplete > 0 || d.duplicates > 0 || d.out_of_order > 0)
            {
                failures.push(format!(
                    "{label}, {}: {} subscribers missed events ({} deliveries of {} missing), \
                     {} duplicates, {} subscribers out of order",
                    phase.name, d.incomplete, d.missing, d.expected, d.duplicates, d.out_of_order
                ));
            }
        }
        if self.other_messages > 0 {
            failures.push(format!(
                "{label}: {} messages that were not events, the first: {}",
                self.other_messages,
                self.first_problem.as_deref().unwrap_or("?")
            ));
        }
        failures
    }
}

async fn run(args: &Args, binary: &Path, backend: &Backend, subscribers: usize) -> Run {
    let scratch = Scratch::create(backend).await;
    eprintln!("   seeding {subscribers} people with tokens");
    let seeded = seed(&scratch.url, subscribers).await;
    let server = Server::start(binary, &scratch, false).await;
    let writer = Arc::new(Writer::new(&server, &seeded));
    // One mutation and its event before measuring, so that the baseline includes a warmed-up
    // schema, pools and feed; the subscriptions start after it.
    writer.rename().await.expect("a first mutation");
    let start_after = newest_sequence(&scratch.url).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = server.rss_kib();
    let rss_anon_before = status_kib(server.pid, "RssAnon:");

    // Subscribing from a cursor makes the warm-up event reach everyone whether their
    // subscription went live before or after it committed (the replay covers the rest).
    let connecting = Instant::now();
    let Subscribers {
        progress,
        stop,
        tasks,
    } = open_subscriptions(args, &server, &seeded, start_after).await;
    let connect_time = connecting.elapsed();
    let subscribed = progress.subscribed.load(Ordering::Relaxed);
    let failed = progress.failed.load(Ordering::Relaxed);
    eprintln!(
        "   {subscribed} subscribed ({failed} failed) in {:.1} s",
        connect_time.as_secs_f64()
    );

    // Every subscription is live once it has delivered the warm-up event.
    let warming = Instant::now();
    writer.rename().await.expect("the warm-up mutation");
    let warm = wait_for_deliveries(
        &progress,
        subscribed as u64,
        Duration::from_secs(args.stall_timeout),
    )
    .await;
    let warmup_time = warming.elapsed();
    eprintln!(
        "   warm-up event delivered to {} of {subscribed}{} in {:.2} s",
        progress.delivered.load(Ordering::Relaxed),
        if warm { "" } else { " (gave up waiting)" },
        warmup_time.as_secs_f64()
    );
    // Let the connections settle (buffers of the connecting phase freed) before reading RSS.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = server.rss_kib();
    let rss_anon_idle = status_kib(server.pid, "RssAnon:");
    let client_rss_idle = status_kib(std::process::id() as i32, "VmRSS:");
    eprintln!(
        "   server RSS {rss_before} KiB before, {rss_idle} KiB with {subscribed} idle subscriptions"
    );

    let mut phases = Vec::new();
    let stall = Duration::from_secs(args.stall_timeout);
    if args.rate > 0 && args.seconds > 0 {
        eprintln!(
            "   rate phase: {} events/s for {} s",
            args.rate, args.seconds
        );
        let phase = run_phase(
            "rate",
            &scratch.url,
            &server,
            &progress,
            stall,
            subscribed,
            {
                let writer = writer.clone();
                let (rate, seconds) = (args.rate, args.seconds);
                async move { writer.at_rate(rate, seconds).await }
            },
        )
        .await;
        phases.push(phase);
    }
    if args.burst > 0 {
        eprintln!(
            "   burst phase: {} events by {} writers",
            args.burst, args.burst_writers
        );
        let phase = run_phase(
            "burst",
            &scratch.url,
            &server,
            &progress,
            stall,
            subscribed,
            {
                let writer = writer.clone();
                let (count, writers) = (args.burst, args.burst_writers);
                async move { writer.burst(count, writers).await }
            },
        )
        .await;
        phases.push(phase);
    }
    let rss_after = server.rss_kib();

    let _ = stop.send(true);
    let mut received = Vec::with_capacity(subscribers);
    for task in tasks {
        received.push(task.await.unwrap_or_default());
    }
    let server_complaints = server.complaints();
    server.stop().await;
    if !phases.is_empty() {
        let events = events_after(&scratch.url, start_after + 1).await;
        for phase in &mut phases {
            phase.result = Some(analyse(phase, &events, &received, subscribed));
        }
    }
    scratch.remove().await;
    let first_problem = progress.first_problem.lock().ok().and_then(|p| p.clone());
    Run {
        backend: backend.name(),
        subscribers,
        subscribed,
        failed,
        connect_time,
        warmup_time,
        rss_before,
        rss_idle,
        rss_anon_before,
        rss_anon_idle,
        rss_after,
        client_rss_idle,
        phases,
        other_messages: progress.other.load(Ordering::Relaxed),
        first_problem,
        server_complaints,
    }
}

/// Writes a phase's events with `write` and waits until every subscriber has them all (or
/// nothing more arrives for `stall`).
async fn run_phase(
    name: &'static str,
    url: &str,
    server: &Server,
    progress: &Progress,
    stall: Duration,
    subscribed: usize,
    write: impl Future<Output = Written>,
) -> Phase {
    let after = newest_sequence(url).await;
    let delivered_before = progress.delivered.load(Ordering::Relaxed);
    let resumed_before = progress.resumed.load(Ordering::Relaxed);
    let server_cpu = server.cpu();
    let client_cpu = cpu_time(std::process::id() as i32);
    let machine = machine_cpu();
    let started = now_micros();
    let writing = Instant::now();
    let written = write.await;
    let written_in = writing.elapsed();
    let upto = newest_sequence(url).await;
    let expected = (upto - after) as u64 * subscribed as u64;
    let drained = wait_for_deliveries(progress, delivered_before + expected, stall).await;
    let wall = writing.elapsed();
    let server_cpu = server.cpu().saturating_sub(server_cpu);
    let client_cpu = cpu_time(std::process::id() as i32).saturating_sub(client_cpu);
    let other_cpu = machine_cpu()
        .saturating_sub(machine)
        .saturating_sub(server_cpu + client_cpu);
    eprintln!(
        "   {} events written in {:.1} s; {} of {expected} deliveries{}",
        upto - after,
        written_in.as_secs_f64(),
        progress.delivered.load(Ordering::Relaxed) - delivered_before,
        if drained { "" } else { " (gave up waiting)" },
    );
    Phase {
        name,
        after,
        upto,
        started,
        written,
        writing: written_in,
        drained,
        server_cpu,
        client_cpu,
        other_cpu,
        wall,
        resumed: progress.resumed.load(Ordering::Relaxed) - resumed_before,
        result: None,
    }
}

/// Latencies and exactly-once accounting of one phase from what every subscriber recorded.
fn analyse(
    phase: &Phase,
    events: &[(i64, i64)],
    received: &[Received],
    subscribed: usize,
) -> Delivery {
    let phase_events: Vec<(i64, i64)> = events
        .iter()
        .copied()
        .filter(|(sequence, _)| *sequence > phase.after && *sequence <= phase.upto)
        .collect();
    let expected: Vec<i64> = phase_events.iter().map(|e| e.0).collect();
    let first = expected.first().copied().unwrap_or(0);
    let occurred: Vec<i64> = phase_events.iter().map(|e| e.1).collect();
    let mut latencies = Vec::with_capacity(expected.len() * subscribed);
    let mut delivery = Delivery {
        events: expected.len(),
        expected: (expected.len() * subscribed) as u64,
        ..Delivery::default()
    };
    let mut last_receipt = phase.started;
    // When each event had reached every subscriber.
    let mut everywhere = vec![i64::MIN; expected.len()];
    for mine in received.iter().filter(|r| !r.is_empty()) {
        let got: Vec<(i64, i64)> = mine
            .iter()
            .copied()
            .filter(|(sequence, _)| *sequence > phase.after && *sequence <= phase.upto)
            .collect();
        for &(sequence, at) in &got {
            // Sequences of one phase are contiguous: each mutation writes exactly one event.
            let i = (sequence - first) as usize;
            if let Some(&when) = occurred.get(i) {
                latencies.push(at - when);
                everywhere[i] = everywhere[i].max(at);
            }
            last_receipt = last_receipt.max(at);
        }
        delivery.delivered += got.len() as u64;
        let sequences: Vec<i64> = got.iter().map(|g| g.0).collect();
        if sequences != expected {
            let distinct: HashSet<i64> = sequences.iter().copied().collect();
            let missing = expected.iter().filter(|s| !distinct.contains(s)).count();
            if missing > 0 {
                delivery.incomplete += 1;
                delivery.missing += missing as u64;
            }
            delivery.duplicates += (sequences.len() - distinct.len()) as u64;
            if sequences.windows(2).any(|w| w[0] >= w[1]) {
                delivery.out_of_order += 1;
            }
        }
    }
    // Subscribers that never opened got nothing at all.
    let silent = subscribed.saturating_sub(received.iter().filter(|r| !r.is_empty()).count());
    delivery.incomplete += silent;
    delivery.missing += (silent * expected.len()) as u64;
    delivery.latencies = Summary::of(&mut latencies);
    let span = (last_receipt - phase.started).max(1) as f64 / 1e6;
    delivery.per_second = delivery.delivered as f64 / span;
    let all_done = everywhere.iter().copied().max().unwrap_or(phase.started);
    delivery.events_per_second =
        expected.len() as f64 / ((all_done - phase.started).max(1) as f64 / 1e6);
    delivery
}

// ---------------------------------------------------------------------------------------------
// Statements per event

struct StatementCount {
    backend: &'static str,
    subscribers: usize,
    events: i64,
    /// Every statement the server ran while the events were written and delivered.
    statements: usize,
    /// Of those, the feed's reads of new events (`SELECT ... FROM "event" WHERE sequence > ?`).
    feed_reads: usize,
    /// The feed's reads of the subjects of a non-empty batch: one per batch handed out.
    batches: usize,
    seconds: f64,
}

/// Every seeded person's subscription, running.
struct Subscribers {
    progress: Arc<Progress>,
    /// Tells every subscriber task to hang up.
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Received>>,
}

/// Opens one subscription per seeded person, `--connect-concurrency` at a time, each from
/// `start_after`, and waits until each is subscribed or has failed.
async fn open_subscriptions(
    args: &Args,
    server: &Server,
    seeded: &Seeded,
    start_after: i64,
) -> Subscribers {
    let query = format!(
        "subscription($after: String) {{ events(after: $after) {{ {} }} }}",
        args.selection
    );
    let query: Arc<str> = query.into();
    let start_after: Arc<str> = cursor::encode(
        cursor::lists::Events::NAME,
        CursorKey::Sequence(start_after),
    )
    .into();
    let progress = Arc::new(Progress::default());
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let (stop, stopped) = watch::channel(false);
    let tasks: Vec<_> = seeded
        .tokens
        .iter()
        .map(|token| {
            tokio::spawn(subscriber(
                server.addr,
                token.clone(),
                query.clone(),
                start_after.clone(),
                gate.clone(),
                progress.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    while progress.subscribed.load(Ordering::Relaxed) + progress.failed.load(Ordering::Relaxed)
        < seeded.tokens.len()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Subscribers {
        progress,
        stop,
        tasks,
    }
}

/// Runs `subscribers` live subscriptions and 50 events at 25 events/s against a server that
/// logs every statement, and counts the statements run meanwhile.
async fn count_statements(
    args: &Args,
    binary: &Path,
    backend: &Backend,
    subscribers: usize,
) -> StatementCount {
    const EVENTS: u32 = 50;
    const RATE: u32 = 25;
    let scratch = Scratch::create(backend).await;
    let seeded = seed(&scratch.url, subscribers).await;
    let server = Server::start(binary, &scratch, true).await;
    let writer = Arc::new(Writer::new(&server, &seeded));
    writer.rename().await.expect("a first mutation");
    let start_after = newest_sequence(&scratch.url).await;
    let Subscribers {
        progress,
        stop,
        tasks,
    } = open_subscriptions(args, &server, &seeded, start_after).await;
    writer.rename().await.expect("the warm-up mutation");
    let stall = Duration::from_secs(args.stall_timeout);
    wait_for_deliveries(&progress, subscribers as u64, stall).await;
    // Lets the token's `last_used_at` writes and the replays of connecting finish first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = sql_lines(&server.log);
    let started = Instant::now();
    let written = writer.at_rate(RATE, EVENTS / RATE).await;
    assert_eq!(written.failed, 0, "{:?}", written.first_error);
    wait_for_deliveries(
        &progress,
        (subscribers * (EVENTS as usize + 1)) as u64,
        stall,
    )
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let after = sql_lines(&server.log);
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    server.stop().await;
    scratch.remove().await;
    let window = &after[before.len().min(after.len())..];
    let feed_reads = window
        .iter()
        .filter(|sql| {
            sql.contains(r#"FROM "event" WHERE "event"."sequence" >"#) && sql.contains("LIMIT")
        })
        .count();
    let batches = window
        .iter()
        .filter(|sql| sql.starts_with("SELECT") && sql.contains(r#"FROM "event_subject" WHERE"#))
        .count();
    StatementCount {
        backend: backend.name(),
        subscribers,
        events: i64::from(EVENTS),
        statements: window.len(),
        feed_reads,
        batches,
        seconds,
    }
}

/// The SQL of every statement in a JSON server log so far.
fn sql_lines(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).expect("read the server log");
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["target"] == "warren::sql")
        .filter_map(|entry| entry["fields"]["sql"].as_str().map(str::to_owned))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The report

fn print_report(args: &Args, runs: &[Run], statements: &[StatementCount]) {
    println!();
    println!(
        "Live feed: TEAM_RENAMED events seen by every subscriber; selection `{{ {} }}`",
        args.selection
    );
    println!(
        "Latency: event occurred_at (inside the writing transaction) -> message read by the \
         subscriber's task, same clock. The client shares the {} cores with the server.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("Memory (server VmRSS)");
    println!(
        "| backend | subscribers | opened | connect | warm-up | RSS before | RSS idle | per idle subscription | RssAnon per subscription | RSS after phases | bench client RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        println!(
            "| {} | {} | {} | {:.1} s | {:.2} s | {:.1} MiB | {:.1} MiB | {:.1} KiB | {:.1} KiB | {:.1} MiB | {:.1} MiB |",
            run.backend,
            run.subscribers,
            run.subscribed,
            run.connect_time.as_secs_f64(),
            run.warmup_time.as_secs_f64(),
            run.rss_before as f64 / 1024.0,
            run.rss_idle as f64 / 1024.0,
            run.per_idle_subscription_kib(),
            (run.rss_anon_idle as f64 - run.rss_anon_before as f64) / run.subscribers.max(1) as f64,
            run.rss_after as f64 / 1024.0,
            run.client_rss_idle as f64 / 1024.0,
        );
    }
    println!();
    println!("Delivery");
    println!(
        "| backend | subscribers | phase | events | written in | mutation p50 / p99 | deliveries | p50 | p99 | p99.9 | max | deliveries/s | events/s to all | server CPU | bench CPU | other CPU | cut off and resumed | exactly once |"
    );
    println!(
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for run in runs {
        for phase in &run.phases {
            let Some(d) = &phase.result else { continue };
            let mut responses: Vec<i64> = phase
                .written
                .responses
                .iter()
                .map(|r| r.as_micros() as i64)
                .collect();
            let mutation = Summary::of(&mut responses);
            let verdict = if d.incomplete == 0 && d.duplicates == 0 && d.out_of_order == 0 {
                "yes".to_owned()
            } else {
                format!(
                    "**NO**: {} subscribers short, {} missing, {} duplicates",
                    d.incomplete, d.missing, d.duplicates
                )
            };
            println!(
                "| {} | {} | {} | {} | {:.1} s | {:.1} / {:.1} ms | {} / {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} | {:.1} | {:.1} s ({:.0}%, {:.1} µs/delivery) | {:.1} s | {:.1} s | {} | {}{} |",
                run.backend,
                run.subscribers,
                phase.name,
                d.events,
                phase.writing.as_secs_f64(),
                mutation.p50,
                mutation.p99,
                d.delivered,
                d.expected,
                d.latencies.p50,
                d.latencies.p99,
                d.latencies.p999,
                d.latencies.max,
                d.per_second,
                d.events_per_second,
                phase.server_cpu.as_secs_f64(),
                100.0 * phase.server_cpu.as_secs_f64() / phase.wall.as_secs_f64().max(1e-9),
                phase.server_cpu.as_secs_f64() * 1e6 / d.delivered.max(1) as f64,
                phase.client_cpu.as_secs_f64(),
                phase.other_cpu.as_secs_f64(),
                phase.resumed,
                verdict,
                if phase.drained { "" } else { " (stalled)" },
            );
        }
    }
    if !statements.is_empty() {
        println!();
        println!(
            "SQL statements while events are written and delivered (server's warren::sql log)"
        );
        println!(
            "| backend | subscribers | events | seconds | statements | per event | feed reads of new events | batches handed out |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        for count in statements {
            println!(
                "| {} | {} | {} | {:.1} | {} | {:.1} | {} | {} |",
                count.backend,
                count.subscribers,
                count.events,
                count.seconds,
                count.statements,
                count.statements as f64 / count.events as f64,
                count.feed_reads,
                count.batches,
            );
        }
    }
    for run in runs {
        let (count, first) = &run.server_complaints;
        if *count > 0 {
            println!();
            println!(
                "{} / {}: the server logged {count} warnings or errors; the first:",
                run.backend, run.subscribers
            );
            for line in first {
                println!("    {line}");
            }
        }
        if let Some(problem) = &run.first_problem {
            println!();
            println!(
                "{} / {}: first problem seen by a subscriber: {problem}",
                run.backend, run.subscribers
            );
        }
    }
}
