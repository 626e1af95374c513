//! The domain's rules as plain functions, with no GraphQL in them (docs/architecture.md): who
//! may see and do what (`access`), who is signing in (`auth`, `session`), the one write path that
//! records every change with its events (`change`), how many objects a person or an object may
//! hold (`quotas`), the hourly budgets of people and anonymous addresses (`rate_limit`), the mail
//! outbox (`mail`), and the rules of each kind of object (`access_request`, `app`, `developer`,
//! `event_filter`, `invitation`, `membership`, `payment_method`, `person`, `ssh_key`, `team`,
//! `token`), each a function that takes the `Change` and plain values and records its events.
//! The GraphQL layer above decodes ids and builds payloads around them; the store below holds
//! the SQL.

pub mod access;
pub mod access_request;
pub mod app;
pub mod auth;
pub mod change;
pub mod developer;
pub mod event_filter;
pub mod invitation;
pub mod mail;
pub mod membership;
pub mod payment_method;
pub mod person;
pub mod quotas;
pub mod rate_limit;
pub mod session;
pub mod ssh_key;
pub mod team;
pub mod token;
