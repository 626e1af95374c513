//! Enumerations stored as their GraphQL spelling (`DEVELOPER`, `CREDIT_CARD`, ...) in text
//! columns. With the `graphql` feature they double as the GraphQL enums, and the doc comments
//! become their descriptions.

use sea_orm::entity::prelude::*;

/// The kind of account a person has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AccountType {
    /// A developer, who joins teams and works on apps.
    #[sea_orm(string_value = "DEVELOPER")]
    Developer,
    /// A client, who owns and pays for apps that developers build.
    #[sea_orm(string_value = "CLIENT")]
    Client,
}

/// The role of a member in a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum TeamRole {
    /// A member who may do everything on the team.
    #[sea_orm(string_value = "UNLIMITED")]
    Unlimited,
    /// A member who may only work on the team apps they have been granted.
    #[sea_orm(string_value = "LIMITED")]
    Limited,
}

/// How a payment method pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum PaymentType {
    /// Payment by credit card.
    #[sea_orm(string_value = "CREDIT_CARD")]
    CreditCard,
    /// Payment by SEPA direct debit.
    #[sea_orm(string_value = "SEPA_DEBIT")]
    SepaDebit,
    /// Payment against an invoice sent to the invoice email address.
    #[sea_orm(string_value = "INVOICE")]
    Invoice,
}

/// What a personal access token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum TokenScope {
    /// Queries only.
    #[sea_orm(string_value = "READ")]
    Read,
    /// Queries and mutations.
    #[sea_orm(string_value = "WRITE")]
    Write,
}

/// What an invitation invites to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum InvitationKind {
    /// To join a team, with the invitation's role.
    #[sea_orm(string_value = "TEAM")]
    Team,
    /// To work on an app as a developer.
    #[sea_orm(string_value = "APP")]
    App,
    /// To use a payment method.
    #[sea_orm(string_value = "PAYMENT_METHOD")]
    PaymentMethod,
    /// To take over the billing of the invitation's apps.
    #[sea_orm(string_value = "TAKE_OVER_BILLING")]
    TakeOverBilling,
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum InvitationState {
    /// Waiting for the invitee's answer.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Accepted by the invitee.
    #[sea_orm(string_value = "ACCEPTED")]
    Accepted,
    /// Declined by the invitee.
    #[sea_orm(string_value = "DECLINED")]
    Declined,
    /// Withdrawn before the invitee answered.
    #[sea_orm(string_value = "REVOKED")]
    Revoked,
    /// Not answered in time.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

/// Where a request for access to a team app stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum AccessRequestState {
    /// Waiting for a decision.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Approved: the requester was granted access.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    /// Denied: the requester was not granted access.
    #[sea_orm(string_value = "DENIED")]
    Denied,
    /// Withdrawn by the requester before a decision.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// The area of the platform an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum EventCategory {
    /// Who works with whom: teams, members, invitations, developer access.
    #[sea_orm(string_value = "COLLABORATION")]
    Collaboration,
    /// Technical changes: apps, environments, SSH keys, tokens.
    #[sea_orm(string_value = "TECHNICAL")]
    Technical,
    /// Payment methods and who pays for what.
    #[sea_orm(string_value = "BILLING")]
    Billing,
}
