//! Apps and their environments. An app is visible with a developer connection, billing access
//! or membership of one of its teams; its internals (environments, developers, authorized
//! keys) need a developer connection or UNLIMITED membership of one of its teams.

use std::collections::HashMap;

use async_graphql::connection::EmptyFields;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::{EventSubjectKind, EventType};
use entity::{app, environment, person, ssh_key};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QueryResult,
};
use uuid::Uuid;

use crate::api::connection::{
    AppDeveloperConnection, AppDeveloperEdge, Conn, TotalCount, empty, page,
};
use crate::api::context::{Batch, EdgeFilter, load_by_id, loader, reach, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::payment_method::{PaymentMethod, PaymentMethodId};
use crate::api::types::person::{DeveloperEdge, Person};
use crate::api::types::ssh_key::{SshKey, SshKeyConnection};
use crate::api::types::team::Team;
use crate::error::{ApiError, ApiResult};
use crate::rules::access;
use crate::rules::app::AppRights;
use crate::rules::change::{Change, NewEvent, Subject};
use crate::store::page::PageArgs;
use crate::store::sql::EdgeSql;

load_by_id!(AppId, app);
load_by_id!(EnvironmentId, environment);

/// A connection of apps, as `PaymentMethod.apps` lists them.
pub type AppConnection = async_graphql::connection::Connection<String, App, TotalCount>;
/// A connection of teams, as `App.teams` and `PaymentMethod.teams` list them.
pub type TeamConnection = async_graphql::connection::Connection<String, Team, TotalCount>;

static TEAMS: EdgeSql = EdgeSql {
    list: "App.teams",
    from: "team_app e",
    node: "JOIN team n ON n.id = e.team_id",
    parent: "e.app_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static DEVELOPERS: EdgeSql = EdgeSql {
    list: "App.developers",
    from: "developer_connection e",
    node: "JOIN person n ON n.id = e.person_id",
    parent: "e.app_id",
    key: "n.id",
    select: "n.*, e.team_id AS edge_team_id, e.connected_at AS edge_connected_at",
    condition: "",
};

/// Pending APP invitations name the app; pending TAKE_OVER_BILLING ones list it.
static INVITATIONS: EdgeSql = EdgeSql {
    list: "App.invitations",
    from: "(SELECT id AS invitation_id, app_id FROM invitation WHERE kind = 'APP' \
           UNION SELECT ia.invitation_id, ia.app_id FROM invitation_app ia \
           JOIN invitation i ON i.id = ia.invitation_id WHERE i.kind = 'TAKE_OVER_BILLING') e \
           JOIN invitation n ON n.id = e.invitation_id",
    node: "",
    parent: "e.app_id",
    key: "n.id",
    select: "n.*",
    condition: "n.state = 'PENDING'",
};

/// Every SSH key of everyone with a developer connection to the environment's app.
static AUTHORIZED_KEYS: EdgeSql = EdgeSql {
    list: "Environment.authorizedKeys",
    from: "environment env JOIN developer_connection dc ON dc.app_id = env.app_id \
           JOIN ssh_key n ON n.person_id = dc.person_id",
    node: "",
    parent: "env.id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

/// The environments of a batch of apps, in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppEnvironments(pub Uuid);

impl Loader<AppEnvironments> for Batch {
    type Value = Vec<environment::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[AppEnvironments],
    ) -> ApiResult<HashMap<AppEnvironments, Self::Value>> {
        let rows = environment::Entity::find()
            .filter(environment::Column::AppId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(environment::Column::Id)
            .all(&self.0.db.conn)
            .await?;
        let mut out: HashMap<AppEnvironments, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(AppEnvironments(row.app_id))
                .or_default()
                .push(row);
        }
        Ok(out)
    }
}

/// The technical contacts of a batch of apps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppTechnicalContacts(pub Uuid);

impl Loader<AppTechnicalContacts> for Batch {
    type Value = Vec<person::Model>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[AppTechnicalContacts],
    ) -> ApiResult<HashMap<AppTechnicalContacts, Self::Value>> {
        let mut sql = crate::store::sql::Sql::new(self.0.db.backend());
        sql.push("SELECT tc.app_id AS contact_app_id, p.* FROM technical_contact tc JOIN person p ON p.id = tc.person_id WHERE tc.app_id IN ")
            .bind_list(keys.iter().map(|k| k.0))
            .push(" ORDER BY tc.app_id, p.id");
        let mut out: HashMap<AppTechnicalContacts, Self::Value> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in sea_orm::ConnectionTrait::query_all_raw(&self.0.db.conn, sql.statement()).await?
        {
            let app: Uuid = row.try_get("", "contact_app_id")?;
            out.entry(AppTechnicalContacts(app))
                .or_default()
                .push(person::Model::from_query_result(&row, "")?);
        }
        Ok(out)
    }
}

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
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
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
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
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
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
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
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<crate::api::types::event::EventFilterInput>,
    ) -> ApiResult<crate::api::types::event::EventConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        crate::api::types::event::about(
            ctx,
            crate::api::types::event::About::App(self.0.id),
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
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
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

fn clean_description(description: Option<String>) -> ApiResult<Option<String>> {
    let Some(description) = description else {
        return Ok(None);
    };
    let description = description.trim();
    if description.chars().count() > 2000 {
        return Err(ApiError::bad_input(
            "a description is at most 2,000 characters long",
        ));
    }
    // Line breaks and tabs are text; other control characters are not (PostgreSQL cannot
    // even store NUL).
    if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::bad_input(
            "a description holds no control characters other than line breaks and tabs",
        ));
    }
    Ok((!description.is_empty()).then(|| description.to_owned()))
}

