//! `createApp`, `updateApp`, `deleteApp` and the environments' mutations: decode the input,
//! begin the change, apply the rule (`rules::app`), commit, build the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::api::context::scope;
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::app::{App, Environment};
use crate::error::ApiResult;
use crate::rules::app::{self, clean_description};
use crate::rules::change::Change;

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
        let app = app::create(&mut change, name, description, team_id, pm_id).await?;
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
        let after = app::update(&mut change, id, name, description).await?;
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
        app::delete(&mut change, id).await?;
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
        let max_environments = crate::api::context::quotas(ctx)?.environments;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let env = app::create_environment(&mut change, id, name, max_environments).await?;
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
        let after = app::rename_environment(&mut change, id, name).await?;
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
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.environment_id, NodeKind::Environment)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        app::delete_environment(&mut change, id).await?;
        change.commit().await?;
        Ok(Some(DeleteEnvironmentPayload {
            deleted_environment_id: input.environment_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
