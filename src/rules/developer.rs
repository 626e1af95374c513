//! Developer connections: who works on which app, directly or through one team, and the team
//! apps they come through (docs/rules.md, "Developer connection"). A person has at most one
//! connection per app: checked here with a message naming the existing one, and enforced by a
//! unique constraint for requests that race.

use entity::enums::{AccountType, TeamRole};
use entity::{app_grant, developer_connection, team, team_app};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::app::AppRights;
use crate::rules::change::Change;
use crate::rules::team::team_in_change;

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

pub async fn team_holds_app(change: &Change, team: Uuid, app: Uuid) -> ApiResult<bool> {
    Ok(team_app::Entity::find_by_id((team, app))
        .one(&change.txn)
        .await?
        .is_some())
}

pub async fn has_grant(change: &Change, team: Uuid, app: Uuid, person: Uuid) -> ApiResult<bool> {
    Ok(app_grant::Entity::find_by_id((team, app, person))
        .one(&change.txn)
        .await?
        .is_some())
}

/// The actor may connect to `app` through `team`: a DEVELOPER member of a team that holds the
/// app, UNLIMITED or LIMITED with a grant.
pub async fn may_connect_through(
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

pub fn existing_connection_conflict(
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

pub async fn team_name(change: &Change, team: Option<Uuid>) -> ApiResult<Option<String>> {
    Ok(match team {
        Some(id) => team::Entity::find_by_id(id)
            .one(&change.txn)
            .await?
            .map(|t| t.name),
        None => None,
    })
}

/// Removes a connection with the grant it used and hands on the contact role if needed.
pub async fn disconnect(
    change: &Change,
    connection: &developer_connection::Model,
) -> ApiResult<()> {
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
