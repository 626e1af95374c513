//! The schema as clients reach it, over HTTP and WebSockets alike: each request is measured
//! against the limits (`limits`) and charged to its viewer's budget (`rate_limit`) before
//! anything runs, and counted and timed (`metrics`).
//!
//! This wraps the schema rather than hooking into it as async-graphql extensions: with any
//! extension installed, async-graphql sends every field of every answer through the extension
//! chain (a registry lookup, a hash of the type's name and a boxed future per field), which was
//! about a tenth of the server's CPU on the dashboard's query; these checks need only the
//! document.
//!
//! Over a WebSocket, each operation (each `subscribe` message, whatever it carries) is also
//! authorized here as of its own start (`LiveCredential`): the connection keeps which credential
//! opened it, never who its viewer was or what it could reach.

use std::any::{Any, TypeId};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Data, Executor, Request, Response, ServerError, Value};
use chrono::Utc;
use tracing::Instrument;

use crate::api::WarrenSchema;
use crate::api::context::RequestScope;
use crate::api::limits::{Limits, ListMeter, Shape, check, check_text};
use crate::api::waves::Waves;
use crate::error::ApiError;
use crate::occupancy::{Occupancy, Place, Turns};
use crate::rules::auth::{Credential, authenticate_again};
use crate::rules::rate_limit::{Allowance, Charged, ClientAddress, RateLimiter};
use crate::rules::session::SessionPolicy;
use crate::store::db::Db;

/// The schema behind its checks. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    schema: WarrenSchema,
    checks: Arc<Checks>,
}

struct Checks {
    limits: Limits,
    shape: Shape,
    /// Charges each authenticated request's cost; none: no rate limit.
    rate: Option<RateLimiter>,
}

/// What admitting a request found out.
struct Admitted {
    /// The operation's metrics label (`query.viewer`), or none for a document that did not
    /// parse (async-graphql reports why when it runs).
    label: Option<String>,
    /// Whether the operation to run is a subscription.
    subscription: bool,
    /// The operation's type and name, for its span (`telemetry`).
    operation: Option<(&'static str, Option<String>)>,
    /// What is left of the complexity limit for the lists measured at run time.
    meter: Option<Arc<ListMeter>>,
    /// The points it was charged (or would have been, without a rate limit).
    cost: u64,
}

impl Admitted {
    /// Gives a query or mutation its list meter; a subscription's events are not metered (see
    /// `ListMeter`).
    fn equip(&mut self, request: Request) -> Request {
        match self.meter.take() {
            Some(meter) if !self.subscription => request.data(meter),
            _ => request,
        }
    }
}

/// What a WebSocket connection keeps of what signed it in, in its connection data: the
/// credential, and nothing decided from it. Each operation on the connection is authorized
/// again from it (`auth::authenticate_again`: one statement, as an HTTP request's
/// authentication costs) and runs with a viewer and a reach of its own, so a revocation, a
/// logout, a cancellation, a new account type or a lost membership counts from the very next
/// operation.
pub struct LiveCredential {
    /// The database of live connections (`http::live_pool`).
    pub db: Db,
    pub credential: Credential,
    /// Whose credential it is: a credential never changes hands. It keys the person's turns
    /// and places below, never what the person may do.
    pub person: uuid::Uuid,
    pub policy: SessionPolicy,
    pub public_url: Arc<str>,
    /// Set when an operation found the credential ended: the connection answers that
    /// operation with an `error` message and closes (4403, `websocket::serve`).
    pub ended: CredentialEnded,
    /// The person's live subscriptions, of which they may hold `max_subscriptions`.
    pub subscriptions: Occupancy<uuid::Uuid>,
    pub max_subscriptions: usize,
    /// The person's turns to start operations: one person's burst waits for that person.
    pub turns: Turns,
    /// The connection's place among the person's (`websocket::LiveOptions`), held while the
    /// connection lives.
    pub _connection: Place<uuid::Uuid>,
}

/// Shared between a connection's operations and the connection itself (`websocket::serve`):
/// whether one of them found its credential ended.
#[derive(Debug, Clone, Default)]
pub struct CredentialEnded(Arc<AtomicBool>);

impl CredentialEnded {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Api {
    /// The schema, refusing every request over `limits` before it runs and every mutation
    /// over `quotas`; with `rate`, each authenticated request is also charged to its viewer's
    /// budget.
    pub fn new(
        limits: Limits,
        quotas: crate::rules::quotas::Quotas,
        rate: Option<RateLimiter>,
    ) -> Api {
        let schema = crate::api::build_schema_with(limits, quotas);
        let shape = Shape::of_sdl(&schema.sdl(), &quotas).unwrap_or_else(|err| {
            // The SDL is the schema's own; a test parses it, so this is a bug, not an input.
            tracing::error!(%err, "cannot read the schema's own SDL; connections cost 1");
            Shape::default()
        });
        Api {
            schema,
            checks: Arc::new(Checks {
                limits,
                shape,
                rate,
            }),
        }
    }

