//! The HTTP surface: GraphQL at `/graphql` (POST, GET for queries, WebSocket for
//! subscriptions), GraphiQL for browsers, sign-in under `/auth`, health and readiness probes.
//! Authentication happens here, once per request or per WebSocket connection: a bearer token,
//! or a browser's session cookie, which only counts on requests a web page of another site
//! cannot forge (CSRF).

pub mod accept;
pub mod media;
pub mod sign_in;
pub mod websocket;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql::{Data, Executor};
use async_graphql_axum::GraphQLRequest;
use async_graphql_axum::rejection::GraphQLRejection;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, OnResponse, TraceLayer};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

use crate::api::admission::{Api, CredentialEnded, LiveCredential};
use crate::api::context::RequestScope;
use crate::api::limits::Limits;
use crate::api::waves::Waves;
use crate::error::ApiError;
use crate::feed::Feed;
use crate::http::media::AnswerMedia;
use crate::http::sign_in::{CallbackRequest, LoginRequest, ProviderConfig, SignIn, SignInError};
use crate::http::websocket::LiveOptions;
use crate::rules::auth::{Viewer, authenticate_token, bearer_token};
use crate::rules::rate_limit::{Allowance, Charged, ClientAddress, RateLimiter};
use crate::rules::session::{authenticate_session, session_secret};
use crate::store::db::Db;

/// How a server is set up, beyond its database.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where people reach this service: invitation links and the sign-in redirect URI point
    /// there, and its scheme decides whether cookies are `Secure`.
    pub public_url: String,
    pub live: LiveOptions,
    /// The OpenID Connect providers people sign in with; none turns browser sign-in off.
    pub providers: Vec<ProviderConfig>,
    /// Origins whose pages may use the session cookie on WebSocket connections and to log out;
    /// the public URL's own by default.
    pub allowed_origins: Vec<String>,
    /// How invitation mails leave (the outbox worker runs beside the server).
    pub mail: crate::rules::mail::MailSettings,
    /// What one request may ask for (see `limits`).
    pub limits: Limits,
    /// How many objects a person or an object may hold (see `quotas`).
    pub quotas: crate::rules::quotas::Quotas,
    /// The longest a GraphQL request over HTTP may take; then it is stopped and answered 503.
    pub request_timeout: Duration,
    /// The longest a client may take to send a request's line and headers, counted from when
    /// the connection opened or the previous answer was sent (so also how long an idle
    /// keep-alive connection stays open). `serve_with` applies it; `router` alone cannot.
    pub header_timeout: Duration,
    /// Origins whose pages may call the API from the browser (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// The server's WebSocket connections, closed when it shuts down.
    pub connections: crate::http::websocket::LiveConnections,
    /// Points a person may spend an hour (see `rate_limit`); 0 turns the limit off.
    pub rate_limit: u64,
    /// Points anonymous requests from one address may spend an hour; 0: no limit for them.
    pub anonymous_rate_limit: u64,
    /// How long, from the shutdown signal on, the server keeps accepting and serving while
    /// `/readyz` answers 503, so that a load balancer stops sending before connections are
    /// refused (`serve_with`).
    pub shutdown_drain: Duration,
    /// Set once the drain has begun; `/readyz` answers 503 from then on.
    pub draining: Draining,
    /// Whether `/metrics` is served with the API; off when it has an address of its own
    /// (`serve_metrics`).
    pub metrics_on_main: bool,
}

/// Whether the server is draining before it stops (`Settings::shutdown_drain`), shared by
/// the shutdown and `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<std::sync::atomic::AtomicBool>);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_on(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Settings {
    /// A limiter of `rate_limit` points an hour; none when it is 0 (no limit).
    fn rate_limiter(&self) -> Option<RateLimiter> {
        (self.rate_limit > 0)
            .then(|| RateLimiter::new(self.rate_limit).with_anonymous(self.anonymous_rate_limit))
    }

    pub fn new(public_url: &str) -> Settings {
        let public_url = public_url.trim_end_matches('/').to_owned();
        Settings {
            allowed_origins: origin_of(&public_url).into_iter().collect(),
            public_url,
            live: LiveOptions::default(),
            providers: Vec::new(),
            mail: crate::rules::mail::MailSettings::default(),
            limits: Limits::default(),
            quotas: crate::rules::quotas::Quotas::default(),
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
            connections: crate::http::websocket::LiveConnections::default(),
            rate_limit: 5_000,
            anonymous_rate_limit: 1_000,
            // None for a server embedded in a program (the tests); `warren serve` drains 5 s
            // unless told otherwise (`--shutdown-drain`).
            shutdown_drain: Duration::ZERO,
            draining: Draining::default(),
            metrics_on_main: true,
        }
    }
}

