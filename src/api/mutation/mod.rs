//! Mutations, each `XMutation` with its Input and Payload types, merged into the root
//! `Mutation`; each resolver decodes its input, begins the change, applies its rule (in
//! `rules`), commits and builds the payload: access requests (`access_request`), apps and their
//! environments (`app`), developer connections and team apps (`developer`), saved event filters
//! (`event_filter`), invitations (`invitation`), team memberships (`membership`), payment
//! methods (`payment_method`), people (`person`), SSH keys (`ssh_key`), teams (`team`), personal
//! access tokens (`token`).

pub mod access_request;
pub mod app;
pub mod developer;
pub mod event_filter;
pub mod invitation;
pub mod membership;
pub mod payment_method;
pub mod person;
pub mod ssh_key;
pub mod team;
pub mod token;
