//! The command line. Every flag also reads a `WARREN_*` environment variable.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::limits::Limits;
use crate::http::sign_in::ProviderConfig;
use crate::rules::quotas::Quotas;
use crate::store::db::{DEFAULT_CONNECTIONS, DEFAULT_DATABASE_URL};

/// The GraphQL service behind a hosting platform's collaboration dashboard.
#[derive(Debug, Parser)]
#[command(name = "warren", version, about)]
pub struct Cli {
    /// Database to use: `sqlite://FILE?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`
    /// (default `sqlite://warren.db?mode=rwc`). Its value is never printed;
    /// WARREN_DATABASE_URL_FILE may name a file that holds it instead.
    #[arg(
        long,
        env = "WARREN_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,

    /// Connections of the database pool each instance opens (PostgreSQL counts them against
    /// its `max_connections`, over every instance).
    #[arg(long, env = "WARREN_DATABASE_MAX_CONNECTIONS", default_value_t = DEFAULT_CONNECTIONS, value_parser = clap::value_parser!(u32).range(2..=1000), global = true)]
    pub database_max_connections: u32,

    /// Log format.
    #[arg(long, env = "WARREN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,

    /// Send traces (OpenTelemetry, OTLP over HTTP with protobuf) to this collector, e.g.
    /// `http://127.0.0.1:4318` (spans go to its `/v1/traces`). Off by default; the standard
    /// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT turn them on too, and
    /// the other OTEL_* variables apply.
    #[arg(long, env = "WARREN_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

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
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate {
        /// Apply nothing: list the pending migrations and exit with 1 if there are any (for
        /// deploy pipelines).
        #[arg(long)]
        check: bool,
    },
    /// Manage people.
    #[command(subcommand)]
    Person(PersonCommand),
    /// Manage personal access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Fill the database with a world to explore or measure.
    #[command(subcommand)]
    Seed(SeedCommand),
    /// Print the GraphQL schema (SDL), for code generators and schema registries: what is
    /// checked in at schema.graphql. Needs no database.
    Schema,
    /// Copy the SQLite database to a new file while servers run and write (a consistent
    /// snapshot; PostgreSQL: use pg_dump). Migrates nothing.
    Backup {
        /// The file to write; it must not exist.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Replace the SQLite database with a backup, after checking it. Refused while a warren
    /// process (a server or another command) uses the database. PostgreSQL: use pg_restore.
    Restore {
        /// The backup to restore.
        #[arg(long)]
        from: std::path::PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "WARREN_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Where people reach this service (invitation links point there).
    #[arg(long, env = "WARREN_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
    pub public_url: String,
    /// Seconds a WebSocket client has to send `connection_init` (graphql-transport-ws closes
    /// with 4408 after them).
    #[arg(long, env = "WARREN_WS_INIT_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10))]
    pub ws_init_timeout: u64,
    /// Seconds between the server's pings on an open WebSocket, to keep it open through proxies.
    #[arg(long, env = "WARREN_WS_HEARTBEAT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_heartbeat: u64,
    /// Operations (subscriptions, and queries or mutations in flight) one WebSocket connection
    /// may run at once; one more closes it with 4429.
    #[arg(long, env = "WARREN_WS_MAX_OPERATIONS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub ws_max_operations: u64,
    /// WebSocket connections one person may hold at once on an instance; one more is refused
    /// at `connection_init` (4429).
    #[arg(long, env = "WARREN_WS_MAX_CONNECTIONS_PER_PERSON", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub ws_max_connections_per_person: u64,
    /// WebSocket connections from one client address that have not signed in yet; one more
    /// is refused before the upgrade (429).
    #[arg(long, env = "WARREN_WS_MAX_PENDING_PER_ADDRESS", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub ws_max_pending_per_address: u64,
    /// Subscriptions one person may hold at once on an instance, over all their connections;
    /// one more is refused with an error for it.
    #[arg(long, env = "WARREN_MAX_SUBSCRIPTIONS_PER_PERSON", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_subscriptions_per_person: u64,
    /// Batches of new events a subscriber may fall behind before its subscription ends with
    /// the cursor to resume from; bounds the memory a slow subscriber holds.
    #[arg(long, env = "WARREN_FEED_BACKLOG", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub feed_backlog: u64,
    /// Recent events kept in memory, so that a subscriber resuming after one of them (after a
    /// dropped connection, or after falling behind) is served without reading the database.
    #[arg(long, env = "WARREN_FEED_HISTORY", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub feed_history: u64,
    /// Origins (`scheme://host[:port]`) whose pages may use the session cookie on WebSocket
    /// connections and to log out; the public URL's own by default.
    #[arg(long, env = "WARREN_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Issuer URL of the OpenID Connect provider browsers sign in with. Its client secret is
    /// read from WARREN_OIDC_CLIENT_SECRET or the file named by WARREN_OIDC_CLIENT_SECRET_FILE,
    /// never from a flag (flags show in process lists).
    #[arg(long, env = "WARREN_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id warren is registered with at that provider.
    #[arg(long, env = "WARREN_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// More providers, by name: each NAME reads WARREN_OIDC_<NAME>_ISSUER, _CLIENT_ID and
    /// _CLIENT_SECRET (or _CLIENT_SECRET_FILE); `/auth/login?provider=name` picks one.
    #[arg(long, env = "WARREN_OIDC_PROVIDERS", value_delimiter = ',')]
    pub oidc_providers: Vec<String>,
    /// Where invitation mails go: `smtp://host:port` (add `?tls=required` for STARTTLS),
    /// `smtps://user:password@host`. Without it mails stay queued until it is set.
    /// WARREN_SMTP_URL_FILE may name a file that holds it instead.
    #[arg(long, env = "WARREN_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Without an SMTP URL, write each invitation mail, its accept link (a secret) included,
    /// to the log instead of keeping it queued. For local development only: off by default,
    /// and the server warns at start when it is on.
    #[arg(long, env = "WARREN_LOG_INVITATION_LINKS")]
    pub log_invitation_links: bool,
    /// The sender of invitation mails.
    #[arg(
        long,
        env = "WARREN_MAIL_FROM",
        default_value = "warren <no-reply@localhost>"
    )]
    pub mail_from: String,
    /// Seconds a GraphQL request over HTTP may take; then it is stopped and answered with 503.
    #[arg(long, env = "WARREN_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Seconds a client may take to send a request's line and headers after connecting or
    /// after the previous answer; an idle keep-alive connection is closed after as long. Keep
    /// it above the idle timeout of a load balancer in front (theirs must close first).
    #[arg(long, env = "WARREN_HEADER_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Origins (`scheme://host[:port]`) whose pages may call the API from a browser (CORS).
    /// None by default: other sites' pages cannot read answers.
    #[arg(long, env = "WARREN_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Points each person may spend an hour, across instances (GitHub's model: a request costs
    /// its connection pages / 100, at least 1). 0 turns the limit off.
    #[arg(long, env = "WARREN_RATE_LIMIT", default_value_t = 5_000)]
    pub rate_limit: u64,
    /// Points anonymous requests from one client address (an IPv6 /64 network) may spend an
    /// hour, on each instance; 0: no limit for them. Introspection costs like any query.
    #[arg(long, env = "WARREN_ANONYMOUS_RATE_LIMIT", default_value_t = 1_000)]
    pub anonymous_rate_limit: u64,
    /// Serve `/metrics` on this address only (e.g. one the public network cannot reach)
    /// instead of beside the API.
    #[arg(long, env = "WARREN_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds the server keeps accepting and serving after SIGTERM or Ctrl-C, with `/readyz`
    /// answering 503, so that a load balancer stops sending before connections are refused.
    #[arg(long, env = "WARREN_SHUTDOWN_DRAIN", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub shutdown_drain: u64,
    /// Apply no migration: refuse to start when the database is not at this version's schema
    /// (when a deploy step migrates before instances start).
    #[arg(long, env = "WARREN_NO_MIGRATE")]
    pub no_migrate: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// What one request may ask for. A request over a limit is refused before anything runs, with
/// BAD_USER_INPUT naming the limit, its maximum and the request's value.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Bytes of a GraphQL query's text.
    #[arg(long, env = "WARREN_MAX_QUERY_BYTES", default_value_t = Limits::default().query_bytes)]
    pub max_query_bytes: usize,
    /// SSH keys one person may hold.
    #[arg(long, env = "WARREN_MAX_SSH_KEYS", default_value_t = Quotas::default().ssh_keys)]
    pub max_ssh_keys: u64,
    /// Personal access tokens one person may hold that still work (neither revoked nor expired).
    #[arg(long, env = "WARREN_MAX_TOKENS", default_value_t = Quotas::default().tokens)]
    pub max_tokens: u64,
    /// Event filters one person may save.
    #[arg(long, env = "WARREN_MAX_EVENT_FILTERS", default_value_t = Quotas::default().event_filters)]
    pub max_event_filters: u64,
    /// Environments one app may have.
    #[arg(long, env = "WARREN_MAX_ENVIRONMENTS", default_value_t = Quotas::default().environments)]
    pub max_environments: u64,
    /// Pending invitations one team, app or payment method may have.
    #[arg(long, env = "WARREN_MAX_PENDING_INVITATIONS", default_value_t = Quotas::default().pending_invitations)]
    pub max_pending_invitations: u64,
    /// Invitations (each with its mail) one person may send in an hour.
    #[arg(long, env = "WARREN_MAX_INVITATIONS_PER_HOUR", default_value_t = Quotas::default().invitations_per_hour)]
    pub max_invitations_per_hour: u64,
    /// Technical contacts one app may have.
    #[arg(long, env = "WARREN_MAX_TECHNICAL_CONTACTS", default_value_t = Quotas::default().technical_contacts)]
    pub max_technical_contacts: u64,
    /// Apps one invitation may name.
    #[arg(long, env = "WARREN_MAX_INVITATION_APPS", default_value_t = Quotas::default().invitation_apps)]
    pub max_invitation_apps: u64,
    /// Invitation mails one address is sent in an hour, whoever invites it; further invitations
    /// stand without a mail.
    #[arg(long, env = "WARREN_MAX_MAILS_PER_ADDRESS", default_value_t = Quotas::default().mails_per_address)]
    pub max_mails_per_address: u64,
    /// Bytes of a request body (query and variables); over it the answer is 413.
    #[arg(long, env = "WARREN_MAX_BODY_BYTES", default_value_t = Limits::default().body_bytes)]
    pub max_body_bytes: usize,
    /// Bytes of an answer (an HTTP response's body, a WebSocket message); a larger one is
    /// replaced by an error naming the limit.
    #[arg(long, env = "WARREN_MAX_ANSWER_BYTES", default_value_t = Limits::default().answer_bytes)]
    pub max_answer_bytes: usize,
    /// Fields nested in one another.
    #[arg(long, env = "WARREN_MAX_DEPTH", default_value_t = Limits::default().depth)]
    pub max_depth: usize,
    /// Nodes a request's connections may return: each connection's `first`/`last` (20 when
    /// not given), times the objects it is selected on (GitHub's node limit).
    #[arg(long, env = "WARREN_MAX_COMPLEXITY", default_value_t = Limits::default().complexity)]
    pub max_complexity: u64,
    /// Aliased fields (counted once per place a fragment is spread).
    #[arg(long, env = "WARREN_MAX_ALIASES", default_value_t = Limits::default().aliases)]
    pub max_aliases: u64,
    /// Fields at the operation's root.
    #[arg(long, env = "WARREN_MAX_ROOT_FIELDS", default_value_t = Limits::default().root_fields)]
    pub max_root_fields: u64,
    /// Directives used.
    #[arg(long, env = "WARREN_MAX_DIRECTIVES", default_value_t = Limits::default().directives)]
    pub max_directives: u64,
    /// Fields selected, each counted once per place its fragment is spread.
    #[arg(long, env = "WARREN_MAX_FIELDS", default_value_t = Limits::default().fields)]
    pub max_fields: u64,
    /// Nesting of the document's syntax: selection sets, and lists and objects in values.
    #[arg(long, env = "WARREN_MAX_RECURSION", default_value_t = Limits::default().recursion)]
    pub max_recursion: usize,
}