/// The origin of a URL as browsers serialize it in `Origin` (`scheme://host[:port]`, lower
/// case, the scheme's default port left out: `https://Host:443/x` is `https://host`); `None`
/// for what has no origin of its own (`null`, `file:` URLs, text that is no URL). Parsed by
/// the `url` crate, as browsers do by the WHATWG URL standard.
pub fn origin_of(url: &str) -> Option<String> {
    let origin = url::Url::parse(url.trim()).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

#[derive(Clone)]
struct AppState {
    /// The schema behind the request limits, the rate limit and metrics.
    api: Api,
    db: Db,
    /// The pool of live connections (WebSockets), which run on a runtime of their own.
    live_db: Db,
    feed: Feed,
    public_url: Arc<str>,
    ws: LiveOptions,
    connections: crate::http::websocket::LiveConnections,
    request_timeout: Duration,
    sign_in: SignIn,
    allowed_origins: Arc<[String]>,
    /// The longest WebSocket message a client may send: a request body's limit.
    ws_message_bytes: usize,
    /// The longest answer sent (`limits::Limits::answer_bytes`).
    answer_bytes: usize,
    draining: Draining,
}

/// The service's routes. Its rate limiter (if `settings` has one) counts for this router
/// alone: `serve_with` also shares it with other instances.
pub fn router(db: Db, feed: Feed, settings: Settings) -> Result<Router, String> {
    let rate = settings.rate_limiter();
    let live_db = db.clone();
    router_with(db, live_db, feed, settings, rate)
}

fn router_with(
    db: Db,
    live_db: Db,
    feed: Feed,
    settings: Settings,
    rate: Option<RateLimiter>,
) -> Result<Router, String> {
    let policy = crate::rules::session::SessionPolicy::for_public_url(&settings.public_url);
    let state = AppState {
        api: Api::new(settings.limits, settings.quotas, rate.clone()),
        db,
        live_db,
        feed,
        sign_in: SignIn::new(settings.providers, &settings.public_url, policy)?,
        public_url: Arc::from(settings.public_url.as_str()),
        ws: settings.live,
        request_timeout: settings.request_timeout,
        connections: settings.connections.clone(),
        allowed_origins: settings.allowed_origins.into(),
        ws_message_bytes: settings.limits.body_bytes,
        answer_bytes: settings.limits.answer_bytes,
        draining: settings.draining.clone(),
    };
    let https = settings.public_url.starts_with("https://");
    let cors = cors(&settings.cors_origins)?;
    let router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/logout", post(logout))
        .route(
            "/invitations/accept",
            get(invitation_page)
                .post(accept_invitation)
                // Its form must not trickle in for ever either (POST /graphql has a deadline
                // of its own for the whole body).
                .layer(RequestBodyTimeoutLayer::new(settings.request_timeout)),
        )
        .route("/", get(graphiql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let router = if settings.metrics_on_main {
        router.route("/metrics", get(metrics))
    } else {
        router
    };
    let router = router
        // A body that announces its length is refused at once, with the limit named; one sent
        // in chunks is cut off where it passes the limit.
        .layer(RequestBodyLimitLayer::new(settings.limits.body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            settings.limits.body_bytes,
            refuse_long_bodies,
        ))
        // Large answers (the dashboard's is about 250 KiB) travel compressed to clients that
        // accept gzip; small ones are not worth it.
        .layer(
            CompressionLayer::new()
                .compress_when(DefaultPredicate::new().and(SizeAbove::new(1024))),
        );
    let router = with_security_headers(router, https);
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    Ok(router
        .layer(
            TraceLayer::new_for_http()
                // The path only: query strings can carry secrets (an invitation's token).
                .make_span_with(|request: &Request| {
                    let id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|id| id.to_str().ok())
                        .unwrap_or_default();
                    let span = tracing::info_span!(
                        "request",
                        id,
                        method = %request.method(),
                        path = request.uri().path(),
                        // The GraphQL operation (`query.viewer`), recorded by `metrics`.
                        operation = tracing::field::Empty,
                        // For traces (`telemetry`): the span's name and kind, and the status.
                        otel.name = format!("{} {}", request.method(), request.uri().path()),
                        otel.kind = "server",
                        http.response.status_code = tracing::field::Empty,
                    );
                    crate::telemetry::continue_trace(&span, request.headers());
                    span
                })
                .on_response(RecordStatus),
        )
        // Every request has an id, the client's own `x-request-id` or a new one, logged with
        // everything it does and sent back with the answer.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state))
}

/// Logs each response as tower-http does, and records its status on the request's span, for
/// traces (`telemetry`).
#[derive(Clone, Copy)]
struct RecordStatus;

impl<B> OnResponse<B> for RecordStatus {
    fn on_response(
        self,
        response: &axum::http::Response<B>,
        latency: Duration,
        span: &tracing::Span,
    ) {
        span.record("http.response.status_code", response.status().as_u16());
        DefaultOnResponse::new()
            .level(tracing::Level::INFO)
            .on_response(response, latency, span);
    }
}

/// CORS for the configured origins; `None` (no CORS headers, so browsers keep other sites'
/// pages from reading answers) when there are none.
fn cors(origins: &[String]) -> Result<Option<CorsLayer>, String> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|origin| {
            origin_of(origin)
                .and_then(|origin| HeaderValue::from_str(&origin).ok())
                .ok_or_else(|| format!("not an origin: {origin}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("apollo-require-preflight"),
            ])
            // The origins are listed one by one, never `*`: their pages may send the session
            // cookie, which the forgery check still requires to come with JSON or a preflight.
            .allow_credentials(true)
            .max_age(Duration::from_secs(600)),
    ))
}

/// Adds the headers every answer carries: no MIME sniffing, no framing (GraphiQL and the
/// invitation page cannot be clickjacked), no referrer leaking invitation tokens in URLs, and
/// over HTTPS, HTTPS only from now on.
fn with_security_headers(router: Router<AppState>, https: bool) -> Router<AppState> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'none'",
        ))
        .layer(set(header::REFERRER_POLICY, "no-referrer"));
    if https {
        router.layer(set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"))
    } else {
        router
    }
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    db: Db,
    public_url: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, db, Settings::new(public_url), shutdown).await
}

