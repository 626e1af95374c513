//! warren: the GraphQL service behind a hosting platform's collaboration dashboard.
//!
//! People, teams, apps and payment methods form a many-to-many graph. The crate is cut into
//! layers whose imports go one way, down (docs/architecture.md): `http` serves `api`, the GraphQL
//! schema; `feed` reads and broadcasts the event log; `rules` decide who sees and does what and
//! hold the one write path; `store` holds the database handle and the SQL. `error`, `naming`,
//! `html` and `occupancy` are leaves every layer may use; `telemetry` (traces) is used by the two
//! top layers.

pub mod api;
pub mod config;
pub mod error;
pub mod feed;
pub mod html;
pub mod http;
pub mod metrics;
pub mod naming;
pub mod occupancy;
pub mod rules;
pub mod seed;
pub mod store;
pub mod telemetry;
