//! The command line. Every flag also reads a `WARREN_*` environment variable.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::db::DEFAULT_DATABASE_URL;

/// The GraphQL service behind a hosting platform's collaboration dashboard.
#[derive(Debug, Parser)]
#[command(name = "warren", version, about)]
pub struct Cli {
    /// Database to use: `sqlite://FILE?mode=rwc` or `postgres://USER@HOST/DB`.
    #[arg(long, env = "WARREN_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// Log format.
    #[arg(long, env = "WARREN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations and serve GraphQL (the default).
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage people.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Manage personal access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Fill the database with a world to explore or measure.
    #[command(subcommand)]
    Seed(SeedCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WARREN_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Where people reach this service (invitation links point there).
    #[arg(long, env = "WARREN_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
    pub public_url: String,
}

const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000";

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            public_url: std::env::var("WARREN_PUBLIC_URL")
                .unwrap_or_else(|_| DEFAULT_PUBLIC_URL.to_owned()),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PersonCommand {
    /// Create a person; prints its id.
    Create {
        /// The person's e-mail address.
        #[arg(long, env = "WARREN_PERSON_EMAIL")]
        email: String,
        /// The person's name.
        #[arg(long, env = "WARREN_PERSON_NAME")]
        name: String,
        /// Create a CLIENT account instead of a DEVELOPER one.
        #[arg(long, env = "WARREN_PERSON_CLIENT")]
        client: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a personal access token; prints only the token.
    Create {
        /// The e-mail address of the token's owner.
        #[arg(long, env = "WARREN_TOKEN_EMAIL")]
        email: String,
        /// What the token is for.
        #[arg(long, env = "WARREN_TOKEN_NAME", default_value = "command line")]
        name: String,
        /// READ tokens can only query.
        #[arg(long, env = "WARREN_TOKEN_SCOPE", value_enum, default_value_t = Scope::Write)]
        scope: Scope,
        /// Days until the token expires; never when not given.
        #[arg(long, env = "WARREN_TOKEN_EXPIRES_IN_DAYS")]
        expires_in_days: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scope {
    Read,
    Write,
}

#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// A small world that shows every relation; prints who is in it.
    Demo,
    /// A deterministic world that grows linearly with --scale; the last line is a token for a
    /// viewer who belongs to many teams.
    Bench {
        /// 1 is about 100 people, 20 teams, 300 apps, 40 payment methods and 2,000 events.
        #[arg(long, env = "WARREN_SEED_SCALE", default_value_t = 1)]
        scale: u32,
    },
}
