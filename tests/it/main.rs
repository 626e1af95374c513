//! The integration suites, one module each, in one test binary: the crate and the test
//! support link once instead of once per suite. Suites that measure the whole process stay
//! binaries of their own: `tests/resilience.rs` (resident memory), `tests/observability.rs` (the
//! process-wide metrics), `tests/faults.rs` (a PostgreSQL server of its own) and
//! `tests/atomicity.rs` (the `fault-injection` feature).
//!
//! `cargo test --test it quotas::` runs one suite; `cargo test --test it sqlite` every test
//! whose name says SQLite.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

mod access_requests;
mod actors;
mod api;
mod apps;
mod backup;
mod billing;
mod cancellation;
mod clients;
mod deploy;
mod disclosure;
mod fuzz;
mod hostile;
mod http;
mod instances;
mod invitations;
mod layers;
mod limits;
mod mail;
mod membership;
mod migrations;
mod model;
mod mutations;
mod plan_shape;
mod quotas;
mod rate_limit;
mod rules;
mod schema;
mod sessions;
mod sign_in;
mod statement_count;
mod subscriptions;
mod traces;
mod trust;
mod visibility;