impl LimitArgs {
    pub fn quotas(&self) -> crate::rules::quotas::Quotas {
        crate::rules::quotas::Quotas {
            ssh_keys: self.max_ssh_keys,
            tokens: self.max_tokens,
            event_filters: self.max_event_filters,
            environments: self.max_environments,
            pending_invitations: self.max_pending_invitations,
            invitations_per_hour: self.max_invitations_per_hour,
            technical_contacts: self.max_technical_contacts,
            invitation_apps: self.max_invitation_apps,
            mails_per_address: self.max_mails_per_address,
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            query_bytes: self.max_query_bytes,
            body_bytes: self.max_body_bytes,
            answer_bytes: self.max_answer_bytes,
            depth: self.max_depth,
            complexity: self.max_complexity,
            aliases: self.max_aliases,
            root_fields: self.max_root_fields,
            directives: self.max_directives,
            fields: self.max_fields,
            recursion: self.max_recursion,
        }
    }
}

const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000";

impl ServeArgs {
    /// The arguments of a bare `warren` (which serves): as if `warren serve` had been typed,
    /// with the same defaults and `WARREN_*` variables.
    pub fn from_env() -> Result<ServeArgs, String> {
        use clap::FromArgMatches;
        let command = ServeArgs::augment_args(clap::Command::new("serve"));
        command
            .try_get_matches_from(["serve"])
            .and_then(|matches| ServeArgs::from_arg_matches(&matches))
            .map_err(|err| err.to_string())
    }

