//! Traces (README, "Traces"; `src/telemetry.rs`): a `warren serve` process sends its spans over
//! OTLP/HTTP with protobuf to a collector this test runs, which decodes them with the
//! protocol's own definitions. One span per HTTP request (a child of the caller's
//! `traceparent`), one per GraphQL operation inside it, one per statement wave inside that, and
//! nothing from libraries.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::json;

use crate::common::{self, output_text as text, sqlite_url, warren};

/// A span as the collector received it, ids in hex.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    kind: i32,
    /// 0 unset, 1 ok, 2 error.
    status: i32,
    attributes: HashMap<String, String>,
}

/// An OTLP/HTTP collector on a free port: every span it is sent, decoded.
async fn collector() -> (String, Arc<Mutex<Vec<Received>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut spans = sink.lock().expect("spans");
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            let attributes = span
                                .attributes
                                .iter()
                                .map(|kv| {
                                    let value =
                                        match kv.value.as_ref().and_then(|v| v.value.clone()) {
                                            Some(AnyValue::StringValue(s)) => s,
                                            Some(AnyValue::IntValue(i)) => i.to_string(),
                                            Some(AnyValue::BoolValue(b)) => b.to_string(),
                                            Some(AnyValue::DoubleValue(d)) => d.to_string(),
                                            other => format!("{other:?}"),
                                        };
                                    (kv.key.clone(), value)
                                })
                                .collect();
                            spans.push(Received {
                                name: span.name,
                                trace_id: hex::encode(&span.trace_id),
                                span_id: hex::encode(&span.span_id),
                                parent_span_id: hex::encode(&span.parent_span_id),
                                kind: span.kind,
                                status: span.status.map(|s| s.code).unwrap_or(0),
                                attributes,
                            });
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), received)
}

/// What `find` finds among the spans received, once it finds something (or `None` after 30 s:
/// batches leave every 100 ms here).
async fn when_received<T>(
    received: &Mutex<Vec<Received>>,
    find: impl Fn(&[Received]) -> Option<T>,
) -> Option<T> {
    for _ in 0..300 {
        if let Some(found) = find(&received.lock().expect("spans")) {
            return Some(found);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_an_otlp_collector_with_their_parents() {
    let (endpoint, received) = collector().await;
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = sqlite_url(&dir.path().join("warren.db"));
    let seeded = warren(&["seed", "demo"], &[("WARREN_DATABASE_URL", &url)]);
    assert!(seeded.status.success(), "{}", text(&seeded));
    let stdout = String::from_utf8_lossy(&seeded.stdout).to_string();
    let token = stdout
        .lines()
        .last()
        .expect("the viewer's token")
        .to_owned();
    let (_server, addr) = common::serve_process(
        &url,
        "warn",
        Stdio::null(),
        &[
            ("WARREN_OTLP_ENDPOINT", &endpoint),
            // Batches leave every 100 ms instead of every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;

    let client = reqwest::Client::new();
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let answer = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .header("x-request-id", "trace-test-1")
        .json(&json!({
            "query": "query Mine { viewer { teams(first: 5) { nodes { name apps(first: 5) { nodes { name } } } } } }"
        }))
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.expect("JSON");
    assert!(body.get("errors").is_none(), "{body}");

    // The request, its operation and at least two waves (teams, then their apps).
    // A request's span ends after its operation's and waves', so it is exported with or after
    // them.
    let spans = when_received(&received, |spans| {
        let of_trace: Vec<Received> = spans
            .iter()
            .filter(|span| span.trace_id == caller_trace)
            .cloned()
            .collect();
        of_trace
            .iter()
            .any(|span| span.name == "POST /graphql")
            .then_some(of_trace)
    })
    .await
    .expect("the request's spans");
    let named =
        |name: &str| -> Vec<&Received> { spans.iter().filter(|s| s.name == name).collect() };
    let request = named("POST /graphql");
    assert_eq!(request.len(), 1, "{spans:#?}");
    let request = request[0];
    assert_eq!(request.parent_span_id, caller_span, "{request:#?}");
    assert_eq!(request.kind, 2, "a server span: {request:#?}");
    assert_eq!(
        request.attributes.get("id").map(String::as_str),
        Some("trace-test-1")
    );
    assert_eq!(
        request
            .attributes
            .get("http.response.status_code")
            .map(String::as_str),
        Some("200"),
        "{request:#?}"
    );
    let operation = named("query Mine");
    assert_eq!(operation.len(), 1, "{spans:#?}");
    let operation = operation[0];
    assert_eq!(operation.parent_span_id, request.span_id, "{spans:#?}");
    assert_eq!(operation.status, 1, "ok: {operation:#?}");
    assert_eq!(
        operation
            .attributes
            .get("graphql.operation.type")
            .map(String::as_str),
        Some("query")
    );
    assert_eq!(
        operation
            .attributes
            .get("graphql.operation.name")
            .map(String::as_str),
        Some("Mine")
    );
    let waves = named("statement wave");
    assert!(waves.len() >= 2, "{spans:#?}");
    for wave in &waves {
        assert_eq!(wave.parent_span_id, operation.span_id, "{spans:#?}");
        let statements: u64 = wave
            .attributes
            .get("statements")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(statements >= 1, "{wave:#?}");
    }
    // warren's spans only: no library's (SQL driver, dataloader, HTTP client).
    assert_eq!(spans.len(), 2 + waves.len(), "{spans:#?}");

    // A failing operation, without a caller's trace: a trace of its own, an error status and
    // the error's code.
    let answer = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .header("x-request-id", "trace-test-2")
        .json(&json!({ "query": "query Broken { nothing }" }))
        .send()
        .await
        .expect("POST");
    let status = answer.status();
    assert!(status.is_success() || status.is_client_error(), "{status}");
    let failed = when_received(&received, |spans| {
        let request = spans
            .iter()
            .find(|s| s.attributes.get("id").map(String::as_str) == Some("trace-test-2"))?;
        let operation = spans.iter().find(|s| s.parent_span_id == request.span_id)?;
        Some((request.clone(), operation.clone()))
    })
    .await;
    let (request, operation) = failed.expect("the failing request's spans");
    assert_ne!(request.trace_id, caller_trace);
    assert_eq!(request.parent_span_id, "", "a new trace: {request:#?}");
    assert_eq!(operation.name, "query Broken", "{operation:#?}");
    assert_eq!(operation.status, 2, "error: {operation:#?}");
    assert_eq!(
        operation
            .attributes
            .get("graphql.error.code")
            .map(String::as_str),
        Some("BAD_USER_INPUT"),
        "{operation:#?}"
    );
}