/// A new app.
#[derive(InputObject)]
pub struct CreateAppInput {
    /// The app's name.
    pub name: String,
    /// An optional description.
    pub description: Option<String>,
    /// Create it in this team (it joins the team and the creator subscribes through it);
    /// otherwise the creator is connected directly.
    pub team_id: Option<ID>,
    /// The payment method that will own it, one the creator bills to; without one it is a
    /// trial app. Required for CLIENT accounts.
    pub payment_method_id: Option<ID>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `createApp`.
#[derive(SimpleObject)]
pub struct CreateAppPayload {
    /// The new app, with its `main` environment.
    pub app: App,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Changes to an app's settings.
#[derive(InputObject)]
pub struct UpdateAppInput {
    /// The app's global id.
    pub app_id: ID,
    /// A new name.
    pub name: Option<String>,
    /// A new description; an empty one removes it.
    pub description: Option<String>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `updateApp`.
#[derive(SimpleObject)]
pub struct UpdateAppPayload {
    /// The app as it is now.
    pub app: App,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// An app to delete, with its environments, connections and grants; its events stay.
#[derive(InputObject)]
pub struct DeleteAppInput {
    /// The app's global id.
    pub app_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `deleteApp`.
#[derive(SimpleObject)]
pub struct DeleteAppPayload {
    /// The id of the deleted app.
    pub deleted_app_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A new environment of an app.
#[derive(InputObject)]
pub struct CreateEnvironmentInput {
    /// The app's global id.
    pub app_id: ID,
    /// The environment's name, unique within the app.
    pub name: String,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `createEnvironment`.
#[derive(SimpleObject)]
pub struct CreateEnvironmentPayload {
    /// The new environment.
    pub environment: Environment,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A new name for an environment.
#[derive(InputObject)]
pub struct RenameEnvironmentInput {
    /// The environment's global id.
    pub environment_id: ID,
    /// The new name, unique within the app.
    pub name: String,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `renameEnvironment`.
#[derive(SimpleObject)]
pub struct RenameEnvironmentPayload {
    /// The environment as it is now.
    pub environment: Environment,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// An environment to delete; an app keeps at least one.
#[derive(InputObject)]
pub struct DeleteEnvironmentInput {
    /// The environment's global id.
    pub environment_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `deleteEnvironment`.
#[derive(SimpleObject)]
pub struct DeleteEnvironmentPayload {
    /// The id of the deleted environment.
    pub deleted_environment_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations of apps and their environments.
#[derive(Default)]
pub struct AppMutation;

/// The environment and the rights over its app, read inside the change.
async fn environment_in_change(
    change: &Change,
    id: Uuid,
) -> ApiResult<(environment::Model, AppRights)> {
    let env = environment::Entity::find_by_id(id)
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Environment"))?;
    let rights = AppRights::load(change, env.app_id)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::not_found("Environment"),
            other => other,
        })?;
    if !rights.reach.sees_app_internals(env.app_id) {
        return Err(ApiError::not_found("Environment"));
    }
    Ok((env, rights))
}

async fn environment_name_free(change: &Change, app: Uuid, name: &str) -> ApiResult<()> {
    let taken = environment::Entity::find()
        .filter(environment::Column::AppId.eq(app))
        .filter(environment::Column::Name.eq(name))
        .one(&change.txn)
        .await?;
    match taken {
        Some(env) => Err(ApiError::Conflict {
            message: format!("the app has an environment named {name} already"),
            ids: vec![env.id],
        }),
        None => Ok(()),
    }
}

#[Object]
impl AppMutation {
    /// Creates an app with a `main` environment: directly connected to its creator, or in a
    /// team the creator belongs to (the creator subscribes through it). On a payment method
    /// the creator bills to, or as a trial app. A CLIENT creates apps on a payment method only,
    /// and gets no developer connection.
    async fn create_app(
        &self,
        ctx: &Context<'_>,
        input: CreateAppInput,
    ) -> ApiResult<Option<CreateAppPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let name = crate::naming::clean_name(&input.name, "an app name")?;
        let description = clean_description(input.description)?;
        let team_id = input
            .team_id
            .as_ref()
            .map(|id| expect_global_id(id, NodeKind::Team))
            .transpose()?;
        let pm_id = input
            .payment_method_id
            .as_ref()
            .map(|id| expect_global_id(id, NodeKind::PaymentMethod))
            .transpose()?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let reach = change.reach().await?;
        let client = change.actor.account_type == entity::enums::AccountType::Client;
        if client && (pm_id.is_none() || team_id.is_some()) {
            return Err(ApiError::Forbidden(
                "a client creates apps on a payment method it bills to, outside teams".to_owned(),
            ));
        }
        let payment_method = match pm_id {
            Some(pm) if reach.bills(pm) => {
                entity::payment_method::Entity::find_by_id(pm)
                    .one(&change.txn)
                    .await?
            }
            Some(_) => return Err(ApiError::not_found("PaymentMethod")),
            None => None,
        };
        let team = match team_id {
            Some(id) => {
                let (team, role) = crate::rules::team::team_in_change(&change, id).await?;
                let role = role.ok_or_else(|| {
                    ApiError::Forbidden(format!("only members create apps in team {}", team.name))
                })?;
                Some((team, role))
            }
            None => None,
        };
        let now = chrono::Utc::now();
        let app = app::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name),
            description: Set(description),
            payment_method_id: Set(payment_method.as_ref().map(|p| p.id)),
            created_at: Set(now),
        }
        .insert(&change.txn)
        .await?;
        environment::ActiveModel {
            id: Set(Uuid::now_v7()),
            app_id: Set(app.id),
            name: Set("main".to_owned()),
            created_at: Set(now),
        }
        .insert(&change.txn)
        .await?;
        if let Some((team, role)) = &team {
            entity::team_app::ActiveModel {
                team_id: Set(team.id),
                app_id: Set(app.id),
                added_at: Set(now),
            }
            .insert(&change.txn)
            .await?;
            if *role == entity::enums::TeamRole::Limited {
                entity::app_grant::ActiveModel {
                    team_id: Set(team.id),
                    app_id: Set(app.id),
                    person_id: Set(change.actor.id),
                    created_at: Set(now),
                }
                .insert(&change.txn)
                .await?;
            }
        }
        if !client {
            entity::developer_connection::ActiveModel {
                id: Set(Uuid::now_v7()),
                person_id: Set(change.actor.id),
                app_id: Set(app.id),
                team_id: Set(team.as_ref().map(|(t, _)| t.id)),
                connected_at: Set(now),
            }
            .insert(&change.txn)
            .await?;
            entity::technical_contact::ActiveModel {
                app_id: Set(app.id),
                person_id: Set(change.actor.id),
                since: Set(now),
            }
            .insert(&change.txn)
            .await?;
        }
        let mut subjects = vec![Subject::new(
            EventSubjectKind::App,
            app.id,
            app.name.clone(),
        )];
        let mut summary = format!("{} created app {}", change.actor.name, app.name);
        if let Some((team, _)) = &team {
            subjects.push(Subject::new(
                EventSubjectKind::Team,
                team.id,
                team.name.clone(),
            ));
            summary.push_str(&format!(" in team {}", team.name));
        }
        if let Some(pm) = &payment_method {
            subjects.push(Subject::new(
                EventSubjectKind::PaymentMethod,
                pm.id,
                pm.label.clone(),
            ));
            summary.push_str(&format!(" on payment method {}", pm.label));
        }
        change.record(NewEvent {
            event_type: EventType::AppCreated,
            summary,
            subjects,
            payload: serde_json::json!({ "name": app.name, "trial": app.payment_method_id.is_none() }),
        });
        change.commit().await?;
        Ok(Some(CreateAppPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Changes an app's name or description. Needs a developer connection.
    async fn update_app(
        &self,
        ctx: &Context<'_>,
        input: UpdateAppInput,
    ) -> ApiResult<Option<UpdateAppPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.app_id, NodeKind::App)?;
        let name = input
            .name
            .as_deref()
            .map(|n| crate::naming::clean_name(n, "an app name"))
            .transpose()?;
        let description = input
            .description
            .map(|d| clean_description(Some(d)))
            .transpose()?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let rights = AppRights::load(&change, id).await?;
        rights.require_developer("changing settings")?;
        let before = rights.app.clone();
        let after = app::ActiveModel {
            id: Set(id),
            name: Set(name.unwrap_or_else(|| before.name.clone())),
            description: Set(description.unwrap_or_else(|| before.description.clone())),
            ..Default::default()
        }
        .update(&change.txn)
        .await?;
        let mut subjects = rights.subjects_with_containers(&change).await?;
        subjects[0].name = after.name.clone();
        change.record(NewEvent {
            event_type: EventType::AppUpdated,
            summary: format!(
                "{} changed the settings of app {}",
                change.actor.name, after.name
            ),
            subjects,
            payload: serde_json::json!({
                "name": { "from": before.name, "to": after.name },
                "description": { "from": before.description, "to": after.description },
            }),
        });
        change.commit().await?;
        Ok(Some(UpdateAppPayload {
            app: App(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Deletes an app with its environments, connections and grants; its events stay. Needs a
    /// full developer connection or billing access.
    async fn delete_app(
        &self,
        ctx: &Context<'_>,
        input: DeleteAppInput,
    ) -> ApiResult<Option<DeleteAppPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.app_id, NodeKind::App)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let rights = AppRights::load(&change, id).await?;
        rights.require_full_or_billing("deleting an app")?;
        let mut subjects = rights.subjects_with_containers(&change).await?;
        // The people who lose the app hear about it.
        let developers = entity::developer_connection::Entity::find()
            .filter(entity::developer_connection::Column::AppId.eq(id))
            .find_also_related(entity::person::Entity)
            .all(&change.txn)
            .await?;
        subjects.extend(
            developers
                .into_iter()
                .filter_map(|(_, p)| p)
                .map(|p| Subject::person(&p)),
        );
        app::Entity::delete_by_id(id).exec(&change.txn).await?;
        change.record(NewEvent {
            event_type: EventType::AppDeleted,
            summary: format!("{} deleted app {}", change.actor.name, rights.app.name),
            subjects,
            payload: serde_json::json!({ "name": rights.app.name }),
        });
        change.commit().await?;
        Ok(Some(DeleteAppPayload {
            deleted_app_id: input.app_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Adds an environment to an app. Needs a developer connection.
    async fn create_environment(
        &self,
        ctx: &Context<'_>,
        input: CreateEnvironmentInput,
    ) -> ApiResult<Option<CreateEnvironmentPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.app_id, NodeKind::App)?;
        let name = crate::naming::clean_name(&input.name, "an environment name")?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let rights = AppRights::load(&change, id).await?;
        rights.require_developer("creating an environment")?;
        use sea_orm::PaginatorTrait;
        // Locked, so that environments created at once by several developers count each other.
        change
            .locked(app::Entity::find_by_id(id))
            .one(&change.txn)
            .await?;
        let environments = environment::Entity::find()
            .filter(environment::Column::AppId.eq(id))
            .count(&change.txn)
            .await?;
        crate::rules::quotas::ensure_room(
            "environments",
            crate::api::context::quotas(ctx)?.environments,
            environments,
            "environments per app",
        )?;
        environment_name_free(&change, id, &name).await?;
        let env = environment::ActiveModel {
            id: Set(Uuid::now_v7()),
            app_id: Set(id),
            name: Set(name),
            created_at: Set(chrono::Utc::now()),
        }
        .insert(&change.txn)
        .await?;
        let mut subjects = vec![Subject::new(
            EventSubjectKind::Environment,
            env.id,
            env.name.clone(),
        )];
        subjects.extend(rights.subjects_with_containers(&change).await?);
        change.record(NewEvent {
            event_type: EventType::EnvironmentCreated,
            summary: format!(
                "{} created environment {} of app {}",
                change.actor.name, env.name, rights.app.name
            ),
            subjects,
            payload: serde_json::json!({ "name": env.name }),
        });
        change.commit().await?;
        Ok(Some(CreateEnvironmentPayload {
            environment: Environment(env),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Renames an environment. Needs a developer connection.
    async fn rename_environment(
        &self,
        ctx: &Context<'_>,
        input: RenameEnvironmentInput,
    ) -> ApiResult<Option<RenameEnvironmentPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.environment_id, NodeKind::Environment)?;
        let name = crate::naming::clean_name(&input.name, "an environment name")?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (before, rights) = environment_in_change(&change, id).await?;
        rights.require_developer("renaming an environment")?;
        if before.name != name {
            environment_name_free(&change, before.app_id, &name).await?;
        }
        let after = environment::ActiveModel {
            id: Set(id),
            name: Set(name),
            ..Default::default()
        }
        .update(&change.txn)
        .await?;
        let mut subjects = vec![Subject::new(
            EventSubjectKind::Environment,
            id,
            after.name.clone(),
        )];
        subjects.extend(rights.subjects_with_containers(&change).await?);
        change.record(NewEvent {
            event_type: EventType::EnvironmentRenamed,
            summary: format!(
                "{} renamed environment {} of app {} to {}",
                change.actor.name, before.name, rights.app.name, after.name
            ),
            subjects,
            payload: serde_json::json!({ "name": { "from": before.name, "to": after.name } }),
        });
        change.commit().await?;
        Ok(Some(RenameEnvironmentPayload {
            environment: Environment(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Deletes an environment; the last one of an app stays (CONFLICT). Needs a developer
    /// connection.
    async fn delete_environment(
        &self,
        ctx: &Context<'_>,
        input: DeleteEnvironmentInput,
    ) -> ApiResult<Option<DeleteEnvironmentPayload>> {
        use sea_orm::PaginatorTrait;
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.environment_id, NodeKind::Environment)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (env, rights) = environment_in_change(&change, id).await?;
        rights.require_developer("deleting an environment")?;
        // Deletions of one app's environments queue on the app's row (PostgreSQL), so the
        // second counts after the first committed and cannot take the last one. Locking the
        // other environments instead would let two deletions lock each other's row: deadlock.
        change
            .locked(app::Entity::find_by_id(env.app_id))
            .one(&change.txn)
            .await?;
        let others = environment::Entity::find()
            .filter(environment::Column::AppId.eq(env.app_id))
            .filter(environment::Column::Id.ne(id));
        if others.count(&change.txn).await? == 0 {
            return Err(ApiError::Conflict {
                message: format!(
                    "{} is the last environment of app {}; an app keeps at least one",
                    env.name, rights.app.name
                ),
                ids: vec![id],
            });
        }
        environment::Entity::delete_by_id(id)
            .exec(&change.txn)
            .await?;
        let mut subjects = vec![Subject::new(
            EventSubjectKind::Environment,
            id,
            env.name.clone(),
        )];
        subjects.extend(rights.subjects_with_containers(&change).await?);
        change.record(NewEvent {
            event_type: EventType::EnvironmentDeleted,
            summary: format!(
                "{} deleted environment {} of app {}",
                change.actor.name, env.name, rights.app.name
            ),
            subjects,
            payload: serde_json::json!({ "name": env.name }),
        });
        change.commit().await?;
        Ok(Some(DeleteEnvironmentPayload {
            deleted_environment_id: input.environment_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
