//! The GraphQL types of the domain, one module per object: its `#[Object]` impl, its loaders and,
//! until they move into their own `mutation/` and `rules/` modules (docs/architecture.md), its
//! mutations and the rules they apply.

pub mod access_request;
pub mod app;
pub mod event;
pub mod invitation;
pub mod payment_method;
pub mod person;
pub mod ssh_key;
pub mod team;
pub mod token;
