//! Apps and their environments. An app is visible with a developer connection, billing access
//! or membership of one of its teams; its internals (environments, developers, authorized
//! keys) need a developer connection or UNLIMITED membership of one of its teams.

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{app, environment, person, ssh_key};
use sea_orm::{DbErr, FromQueryResult, QueryResult};
use uuid::Uuid;

use crate::api::connection::{
    AppDeveloperConnection, AppDeveloperEdge, Conn, TotalCount, empty, page,
};
use crate::api::context::{loader, reach};
use crate::api::cursor::Cursor;
use crate::api::cursor::lists::{
    AppDevelopers, AppInvitations, AppTeams, EnvironmentAuthorizedKeys, Events,
};
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::payment_method::PaymentMethod;
use crate::api::types::person::{DeveloperEdge, Person};
use crate::api::types::ssh_key::{SshKey, SshKeyConnection};
use crate::api::types::team::Team;
use crate::error::ApiResult;
use crate::rules::access;
use crate::store::edges::app::{AUTHORIZED_KEYS, DEVELOPERS, INVITATIONS, TEAMS};
use crate::store::keys::{
    AppEnvironments, AppId, AppTechnicalContacts, EdgeFilter, EnvironmentId, PaymentMethodId,
};
use crate::store::page::PageArgs;

/// A connection of apps, as `PaymentMethod.apps` lists them.
pub type AppConnection = async_graphql::connection::Connection<String, App, TotalCount>;
/// A connection of teams, as `App.teams` and `PaymentMethod.teams` list them.
pub type TeamConnection = async_graphql::connection::Connection<String, Team, TotalCount>;

/// One website or web application: owned by at most one payment method (none: a trial app).
pub struct App(pub app::Model);

/// What the viewer may do with an app.
#[derive(SimpleObject)]
pub struct AppAccess {
    /// The viewer has a developer connection (direct or through a team).
    pub developer: bool,
    /// The connection is full: direct, or through a team where the viewer is UNLIMITED.
    pub full: bool,
    /// The viewer has billing access through the app's payment method.
    pub billing: bool,
}

impl From<access::AppAccess> for AppAccess {
    fn from(a: access::AppAccess) -> Self {
        AppAccess {
            developer: a.developer,
            full: a.full,
            billing: a.billing,
        }
    }
}

impl App {
    pub fn read(row: &QueryResult) -> Result<(App, EmptyFields), DbErr> {
        Ok((App(app::Model::from_query_result(row, "")?), EmptyFields))
    }

    async fn internals_visible(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(reach(ctx).await?.sees_app_internals(self.0.id))
    }
}

