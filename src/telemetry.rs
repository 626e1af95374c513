//! Traces: OpenTelemetry over OTLP/HTTP with protobuf, off unless an endpoint is configured
//! (`--otlp-endpoint`, or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; the other `OTEL_*` variables of the specification, e.g.
//! `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_SCHEDULE_DELAY`, apply as the SDK reads
//! them).
//!
//! The spans are the ones warren's own code opens with `tracing` (target `warren`): one per
//! HTTP request (`http::router`), one per GraphQL operation (`api::admission`) and one per
//! statement wave (`api::waves`), with the request id; nothing from libraries (the SQL driver's
//! or the dataloader's own spans would be thousands per request). A W3C `traceparent` header
//! makes the request span a child of the caller's; without tracing on, it is ignored.
//!
//! Spans leave the process in batches, from a thread of the SDK's own, through reqwest's blocking
//! client (`Uploader`): a request never waits for the exporter, and when the collector is slow or away the
//! batch queue drops spans rather than grow (2,048 at most by default).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The standard variables that turn traces on without `--otlp-endpoint`.
const STANDARD_ENDPOINTS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The exporter of a process that sends traces; flushes what is queued when shut down.
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Sends the spans still queued and stops the exporter's thread. Call it outside any async
    /// runtime: the exporter's HTTP client blocks.
    pub fn shut_down(self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("warren: traces not all sent: {err}");
        }
    }
}

/// Whether traces are to be sent: an endpoint given to warren, or one of the standard
/// variables set.
pub fn configured(endpoint: Option<&str>) -> bool {
    endpoint.is_some()
        || STANDARD_ENDPOINTS
            .iter()
            .any(|var| std::env::var_os(var).is_some_and(|value| !value.is_empty()))
}

/// The exporter and the `tracing` layer that feeds it, for `endpoint` (a base URL, like
/// `OTEL_EXPORTER_OTLP_ENDPOINT`: spans go to `<endpoint>/v1/traces`) or, without one, where
/// the standard variables say. Also makes `traceparent` the propagation format. Must be called
/// outside any async runtime (the exporter's blocking client owns one of its own).
pub fn exporter<S>(endpoint: Option<&str>) -> Result<(Traces, impl Layer<S>), String>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let client = reqwest::blocking::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|err| format!("cannot send traces: {err}"))?;
    let builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Uploader(client))
        .with_protocol(Protocol::HttpBinary);
    let builder = match endpoint {
        Some(base) => builder.with_endpoint(format!("{}/v1/traces", base.trim_end_matches('/'))),
        None => builder,
    };
    let exporter = builder
        .build()
        .map_err(|err| format!("cannot send traces: {err}"))?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("warren");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("warren");
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    // warren's own spans only (see the module's comment), and its log lines inside them as
    // span events.
    let only_ours = Targets::new()
        .with_target("warren", LevelFilter::INFO)
        .with_default(LevelFilter::OFF);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(only_ours);
    Ok((Traces { provider }, layer))
}

/// Makes `span` a child of the trace a request's `traceparent` header names (W3C Trace
/// Context); nothing when there is none, or when traces are off (the propagator then reads
/// nothing).
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(headers))
    });
    // Fails only when the span is already closed or traces are off; nothing to do then.
    let _ = span.set_parent(parent);
}

/// How long one export may take, as OTLP's default (`OTEL_EXPORTER_OTLP_TIMEOUT`).
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest collector answer read: a success carries at most a few rejected-span counts.
const ANSWER_BYTES: u64 = 64 * 1024;

/// The exporter's HTTP client: reqwest's blocking one, on the SDK's batch thread.
#[derive(Debug)]
struct Uploader(reqwest::blocking::Client);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Uploader {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        use std::io::Read;
        let request = reqwest::blocking::Request::try_from(request)?;
        let mut response = self.0.execute(request)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        response.take(ANSWER_BYTES).read_to_end(&mut body)?;
        let mut answer = opentelemetry_http::Response::builder()
            .status(status)
            .body(opentelemetry_http::Bytes::from(body))?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}
