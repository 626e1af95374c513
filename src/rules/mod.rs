//! The domain's rules as plain functions, with no GraphQL in them (docs/architecture.md):
//! who may see and do what (`access`), who is signing in (`auth`, `session`), the one write path
//! that records every change with its events (`change`), the per-person quotas (`quotas`), the
//! hourly budgets of people and anonymous addresses (`rate_limit`) and the mail outbox (`mail`). The GraphQL layer above decodes ids and builds payloads around them;
//! the store below holds the SQL.

pub mod access;
pub mod auth;
pub mod change;
pub mod mail;
pub mod quotas;
pub mod rate_limit;
pub mod session;