/// One website or web application: owned by at most one payment method (none: a trial app).
#[Object]
impl App {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::App, self.0.id)
    }

    /// The app's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// An optional description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// When the app was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// True while no payment method owns the app.
    async fn is_trial(&self) -> bool {
        self.0.payment_method_id.is_none()
    }

    /// The payment method that owns the app. Only with billing access; null otherwise.
    async fn payment_method(&self, ctx: &Context<'_>) -> ApiResult<Option<PaymentMethod>> {
        let Some(pm) = self.0.payment_method_id else {
            return Ok(None);
        };
        if !reach(ctx).await?.bills(pm) {
            return Ok(None);
        }
        Ok(loader(ctx)?
            .load_one(PaymentMethodId(pm))
            .await?
            .map(PaymentMethod))
    }

    /// The app's environments. Only with a developer connection or UNLIMITED membership of one
    /// of the app's teams; empty otherwise.
    async fn environments(&self, ctx: &Context<'_>) -> ApiResult<Vec<Environment>> {
        if !self.internals_visible(ctx).await? {
            return Ok(Vec::new());
        }
        let rows = loader(ctx)?.load_one(AppEnvironments(self.0.id)).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(Environment)
            .collect())
    }

    /// The teams that hold the app (their id and name are visible to everyone who sees the app).
    async fn teams(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<AppTeams>>,
        last: Option<i32>,
        before: Option<Cursor<AppTeams>>,
    ) -> ApiResult<TeamConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(ctx, &TEAMS, self.0.id, args, EdgeFilter::NONE, Team::read).await
    }

    /// The people with a developer connection; the edge tells through which team (null for a
    /// direct connection). Only with a developer connection or UNLIMITED membership of one of
    /// the app's teams; empty otherwise.
    async fn developers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<AppDevelopers>>,
        last: Option<i32>,
        before: Option<Cursor<AppDevelopers>>,
    ) -> ApiResult<Conn<Person, DeveloperEdge, AppDeveloperConnection, AppDeveloperEdge>> {
        let args = PageArgs::new(first, after, last, before)?;
        if !self.internals_visible(ctx).await? {
            return Ok(empty());
        }
        page(ctx, &DEVELOPERS, self.0.id, args, EdgeFilter::NONE, |row| {
            Ok((
                Person(person::Model::from_query_result(row, "")?),
                DeveloperEdge {
                    team: row.try_get("", "edge_team_id")?,
                    connected_at: row.try_get("", "edge_connected_at")?,
                },
            ))
        })
        .await
    }

    /// The people to contact about the app's technical matters, chosen among its developers.
    async fn technical_contacts(&self, ctx: &Context<'_>) -> ApiResult<Vec<Person>> {
        let rows = loader(ctx)?
            .load_one(AppTechnicalContacts(self.0.id))
            .await?;
        Ok(rows.unwrap_or_default().into_iter().map(Person).collect())
    }

    /// Pending APP and TAKE_OVER_BILLING invitations for the app. Only for those who may send
    /// them (a full developer connection or billing access); empty otherwise.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<AppInvitations>>,
        last: Option<i32>,
        before: Option<Cursor<AppInvitations>>,
    ) -> ApiResult<InvitationConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        let access = reach(ctx).await?.app_access(self.0.id);
        if !(access.full || access.billing) {
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

    /// What the viewer may do with the app.
    async fn viewer_access(&self, ctx: &Context<'_>) -> ApiResult<AppAccess> {
        Ok(reach(ctx).await?.app_access(self.0.id).into())
    }

    /// The events about this app that the viewer may see, oldest first (`last:` gives the
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
            crate::rules::access::events::About::App(self.0.id),
            args,
            filter,
        )
        .await
    }
}

/// Loads an app the viewer may see.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<App>> {
    if !reach(ctx).await?.sees_app(id) {
        return Ok(None);
    }
    Ok(loader(ctx)?.load_one(AppId(id)).await?.map(App))
}

pub struct Environment(pub environment::Model);

/// A deployable copy of an app (think git branch).
#[Object]
impl Environment {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Environment, self.0.id)
    }

    /// The environment's name, unique within its app.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// When the environment was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The app the environment belongs to.
    async fn app(&self, ctx: &Context<'_>) -> ApiResult<Option<App>> {
        node(ctx, self.0.app_id).await
    }

    /// The SSH keys that may deploy to this environment: the keys of everyone with a developer
    /// connection to the app.
    async fn authorized_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<EnvironmentAuthorizedKeys>>,
        last: Option<i32>,
        before: Option<Cursor<EnvironmentAuthorizedKeys>>,
    ) -> ApiResult<SshKeyConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(
            ctx,
            &AUTHORIZED_KEYS,
            self.0.id,
            args,
            EdgeFilter::NONE,
            |row| {
                Ok((
                    SshKey(ssh_key::Model::from_query_result(row, "")?),
                    EmptyFields,
                ))
            },
        )
        .await
    }
}

/// Loads an environment the viewer may see: one of an app whose internals it sees.
pub async fn environment_node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Environment>> {
    let Some(env) = loader(ctx)?.load_one(EnvironmentId(id)).await? else {
        return Ok(None);
    };
    Ok(reach(ctx)
        .await?
        .sees_app_internals(env.app_id)
        .then_some(Environment(env)))
}