/// `serve` with every setting given.
pub async fn serve_with(
    listener: TcpListener,
    db: Db,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let feed = Feed::start(&db, settings.live.feed_backlog, settings.live.feed_history)
        .await
        .map_err(|e| std::io::Error::other(e.message()))?;
    // The mail worker has a connection of its own: it never takes one a request needs, and
    // its statements are counted apart from theirs.
    let mail_db = db
        .companion(1)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mail = tokio::spawn(crate::rules::mail::deliver_periodically(
        mail_db,
        settings.mail.clone(),
    ));
    let connections = settings.connections.clone();
    let header_timeout = settings.header_timeout;
    let draining = settings.draining.clone();
    let drain = settings.shutdown_drain;
    let rate = settings.rate_limiter();
    if let Some(rate) = &rate {
        // On a connection of its own, like the mail worker: its writes never wait for one a
        // request needs, and are counted apart from requests' statements.
        let rate_db = db
            .companion(1)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        // Before the first answer: the budgets spent before a restart still count.
        rate.load(&rate_db)
            .await
            .map_err(|e| std::io::Error::other(format!("loading the rate-limit budgets: {e}")))?;
        rate.sync_periodically(rate_db);
    }
    let live_db = live_pool(&db).await?;
    let router = router_with(db, live_db, feed, settings, rate).map_err(std::io::Error::other)?;
    let closing = connections.clone();
    crate::http::accept::serve(listener, router, header_timeout, async move {
        shutdown.await;
        // A load balancer learns from `/readyz` that this instance is going, and stops
        // sending it requests; until it has, they are accepted and served as before.
        draining.begin();
        tracing::info!(?drain, "shutting down: draining, /readyz answers 503");
        tokio::time::sleep(drain).await;
        // Then no new connection is accepted, requests in flight finish, and WebSocket
        // connections are told at once.
        closing.close_all();
    })
    .await;
    connections.closed(Duration::from_secs(5)).await;
    // A mail being sent may be cut short; its lease lets the next worker send it.
    mail.abort();
    Ok(())
}

