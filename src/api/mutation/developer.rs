//! Mutations of developer connections, team apps and technical contacts: decode the input,
//! begin the change, apply the rule (`rules::developer`), commit, build the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::api::context::scope;
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::app::App;
use crate::error::{ApiError, ApiResult};
use crate::rules::change::Change;
use crate::rules::developer;

/// Declares a `<Mutation>Input` naming an app and a team.
macro_rules! app_team_input {
    ($($name:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(InputObject)]
        pub struct $name {
            /// The app's global id.
            pub app_id: ID,
            /// The team's global id.
            pub team_id: ID,
            /// Echoed in the payload.
            pub client_mutation_id: Option<String>,
        }
    )*};
}

app_team_input!(
    AddAppToTeamInput: "An app to add to a team.",
    RemoveAppFromTeamInput: "An app to remove from a team.",
    SubscribeToAppInput: "A team app to subscribe to, through that team.",
    SwitchDeveloperConnectionInput: "An app whose connection should go through another team.",
);

/// Declares a `<Mutation>Payload` returning the app.
macro_rules! app_payload {
    ($($name:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(SimpleObject)]
        pub struct $name {
            /// The app as it is now.
            pub app: App,
            /// As given in the input.
            pub client_mutation_id: Option<String>,
        }
    )*};
}

app_payload!(
    AddAppToTeamPayload: "The result of `addAppToTeam`.",
    RemoveAppFromTeamPayload: "The result of `removeAppFromTeam`.",
    SubscribeToAppPayload: "The result of `subscribeToApp`.",
    UnsubscribeFromAppPayload: "The result of `unsubscribeFromApp`.",
    SwitchDeveloperConnectionPayload: "The result of `switchDeveloperConnection`.",
    RemoveAppDeveloperPayload: "The result of `removeAppDeveloper`.",
    SetTechnicalContactsPayload: "The result of `setTechnicalContacts`.",
);

/// An app, for the mutations about the viewer's own connection to it.
#[derive(InputObject)]
pub struct UnsubscribeFromAppInput {
    /// The app's global id.
    pub app_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// A developer to disconnect from an app.
#[derive(InputObject)]
pub struct RemoveAppDeveloperInput {
    /// The app's global id.
    pub app_id: ID,
    /// The developer's global id.
    pub person_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The new technical contacts of an app.
#[derive(InputObject)]
pub struct SetTechnicalContactsInput {
    /// The app's global id.
    pub app_id: ID,
    /// People with a developer connection to the app; at least one while it has developers.
    pub person_ids: Vec<ID>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// Mutations of developer connections and team apps.
#[derive(Default)]
pub struct DeveloperMutation;

#[Object]
impl DeveloperMutation {
    /// Adds an app to a team. Needs UNLIMITED membership of the team and a full developer
    /// connection or billing access to the app.
    async fn add_app_to_team(
        &self,
        ctx: &Context<'_>,
        input: AddAppToTeamInput,
    ) -> ApiResult<Option<AddAppToTeamPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let app = developer::add_app_to_team(&mut change, team_id, app_id).await?;
        change.commit().await?;
        Ok(Some(AddAppToTeamPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Removes an app from a team; the connections, grants and access requests through the
    /// team end. Either side may do it: an UNLIMITED member of the team, or someone with a full
    /// developer connection or billing access to the app.
    async fn remove_app_from_team(
        &self,
        ctx: &Context<'_>,
        input: RemoveAppFromTeamInput,
    ) -> ApiResult<Option<RemoveAppFromTeamPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let app = developer::remove_app_from_team(&mut change, team_id, app_id).await?;
        change.commit().await?;
        Ok(Some(RemoveAppFromTeamPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Connects the viewer to a team app through that team. UNLIMITED members may subscribe to
    /// any team app, LIMITED ones to apps they hold a grant for. One connection per app.
    async fn subscribe_to_app(
        &self,
        ctx: &Context<'_>,
        input: SubscribeToAppInput,
    ) -> ApiResult<Option<SubscribeToAppPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let app = developer::subscribe(&mut change, team_id, app_id).await?;
        change.commit().await?;
        Ok(Some(SubscribeToAppPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Ends the viewer's own developer connection to an app (and the grant it used).
    async fn unsubscribe_from_app(
        &self,
        ctx: &Context<'_>,
        input: UnsubscribeFromAppInput,
    ) -> ApiResult<Option<UnsubscribeFromAppPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let app = developer::unsubscribe(&mut change, app_id).await?;
        change.commit().await?;
        Ok(Some(UnsubscribeFromAppPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Moves the viewer's existing connection to an app so that it goes through another team
    /// (one the viewer may subscribe through). It never creates a direct connection.
    async fn switch_developer_connection(
        &self,
        ctx: &Context<'_>,
        input: SwitchDeveloperConnectionInput,
    ) -> ApiResult<Option<SwitchDeveloperConnectionPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let app = developer::switch_connection(&mut change, team_id, app_id).await?;
        change.commit().await?;
        Ok(Some(SwitchDeveloperConnectionPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Ends another developer's connection to an app (and its grant). Needs a full developer
    /// connection or billing access to the app.
    async fn remove_app_developer(
        &self,
        ctx: &Context<'_>,
        input: RemoveAppDeveloperInput,
    ) -> ApiResult<Option<RemoveAppDeveloperPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let person_id = expect_global_id(&input.person_id, NodeKind::Person)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let app = developer::remove_developer(&mut change, app_id, person_id).await?;
        change.commit().await?;
        Ok(Some(RemoveAppDeveloperPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Replaces an app's technical contacts, chosen among its developers. Needs a full
    /// developer connection.
    async fn set_technical_contacts(
        &self,
        ctx: &Context<'_>,
        input: SetTechnicalContactsInput,
    ) -> ApiResult<Option<SetTechnicalContactsPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let max = crate::api::context::quotas(ctx)?.technical_contacts;
        crate::rules::quotas::ensure_at_most(
            "technicalContacts",
            max,
            input.person_ids.len(),
            "technical contacts per app",
        )?;
        let mut people = Vec::new();
        for id in &input.person_ids {
            let id = expect_global_id(id, NodeKind::Person).map_err(|_| {
                ApiError::bad_input("`personIds` holds an id that is not a person's")
            })?;
            if !people.contains(&id) {
                people.push(id);
            }
        }
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let app = developer::set_technical_contacts(&mut change, app_id, people).await?;
        change.commit().await?;
        Ok(Some(SetTechnicalContactsPayload {
            app: App(app),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
