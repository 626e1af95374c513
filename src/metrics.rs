//! What the service counts, for Prometheus at `/metrics`: GraphQL requests and their errors
//! by operation, their latency, open WebSocket connections and running subscriptions, the
//! database pool's connections, and events written.
//!
//! An operation is labelled by its type and first root field (`query.viewer`,
//! `mutation.createTeam`, made by `api::admission`), names the schema bounds, never by the
//! client's operation name, which anyone could vary without end; a document that fails to parse
//! or validate counts as `invalid`.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::store::db::Db;

pub struct Metrics {
    registry: Registry,
    /// The process's CPU time, resident memory and open files, under the names every
    /// Prometheus client gives them (`process_*`, without the `warren_` prefix).
    process: Registry,
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
            process: Registry::new(),
        };
        #[cfg(target_os = "linux")]
        if let Err(err) = metrics.process.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )) {
            tracing::error!(%err, "cannot register the process metrics");
        }
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
        let mut families = self.registry.gather();
        families.extend(self.process.gather());
        if let Err(err) = TextEncoder::new().encode(&families, &mut text) {
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

/// Counts and times one answered request. `label` is that of a document that validated (only
/// then are its field names the schema's, `api::admission` makes it); any other counts as
/// `invalid`. `failed`: the answer carries errors.
pub fn observe_request(label: Option<&str>, failed: bool, took: Duration) {
    let operation = label.unwrap_or("invalid");
    let outcome = if failed { "error" } else { "ok" };
    METRICS
        .requests
        .with_label_values(&[operation, outcome])
        .inc();
    METRICS
        .latency
        .with_label_values(&[operation])
        .observe(took.as_secs_f64());
    tracing::Span::current().record("operation", operation);
}