/// The pool live connections use, opened on their runtime (`websocket::live_runtime`), which
/// alone uses it: a PostgreSQL connection waits for its socket through the runtime that opened
/// it, so a request would otherwise wait behind deliveries for a connection a subscription had
/// (re)opened, and a subscription behind requests for one of theirs.
async fn live_pool(db: &Db) -> std::io::Result<Db> {
    let Some(live) = crate::http::websocket::live_runtime() else {
        return Ok(db.clone());
    };
    let db = db.clone();
    live.spawn(async move { db.sibling(crate::http::websocket::LIVE_CONNECTIONS).await })
        .await
        .map_err(std::io::Error::other)?
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// An error response in the GraphQL shape, for requests refused before GraphQL runs.
fn refuse(status: StatusCode, err: ApiError) -> Response {
    let body = json!({
        "errors": [{ "message": err.message(), "extensions": { "code": err.code() } }]
    });
    (status, Json(body)).into_response()
}

/// Refuses a request whose announced body is longer than `max` bytes, with a GraphQL error
/// naming the limit.
async fn refuse_long_bodies(
    State(max): State<usize>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    match length {
        Some(length) if length > max as u64 => {
            let body = json!({
                "errors": [{
                    "message": format!("the request body is {length} bytes long; the limit is {max} (bodyBytes)"),
                    "extensions": { "code": "BAD_USER_INPUT", "limit": "bodyBytes", "max": max, "value": length },
                }]
            });
            (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
        }
        _ => next.run(request).await,
    }
}

/// A missing credential lets the request through (introspection needs none, every field
/// that does answers UNAUTHENTICATED); a wrong one stops it here. A bearer token wins over a
/// session cookie (which `forgery_refusal` has checked before).
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<Viewer>, Response> {
    let unauthenticated = |err: ApiError| refuse(StatusCode::UNAUTHORIZED, err);
    // Checking a credential fails only when the database cannot answer: a condition that
    // passes, which 503 tells clients and load balancers (retry, or try another instance).
    let unavailable = |err: ApiError| {
        state.db.note_unreachable();
        refuse(StatusCode::SERVICE_UNAVAILABLE, err)
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        let Some(secret) = session_secret(headers) else {
            return Ok(None);
        };
        return match authenticate_session(&state.db, &secret, &state.sign_in.policy).await {
            Ok(viewer) => Ok(Some(viewer)),
            Err(err @ ApiError::Unauthenticated(_)) => Err(unauthenticated(err)),
            Err(err) => Err(unavailable(err)),
        };
    };
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        unauthenticated(ApiError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        ))
    })?;
    match authenticate_token(&state.db, token).await {
        Ok(viewer) => Ok(Some(viewer)),
        Err(err @ ApiError::Unauthenticated(_)) => Err(unauthenticated(err)),
        Err(err) => Err(unavailable(err)),
    }
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    address: Option<ClientAddress>,
    request: async_graphql::Request,
) -> Response {
    let Some(media) = AnswerMedia::negotiate(headers) else {
        return refuse(
            StatusCode::NOT_ACCEPTABLE,
            ApiError::bad_input(
                "answers are application/graphql-response+json or application/json; \
                 accept one of them",
            ),
        );
    };
    if request.query.trim().is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            ApiError::bad_input("the request has no `query`"),
        );
    }
    if state.db.in_outage() {
        // The outage was logged when it began; each refusal is not.
        return refuse(StatusCode::SERVICE_UNAVAILABLE, ApiError::Internal);
    }
    let answered = tokio::time::timeout(state.request_timeout, async {
        let viewer = match authenticate(state, headers).await {
            Ok(viewer) => viewer,
            Err(response) => return response,
        };
        let charged = Arc::new(Charged::default());
        let mut request = request.data(charged.clone());
        if let Some(address) = address {
            request = request.data(address);
        }
        let response = run_as(state, viewer, request).await;
        with_rate_limit(answer(&response, media, state.answer_bytes), charged.get())
    })
    .await;
    answered.unwrap_or_else(|_| {
        // Stopped where it stood: a mutation's transaction that had not committed is rolled
        // back as it is dropped.
        tracing::warn!(timeout = ?state.request_timeout, "a GraphQL request timed out");
        let seconds = state.request_timeout.as_secs_f64();
        let body = json!({
            "errors": [{
                "message": format!("the request did not finish within {seconds} s and was stopped; try again, or ask for less"),
                "extensions": { "code": "INTERNAL" },
            }]
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    })
}

/// The response to a GraphQL request as `media`, serialized into at most `max` bytes: past them
/// the serialization stops, and the answer is an error naming the limit. (async-graphql-axum's
/// `GraphQLResponse` serializes whatever it is given.) A request that failed before execution
/// has no `data` entry, and as `application/graphql-response+json` answers 400 (`http::media`).
fn answer(response: &async_graphql::Response, media: AnswerMedia, max: usize) -> Response {
    let mut body = Bounded {
        bytes: Vec::new(),
        max,
    };
    let before_execution = failed_before_execution(response);
    let written = if before_execution {
        serde_json::to_writer(
            &mut body,
            &RequestErrors {
                errors: &response.errors,
                extensions: &response.extensions,
            },
        )
    } else {
        serde_json::to_writer(&mut body, response)
    };
    let body = match written {
        Ok(()) => body.bytes,
        Err(_) => {
            tracing::info!(max, "an answer over the size limit was not sent");
            let refusal = json!({ "errors": [crate::api::limits::answer_too_large(max)] });
            refusal.to_string().into_bytes()
        }
    };
    let mut answer = Response::new(Body::from(body));
    if before_execution && media == AnswerMedia::GraphqlResponse {
        *answer.status_mut() = StatusCode::BAD_REQUEST;
    }
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    if response.is_ok()
        && let Some(cache_control) = response.cache_control.value()
        && let Ok(value) = HeaderValue::from_str(&cache_control)
    {
        headers.insert(header::CACHE_CONTROL, value);
    }
    headers.extend(response.http_headers.clone());
    answer
}

/// The answer to a request that failed before execution: a response without `data`.
#[derive(serde::Serialize)]
struct RequestErrors<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Whether a request failed before it was executed: it did not parse or validate, its
/// variables did not coerce, or a limit refused it. async-graphql then answers no data and
/// errors that belong to no field; an execution that ends in `data: null` (a non-null root
/// field failed) has errors with a path.
fn failed_before_execution(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// A buffer that refuses to grow past `max` bytes.
struct Bounded {
    bytes: Vec<u8>,
    max: usize,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > self.max {
            return Err(std::io::Error::other("over the answer-size limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Tells the client its budget (`X-RateLimit-*`, as GitHub's API does); a request refused for
/// it is 429 with `Retry-After`.
fn with_rate_limit(mut response: Response, charged: Option<Allowance>) -> Response {
    let Some(charged) = charged else {
        return response;
    };
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("x-ratelimit-limit", charged.limit.to_string());
    set("x-ratelimit-remaining", charged.remaining.to_string());
    set("x-ratelimit-used", charged.used.to_string());
    set(
        "x-ratelimit-reset",
        charged.reset_at.timestamp().to_string(),
    );
    if charged.refused {
        let wait = (charged.reset_at - chrono::Utc::now()).num_seconds().max(1);
        set("retry-after", wait.to_string());
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    response
}

/// Runs a GraphQL request as `viewer`, every error with its code.
async fn run_as(
    state: &AppState,
    viewer: Option<Viewer>,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let scope = RequestScope::new(state.db.clone(), viewer, state.public_url.clone());
    let waves = Waves::default();
    // The waves go in too: the operation's span, made as it is admitted, is their parent.
    let request = request
        .data(scope.loader(&waves))
        .data(scope)
        .data(waves.clone());
    let mut response = waves.run(state.api.execute(request)).await;
    for error in &mut response.errors {
        ensure_code(error);
    }
    response
}

/// Every error carries `extensions.code`. Ours always do; async-graphql's own errors (parse,
/// validation, limits, argument coercion) do not, and they all mean the request was malformed.
fn ensure_code(error: &mut async_graphql::ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
    }
}

async fn graphql_post(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let address = request.extensions().get::<ClientAddress>().copied();
    // Before the body is even read: a forged request gets nowhere.
    if let Some(refusal) = forgery_refusal(&headers) {
        return refusal;
    }
    // A body is read only as JSON, and only when it says so (GraphQL over HTTP: a request
    // without a content type, or of another, is refused; fetch() sends a string body as
    // text/plain when none is given).
    if !media::is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::bad_input("send the request with `Content-Type: application/json`"),
        );
    }
    // A body sent a byte at a time would otherwise hold the connection and its buffer for as
    // long as the client likes.
    let read = GraphQLRequest::<GraphQLRejection>::from_request(request, &state);
    match tokio::time::timeout(state.request_timeout, read).await {
        Ok(Ok(request)) => execute(&state, &headers, address, request.into_inner()).await,
        Ok(Err(GraphQLRejection(err))) => refuse(
            StatusCode::BAD_REQUEST,
            ApiError::bad_input(format!("invalid GraphQL request: {err}")),
        ),
        Err(_) => refuse(
            StatusCode::REQUEST_TIMEOUT,
            ApiError::bad_input(format!(
                "the request body did not arrive within {} s",
                state.request_timeout.as_secs_f64()
            )),
        ),
    }
}

/// The refusal of a request that only the session cookie would authenticate and that a page
/// of another site could have sent without a CORS preflight.
fn forgery_refusal(headers: &HeaderMap) -> Option<Response> {
    let cookie_only =
        headers.get(header::AUTHORIZATION).is_none() && session_secret(headers).is_some();
    (cookie_only && !preflighted(headers)).then(|| {
        refuse(
            StatusCode::FORBIDDEN,
            ApiError::Forbidden(
                "a request signed in with the session cookie must be sent with \
                 `Content-Type: application/json` or an `apollo-require-preflight` header \
                 (protection against cross-site request forgery)"
                    .to_owned(),
            ),
        )
    })
}

/// GET upgrades WebSocket requests to subscriptions, runs queries given in the query string and
/// shows GraphiQL to everyone else.
async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let upgrading = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrading {
        return subscriptions(state, &mut parts).await;
    }
    let headers = parts.headers;
    let Some(query) = parts.uri.query().filter(|q| !q.is_empty()) else {
        return graphiql().await.into_response();
    };
    if let Some(refusal) = forgery_refusal(&headers) {
        return refusal;
    }
    let request = match async_graphql::http::parse_query_string(query) {
        Ok(request) => request,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                ApiError::bad_input(format!("invalid GraphQL request: {err}")),
            );
        }
    };
    if is_mutation(&request) {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            ApiError::bad_input("mutations must be sent with POST"),
        );
    }
    let address = parts.extensions.get::<ClientAddress>().copied();
    execute(&state, &headers, address, request).await
}