    /// Charges `cost` to the anonymous budget of `address`, for work done outside GraphQL
    /// (starting a sign-in); none without a rate limit.
    pub fn charge_anonymous(&self, address: ClientAddress, cost: u64) -> Option<Allowance> {
        let rate = self.checks.rate.as_ref()?;
        Some(rate.charge_address(address.0, cost, Utc::now()))
    }

    /// The longest answer sent (`Limits::answer_bytes`).
    pub fn answer_bytes(&self) -> usize {
        self.checks.limits.answer_bytes
    }

    /// Measures the request (parsing it, once: the schema reuses the parsed document) and
    /// charges it to the viewer found in `data`.
    fn admit(&self, request: &mut Request, data: &[&Data]) -> Result<Admitted, ServerError> {
        let checks = &self.checks;
        let limits = &checks.limits;
        check_text(&request.query, limits)?;
        let operation_name = request.operation_name.clone();
        let variables = request.variables.clone();
        let Ok(document) = request.parsed_query() else {
            return Ok(Admitted {
                label: None,
                subscription: false,
                operation: None,
                meter: None,
                cost: 0,
            });
        };
        let subscription = runs(
            document,
            operation_name.as_deref(),
            OperationType::Subscription,
        );
        let (measure, meter) = check(
            document,
            operation_name.as_deref(),
            &variables,
            &checks.shape,
            limits,
        )?;
        let label = operation_label(document, operation_name.as_deref());
        let operation = selected(document, operation_name.as_deref())
            .map(|(name, kind)| (kind_name(kind), name.map(str::to_owned)));
        let cost = crate::rules::rate_limit::cost(measure.requests, measure.complexity);
        self.charge(cost, data)?;
        Ok(Admitted {
            label,
            subscription,
            operation,
            meter: Some(Arc::new(meter)),
            cost,
        })
    }

    /// Charges a request's `cost` to its viewer's budget, or an anonymous one to its client
    /// address's, refusing it when too little is left.
    fn charge(&self, cost: u64, data: &[&Data]) -> Result<(), ServerError> {
        let Some(rate) = &self.checks.rate else {
            return Ok(());
        };
        let viewer = find::<Arc<RequestScope>>(data).and_then(|scope| scope.viewer.as_ref());
        let allowance = match (viewer, find::<ClientAddress>(data)) {
            (Some(viewer), _) => rate.charge(viewer.id(), cost, Utc::now()),
            (None, Some(address)) => rate.charge_address(address.0, cost, Utc::now()),
            // Only the router served without its accept loop (tests) has no address.
            (None, None) => return Ok(()),
        };
        if let Some(charged) = find::<Arc<Charged>>(data)
            && let Ok(mut slot) = charged.0.lock()
        {
            *slot = Some(allowance);
        }
        if allowance.refused {
            return Err(rate_limited(&allowance));
        }
        Ok(())
    }
}

/// Whether an operation the request selects is of type `kind`: the one named
/// `operation_name`, or any when no name is given (an unnamed operation counts as selected).
pub fn runs(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    kind: OperationType,
) -> bool {
    document.operations.iter().any(|(name, operation)| {
        let selected = match (operation_name, name) {
            (Some(wanted), Some(name)) => wanted == name.as_str(),
            _ => true,
        };
        selected && operation.node.ty == kind
    })
}

/// The value of type `T` in the first of `data` that holds one.
fn find<'a, T: Any + Send + Sync>(data: &[&'a Data]) -> Option<&'a T> {
    data.iter()
        .find_map(|data| data.get(&TypeId::of::<T>())?.downcast_ref::<T>())
}

