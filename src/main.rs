use std::process::ExitCode;

use clap::Parser;
use entity::enums::{AccountType, TokenScope};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};
use warren::config::{
    Cli, Command, LogFormat, PersonCommand, Scope, SeedCommand, ServeArgs, TokenCommand,
};
use warren::error::ApiError;
use warren::rules::auth;
use warren::rules::invitation;
use warren::rules::person;
use warren::store::backup;
use warren::store::db::Db;
use warren::telemetry::{self, Traces};
use warren::{http, seed};

/// jemalloc instead of the system's malloc: with glibc's, a quarter of the server's CPU per
/// dashboard request went to malloc and free. jemalloc gave 26 to 36 % more dashboard requests
/// per second and halved the CPU per live event delivered (BENCHMARKS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before the runtime: the trace exporter's blocking HTTP client must not be built, nor
    // dropped, inside it.
    let traces = match init_tracing(cli.log_format, cli.otlp_endpoint.as_deref()) {
        Ok(traces) => traces,
        Err(message) => {
            eprintln!("warren: {message}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => {
            let outcome = runtime.block_on(run(cli));
            drop(runtime);
            outcome
        }
        Err(err) => Err(format!("cannot start the runtime: {err}")),
    };
    if let Some(traces) = traces {
        traces.shut_down();
    }
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("warren: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error (filtered by WARREN_LOG) and, when configured, traces to an OTLP
/// collector (`telemetry`).
fn init_tracing(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Option<Traces>, String> {
    let filter = EnvFilter::try_from_env("WARREN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let (traces, exporter) = if telemetry::configured(otlp_endpoint) {
        let (traces, layer) = telemetry::exporter(otlp_endpoint)?;
        (Some(traces), Some(layer))
    } else {
        (None, None)
    };
    tracing_subscriber::registry()
        .with(logs)
        .with(exporter)
        .init();
    Ok(traces)
}

fn describe(err: ApiError) -> String {
    format!("{} ({})", err.message(), err.code())
}

async fn run(cli: Cli) -> Result<(), String> {
    let url = cli.database_url()?;
    let connections = cli.database_max_connections;
    let cannot_open = |err| format!("cannot open {}: {err}", redact(&url));
    let command = match cli.command {
        Some(command) => command,
        None => Command::Serve(Box::new(ServeArgs::from_env()?)),
    };
    match &command {
        Command::Schema => {
            print!("{}", warren::api::schema_sdl());
            return Ok(());
        }
        // Before any handle opens the database: a restore needs it to itself.
        Command::Restore { from } => {
            let restored = backup::restore(&url, from).await?;
            println!("restored {}: {restored}", from.display());
            return Ok(());
        }
        _ => {}
    }
    // Every command migrates first, but `migrate --check` and `serve --no-migrate`, which only
    // look, and `backup`, which copies what the servers' version made.
    let db = match &command {
        Command::Migrate { check: true } | Command::Backup { .. } => {
            Db::connect_with(&url, 2).await
        }
        Command::Serve(args) if args.no_migrate => Db::connect_with(&url, connections).await,
        _ => Db::connect_and_migrate_with(&url, connections).await,
    }
    .map_err(cannot_open)?;
    match command {
        Command::Serve(args) => {
            if args.no_migrate {
                let pending = db.pending_migrations().await.map_err(cannot_open)?;
                if !pending.is_empty() {
                    return Err(format!(
                        "--no-migrate: the database lacks {} migration(s) of this version ({}); \
                         run `warren migrate` first",
                        pending.len(),
                        pending.join(", ")
                    ));
                }
            }
            // A bad setting stops the start before anything listens.
            let settings = args.settings()?;
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .map_err(|err| format!("cannot listen on {}: {err}", args.listen))?;
            tracing::info!(
                "serving GraphQL and GraphiQL at http://{}/graphql",
                args.listen
            );
            if let Some(address) = args.metrics_listen {
                let metrics = tokio::net::TcpListener::bind(address)
                    .await
                    .map_err(|err| format!("cannot listen on {address} for metrics: {err}"))?;
                tracing::info!("serving metrics at http://{address}/metrics");
                tokio::spawn(http::serve_metrics(
                    metrics,
                    db.clone(),
                    settings.header_timeout,
                ));
            }
            tokio::spawn(invitation::expire_periodically(db.clone()));
            http::serve_with(listener, db, settings, http::shutdown_signal())
                .await
                .map_err(|err| format!("server failed: {err}"))
        }
        Command::Migrate { check: false } => {
            println!("migrations applied");
            Ok(())
        }
        Command::Schema | Command::Restore { .. } => Ok(()),
        Command::Backup { to } => {
            let written = backup::backup(&db, &to).await?;
            println!("backed up to {}: {written}", to.display());
            Ok(())
        }
        Command::Migrate { check: true } => {
            let pending = db.pending_migrations().await.map_err(cannot_open)?;
            if pending.is_empty() {
                println!("no pending migration");
                return Ok(());
            }
            for name in &pending {
                println!("{name}");
            }
            Err(format!("{} pending migration(s)", pending.len()))
        }
        Command::Person(PersonCommand::Create {
            email,
            name,
            client,
        }) => {
            let account_type = if client {
                AccountType::Client
            } else {
                AccountType::Developer
            };
            let person = person::create(&db.conn, &email, &name, account_type)
                .await
                .map_err(describe)?;
            println!("{}", person.id);
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            email,
            name,
            scope,
            expires_in_days,
        }) => {
            let person = person::find_by_email(&db.conn, &email)
                .await
                .map_err(describe)?
                .ok_or_else(|| format!("nobody has the e-mail address {email}"))?;
            let scope = match scope {
                Scope::Read => TokenScope::Read,
                Scope::Write => TokenScope::Write,
            };
            let expires = expires_in_days.map(|d| chrono::Duration::days(i64::from(d)));
            let token = auth::create_token(&db.conn, person.id, &name, scope, expires)
                .await
                .map_err(describe)?;
            println!("{}", token.secret);
            Ok(())
        }
        Command::Seed(SeedCommand::Demo) => {
            print_report(seed::demo(&db).await.map_err(describe)?);
            Ok(())
        }
        Command::Seed(SeedCommand::Bench { scale }) => {
            print_report(seed::bench(&db, scale).await.map_err(describe)?);
            Ok(())
        }
    }
}

/// What a seed made, then, on the last line, the viewer's token.
fn print_report(report: seed::SeedReport) {
    for line in &report.summary {
        println!("{line}");
    }
    println!("{}", report.token);
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, which this one has.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        // Not a URL: say nothing of it rather than risk printing a secret.
        Err(_) => "the database URL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted_wherever_they_are() {
        assert_eq!(
            redact("postgres://warren:s3cret@db.internal:5432/warren"),
            "postgres://warren:***@db.internal:5432/warren"
        );
        // An `@` inside the password does not leave part of it behind.
        assert_eq!(
            redact("postgres://warren:p%40ss@db/warren?sslmode=require"),
            "postgres://warren:***@db/warren?sslmode=require"
        );
        assert_eq!(
            redact("postgres://warren@db/warren"),
            "postgres://warren@db/warren"
        );
        assert_eq!(
            redact("sqlite://warren.db?mode=rwc"),
            "sqlite://warren.db?mode=rwc"
        );
        assert_eq!(redact("not a url :secret@"), "the database URL");
    }
}
