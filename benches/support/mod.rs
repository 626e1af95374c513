//! What the benches share: a scratch database per run, `warren serve` as a child process, and
//! the process and machine figures of `/proc`.
//!
//! A bench uses it with `mod support;`. Each bench uses only part of it, hence the
//! `dead_code` allowance.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database as SeaDatabase};

// ---------------------------------------------------------------------------------------------
// The database

/// Where a run's database lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The administrative URL, on which a database per run is created.
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }
}

/// A fresh database for one run (not migrated: `warren seed` or `Db::connect_and_migrate` do
/// that), and the temporary directory that holds the SQLite file, logs and scripts.
pub struct Scratch {
    pub url: String,
    pub dir: tempfile::TempDir,
    /// `(admin URL, database name)` of a PostgreSQL database to drop afterwards.
    pub postgres: Option<(String, String)>,
}

impl Scratch {
    pub async fn create(backend: &Backend) -> Scratch {
        let dir = tempfile::tempdir().expect("temporary directory");
        match backend {
            Backend::Sqlite => Scratch {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("warren.db").display()
                ),
                dir,
                postgres: None,
            },
            Backend::Postgres(admin) => {
                let name = format!("warren_bench_{}", uuid::Uuid::new_v4().simple());
                let conn = SeaDatabase::connect(admin)
                    .await
                    .expect("connect to PostgreSQL (the admin URL)");
                conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create the bench database");
                conn.close().await.expect("close the admin connection");
                Scratch {
                    url: warren::store::db::with_database(admin, &name),
                    dir,
                    postgres: Some((admin.clone(), name)),
                }
            }
        }
    }

    /// Drops the PostgreSQL database (connections still open to it are ended); the directory
    /// goes with `self`.
    pub async fn remove(self) {
        if let Some((admin, name)) = &self.postgres {
            match SeaDatabase::connect(admin).await {
                Ok(conn) => {
                    if let Err(err) = conn
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await
                    {
                        eprintln!("could not drop database {name}: {err}");
                    }
                }
                Err(err) => eprintln!("could not drop database {name}: {err}"),
            }
        }
    }
}

/// `warren` with the `WARREN_*` variables of this shell removed: a bench measures the
/// defaults, whatever the environment it runs in has set.
pub fn warren_command(binary: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WARREN_") {
            command.env_remove(name);
        }
    }
    command
}

/// A free port on the loopback interface, for a server to listen on. (Another process could
/// take it before the server binds it; on a bench machine nothing does.)
pub fn free_addr() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    probe.local_addr().expect("its address")
}