    /// The server settings these arguments (and the environment, for secrets) ask for.
    pub fn settings(&self) -> Result<crate::http::Settings, String> {
        let mut settings = crate::http::Settings::new(&self.public_url);
        settings.live = self.live_options();
        settings.limits = self.limits.limits();
        settings.quotas = self.limits.quotas();
        settings.request_timeout = std::time::Duration::from_secs(self.request_timeout);
        settings.header_timeout = std::time::Duration::from_secs(self.header_timeout);
        settings.shutdown_drain = std::time::Duration::from_secs(self.shutdown_drain);
        settings.metrics_on_main = self.metrics_listen.is_none();
        settings.cors_origins.clone_from(&self.cors_origins);
        settings.rate_limit = self.rate_limit;
        settings.anonymous_rate_limit = self.anonymous_rate_limit;
        settings.mail.smtp_url = match &self.smtp_url {
            Some(url) => Some(url.clone()),
            None => optional_secret_from_file("WARREN_SMTP_URL")?,
        };
        settings.mail.from = self.mail_from.clone();
        settings.mail.log_links = self.log_invitation_links;
        if !self.allowed_origins.is_empty() {
            settings.allowed_origins = self
                .allowed_origins
                .iter()
                .map(|origin| {
                    crate::http::origin_of(origin).ok_or_else(|| format!("not an origin: {origin}"))
                })
                .collect::<Result<_, _>>()?;
        }
        match (&self.oidc_issuer, &self.oidc_client_id) {
            (Some(issuer), Some(client_id)) => settings.providers.push(ProviderConfig {
                name: "default".to_owned(),
                issuer: issuer.clone(),
                client_id: client_id.clone(),
                client_secret: secret_from_env("WARREN_OIDC_CLIENT_SECRET")?,
            }),
            (None, None) => {}
            _ => {
                return Err(
                    "sign-in needs both WARREN_OIDC_ISSUER and WARREN_OIDC_CLIENT_ID".to_owned(),
                );
            }
        }
        for name in self
            .oidc_providers
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
        {
            let prefix = format!(
                "WARREN_OIDC_{}",
                name.to_ascii_uppercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            );
            let required = |suffix: &str| {
                let var = format!("{prefix}_{suffix}");
                std::env::var(&var).map_err(|_| format!("provider {name} needs {var}"))
            };
            settings.providers.push(ProviderConfig {
                name: name.to_owned(),
                issuer: required("ISSUER")?,
                client_id: required("CLIENT_ID")?,
                client_secret: secret_from_env(&format!("{prefix}_CLIENT_SECRET"))?,
            });
        }
        Ok(settings)
    }

