//! Mutations of developer connections and team apps. Their rules are in `rules::developer`
//! (who may connect, one connection per app) and `rules::app` (who may act on an app).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::enums::TeamRole;
use entity::enums::{EventSubjectKind, EventType};
use entity::{developer_connection, person, team_app, technical_contact};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::api::context::scope;
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::app::App;
use crate::error::{ApiError, ApiResult};
use crate::rules::app::AppRights;
use crate::rules::change::{Change, NewEvent, Subject};
use crate::rules::developer::{
    connect, connection_of, disconnect, existing_connection_conflict, may_connect_through,
    team_holds_app, team_name,
};
use crate::rules::team::team_in_change;

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
        let rights = AppRights::load(&change, app_id).await?;
        let team = crate::rules::team::unlimited_team_in_change(
            &change,
            team_id,
            "only UNLIMITED members add apps to a team",
        )
        .await?;
        rights.require_full_or_billing("adding an app to a team")?;
        if team_holds_app(&change, team_id, app_id).await? {
            return Err(ApiError::Conflict {
                message: format!("app {} is in team {} already", rights.app.name, team.name),
                ids: vec![app_id, team_id],
            });
        }
        team_app::ActiveModel {
            team_id: Set(team_id),
            app_id: Set(app_id),
            added_at: Set(chrono::Utc::now()),
        }
        .insert(&change.txn)
        .await?;
        let mut subjects = rights.subjects_with_containers(&change).await?;
        subjects.push(Subject::new(
            EventSubjectKind::Team,
            team_id,
            team.name.clone(),
        ));
        change.record(NewEvent {
            event_type: EventType::AppAddedToTeam,
            summary: format!(
                "{} added app {} to team {}",
                change.actor.name, rights.app.name, team.name
            ),
            subjects,
            payload: serde_json::json!({ "app": rights.app.name, "team": team.name }),
        });
        change.commit().await?;
        Ok(Some(AddAppToTeamPayload {
            app: App(rights.app),
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
        let rights = AppRights::load(&change, app_id).await?;
        let (team, role) = team_in_change(&change, team_id).await?;
        let access = rights.access();
        rights.require(
            role == Some(TeamRole::Unlimited) || access.full || access.billing,
            "removing an app from a team needs UNLIMITED membership of the team, or a full developer connection or billing access to the app",
        )?;
        if !team_holds_app(&change, team_id, app_id).await? {
            return Err(ApiError::Conflict {
                message: format!("app {} is not in team {}", rights.app.name, team.name),
                ids: vec![app_id, team_id],
            });
        }
        let subjects = rights.subjects_with_containers(&change).await?;
        crate::rules::app::lock_developers_of(&change, &[app_id]).await?;
        team_app::Entity::delete_by_id((team_id, app_id))
            .exec(&change.txn)
            .await?;
        crate::rules::app::ensure_technical_contacts(&change.txn, &[app_id]).await?;
        change.record(NewEvent {
            event_type: EventType::AppRemovedFromTeam,
            summary: format!(
                "{} removed app {} from team {}",
                change.actor.name, rights.app.name, team.name
            ),
            subjects,
            payload: serde_json::json!({ "app": rights.app.name, "team": team.name }),
        });
        change.commit().await?;
        Ok(Some(RemoveAppFromTeamPayload {
            app: App(rights.app),
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
        let rights = AppRights::load(&change, app_id).await?;
        let team = may_connect_through(&change, &rights, team_id).await?;
        if let Some(existing) = connection_of(&change, change.actor.id, app_id).await? {
            let name = team_name(&change, existing.team_id).await?;
            return Err(existing_connection_conflict(
                &rights.app.name,
                &existing,
                name.as_deref(),
            ));
        }
        connect(&change, change.actor.id, app_id, Some(team_id)).await?;
        let mut subjects = rights.subjects_with_containers(&change).await?;
        subjects.push(Subject::person(&change.actor));
        change.record(NewEvent {
            event_type: EventType::DeveloperSubscribed,
            summary: format!(
                "{} subscribed to {} through team {}",
                change.actor.name, rights.app.name, team.name
            ),
            subjects,
            payload: serde_json::json!({ "app": rights.app.name, "team": team.name }),
        });
        change.commit().await?;
        Ok(Some(SubscribeToAppPayload {
            app: App(rights.app),
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
        let rights = AppRights::load(&change, app_id).await?;
        let connection = connection_of(&change, change.actor.id, app_id)
            .await?
            .ok_or_else(|| ApiError::Conflict {
                message: format!("you have no developer connection to {}", rights.app.name),
                ids: vec![app_id],
            })?;
        let mut subjects = rights.subjects_with_containers(&change).await?;
        subjects.push(Subject::person(&change.actor));
        disconnect(&change, &connection).await?;
        change.record(NewEvent {
            event_type: EventType::DeveloperUnsubscribed,
            summary: format!("{} unsubscribed from {}", change.actor.name, rights.app.name),
            subjects,
            payload: serde_json::json!({ "app": rights.app.name, "team": connection.team_id.map(|t| global_id(NodeKind::Team, t).0) }),
        });
        change.commit().await?;
        Ok(Some(UnsubscribeFromAppPayload {
            app: App(rights.app),
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
        let rights = AppRights::load(&change, app_id).await?;
        let connection = connection_of(&change, change.actor.id, app_id)
            .await?
            .ok_or_else(|| ApiError::Conflict {
                message: format!(
                    "you have no connection to {} to switch; subscribe instead",
                    rights.app.name
                ),
                ids: vec![app_id],
            })?;
        if connection.team_id == Some(team_id) {
            return Err(ApiError::Conflict {
                message: "your connection goes through that team already".to_owned(),
                ids: vec![app_id, team_id],
            });
        }
        let team = may_connect_through(&change, &rights, team_id).await?;
        let from = team_name(&change, connection.team_id).await?;
        developer_connection::ActiveModel {
            id: Set(connection.id),
            team_id: Set(Some(team_id)),
            ..Default::default()
        }
        .update(&change.txn)
        .await?;
        let mut subjects = rights.subjects_with_containers(&change).await?;
        subjects.push(Subject::person(&change.actor));
        change.record(NewEvent {
            event_type: EventType::DeveloperConnectionSwitched,
            summary: format!(
                "{} now works on {} through team {} (was {})",
                change.actor.name,
                rights.app.name,
                team.name,
                from.as_deref()
                    .map_or("direct".to_owned(), |t| format!("through team {t}"))
            ),
            subjects,
            payload: serde_json::json!({ "from": from, "to": team.name }),
        });
        change.commit().await?;
        Ok(Some(SwitchDeveloperConnectionPayload {
            app: App(rights.app),
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
        let rights = AppRights::load(&change, app_id).await?;
        rights.require_full_or_billing("removing developers")?;
        let connection = connection_of(&change, person_id, app_id)
            .await?
            .ok_or_else(|| ApiError::not_found("developer of this app"))?;
        let person = person::Entity::find_by_id(person_id)
            .one(&change.txn)
            .await?
            .ok_or_else(|| ApiError::not_found("Person"))?;
        let mut subjects = rights.subjects_with_containers(&change).await?;
        subjects.push(Subject::person(&person));
        disconnect(&change, &connection).await?;
        change.record(NewEvent {
            event_type: EventType::DeveloperRemoved,
            summary: format!(
                "{} removed {} from app {}",
                change.actor.name, person.name, rights.app.name
            ),
            subjects,
            payload: serde_json::json!({ "app": rights.app.name, "person": person.name }),
        });
        change.commit().await?;
        Ok(Some(RemoveAppDeveloperPayload {
            app: App(rights.app),
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
        if people.is_empty() {
            return Err(ApiError::bad_input(
                "an app with developers has at least one technical contact",
            ));
        }
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let rights = AppRights::load(&change, app_id).await?;
        rights.require(
            rights.access().full,
            &format!(
                "setting technical contacts needs a full developer connection to {}",
                rights.app.name
            ),
        )?;
        let developers = developer_connection::Entity::find()
            .filter(developer_connection::Column::AppId.eq(app_id))
            .find_also_related(person::Entity)
            .all(&change.txn)
            .await?;
        let chosen: Vec<person::Model> = developers
            .into_iter()
            .filter_map(|(_, p)| p)
            .filter(|p| people.contains(&p.id))
            .collect();
        if chosen.len() != people.len() {
            return Err(ApiError::Conflict {
                message: format!(
                    "technical contacts are chosen among the developers of {}",
                    rights.app.name
                ),
                ids: people
                    .into_iter()
                    .filter(|id| !chosen.iter().any(|p| p.id == *id))
                    .collect(),
            });
        }
        technical_contact::Entity::delete_many()
            .filter(technical_contact::Column::AppId.eq(app_id))
            .exec(&change.txn)
            .await?;
        let now = chrono::Utc::now();
        for person in &chosen {
            technical_contact::ActiveModel {
                app_id: Set(app_id),
                person_id: Set(person.id),
                since: Set(now),
            }
            .insert(&change.txn)
            .await?;
        }
        let mut subjects = rights.subjects_with_containers(&change).await?;
        subjects.extend(chosen.iter().map(Subject::person));
        let names: Vec<&str> = chosen.iter().map(|p| p.name.as_str()).collect();
        change.record(NewEvent {
            event_type: EventType::TechnicalContactsChanged,
            summary: format!(
                "{} made {} the technical contacts of {}",
                change.actor.name,
                names.join(", "),
                rights.app.name
            ),
            subjects,
            payload: serde_json::json!({ "contacts": names }),
        });
        change.commit().await?;
        Ok(Some(SetTechnicalContactsPayload {
            app: App(rights.app),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
