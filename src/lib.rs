//! warren: the GraphQL service behind a hosting platform's collaboration dashboard.
//!
//! People, teams, apps and payment methods form a many-to-many graph; `access` decides who
//! sees what, the domain modules (`person`, `team`, `app`, ...) hold each object's GraphQL
//! type, loaders and rules, `graphql` assembles the schema and `http` serves it.

pub mod access_request;
pub mod app;
pub mod config;
pub mod developer;
pub mod error;
pub mod event;
pub mod feed;
pub mod graphql;
pub mod html;
pub mod http;
pub mod invitation;
pub mod limits;
pub mod membership;
pub mod metrics;
pub mod naming;
pub mod occupancy;
pub mod payment_method;
pub mod person;
pub mod rate_limit;
pub mod rules;
pub mod seed;
pub mod ssh_key;
pub mod store;
pub mod team;
pub mod token;
