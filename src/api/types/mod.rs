//! The GraphQL types of the domain, one module per object: its `#[Object]` impl, its loaders and
//! its `node()`. Mutations are in `api::mutation`, the rules they apply in `rules`.

pub mod access_request;
pub mod app;
pub mod event;
pub mod invitation;
pub mod payment_method;
pub mod person;
pub mod ssh_key;
pub mod team;
pub mod token;