    /// The live-connection clocks and bounds these arguments ask for.
    pub fn live_options(&self) -> crate::http::websocket::LiveOptions {
        crate::http::websocket::LiveOptions {
            init_timeout: std::time::Duration::from_secs(self.ws_init_timeout),
            heartbeat: std::time::Duration::from_secs(self.ws_heartbeat),
            feed_backlog: usize::try_from(self.feed_backlog).unwrap_or(usize::MAX),
            feed_history: usize::try_from(self.feed_history).unwrap_or(usize::MAX),
            max_operations: usize::try_from(self.ws_max_operations).unwrap_or(usize::MAX),
            max_connections_per_person: usize::try_from(self.ws_max_connections_per_person)
                .unwrap_or(usize::MAX),
            max_pending_per_address: usize::try_from(self.ws_max_pending_per_address)
                .unwrap_or(usize::MAX),
            max_subscriptions_per_person: usize::try_from(self.max_subscriptions_per_person)
                .unwrap_or(usize::MAX),
        }
    }
}

/// A secret from the variable `var`, or from the file `var_FILE` names (as container
/// platforms mount secrets).
fn secret_from_env(var: &str) -> Result<String, String> {
    if let Ok(secret) = std::env::var(var) {
        return Ok(secret);
    }
    optional_secret_from_file(var)?.ok_or_else(|| format!("set {var} or {var}_FILE"))
}

/// The secret in the file the variable `var_FILE` names, if it is set: the file's content
/// without surrounding white space (a trailing newline is not part of a password).
pub fn optional_secret_from_file(var: &str) -> Result<Option<String>, String> {
    let file_var = format!("{var}_FILE");
    let Some(path) = std::env::var_os(&file_var) else {
        return Ok(None);
    };
    std::fs::read_to_string(&path)
        .map(|secret| Some(secret.trim().to_owned()))
        .map_err(|err| format!("cannot read {file_var} ({}): {err}", path.to_string_lossy()))
}

impl Cli {
    /// The database URL: the flag or WARREN_DATABASE_URL, else the file WARREN_DATABASE_URL_FILE
    /// names, else the SQLite file of `cargo run`.
    pub fn database_url(&self) -> Result<String, String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        Ok(optional_secret_from_file("WARREN_DATABASE_URL")?
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()))
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
