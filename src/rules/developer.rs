//! Developer connections: who works on which app, directly or through one team, and the team
//! apps they come through (docs/rules.md, "Developer connection"). A person has at most one
//! connection per app: checked here with a message naming the existing one, and enforced by a
//! unique constraint for requests that race. Also which apps a team holds, and an app's
//! technical contacts, chosen among its developers.

use entity::enums::{AccountType, EventSubjectKind, EventType, TeamRole};
use entity::{app, app_grant, developer_connection, person, team, team_app, technical_contact};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::app::AppRights;
use crate::rules::change::{Change, NewEvent, Subject};
use crate::rules::team::team_in_change;
use crate::store::ids::{NodeKind, encode};

/// The developer connection of `person` to `app`, if there is one.
pub async fn connection_of(
    change: &Change,
    person: Uuid,
    app: Uuid,
) -> ApiResult<Option<developer_connection::Model>> {
    Ok(developer_connection::Entity::find()
        .filter(developer_connection::Column::PersonId.eq(person))
        .filter(developer_connection::Column::AppId.eq(app))
        .one(&change.txn)
        .await?)
}

/// Connects `person` to `app` (through `team`, or directly) and gives the app a technical
/// contact if it had none. The caller has checked the rules, the one-connection rule included.
pub async fn connect(
    change: &Change,
    person: Uuid,
    app: Uuid,
    team: Option<Uuid>,
) -> ApiResult<()> {
    crate::rules::app::lock_developers_of(change, &[app]).await?;
    developer_connection::ActiveModel {
        id: Set(Uuid::now_v7()),
        person_id: Set(person),
        app_id: Set(app),
        team_id: Set(team),
        connected_at: Set(chrono::Utc::now()),
    }
    .insert(&change.txn)
    .await?;
    crate::rules::app::ensure_technical_contacts(&change.txn, &[app]).await
}

async fn team_holds_app(change: &Change, team: Uuid, app: Uuid) -> ApiResult<bool> {
    Ok(team_app::Entity::find_by_id((team, app))
        .one(&change.txn)
        .await?
        .is_some())
}

async fn has_grant(change: &Change, team: Uuid, app: Uuid, person: Uuid) -> ApiResult<bool> {
    Ok(app_grant::Entity::find_by_id((team, app, person))
        .one(&change.txn)
        .await?
        .is_some())
}

/// The actor may connect to `app` through `team`: a DEVELOPER member of a team that holds the
/// app, UNLIMITED or LIMITED with a grant.
async fn may_connect_through(
    change: &Change,
    rights: &AppRights,
    team_id: Uuid,
) -> ApiResult<team::Model> {
    if change.actor.account_type != AccountType::Developer {
        return Err(ApiError::Forbidden(
            "only developer accounts hold developer connections".to_owned(),
        ));
    }
    let (team, role) = team_in_change(change, team_id).await?;
    let role = role.ok_or_else(|| {
        ApiError::Forbidden(format!("only members subscribe through team {}", team.name))
    })?;
    if !team_holds_app(change, team_id, rights.app.id).await? {
        return Err(ApiError::Conflict {
            message: format!(
                "app {} is not one of team {}'s apps",
                rights.app.name, team.name
            ),
            ids: vec![rights.app.id, team_id],
        });
    }
    if role == TeamRole::Limited
        && !has_grant(change, team_id, rights.app.id, change.actor.id).await?
    {
        return Err(ApiError::Forbidden(format!(
            "as a LIMITED member of team {} you need access to {} first: request it",
            team.name, rights.app.name
        )));
    }
    Ok(team)
}

fn existing_connection_conflict(
    app: &str,
    existing: &developer_connection::Model,
    team_name: Option<&str>,
) -> ApiError {
    let how = match team_name {
        Some(team) => format!("through team {team}"),
        None => "directly".to_owned(),
    };
    let mut ids = vec![existing.app_id];
    ids.extend(existing.team_id);
    ApiError::Conflict {
        message: format!(
            "you are connected to {app} already ({how}); one connection per app: use switchDeveloperConnection to change it"
        ),
        ids,
    }
}

async fn team_name(change: &Change, team: Option<Uuid>) -> ApiResult<Option<String>> {
    Ok(match team {
        Some(id) => team::Entity::find_by_id(id)
            .one(&change.txn)
            .await?
            .map(|t| t.name),
        None => None,
    })
}

/// Removes a connection with the grant it used and hands on the contact role if needed.
async fn disconnect(change: &Change, connection: &developer_connection::Model) -> ApiResult<()> {
    crate::rules::app::lock_developers_of(change, &[connection.app_id]).await?;
    developer_connection::Entity::delete_by_id(connection.id)
        .exec(&change.txn)
        .await?;
    if let Some(team) = connection.team_id {
        app_grant::Entity::delete_many()
            .filter(app_grant::Column::TeamId.eq(team))
            .filter(app_grant::Column::AppId.eq(connection.app_id))
            .filter(app_grant::Column::PersonId.eq(connection.person_id))
            .exec(&change.txn)
            .await?;
    }
    crate::rules::app::ensure_technical_contacts(&change.txn, &[connection.app_id]).await
}

