//! What the service counts, for Prometheus at `/metrics`: GraphQL requests and their errors
//! by operation, their latency, open WebSocket connections and running subscriptions, the
//! database pool's connections, and events written.
//!
//! An operation is labelled by its type and first root field (`query.viewer`,
//! `mutation.createTeam`), names the schema bounds, never by the client's operation name, which
//! anyone could vary without end; a document that fails to parse or validate counts as
//! `invalid`.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Response, ServerResult, Variables};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::db::Db;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Open WebSocket connections.
    pub websocket_connections: IntGauge,
    /// Running `events` subscriptions.
    pub subscriptions: IntGauge,
    /// Events committed by this instance.
    pub events_written: IntCounter,
    pool: IntGaugeVec,
}

/// The process's metrics; one process is one scrape target.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new_custom(Some("warren".to_owned()), None)
            .unwrap_or_else(|_| Registry::new());
        let metrics = Metrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "graphql_requests_total",
                    "GraphQL requests by operation and outcome (ok, or error when the answer carries errors).",
                ),
                &["operation", "outcome"],
            )
            .expect("a valid metric definition"),
            latency: HistogramVec::new(
                HistogramOpts::new(
                    "graphql_request_duration_seconds",
                    "Time to answer a GraphQL request, by operation.",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["operation"],
            )
            .expect("a valid metric definition"),
            websocket_connections: IntGauge::new(
                "websocket_connections",
                "Open WebSocket connections.",
            )
            .expect("a valid metric definition"),
            subscriptions: IntGauge::new("subscriptions", "Running event subscriptions.")
                .expect("a valid metric definition"),
            events_written: IntCounter::new("events_written_total", "Events committed.")
                .expect("a valid metric definition"),
            pool: IntGaugeVec::new(
                Opts::new(
                    "database_pool_connections",
                    "Connections of the request pool, by state (idle or in use).",
                ),
                &["state"],
            )
            .expect("a valid metric definition"),
            registry,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 6] = [
            Box::new(metrics.requests.clone()),
            Box::new(metrics.latency.clone()),
            Box::new(metrics.websocket_connections.clone()),
            Box::new(metrics.subscriptions.clone()),
            Box::new(metrics.events_written.clone()),
            Box::new(metrics.pool.clone()),
        ];
        for collector in collectors {
            if let Err(err) = metrics.registry.register(collector) {
                tracing::error!(%err, "cannot register a metric");
            }
        }
        metrics
    }

    /// Every metric in Prometheus's text format, the pool of `db` as it is now.
    pub fn render(&self, db: &Db) -> String {
        let (size, idle) = db.pool_connections();
        self.pool.with_label_values(&["idle"]).set(i64::from(idle));
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(size.saturating_sub(idle)));
        let mut text = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::error!(%err, "cannot encode the metrics");
        }
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// Counts a gauge up while it lives.
pub struct Held(&'static IntGauge);

impl Held {
    pub fn new(gauge: &'static IntGauge) -> Held {
        gauge.inc();
        Held(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The extension that counts and times every GraphQL request.
pub struct Observe;

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Observation::default())
    }
}

#[derive(Default)]
struct Observation {
    /// The label of each operation of the document, by name, once it parsed.
    parsed: Mutex<Vec<(Option<String>, String)>>,
    /// The label of the operation that runs, once the document validated: only then are its
    /// field names the schema's.
    running: Mutex<Option<String>>,
}

/// `query.viewer` for each operation of `document`: its type and first root field.
fn labels(document: &ExecutableDocument) -> Vec<(Option<String>, String)> {
    document
        .operations
        .iter()
        .map(|(name, operation)| {
            let kind = match operation.node.ty {
                OperationType::Query => "query",
                OperationType::Mutation => "mutation",
                OperationType::Subscription => "subscription",
            };
            let first = operation
                .node
                .selection_set
                .node
                .items
                .iter()
                .find_map(|item| match &item.node {
                    Selection::Field(field) => Some(field.node.name.node.as_str()),
                    _ => None,
                })
                .unwrap_or("fragment");
            (name.map(|name| name.to_string()), format!("{kind}.{first}"))
        })
        .collect()
}

#[async_graphql::async_trait::async_trait]
impl Extension for Observation {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let response = next.run(ctx).await;
        let operation = self
            .running
            .lock()
            .ok()
            .and_then(|running| running.clone())
            .unwrap_or_else(|| "invalid".to_owned());
        let outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        METRICS
            .requests
            .with_label_values(&[operation.as_str(), outcome])
            .inc();
        METRICS
            .latency
            .with_label_values(&[operation.as_str()])
            .observe(started.elapsed().as_secs_f64());
        tracing::Span::current().record("operation", operation.as_str());
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Ok(mut parsed) = self.parsed.lock() {
            *parsed = labels(&document);
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let label = self.parsed.lock().ok().and_then(|parsed| {
            parsed
                .iter()
                .find(|(name, _)| operation_name.is_none() || name.as_deref() == operation_name)
                .map(|(_, label)| label.clone())
        });
        if let Ok(mut running) = self.running.lock() {
            *running = label;
        }
        next.run(ctx, operation_name).await
    }
}
