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

// Stored in `event.event_type` as its GraphQL spelling. The write path (`rules::change`) names
// events with it, which is why it lives here, below every layer, and not with the GraphQL type
// of events.
/// Every kind of event, each in one category.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventType {
    /// A team was created.
    TeamCreated,
    /// A team was renamed.
    TeamRenamed,
    /// A team was deleted.
    TeamDeleted,
    /// Someone was invited to a team.
    MemberInvited,
    /// Someone joined a team.
    MemberJoined,
    /// A member's role changed.
    MemberRoleChanged,
    /// A member was removed from a team.
    MemberRemoved,
    /// A member left a team.
    MemberLeft,
    /// An app was created.
    AppCreated,
    /// An app's settings changed.
    AppUpdated,
    /// An app was deleted.
    AppDeleted,
    /// An app was added to a team.
    AppAddedToTeam,
    /// An app was removed from a team.
    AppRemovedFromTeam,
    /// Someone was invited to an app as a developer.
    DeveloperInvited,
    /// A developer subscribed to an app through a team.
    DeveloperSubscribed,
    /// A developer unsubscribed from an app.
    DeveloperUnsubscribed,
    /// A developer's connection moved to another team.
    DeveloperConnectionSwitched,
    /// A developer was removed from an app.
    DeveloperRemoved,
    /// An app's technical contacts changed.
    TechnicalContactsChanged,
    /// A LIMITED member asked for access to a team app.
    AccessRequested,
    /// An access request was approved.
    AccessRequestApproved,
    /// An access request was denied.
    AccessRequestDenied,
    /// An access request was cancelled by its requester.
    AccessRequestCancelled,
    /// An invitation was accepted.
    InvitationAccepted,
    /// An invitation was declined.
    InvitationDeclined,
    /// An invitation was revoked.
    InvitationRevoked,
    /// An invitation expired.
    InvitationExpired,
    /// An environment was created.
    EnvironmentCreated,
    /// An environment was renamed.
    EnvironmentRenamed,
    /// An environment was deleted.
    EnvironmentDeleted,
    /// An SSH key was added.
    SshKeyAdded,
    /// An SSH key was removed.
    SshKeyRemoved,
    /// A payment method was created.
    PaymentMethodCreated,
    /// A payment method's details changed.
    PaymentMethodUpdated,
    /// A payment method was deleted.
    PaymentMethodDeleted,
    /// Someone was invited to share a payment method.
    BillingInvited,
    /// A person was removed from a payment method.
    BillingPersonRemoved,
    /// A team was connected to a payment method.
    TeamConnectedToPaymentMethod,
    /// A team was disconnected from a payment method.
    TeamDisconnectedFromPaymentMethod,
    /// Someone was invited to take over the billing of apps.
    BillingTakeoverInvited,
    /// An app moved to another payment method.
    AppPaymentMethodChanged,
    /// A person changed their name or account type.
    AccountUpdated,
    /// A person cancelled their account.
    AccountCancelled,
    /// A person created a personal access token.
    PersonalAccessTokenCreated,
    /// A person revoked a personal access token.
    PersonalAccessTokenRevoked,
    /// A person saved an event filter.
    EventFilterSaved,
    /// A person deleted a saved event filter.
    EventFilterDeleted,
}

impl EventType {
    /// The stored spelling, the same as the GraphQL one.
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    pub fn parse(stored: &str) -> Option<EventType> {
        serde_json::from_value(serde_json::Value::String(stored.to_owned())).ok()
    }

    /// Whether events of this type may change who reaches what: memberships, connections,
    /// billing links, the objects themselves, accounts. A live subscriber reloads its reach
    /// when one of them touches it.
    pub fn changes_access(self) -> bool {
        use EventType::*;
        matches!(
            self,
            TeamCreated
                | TeamDeleted
                | MemberJoined
                | MemberLeft
                | MemberRemoved
                | MemberRoleChanged
                | AppCreated
                | AppDeleted
                | AppAddedToTeam
                | AppRemovedFromTeam
                | AppPaymentMethodChanged
                | DeveloperSubscribed
                | DeveloperUnsubscribed
                | DeveloperRemoved
                | DeveloperConnectionSwitched
                | InvitationAccepted
                | AccessRequestApproved
                | PaymentMethodCreated
                | PaymentMethodDeleted
                | BillingPersonRemoved
                | TeamConnectedToPaymentMethod
                | TeamDisconnectedFromPaymentMethod
                | AccountUpdated
                | AccountCancelled
        )
    }

    /// Which access shows events of this type (docs/rules.md, "Events").
    pub fn category(self) -> EventCategory {
        use EventType::*;
        match self {
            AppUpdated
            | EnvironmentCreated
            | EnvironmentRenamed
            | EnvironmentDeleted
            | SshKeyAdded
            | SshKeyRemoved
            | PersonalAccessTokenCreated
            | PersonalAccessTokenRevoked => EventCategory::Technical,
            PaymentMethodCreated
            | PaymentMethodUpdated
            | PaymentMethodDeleted
            | BillingInvited
            | BillingPersonRemoved
            | TeamConnectedToPaymentMethod
            | TeamDisconnectedFromPaymentMethod
            | BillingTakeoverInvited
            | AppPaymentMethodChanged => EventCategory::Billing,
            _ => EventCategory::Collaboration,
        }
    }
}

/// What kind of object an event concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter)]
#[cfg_attr(feature = "graphql", derive(async_graphql::Enum))]
pub enum EventSubjectKind {
    /// A person.
    Person,
    /// A team.
    Team,
    /// An app.
    App,
    /// An environment of an app.
    Environment,
    /// A payment method.
    PaymentMethod,
    /// An SSH key.
    SshKey,
    /// An invitation.
    Invitation,
    /// An access request.
    AccessRequest,
}

impl EventSubjectKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventSubjectKind::Person => "PERSON",
            EventSubjectKind::Team => "TEAM",
            EventSubjectKind::App => "APP",
            EventSubjectKind::Environment => "ENVIRONMENT",
            EventSubjectKind::PaymentMethod => "PAYMENT_METHOD",
            EventSubjectKind::SshKey => "SSH_KEY",
            EventSubjectKind::Invitation => "INVITATION",
            EventSubjectKind::AccessRequest => "ACCESS_REQUEST",
        }
    }

    pub const ALL: [EventSubjectKind; 8] = [
        EventSubjectKind::Person,
        EventSubjectKind::Team,
        EventSubjectKind::App,
        EventSubjectKind::Environment,
        EventSubjectKind::PaymentMethod,
        EventSubjectKind::SshKey,
        EventSubjectKind::Invitation,
        EventSubjectKind::AccessRequest,
    ];

    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == stored)
    }
}