/// Serves subscriptions over `graphql-transport-ws` or the legacy `graphql-ws` protocol. The
/// connection authenticates in `connection_init`: `{"Authorization": "Bearer <token>"}`.
async fn subscriptions(state: AppState, parts: &mut axum::http::request::Parts) -> Response {
    let Some(protocol) = crate::http::websocket::protocol(&parts.headers) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            ApiError::bad_input("offer the graphql-transport-ws (or graphql-ws) subprotocol"),
        );
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    // Sockets that have not signed in yet are counted by address: they cost the server before
    // anyone is known. The place is given back once `connection_init` is answered.
    let pending = match parts.extensions.get::<ClientAddress>() {
        Some(address) => {
            let max = state.ws.max_pending_per_address;
            match state.connections.pending.take(address.0, max) {
                Some(place) => Some(place),
                None => {
                    return refuse(
                        StatusCode::TOO_MANY_REQUESTS,
                        ApiError::OverLimit {
                            limit: "connectionsPerAddress",
                            max: max as u64,
                            message: format!(
                                "{max} WebSocket connections from this address have not signed \
                                 in yet (connectionsPerAddress); sign those in or close them"
                            ),
                        },
                    );
                }
            }
        }
        None => None,
    };
    let cookie = CookieCredential::of(&state, &parts.headers);
    let ended = CredentialEnded::default();
    upgrade
        // Answer with the subprotocol that will be spoken.
        .protocols([protocol.sec_websocket_protocol()])
        // Client messages are small. tungstenite keeps its read buffer for the connection's
        // life and zero-fills all of it on every read, so its 128 KiB default cost that much
        // memory per subscriber and a 128 KiB memset per wake-up (BENCHMARKS.md). A longer
        // frame still reads whole, in several reads: this is not a size limit.
        .read_buffer_size(1024)
        // A client's message is held to the limit of a request's body, as over HTTP, frame by
        // frame and whole: a longer one closes the connection (1009) before it is buffered.
        .max_message_size(state.ws_message_bytes)
        .max_frame_size(state.ws_message_bytes)
        // What waits to be written to a peer is bounded: one that never reads (not even the
        // pongs of its own pings) is dropped once that much is waiting for it.
        .write_buffer_size(WS_WRITE_BUFFER)
        // Room for the largest answer, with its envelope, whatever the answer limit is.
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER.max(state.answer_bytes.saturating_add(1 << 20)))
        .on_upgrade(move |socket| {
            let api = state.api.clone();
            let timings = state.ws;
            let shutdown = state.connections.watch();
            // Boxed, so that the task accepting the upgrade holds a pointer, not a second
            // copy of the connection's state; it ends once the connection is handed over.
            let connection = Box::pin(crate::http::websocket::serve(
                socket,
                api,
                protocol,
                timings,
                shutdown,
                ended.clone(),
                move |payload| {
                    drop(pending);
                    connection_data(state, payload, cookie, ended)
                },
            ));
            let live = crate::http::websocket::live_runtime();
            async move {
                match live {
                    Some(live) => drop(live.spawn(connection)),
                    None => connection.await,
                }
            }
        })
}

