//! People: the only actors. A person sees another's id, name and e-mail when they share a
//! team, an app or a payment method (see `access::Reach::visible_people`).

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::{AccountType, InvitationState, TeamRole};
use entity::{app, person, personal_access_token, team};
use sea_orm::{FromQueryResult, QueryResult};
use uuid::Uuid;

use crate::api::connection::{
    Conn, PersonAppConnection, PersonAppEdge, PersonTeamConnection, PersonTeamEdge, empty, page,
};
use crate::api::context::{loader, scope};
use crate::api::cursor::Cursor;
use crate::api::cursor::lists::{
    Events, PersonApps, PersonInvitations, PersonPaymentMethods, PersonPersonalAccessTokens,
    PersonTeams,
};
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::app::App;
use crate::api::types::event::filter::EventFilter;
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::payment_method::{PaymentMethod, PaymentMethodConnection};
use crate::api::types::ssh_key::SshKey;
use crate::api::types::team::Team;
use crate::api::types::token::{PersonalAccessToken, PersonalAccessTokenConnection};
use crate::error::ApiResult;
use crate::rules::access::billing_paths;
use crate::store::edges::person::{APPS, INVITATIONS, TEAMS, TOKENS};
use crate::store::keys::{
    EdgeFilter, PersonEventFilters, PersonId, PersonSshKeys, Restrict, TeamId,
};
use crate::store::page::PageArgs;
use crate::store::sql::EdgeSql;

// Whether the viewer may see a person: it shares a team, an app or a payment method.
crate::api::context::visibility_by_id!(PersonVisible, visible_people);

