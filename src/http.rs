//! The HTTP surface: GraphQL at `/graphql` (POST, GET for queries, WebSocket for
//! subscriptions), GraphiQL for browsers, health and readiness probes. Authentication happens
//! here, once per request or per WebSocket connection.

use std::future::Future;
use std::sync::Arc;

use async_graphql::Data;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{FromRequestParts, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{Viewer, authenticate_token, bearer_token};
use crate::db::Db;
use crate::error::ApiError;
use crate::feed::Feed;
use crate::graphql::context::RequestScope;
use crate::graphql::waves::Waves;
use crate::graphql::{WarrenSchema, build_schema};
use crate::websocket::LiveOptions;

/// Largest request body accepted; a GraphQL document is rarely more than a few kilobytes.
const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
struct AppState {
    schema: WarrenSchema,
    db: Db,
    feed: Feed,
    public_url: Arc<str>,
    ws: LiveOptions,
}

/// `public_url` is where people reach this service; invitation links point there.
pub fn router(db: Db, feed: Feed, public_url: &str, ws: LiveOptions) -> Router {
    let state = AppState {
        schema: build_schema(),
        db,
        feed,
        public_url: Arc::from(public_url.trim_end_matches('/')),
        ws,
    };
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/", get(graphiql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    db: Db,
    public_url: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, db, public_url, LiveOptions::default(), shutdown).await
}

/// `serve` with the live-connection options given.
pub async fn serve_with(
    listener: TcpListener,
    db: Db,
    public_url: &str,
    ws: LiveOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let feed = Feed::start(&db, ws.feed_backlog)
        .await
        .map_err(|e| std::io::Error::other(e.message()))?;
    axum::serve(listener, router(db, feed, public_url, ws))
        .with_graceful_shutdown(shutdown)
        .await
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

/// A missing credential lets the request through (introspection needs none, every field
/// that does answers UNAUTHENTICATED); a wrong one stops it here.
async fn authenticate(db: &Db, headers: &HeaderMap) -> Result<Option<Viewer>, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let unauthenticated = |err: ApiError| refuse(StatusCode::UNAUTHORIZED, err);
    let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
        unauthenticated(ApiError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        ))
    })?;
    match authenticate_token(db, token).await {
        Ok(viewer) => Ok(Some(viewer)),
        Err(err @ ApiError::Unauthenticated(_)) => Err(unauthenticated(err)),
        Err(err) => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, err)),
    }
}

async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    request: async_graphql::Request,
) -> Response {
    let viewer = match authenticate(&state.db, headers).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let scope = RequestScope::new(state.db.clone(), viewer, state.public_url.clone());
    let waves = Waves::default();
    let request = request.data(scope.loader(&waves)).data(scope);
    let mut response = waves.run(state.schema.execute(request)).await;
    for error in &mut response.errors {
        ensure_code(error);
    }
    GraphQLResponse::from(response).into_response()
}

/// Every error carries `extensions.code`. Ours always do; async-graphql's own errors (parse,
/// validation, limits, argument coercion) do not, and they all mean the request was malformed.
fn ensure_code(error: &mut async_graphql::ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", "BAD_USER_INPUT");
    }
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    execute(&state, &headers, request.into_inner()).await
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
    execute(&state, &headers, request).await
}

/// Serves subscriptions over `graphql-transport-ws` or the legacy `graphql-ws` protocol. The
/// connection authenticates in `connection_init`: `{"Authorization": "Bearer <token>"}`.
async fn subscriptions(state: AppState, parts: &mut axum::http::request::Parts) -> Response {
    let Some(protocol) = crate::websocket::protocol(&parts.headers) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            ApiError::bad_input("offer the graphql-transport-ws (or graphql-ws) subprotocol"),
        );
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    upgrade
        // Answer with the subprotocol that will be spoken.
        .protocols([protocol.sec_websocket_protocol()])
        .on_upgrade(move |socket| {
            let schema = state.schema.clone();
            let timings = state.ws;
            crate::websocket::serve(socket, schema, protocol, timings, move |payload| {
                connection_data(state, payload)
            })
        })
}

/// The data of an authenticated subscription connection; a missing or bad credential refuses
/// the connection.
async fn connection_data(
    state: AppState,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let token = payload
        .as_object()
        .and_then(|fields| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        })
        .and_then(|(_, value)| value.as_str())
        .and_then(bearer_token)
        .ok_or_else(|| {
            async_graphql::Error::from(ApiError::Unauthenticated(
                "send `{\"Authorization\": \"Bearer <token>\"}` in connection_init",
            ))
        })?;
    let viewer = authenticate_token(&state.db, token).await?;
    let scope = RequestScope::new(state.db.clone(), Some(viewer), state.public_url.clone());
    let mut data = Data::default();
    data.insert(scope.streaming_loader());
    data.insert(scope);
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
    document.operations.iter().any(|(name, op)| {
        let selected = match (&request.operation_name, name) {
            (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
            _ => true,
        };
        selected && op.node.ty == OperationType::Mutation
    })
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("warren")
            .finish(),
    )
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.db.is_reachable().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}