/// Bytes gathered before a WebSocket write goes to the socket (tungstenite's default).
const WS_WRITE_BUFFER: usize = 128 * 1024;
/// The most bytes that may wait to be written to one WebSocket peer (or the answer limit and
/// 1 MiB, if more): a peer that leaves that much unread is dropped.
pub const WS_MAX_WRITE_BUFFER: usize = 16 * 1024 * 1024;

/// The session cookie of a WebSocket upgrade, usable only from the allowed origins: a page of
/// any other site could otherwise open a connection as its visitor.
enum CookieCredential {
    None,
    Usable(String),
    ForeignOrigin(String),
}

impl CookieCredential {
    fn of(state: &AppState, headers: &HeaderMap) -> CookieCredential {
        let Some(secret) = session_secret(headers) else {
            return CookieCredential::None;
        };
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin = origin_of(origin).unwrap_or_else(|| origin.to_owned());
        if state.allowed_origins.contains(&origin) {
            CookieCredential::Usable(secret)
        } else {
            CookieCredential::ForeignOrigin(origin)
        }
    }
}

/// Whether a request could only have been sent by a page of another site after a CORS
/// preflight: a content type a form cannot send, or a header only scripts can add (the rule of
/// Apollo Server's CSRF prevention).
fn preflighted(headers: &HeaderMap) -> bool {
    let simple_type = match media::body_type(headers).as_deref() {
        None | Some("") => true,
        Some(kind) => matches!(
            kind,
            "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
        ),
    };
    let script_header = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()));
    !simple_type || script_header
}

/// The data of an authenticated WebSocket connection: the credential its operations are each
/// authorized with again (`LiveCredential`), never a viewer. A missing or bad credential
/// refuses the connection.
async fn connection_data(
    state: AppState,
    payload: serde_json::Value,
    cookie: CookieCredential,
    ended: CredentialEnded,
) -> async_graphql::Result<Data> {
    let authorization = payload.as_object().and_then(|fields| {
        fields
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.as_str())
    });
    let refused =
        |message: &'static str| async_graphql::Error::from(ApiError::Unauthenticated(message));
    let viewer = match (authorization, cookie) {
        (Some(value), _) => {
            let token = value
                .and_then(bearer_token)
                .ok_or_else(|| refused("the Authorization value must be `Bearer <token>`"))?;
            authenticate_token(&state.live_db, token).await?
        }
        (None, CookieCredential::Usable(secret)) => {
            authenticate_session(&state.live_db, &secret, &state.sign_in.policy).await?
        }
        (None, CookieCredential::ForeignOrigin(origin)) => {
            tracing::info!(%origin, "refused a session cookie from a foreign origin");
            return Err(refused(
                "the session cookie is not accepted from this page's origin; send \
                 `{\"Authorization\": \"Bearer <token>\"}` in connection_init",
            ));
        }
        (None, CookieCredential::None) => {
            return Err(refused(
                "send `{\"Authorization\": \"Bearer <token>\"}` in connection_init, or sign in",
            ));
        }
    };
    let person = viewer.id();
    let max = state.ws.max_connections_per_person;
    let Some(place) = state.connections.people.take(person, max) else {
        return Err(ApiError::OverLimit {
            limit: "connectionsPerPerson",
            max: max as u64,
            message: format!(
                "you hold {max} WebSocket connections already (connectionsPerPerson); close one \
                 first"
            ),
        }
        .into());
    };
    let mut data = Data::default();
    data.insert(Arc::new(LiveCredential {
        db: state.live_db.clone(),
        credential: viewer.credential,
        person,
        policy: state.sign_in.policy,
        public_url: state.public_url.clone(),
        ended,
        subscriptions: state.connections.subscriptions.clone(),
        max_subscriptions: state.ws.max_subscriptions_per_person,
        turns: state.connections.turns.clone(),
        _connection: place,
    }));
    data.insert(state.feed.clone());
    Ok(data)
}