/// An OTLP/HTTP receiver in the bench process that answers every export with success and
/// keeps nothing, for measuring what sending traces costs the server; its base URL.
pub async fn discarding_collector() -> String {
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(|_body: axum::body::Bytes| async {
            // An empty ExportTraceServiceResponse: a protobuf message with no field is no bytes.
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the collector");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// The server process

/// `warren serve` as a child process, killed when dropped.
pub struct Server {
    pub child: tokio::process::Child,
    pub pid: i32,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// Starts `warren serve` on a free port and waits until `/healthz` answers. With
    /// `sql_trace` every statement is logged as a JSON line (for counting them); otherwise
    /// only warnings and errors, as JSON, into a log file in the scratch directory.
    pub async fn start(binary: &Path, scratch: &Scratch, sql_trace: bool) -> Server {
        Server::start_with(binary, scratch, sql_trace, &[]).await
    }

    /// `start` with more environment variables for the server.
    pub async fn start_with(
        binary: &Path,
        scratch: &Scratch,
        sql_trace: bool,
        envs: &[(&str, &str)],
    ) -> Server {
        let addr = free_addr();
        let log = scratch
            .dir
            .path()
            .join(format!("server-{}.log", addr.port()));
        let log_file = std::fs::File::create(&log).expect("server log file");
        let mut command = warren_command(binary);
        command
            .arg("--database-url")
            .arg(&scratch.url)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            // One bench person sends dozens of requests a second: a budget meant for people
            // would refuse most of them.
            .arg("--rate-limit")
            .arg("0")
            // Each write-mix worker invites about ten times a second; the hourly budget of a
            // person's invitations (50 by default) would refuse it within seconds.
            .arg("--max-invitations-per-hour")
            .arg("1000000000")
            // Every bench subscriber connects from the loopback address, hundreds at once.
            .arg("--ws-max-pending-per-address")
            .arg("100000")
            .env("WARREN_PUBLIC_URL", format!("http://{addr}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("server log file"))
            .stderr(log_file)
            .kill_on_drop(true);
        let filter = if sql_trace {
            "warn,warren::sql=trace"
        } else {
            "warn"
        };
        command
            .env("WARREN_LOG", filter)
            .env("WARREN_LOG_FORMAT", "json")
            .envs(envs.iter().copied());
        let child = command.spawn().expect("start the server");
        let pid = child.id().expect("the server's pid") as i32;
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("http://{addr}/healthz")).send().await
                && response.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not come up; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server {
            child,
            pid,
            addr,
            log,
        }
    }

    /// `http://ADDR/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    pub fn rss_kib(&self) -> u64 {
        status_kib(self.pid, "VmRSS:")
    }

    /// The most the server's resident memory has been since it started.
    pub fn peak_rss_kib(&self) -> u64 {
        status_kib(self.pid, "VmHWM:")
    }

    /// User plus system CPU time the server has used so far.
    pub fn cpu(&self) -> Duration {
        cpu_time(self.pid)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// How many warnings and errors the server logged, and the first few of them.
    pub fn complaints(&self) -> (usize, Vec<String>) {
        log_complaints(&self.log)
    }
}

/// Warnings and errors in a JSON log: how many, and the first few (errors first).
pub fn log_complaints(log: &Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let complaints: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(r#""level":"WARN""#) || line.contains(r#""level":"ERROR""#))
        .collect();
    // Errors say more than the warnings that usually come first (slow pool acquires).
    let errors = complaints
        .iter()
        .filter(|line| line.contains(r#""level":"ERROR""#));
    let warnings = complaints
        .iter()
        .filter(|line| !line.contains(r#""level":"ERROR""#));
    let first = errors
        .chain(warnings)
        .take(3)
        .map(|line| line.chars().take(400).collect())
        .collect();
    (complaints.len(), first)
}

// ---------------------------------------------------------------------------------------------
// /proc

/// A `kB` line of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`, `RssAnon:`), in KiB.
pub fn status_kib(pid: i32, field: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {path}"))
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64
}

/// CPU time every process on the machine has used so far (all of `/proc/stat` but idle and
/// iowait): other work on a shared machine shows up as the difference to what the bench's
/// own processes used.
pub fn machine_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is within user already).
    let busy: u64 = ticks.iter().take(8).sum::<u64>()
        - ticks.get(3).copied().unwrap_or(0)
        - ticks.get(4).copied().unwrap_or(0);
    Duration::from_micros(busy * 1_000_000 / clock_ticks_per_second())
}

/// utime + stime of a process from `/proc/<pid>/stat`.
pub fn cpu_time(pid: i32) -> Duration {
    try_cpu_time(pid).unwrap_or_else(|| panic!("cannot read /proc/{pid}/stat"))
}

/// `cpu_time`, or `None` when the process is gone.
pub fn try_cpu_time(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are fixed (utime is the 14th).
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Some(Duration::from_micros(
        ticks * 1_000_000 / clock_ticks_per_second(),
    ))
}

/// User plus system CPU time of this process (`RUSAGE_SELF`) or of its children that have
/// ended and been waited for (`RUSAGE_CHILDREN`): how a bench learns what a load generator it
/// ran to completion used.
pub fn rusage_cpu(who: libc::c_int) -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time of every PostgreSQL backend serving `database` (on this machine), by pid. A backend
/// shows its database in its command line: `postgres: user db 127.0.0.1(port) idle`.
pub fn postgres_backends_cpu(database: &str) -> Vec<(i32, Duration)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                let cmdline = String::from_utf8_lossy(&cmdline);
                cmdline.starts_with("postgres: ")
                    && cmdline.split_whitespace().any(|word| word == database)
            })
        })
        // A process may end between the listing and the read; it then counts as nothing.
        .filter_map(|pid| Some((pid, try_cpu_time(pid)?)))
        .collect()
}

/// The CPU the machine spent over an interval, split into the processes the bench knows
/// about (servers, the database's backends, itself and its load generators) and everything
/// else.
pub struct CpuMeter {
    started: Instant,
    machine: Duration,
    own: Duration,
    children: Duration,
    /// `(pid, CPU so far)` of each watched process that is not a child waited for.
    watched: Vec<(i32, Duration)>,
    /// The PostgreSQL database whose backends count apart, and their CPU so far.
    database: Option<(String, Vec<(i32, Duration)>)>,
}

/// What a `CpuMeter` measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuSplit {
    pub wall: Duration,
    /// The watched processes (servers), together.
    pub watched: Duration,
    /// The database's backend processes (PostgreSQL; SQLite runs inside the server).
    pub database: Duration,
    /// This process and the children it ran to completion (load generators).
    pub bench: Duration,
    /// Everything else on the machine: other people's work.
    pub other: Duration,
}

impl CpuSplit {
    /// Average cores busy with other work over the interval.
    pub fn other_cores(&self) -> f64 {
        self.other.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

impl CpuMeter {
    /// Starts measuring; `watched` are the pids of running processes to count apart (their
    /// `/proc` entries must still exist when `stop` is called), `database` the name of a
    /// PostgreSQL database whose backends' CPU counts apart.
    pub fn start(watched: &[i32], database: Option<&str>) -> CpuMeter {
        CpuMeter {
            started: Instant::now(),
            machine: machine_cpu(),
            own: rusage_cpu(libc::RUSAGE_SELF),
            children: rusage_cpu(libc::RUSAGE_CHILDREN),
            watched: watched.iter().map(|&pid| (pid, cpu_time(pid))).collect(),
            database: database.map(|name| (name.to_owned(), postgres_backends_cpu(name))),
        }
    }

    pub fn stop(&self) -> CpuSplit {
        let watched: Duration = self
            .watched
            .iter()
            .map(|&(pid, before)| cpu_time(pid).saturating_sub(before))
            .sum();
        // Backends that ended meanwhile are lost; ones that started count from zero.
        let database = self
            .database
            .as_ref()
            .map_or(Duration::ZERO, |(name, before)| {
                postgres_backends_cpu(name)
                    .into_iter()
                    .map(|(pid, now)| {
                        let then = before
                            .iter()
                            .find(|(p, _)| *p == pid)
                            .map_or(Duration::ZERO, |(_, cpu)| *cpu);
                        now.saturating_sub(then)
                    })
                    .sum()
            });
        let bench = rusage_cpu(libc::RUSAGE_SELF).saturating_sub(self.own)
            + rusage_cpu(libc::RUSAGE_CHILDREN).saturating_sub(self.children);
        let machine = machine_cpu().saturating_sub(self.machine);
        CpuSplit {
            wall: self.started.elapsed(),
            watched,
            database,
            bench,
            // Clock ticks are coarse (10 ms): a short interval can come out slightly negative.
            other: machine.saturating_sub(watched + database + bench),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics

/// Percentiles of durations, in milliseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(durations: &[Duration]) -> Summary {
        if durations.is_empty() {
            return Summary::default();
        }
        let mut sorted = durations.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[i].as_secs_f64() * 1000.0
        };
        Summary {
            count: sorted.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// The machine, for the report's first lines.
pub fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let memory = status_like_kib("/proc/meminfo", "MemTotal:").map_or(String::new(), |kib| {
        format!(", {:.0} GiB", kib as f64 / 1024.0 / 1024.0)
    });
    format!("{cores} cores ({cpu}){memory}")
}

fn status_like_kib(path: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}
