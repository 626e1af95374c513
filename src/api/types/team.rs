//! Teams: groups of developers with UNLIMITED or LIMITED members. Members see the whole team;
//! people who share an app or a payment method with it see its id and name only.

use std::collections::HashMap;

use async_graphql::connection::EmptyFields;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::{AccessRequestState, TeamRole};
use entity::{app, person, team};
use sea_orm::{DbErr, FromQueryResult, QueryResult};
use uuid::Uuid;

use crate::api::connection::{
    Conn, TeamAppConnection, TeamAppEdge, TeamMemberConnection, TeamMemberEdge, empty, page,
};
use crate::api::context::{Batch, loader, reach};
use crate::api::cursor::Cursor;
use crate::api::cursor::lists::{
    Events, TeamAccessRequests, TeamApps, TeamInvitations, TeamMembers, TeamPaymentMethods,
};
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::access_request::{AccessRequest, AccessRequestConnection};
use crate::api::types::app::App;
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::payment_method::{DeletionImpact, PaymentMethod, PaymentMethodConnection};
use crate::api::types::person::{Membership, Person};
use crate::error::{ApiError, ApiResult};
use crate::store::edges::team::{ACCESS_REQUESTS, APPS, INVITATIONS, MEMBERS, PAYMENT_METHODS};
use crate::store::keys::{EdgeFilter, Restrict, TeamId};
use crate::store::page::PageArgs;

// Whether the viewer may see a team: as a member, or by name through a shared app or
// payment method.
crate::api::context::visibility_by_id!(TeamVisible, visible_teams);

/// A group of developers. Free of charge; always at least one UNLIMITED member.
pub struct Team(pub team::Model);

/// A team app as one member sees it.
pub struct TeamApp {
    app: Uuid,
    team: Uuid,
}

/// A team app as one member sees it.
#[Object]
impl TeamApp {
    /// Whether the viewer is subscribed to this app through this team.
    async fn viewer_subscribed(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(reach(ctx).await?.subscribed_through(self.app, self.team))
    }
}

impl Team {
    pub fn read(row: &QueryResult) -> Result<(Team, EmptyFields), DbErr> {
        Ok((Team(team::Model::from_query_result(row, "")?), EmptyFields))
    }

    async fn role(&self, ctx: &Context<'_>) -> ApiResult<Option<TeamRole>> {
        Ok(reach(ctx).await?.role_in(self.0.id))
    }
}

/// A group of developers. Free of charge; always at least one UNLIMITED member.
#[Object]
impl Team {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Team, self.0.id)
    }

    /// The team's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// When the team was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The viewer's role in the team; null when the viewer is not a member.
    async fn viewer_role(&self, ctx: &Context<'_>) -> ApiResult<Option<TeamRole>> {
        self.role(ctx).await
    }

    /// The events about this team that the viewer may see, oldest first (`last:` gives the
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
            crate::rules::access::events::About::Team(self.0.id),
            args,
            filter,
        )
        .await
    }

    /// The members with their roles. Members only; empty for anyone else.
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<TeamMembers>>,
        last: Option<i32>,
        before: Option<Cursor<TeamMembers>>,
    ) -> ApiResult<Conn<Person, Membership, TeamMemberConnection, TeamMemberEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await?.is_none() {
            return Ok(empty());
        }
        page(ctx, &MEMBERS, self.0.id, args, EdgeFilter::NONE, |row| {
            Ok((
                Person(person::Model::from_query_result(row, "")?),
                Membership {
                    role: row.try_get("", "edge_role")?,
                    joined_at: row.try_get("", "edge_joined_at")?,
                },
            ))
        })
        .await
    }

    /// The team's apps; the edge tells whether the viewer is subscribed through this team.
    /// Members only; empty for anyone else.
    async fn apps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<TeamApps>>,
        last: Option<i32>,
        before: Option<Cursor<TeamApps>>,
    ) -> ApiResult<Conn<App, TeamApp, TeamAppConnection, TeamAppEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await?.is_none() {
            return Ok(empty());
        }
        let team = self.0.id;
        page(ctx, &APPS, team, args, EdgeFilter::NONE, |row| {
            let model = app::Model::from_query_result(row, "")?;
            let edge = TeamApp {
                app: model.id,
                team,
            };
            Ok((App(model), edge))
        })
        .await
    }

    /// The payment methods connected to the team. UNLIMITED members only; empty otherwise.
    async fn payment_methods(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<TeamPaymentMethods>>,
        last: Option<i32>,
        before: Option<Cursor<TeamPaymentMethods>>,
    ) -> ApiResult<PaymentMethodConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(empty());
        }
        page(
            ctx,
            &PAYMENT_METHODS,
            self.0.id,
            args,
            EdgeFilter::NONE,
            PaymentMethod::read,
        )
        .await
    }

    /// Pending invitations to join the team. UNLIMITED members only; empty otherwise.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<TeamInvitations>>,
        last: Option<i32>,
        before: Option<Cursor<TeamInvitations>>,
    ) -> ApiResult<InvitationConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(empty());
        }
        page(
            ctx,
            &INVITATIONS,
            self.0.id,
            args,
            EdgeFilter::NONE,
            Invitation::read,
        )
        .await
    }

    /// Requests of LIMITED members for access to team apps, optionally in one state.
    /// UNLIMITED members only; empty otherwise.
    async fn access_requests(
        &self,
        ctx: &Context<'_>,
        state: Option<AccessRequestState>,
        first: Option<i32>,
        after: Option<Cursor<TeamAccessRequests>>,
        last: Option<i32>,
        before: Option<Cursor<TeamAccessRequests>>,
    ) -> ApiResult<AccessRequestConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(empty());
        }
        let edge_filter = EdgeFilter {
            restrict: Restrict::Nothing,
            equals: state.map(|s| ("n.state", crate::rules::access_request::state_value(s))),
        };
        page(
            ctx,
            &ACCESS_REQUESTS,
            self.0.id,
            args,
            edge_filter,
            AccessRequest::read,
        )
        .await
    }

    /// What deleting the team would delete: the payment methods only this team gives access
    /// to, with their apps, and the trial apps only this team gives access to. UNLIMITED
    /// members only; null otherwise.
    async fn deletion_impact(&self, ctx: &Context<'_>) -> ApiResult<Option<DeletionImpact>> {
        if self.role(ctx).await? != Some(TeamRole::Unlimited) {
            return Ok(None);
        }
        Ok(loader(ctx)?.load_one(TeamDeletionImpact(self.0.id)).await?)
    }
}

/// Loads a team the viewer may see, for `node(id:)` and edges.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Team>> {
    let loader = loader(ctx)?;
    if !loader.load_one(TeamVisible(id)).await?.unwrap_or(false) {
        return Ok(None);
    }
    Ok(loader.load_one(TeamId(id)).await?.map(Team))
}

/// What deleting one team would remove; batched like every other lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TeamDeletionImpact(pub Uuid);

impl Loader<TeamDeletionImpact> for Batch {
    type Value = DeletionImpact;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[TeamDeletionImpact],
    ) -> ApiResult<HashMap<TeamDeletionImpact, DeletionImpact>> {
        let teams: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut impacts = crate::rules::team::deletion_impacts(&self.0.db.conn, &teams).await?;
        Ok(keys
            .iter()
            .map(|k| {
                let impact = impacts.remove(&k.0).unwrap_or_default();
                let impact = DeletionImpact {
                    app_ids: impact.app_ids,
                    payment_method_ids: impact.payment_method_ids,
                };
                (*k, impact)
            })
            .collect())
    }
}