/// Whether async-graphql refused the document as a whole (it did not parse or validate): no
/// data, and errors that belong to no field.
fn refused_whole(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

impl Executor for Api {
    async fn execute(&self, mut request: Request) -> Response {
        let started = Instant::now();
        let data = std::mem::take(&mut request.data);
        let admitted = self.admit(&mut request, &[&data]);
        let waves = find::<Waves>(&[&data]).cloned();
        request.data = data;
        let (response, label, span) = match admitted {
            Err(error) => (
                Response::from_errors(vec![error]),
                None,
                operation_span(None),
            ),
            Ok(mut admitted) => {
                let span = operation_span(admitted.operation.as_ref());
                if let Some(waves) = &waves {
                    waves.open_inside(span.clone());
                }
                let request = admitted.equip(request);
                let response = self.schema.execute(request).instrument(span.clone()).await;
                let label = admitted.label;
                let label = label.filter(|_| !refused_whole(&response));
                (response, label, span)
            }
        };
        crate::metrics::observe_request(
            label.as_deref(),
            !response.errors.is_empty(),
            started.elapsed(),
        );
        record_outcome(&span, &response);
        response
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let live = session_data
            .as_deref()
            .and_then(|data| find::<Arc<LiveCredential>>(&[data]))
            .cloned();
        if let Some(live) = live {
            let api = self.clone();
            return stream::once(api.live_operation(live, request, session_data))
                .flatten()
                .boxed();
        }
        let data = std::mem::take(&mut request.data);
        let admitted = match &session_data {
            Some(session) => self.admit(&mut request, &[&data, session]),
            None => self.admit(&mut request, &[&data]),
        };
        request.data = data;
        match admitted {
            Err(error) => refusal(error),
            Ok(mut admitted) => self.schema.execute_stream_with_session_data(
                admitted.equip(request),
                session_data.unwrap_or_default(),
            ),
        }
    }
}

/// A subscription's charge, renewed for each hour it lives: its admission paid for the hour it
/// started in, and every later hour is charged again to the person's budget as its first event
/// goes out. When the budget cannot pay, that event is replaced by the RATE_LIMITED error and
/// the subscription ends (the client resubscribes, with `after`, once the budget renews).
struct Renewal {
    rate: Option<RateLimiter>,
    person: uuid::Uuid,
    cost: u64,
    charged_at: chrono::DateTime<Utc>,
}

/// How long a subscription's charge lasts.
const RENEWAL: chrono::Duration = chrono::Duration::hours(1);

impl Renewal {
    /// `events`, charged hourly, holding `place` (the subscription's among its person's) for as
    /// long as it lives.
    fn hourly(
        self,
        events: BoxStream<'static, Response>,
        place: Place<uuid::Uuid>,
    ) -> BoxStream<'static, Response> {
        stream::unfold(Some((events, self, place)), |state| async move {
            let (mut events, mut renewal, place) = state?;
            let response = events.next().await?;
            if let Err(error) = renewal.renew() {
                return Some((Response::from_errors(vec![error]), None));
            }
            Some((response, Some((events, renewal, place))))
        })
        .boxed()
    }

    fn renew(&mut self) -> Result<(), ServerError> {
        let Some(rate) = &self.rate else {
            return Ok(());
        };
        let now = Utc::now();
        if now < self.charged_at + RENEWAL {
            return Ok(());
        }
        let allowance = rate.charge(self.person, self.cost, now);
        if allowance.refused {
            return Err(rate_limited(&allowance));
        }
        self.charged_at = now;
        Ok(())
    }
}

