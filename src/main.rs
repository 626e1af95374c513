use std::process::ExitCode;

use clap::Parser;
use entity::enums::{AccountType, TokenScope};
use tracing_subscriber::EnvFilter;
use warren::config::{
    Cli, Command, LogFormat, PersonCommand, Scope, SeedCommand, ServeArgs, TokenCommand,
};
use warren::error::ApiError;
use warren::rules::auth;
use warren::rules::invitation;
use warren::rules::person;
use warren::store::db::Db;
use warren::{http, seed};

/// jemalloc instead of the system's malloc: with glibc's, a quarter of the server's CPU per
/// dashboard request went to malloc and free. jemalloc gave 26 to 36 % more dashboard requests
/// per second and halved the CPU per live event delivered (BENCHMARKS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("warren: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_env("WARREN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn describe(err: ApiError) -> String {
    format!("{} ({})", err.message(), err.code())
}

async fn run(cli: Cli) -> Result<(), String> {
    let db = Db::connect_and_migrate(&cli.database_url)
        .await
        .map_err(|err| format!("cannot open {}: {err}", redact(&cli.database_url)))?;
    let command = match cli.command {
        Some(command) => command,
        None => Command::Serve(Box::new(ServeArgs::from_env()?)),
    };
    match command {
        Command::Serve(args) => {
            // A bad setting stops the start before anything listens.
            let settings = args.settings()?;
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .map_err(|err| format!("cannot listen on {}: {err}", args.listen))?;
            tracing::info!(
                "serving GraphQL and GraphiQL at http://{}/graphql",
                args.listen
            );
            tokio::spawn(invitation::expire_periodically(db.clone()));
            http::serve_with(listener, db, settings, http::shutdown_signal())
                .await
                .map_err(|err| format!("server failed: {err}"))
        }
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
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
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