/// Adds an app to a team. Needs UNLIMITED membership of the team and a full developer
/// connection or billing access to the app.
pub async fn add_app_to_team(
    change: &mut Change,
    team_id: Uuid,
    app_id: Uuid,
) -> ApiResult<app::Model> {
    let rights = AppRights::load(change, app_id).await?;
    let team = crate::rules::team::unlimited_team_in_change(
        change,
        team_id,
        "only UNLIMITED members add apps to a team",
    )
    .await?;
    rights.require_full_or_billing("adding an app to a team")?;
    if team_holds_app(change, team_id, app_id).await? {
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
    let mut subjects = rights.subjects_with_containers(change).await?;
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
    Ok(rights.app)
}

/// Removes an app from a team; the connections, grants and access requests through the
/// team end. Either side may do it: an UNLIMITED member of the team, or someone with a full
/// developer connection or billing access to the app.
pub async fn remove_app_from_team(
    change: &mut Change,
    team_id: Uuid,
    app_id: Uuid,
) -> ApiResult<app::Model> {
    let rights = AppRights::load(change, app_id).await?;
    let (team, role) = team_in_change(change, team_id).await?;
    let access = rights.access();
    rights.require(
        role == Some(TeamRole::Unlimited) || access.full || access.billing,
        "removing an app from a team needs UNLIMITED membership of the team, or a full developer connection or billing access to the app",
    )?;
    if !team_holds_app(change, team_id, app_id).await? {
        return Err(ApiError::Conflict {
            message: format!("app {} is not in team {}", rights.app.name, team.name),
            ids: vec![app_id, team_id],
        });
    }
    let subjects = rights.subjects_with_containers(change).await?;
    crate::rules::app::lock_developers_of(change, &[app_id]).await?;
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
    Ok(rights.app)
}

/// Connects the viewer to a team app through that team. UNLIMITED members may subscribe to
/// any team app, LIMITED ones to apps they hold a grant for. One connection per app.
pub async fn subscribe(change: &mut Change, team_id: Uuid, app_id: Uuid) -> ApiResult<app::Model> {
    let rights = AppRights::load(change, app_id).await?;
    let team = may_connect_through(change, &rights, team_id).await?;
    if let Some(existing) = connection_of(change, change.actor.id, app_id).await? {
        let name = team_name(change, existing.team_id).await?;
        return Err(existing_connection_conflict(
            &rights.app.name,
            &existing,
            name.as_deref(),
        ));
    }
    connect(change, change.actor.id, app_id, Some(team_id)).await?;
    let mut subjects = rights.subjects_with_containers(change).await?;
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
    Ok(rights.app)
}

/// Ends the viewer's own developer connection to an app (and the grant it used).
pub async fn unsubscribe(change: &mut Change, app_id: Uuid) -> ApiResult<app::Model> {
    let rights = AppRights::load(change, app_id).await?;
    let connection = connection_of(change, change.actor.id, app_id)
        .await?
        .ok_or_else(|| ApiError::Conflict {
            message: format!("you have no developer connection to {}", rights.app.name),
            ids: vec![app_id],
        })?;
    let mut subjects = rights.subjects_with_containers(change).await?;
    subjects.push(Subject::person(&change.actor));
    disconnect(change, &connection).await?;
    change.record(NewEvent {
        event_type: EventType::DeveloperUnsubscribed,
        summary: format!("{} unsubscribed from {}", change.actor.name, rights.app.name),
        subjects,
        payload: serde_json::json!({ "app": rights.app.name, "team": connection.team_id.map(|t| encode(NodeKind::Team, t)) }),
    });
    Ok(rights.app)
}

/// Moves the viewer's existing connection to an app so that it goes through another team
/// (one the viewer may subscribe through). It never creates a direct connection.
pub async fn switch_connection(
    change: &mut Change,
    team_id: Uuid,
    app_id: Uuid,
) -> ApiResult<app::Model> {
    let rights = AppRights::load(change, app_id).await?;
    let connection = connection_of(change, change.actor.id, app_id)
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
    let team = may_connect_through(change, &rights, team_id).await?;
    let from = team_name(change, connection.team_id).await?;
    developer_connection::ActiveModel {
        id: Set(connection.id),
        team_id: Set(Some(team_id)),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    let mut subjects = rights.subjects_with_containers(change).await?;
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
    Ok(rights.app)
}

/// Ends another developer's connection to an app (and its grant). Needs a full developer
/// connection or billing access to the app.
pub async fn remove_developer(
    change: &mut Change,
    app_id: Uuid,
    person_id: Uuid,
) -> ApiResult<app::Model> {
    let rights = AppRights::load(change, app_id).await?;
    rights.require_full_or_billing("removing developers")?;
    let connection = connection_of(change, person_id, app_id)
        .await?
        .ok_or_else(|| ApiError::not_found("developer of this app"))?;
    let person = person::Entity::find_by_id(person_id)
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Person"))?;
    let mut subjects = rights.subjects_with_containers(change).await?;
    subjects.push(Subject::person(&person));
    disconnect(change, &connection).await?;
    change.record(NewEvent {
        event_type: EventType::DeveloperRemoved,
        summary: format!(
            "{} removed {} from app {}",
            change.actor.name, person.name, rights.app.name
        ),
        subjects,
        payload: serde_json::json!({ "app": rights.app.name, "person": person.name }),
    });
    Ok(rights.app)
}

/// Replaces an app's technical contacts, chosen among its developers. Needs a full
/// developer connection.
pub async fn set_technical_contacts(
    change: &mut Change,
    app_id: Uuid,
    people: Vec<Uuid>,
) -> ApiResult<app::Model> {
    if people.is_empty() {
        return Err(ApiError::bad_input(
            "an app with developers has at least one technical contact",
        ));
    }
    let rights = AppRights::load(change, app_id).await?;
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
    let mut subjects = rights.subjects_with_containers(change).await?;
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
    Ok(rights.app)
}