/// A stream of one response refusing the operation.
fn refusal(error: ServerError) -> BoxStream<'static, Response> {
    stream::once(async move { Response::from_errors(vec![error]) }).boxed()
}

impl Api {
    /// One operation of a WebSocket connection: authorized as of now, then measured, charged
    /// and run with a request scope of its own. Queries and mutations run as over HTTP, their
    /// batches in waves with a cache for the operation (so they cost the same statements);
    /// subscriptions with the streaming loader.
    async fn live_operation(
        self,
        live: Arc<LiveCredential>,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        // Held until the operation is admitted: a burst of one person's operations is started
        // a few at a time, and nobody else waits for it.
        let turn = live.turns.take(live.person).await;
        let viewer = match authenticate_again(&live.db, &live.credential, &live.policy).await {
            Ok(viewer) => viewer,
            Err(error) => {
                if matches!(error, ApiError::Unauthenticated(_)) {
                    live.ended.set();
                } else {
                    live.db.note_unreachable();
                }
                let error = async_graphql::Error::from(error).into_server_error(Default::default());
                return refusal(error);
            }
        };
        let scope = RequestScope::new(live.db.clone(), Some(viewer), live.public_url.clone());
        let waves = Waves::default();
        let mut data = std::mem::take(&mut request.data);
        data.insert(scope.clone());
        let session = session_data.unwrap_or_default();
        let admitted = self.admit(&mut request, &[&data, &session]);
        request.data = data;
        drop(turn);
        match admitted {
            Err(error) => refusal(error),
            Ok(Admitted {
                subscription: true,
                cost,
                ..
            }) => {
                let Some(place) = live.subscriptions.take(live.person, live.max_subscriptions)
                else {
                    let max = live.max_subscriptions;
                    let error = async_graphql::Error::from(ApiError::OverLimit {
                        limit: "subscriptionsPerPerson",
                        max: max as u64,
                        message: format!(
                            "you hold {max} subscriptions already (subscriptionsPerPerson); \
                             end one first"
                        ),
                    });
                    return refusal(error.into_server_error(Default::default()));
                };
                let events = self.schema.execute_stream_with_session_data(
                    request.data(scope.streaming_loader()),
                    session,
                );
                let renewal = Renewal {
                    rate: self.checks.rate.clone(),
                    person: live.person,
                    cost,
                    charged_at: Utc::now(),
                };
                renewal.hourly(events, place)
            }
            Ok(mut admitted) => {
                let span = operation_span(admitted.operation.as_ref());
                waves.open_inside(span.clone());
                let request = admitted.equip(request).data(scope.loader(&waves));
                let schema = self.schema.clone();
                let run = waves.run(async move {
                    let response = schema.execute(request).await;
                    record_outcome(&tracing::Span::current(), &response);
                    response
                });
                stream::once(run.instrument(span)).boxed()
            }
        }
    }
}

/// The label of the operation `document` runs (`query.viewer`): its type and first root field.
/// None when no operation is selected (async-graphql reports why when it runs).
fn operation_label(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<String> {
    let operation = document
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)
        .map(|(_, operation)| operation)?;
    let kind = kind_name(operation.node.ty);
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
    Some(format!("{kind}.{first}"))
}

/// The operation a request runs: the one named, or the first; with its name and type.
fn selected<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'a str>, OperationType)> {
    document
        .operations
        .iter()
        .find(|(name, _)| operation_name.is_none() || name.map(|n| n.as_str()) == operation_name)
        .map(|(name, operation)| (name.map(|n| n.as_str()), operation.node.ty))
}