/// Whether the operation the request would run is a mutation. A document that does not parse
/// is left to the executor, which reports it properly.
fn is_mutation(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::OperationType;
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    crate::api::admission::runs(
        &document,
        request.operation_name.as_deref(),
        OperationType::Mutation,
    )
}

/// GraphiQL 3.8.3 rather than async-graphql's default 4: its scripts install from the npm
/// registry, so the browser test (tests/js) can serve them to the page without the internet.
/// Subscriptions share the endpoint; GraphiQL 3 sends its headers tab in `connection_init`, so
/// a token typed there authenticates them.
async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .version("3.8.3")
            .title("warren")
            .finish(),
    )
}

/// `GET /auth/login`: records the attempt and sends the browser to the provider.
async fn login(
    State(state): State<AppState>,
    address: Option<axum::Extension<ClientAddress>>,
    Query(request): Query<LoginRequest>,
) -> Response {
    // Each sign-in started is stored until it completes or expires: anyone can start one, so
    // each costs a point of the address's anonymous budget.
    if let Some(axum::Extension(address)) = address
        && let Some(allowance) = state.api.charge_anonymous(address, 1)
        && allowance.refused
    {
        let error = crate::api::admission::rate_limited(&allowance);
        let body =
            json!({ "errors": [{ "message": error.message, "extensions": error.extensions }] });
        return with_rate_limit(
            (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response(),
            Some(allowance),
        );
    }
    match state.sign_in.begin(&state.db, request).await {
        Ok((url, cookie)) => (CookieJar::new().add(cookie), Redirect::to(&url)).into_response(),
        Err(err) => sign_in_failed(err),
    }
}

/// `GET /auth/callback`: the provider sends the browser back here; a session starts (and the
/// browser's previous one, if any, ends: sessions rotate at sign-in).
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(request): Query<CallbackRequest>,
) -> Response {
    let mut spent = axum_extra::extract::cookie::Cookie::from(crate::http::sign_in::SIGN_IN_COOKIE);
    spent.set_path("/auth");
    spent.make_removal();
    let jar = CookieJar::new().add(spent);
    match state.sign_in.finish(&state.db, &headers, request).await {
        Ok(signed_in) => {
            if let Some(previous) = session_secret(&headers)
                && let Err(err) = crate::rules::session::end(&state.db.conn, &previous).await
            {
                return sign_in_failed(SignInError::Api(err));
            }
            tracing::info!(person = %signed_in.person_id, "signed in");
            let jar = jar.add(state.sign_in.policy.cookie(signed_in.session_secret));
            (jar, Redirect::to(&signed_in.return_to)).into_response()
        }
        Err(err) => (jar, sign_in_failed(err)).into_response(),
    }
}

/// `POST /auth/logout`: ends the browser's session. Only pages of the allowed origins (or
/// scripts) may ask, so that another site cannot sign its visitors out.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(secret) = session_secret(&headers) {
        if !from_allowed_origin(&state, &headers) && !preflighted(&headers) {
            return refuse(
                StatusCode::FORBIDDEN,
                ApiError::Forbidden("logging out must be asked by a page of this site".to_owned()),
            );
        }
        if let Err(err) = crate::rules::session::end(&state.db.conn, &secret).await {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, err);
        }
    }
    let jar = CookieJar::new().add(state.sign_in.policy.removal_cookie());
    (jar, Redirect::to("/")).into_response()
}

/// Whether the request names one of the allowed origins as its `Origin`: a form of this site,
/// not of another.
fn from_allowed_origin(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(origin_of)
        .is_some_and(|origin| state.allowed_origins.contains(&origin))
}

/// The person whose open session the request's cookie carries, if any.
async fn session_viewer(state: &AppState, headers: &HeaderMap) -> Option<Viewer> {
    let secret = session_secret(headers)?;
    authenticate_session(&state.db, &secret, &state.sign_in.policy)
        .await
        .ok()
}

