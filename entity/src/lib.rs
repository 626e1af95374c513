//! sea-orm entities for the tables described in `docs/data-model.md`.

pub use sea_orm;

pub mod enums;
pub mod prelude;

pub mod access_request;
pub mod app;
pub mod app_grant;
pub mod browser_session;
pub mod developer_connection;
pub mod environment;
pub mod event;
pub mod event_filter;
pub mod event_subject;
pub mod invitation;
pub mod invitation_app;
pub mod mail_outbox;
pub mod payment_method;
pub mod payment_method_person;
pub mod payment_method_team;
pub mod person;
pub mod person_identity;
pub mod personal_access_token;
pub mod sign_in_attempt;
pub mod ssh_key;
pub mod team;
pub mod team_app;
pub mod team_member;
pub mod technical_contact;