fn kind_name(kind: OperationType) -> &'static str {
    match kind {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// The span of one GraphQL query or mutation, for traces (`telemetry`), named after it as
/// OpenTelemetry's GraphQL conventions do (`query Dashboard`; `query` for an anonymous one;
/// `graphql` for one refused before it was read). It is made once the operation is admitted,
/// because a span's name is fixed when the span is first entered; its statement waves open
/// theirs inside it (`Waves::open_inside`). Subscriptions have none: a span open for the hours a
/// subscription lives tells a trace backend nothing.
fn operation_span(operation: Option<&(&'static str, Option<String>)>) -> tracing::Span {
    let name = match operation {
        Some((kind, Some(name))) => format!("{kind} {name}"),
        Some((kind, None)) => (*kind).to_owned(),
        None => "graphql".to_owned(),
    };
    tracing::info_span!(
        "graphql",
        otel.name = name,
        otel.status_code = tracing::field::Empty,
        graphql.operation.type = operation.map(|(kind, _)| *kind),
        graphql.operation.name = operation.and_then(|(_, name)| name.as_deref()),
        graphql.error.code = tracing::field::Empty,
    )
}

/// Records how the operation ended on its span: an error status with the first error's code.
fn record_outcome(span: &tracing::Span, response: &Response) {
    if span.is_disabled() {
        return;
    }
    match response.errors.first() {
        None => {
            span.record("otel.status_code", "ok");
        }
        Some(error) => {
            span.record("otel.status_code", "error");
            let code = error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .and_then(|code| match code {
                    Value::String(code) => Some(code.clone()),
                    Value::Enum(code) => Some(code.to_string()),
                    _ => None,
                })
                .unwrap_or_else(|| "BAD_USER_INPUT".to_owned());
            span.record("graphql.error.code", code);
        }
    }
}

/// The error refusing a request its viewer's budget cannot pay for (RATE_LIMITED), saying
/// when to try again.
pub fn rate_limited(allowance: &Allowance) -> ServerError {
    let retry_after = (allowance.reset_at - Utc::now()).num_seconds().max(1);
    let reset_at = allowance
        .reset_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut error = ServerError::new(
        format!(
            "this request costs {} points and {} of your {} an hour remain; the budget renews at {reset_at} (in {retry_after} s)",
            allowance.cost, allowance.remaining, allowance.limit,
        ),
        None,
    );
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", "RATE_LIMITED");
    extensions.set("cost", allowance.cost);
    extensions.set("remaining", allowance.remaining);
    extensions.set("resetAt", reset_at);
    extensions.set("retryAfter", retry_after);
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::occupancy::Occupancy;

    fn responses(n: usize) -> BoxStream<'static, Response> {
        stream::iter((0..n).map(|i| Response::new(Value::from(i as i32)))).boxed()
    }

    /// A subscription older than an hour is charged again at its next event; when the budget
    /// cannot pay, that event becomes the refusal and the subscription ends. Its place among
    /// its person's is held until then.
    #[tokio::test]
    async fn a_subscription_is_charged_for_every_hour_it_lives() {
        let person = uuid::Uuid::now_v7();
        let places = Occupancy::default();
        let rate = RateLimiter::new(10);
        let renewal = |charged_at| Renewal {
            rate: Some(rate.clone()),
            person,
            cost: 6,
            charged_at,
        };
        let place = places.take(person, 5).expect("room");
        let old = Utc::now() - chrono::Duration::minutes(61);
        let delivered: Vec<Response> = renewal(old).hourly(responses(3), place).collect().await;
        // Charged once (6 of 10), then not again within the new hour.
        assert_eq!(delivered.len(), 3);
        assert!(delivered.iter().all(|response| response.errors.is_empty()));
        assert_eq!(rate.charge(person, 0, Utc::now()).used, 6);
        assert_eq!(places.held(&person), 0);

        let place = places.take(person, 5).expect("room");
        let mut events = renewal(old).hourly(responses(3), place);
        let refused = events.next().await.expect("the refusal");
        assert_eq!(
            refused.errors[0]
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code").cloned()),
            Some(Value::from("RATE_LIMITED"))
        );
        assert!(events.next().await.is_none());
        drop(events);
        assert_eq!(places.held(&person), 0);

        // Within its first hour it costs nothing more.
        let place = places.take(person, 5).expect("room");
        let fresh: Vec<Response> = renewal(Utc::now())
            .hourly(responses(2), place)
            .collect()
            .await;
        assert!(fresh.iter().all(|response| response.errors.is_empty()));
    }
}