/// Loads a person if the viewer may see it.
pub async fn visible_person(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Person>> {
    let loader = loader(ctx)?;
    if !loader.load_one(PersonVisible(id)).await?.unwrap_or(false) {
        return Ok(None);
    }
    Ok(loader.load_one(PersonId(id)).await?.map(Person))
}

static PAYMENT_METHODS: EdgeSql = EdgeSql {
    list: "Person.paymentMethods",
    from: concat!("(", billing_paths!(), ") e"),
    node: "JOIN payment_method n ON n.id = e.payment_method_id",
    parent: "e.person_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

/// A human being with an account. Accounts are personal and never shared.
pub struct Person(pub person::Model);

/// How a person belongs to a team.
#[derive(SimpleObject)]
pub struct Membership {
    /// The person's role in the team.
    pub role: TeamRole,
    /// When the person joined the team.
    pub joined_at: DateTime<Utc>,
}

/// The fields a developer connection gives an edge between a person and an app (`App.developers`,
/// `Person.apps`).
pub struct DeveloperEdge {
    pub team: Option<Uuid>,
    pub connected_at: DateTime<Utc>,
}

/// How a person is connected to an app as a developer.
#[Object]
impl DeveloperEdge {
    /// The team the connection goes through; null for a direct connection.
    async fn team(&self, ctx: &Context<'_>) -> ApiResult<Option<Team>> {
        match self.team {
            None => Ok(None),
            Some(id) => Ok(loader(ctx)?.load_one(TeamId(id)).await?.map(Team)),
        }
    }

    /// When the connection was made.
    async fn connected_at(&self) -> DateTime<Utc> {
        self.connected_at
    }
}

fn read_membership(row: &QueryResult) -> Result<(Team, Membership), sea_orm::DbErr> {
    Ok((
        Team(team::Model::from_query_result(row, "")?),
        Membership {
            role: row.try_get("", "edge_role")?,
            joined_at: row.try_get("", "edge_joined_at")?,
        },
    ))
}

fn read_connection(row: &QueryResult) -> Result<(App, DeveloperEdge), sea_orm::DbErr> {
    Ok((
        App(app::Model::from_query_result(row, "")?),
        DeveloperEdge {
            team: row.try_get("", "edge_team_id")?,
            connected_at: row.try_get("", "edge_connected_at")?,
        },
    ))
}

impl Person {
    /// Lists about another person show only what the viewer can see anyway.
    fn restrict(&self, ctx: &Context<'_>, restrict: Restrict) -> ApiResult<EdgeFilter> {
        let own = scope(ctx)?.viewer()?.id() == self.0.id;
        Ok(EdgeFilter::restrict(if own {
            Restrict::Nothing
        } else {
            restrict
        }))
    }

    fn is_viewer(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(scope(ctx)?.viewer()?.id() == self.0.id)
    }
}

/// A human being with an account. Accounts are personal and never shared.
#[Object]
impl Person {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Person, self.0.id)
    }

    /// The person's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The person's e-mail address, visible to everyone who may see the person.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// DEVELOPER or CLIENT.
    async fn account_type(&self) -> AccountType {
        self.0.account_type
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The events about this person that the viewer may see, oldest first (`last:` gives the
    /// newest), optionally filtered further.
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<Events>>,
        last: Option<i32>,
        before: Option<Cursor<Events>>,
        filter: Option<crate::api::types::event::filter::EventFilterInput>,
    ) -> ApiResult<crate::api::types::event::EventConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        crate::api::types::event::about(
            ctx,
            crate::rules::access::events::About::Person(self.0.id),
            args,
            filter,
        )
        .await
    }

    /// The teams the person belongs to, as far as the viewer belongs to them too; the edge
    /// carries the person's role.
    async fn teams(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<PersonTeams>>,
        last: Option<i32>,
        before: Option<Cursor<PersonTeams>>,
    ) -> ApiResult<Conn<Team, Membership, PersonTeamConnection, PersonTeamEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        let edge_filter = self.restrict(ctx, Restrict::ViewerTeams("n.id"))?;
        page(ctx, &TEAMS, self.0.id, args, edge_filter, read_membership).await
    }

    /// The apps the person has a developer connection to, as far as the viewer may see the
    /// app's developers (a developer connection of its own, or UNLIMITED membership of one of
    /// the app's teams: the rule of `App.developers`, so that neither shows what the other
    /// hides); the edge tells through which team (null for a direct connection).
    async fn apps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<PersonApps>>,
        last: Option<i32>,
        before: Option<Cursor<PersonApps>>,
    ) -> ApiResult<Conn<App, DeveloperEdge, PersonAppConnection, PersonAppEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        let edge_filter = self.restrict(ctx, Restrict::AppsWithVisibleDevelopers("n.id"))?;
        page(ctx, &APPS, self.0.id, args, edge_filter, read_connection).await
    }

    /// The payment methods the person has billing access to, directly or as an UNLIMITED team
    /// member, as far as the viewer has billing access to them too.
    async fn payment_methods(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<PersonPaymentMethods>>,
        last: Option<i32>,
        before: Option<Cursor<PersonPaymentMethods>>,
    ) -> ApiResult<PaymentMethodConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        let edge_filter = self.restrict(ctx, Restrict::BilledPaymentMethods("n.id"))?;
        page(
            ctx,
            &PAYMENT_METHODS,
            self.0.id,
            args,
            edge_filter,
            PaymentMethod::read,
        )
        .await
    }

    /// Invitations addressed to the person's e-mail, optionally in one state. The viewer's own
    /// only; empty for anyone else.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        state: Option<InvitationState>,
        first: Option<i32>,
        after: Option<Cursor<PersonInvitations>>,
        last: Option<i32>,
        before: Option<Cursor<PersonInvitations>>,
    ) -> ApiResult<InvitationConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if !self.is_viewer(ctx)? {
            return Ok(empty());
        }
        let edge_filter = EdgeFilter {
            restrict: Restrict::Nothing,
            equals: state.map(|s| ("n.state", crate::rules::invitation::state_value(s))),
        };
        page(
            ctx,
            &INVITATIONS,
            self.0.id,
            args,
            edge_filter,
            Invitation::read,
        )
        .await
    }

    /// The person's SSH public keys. The viewer's own only; empty for anyone else.
    async fn ssh_keys(&self, ctx: &Context<'_>) -> ApiResult<Vec<SshKey>> {
        if !self.is_viewer(ctx)? {
            return Ok(Vec::new());
        }
        let keys = loader(ctx)?.load_one(PersonSshKeys(self.0.id)).await?;
        Ok(keys.unwrap_or_default().into_iter().map(SshKey).collect())
    }

    /// The person's saved event filters. The viewer's own only; empty for anyone else.
    async fn event_filters(&self, ctx: &Context<'_>) -> ApiResult<Vec<EventFilter>> {
        if !self.is_viewer(ctx)? {
            return Ok(Vec::new());
        }
        let filters = loader(ctx)?.load_one(PersonEventFilters(self.0.id)).await?;
        Ok(filters
            .unwrap_or_default()
            .into_iter()
            .map(EventFilter)
            .collect())
    }

    /// The person's personal access tokens that are not revoked (secrets are never shown
    /// again). The viewer's own only; empty for anyone else.
    async fn personal_access_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<PersonPersonalAccessTokens>>,
        last: Option<i32>,
        before: Option<Cursor<PersonPersonalAccessTokens>>,
    ) -> ApiResult<PersonalAccessTokenConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if !self.is_viewer(ctx)? {
            return Ok(empty());
        }
        page(ctx, &TOKENS, self.0.id, args, EdgeFilter::NONE, |row| {
            Ok((
                PersonalAccessToken(personal_access_token::Model::from_query_result(row, "")?),
                EmptyFields,
            ))
        })
        .await
    }
}

/// Loads the person a viewer may see, for `node(id:)`.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Person>> {
    visible_person(ctx, id).await
}