/// An invitation link's secret.
#[derive(Debug, serde::Deserialize)]
struct InvitationLink {
    token: String,
}

/// `GET /invitations/accept?token=`: where invitation mails link. A signed-in browser gets a
/// button that accepts; anyone else is sent to sign in first, and back here after.
async fn invitation_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(link): Query<InvitationLink>,
) -> Response {
    use crate::html::{escape_html, page};
    let viewer = session_viewer(&state, &headers).await;
    let Some(viewer) = viewer else {
        if state.sign_in.is_configured() {
            let here = format!("/invitations/accept?token={}", link.token);
            let back: String =
                openidconnect::url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            return Redirect::to(&format!("/auth/login?return_to={back}")).into_response();
        }
        let body = format!(
            "<p>Sign-in is not configured on this server. Accept with a personal access token:</p>\
             <pre>mutation {{ acceptInvitation(input: {{token: \"{}\"}}) {{ invitation {{ state }} }} }}</pre>",
            escape_html(&link.token)
        );
        return Html(page("Accept the invitation", &body)).into_response();
    };
    let body = format!(
        "<p>Signed in as {}.</p><form method=\"post\" action=\"/invitations/accept\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\
         <button type=\"submit\">Accept the invitation</button></form>",
        escape_html(&viewer.person.email),
        escape_html(&link.token)
    );
    Html(page("Accept the invitation", &body)).into_response()
}

/// `POST /invitations/accept`: the form of `invitation_page`. A form is what another site can
/// send too, so it must come from this site's pages.
async fn accept_invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::Form(link): axum::Form<InvitationLink>,
) -> Response {
    use crate::html::{escape_html, page};
    if !from_allowed_origin(&state, &headers) {
        let body = "<p>Accept invitations from the page their link opens.</p>";
        return (StatusCode::FORBIDDEN, Html(page("Not accepted", body))).into_response();
    }
    let viewer = session_viewer(&state, &headers).await;
    let Some(viewer) = viewer else {
        let body = "<p>Sign in first, then open the invitation's link again.</p>";
        return (StatusCode::UNAUTHORIZED, Html(page("Not accepted", body))).into_response();
    };
    let request = async_graphql::Request::new(
        "mutation($token: String!) { acceptInvitation(input: {token: $token}) { invitation { state } } }",
    )
    .variables(async_graphql::Variables::from_json(
        json!({ "token": link.token }),
    ));
    let response = run_as(&state, Some(viewer), request).await;
    match response.errors.first() {
        None => Html(page(
            "Invitation accepted",
            "<p>Welcome aboard. <a href=\"/graphql\">Continue</a></p>",
        ))
        .into_response(),
        Some(error) => {
            let body = format!("<p>{}</p>", escape_html(&error.message));
            (StatusCode::CONFLICT, Html(page("Not accepted", &body))).into_response()
        }
    }
}

/// A sign-in that failed, as a page for the person in front of the browser. Internal
/// failures are logged in full and shown in general terms.
fn sign_in_failed(err: SignInError) -> Response {
    let status = err.status();
    let message = if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
        tracing::error!(error = %err, "sign-in failed");
        "something went wrong on our side; try again later".to_owned()
    } else {
        err.to_string()
    };
    let body = format!(
        "<p>{}</p><p><a href=\"/auth/login\">Sign in again</a></p>",
        crate::html::escape_html(&message)
    );
    (status, Html(crate::html::page("Sign-in failed", &body))).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

/// Prometheus's scrape target (see `metrics`).
async fn metrics(State(state): State<AppState>) -> Response {
    metrics_of(&state.db)
}

fn metrics_of(db: &Db) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::METRICS.render(db),
    )
        .into_response()
}

/// Serves `/metrics` alone on `listener` (`--metrics-listen`: an address operators keep off
/// the public network), with the same header timeout as the API, until the process ends.
pub async fn serve_metrics(listener: TcpListener, db: Db, header_timeout: Duration) {
    let router = Router::new().route(
        "/metrics",
        get(|State(db): State<Db>| async move { metrics_of(&db) }),
    );
    crate::http::accept::serve(
        listener,
        router.with_state(db),
        header_timeout,
        std::future::pending(),
    )
    .await;
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.is_on() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if state.db.is_reachable().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn origins_are_compared_as_browsers_serialize_them() {
        assert_eq!(
            origin_of("https://Host.example:443/").as_deref(),
            Some("https://host.example")
        );
        assert_eq!(
            origin_of("https://host.example").as_deref(),
            Some("https://host.example")
        );
        assert_eq!(
            origin_of("http://host.example:80/path?q#f").as_deref(),
            Some("http://host.example")
        );
        assert_eq!(
            origin_of("https://host.example:8443").as_deref(),
            Some("https://host.example:8443")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8000").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("file:///etc/passwd"), None);
        assert_eq!(origin_of("host.example"), None);
    }
}
