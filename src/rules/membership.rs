//! Team membership: changing roles, removing members, leaving. A team always keeps at least one
//! UNLIMITED member. Every change of a team's members first locks the team's row (PostgreSQL)
//! or runs in an IMMEDIATE transaction (SQLite), so two changes of one team never both see the
//! other's UNLIMITED member still there: the second waits, re-reads, and gets CONFLICT.

use entity::enums::{EventSubjectKind, EventType, TeamRole};
use entity::{app_grant, developer_connection, person, team, team_member};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};
use crate::rules::team::{role_name, team_in_change, unlimited_team_in_change};

/// Gives `person_id` the role `role` in team `team_id`. UNLIMITED members only; the last
/// UNLIMITED member cannot be demoted. Demoting keeps the member's subscriptions through the
/// team as grants; promoting makes grants unnecessary. Returns the team and the member.
pub async fn change_role(
    change: &mut Change,
    team_id: Uuid,
    person_id: Uuid,
    role: TeamRole,
) -> ApiResult<(team::Model, person::Model)> {
    let team =
        unlimited_team_in_change(change, team_id, "only UNLIMITED members change roles").await?;
    let member = membership(change, team_id, person_id)
        .await?
        .ok_or_else(|| ApiError::not_found("team member"))?;
    let person = person_in_change(change, person_id).await?;
    if member.role == role {
        return Err(ApiError::Conflict {
            message: format!("{} is {} already", person.name, role_name(role)),
            ids: vec![person_id],
        });
    }
    if role == TeamRole::Limited {
        keep_an_unlimited_member(change, &team, person_id, "demoting them").await?;
        // Current subscriptions through the team become grants, so nothing is lost.
        let apps: Vec<Uuid> = developer_connection::Entity::find()
            .select_only()
            .column(developer_connection::Column::AppId)
            .filter(developer_connection::Column::TeamId.eq(team_id))
            .filter(developer_connection::Column::PersonId.eq(person_id))
            .into_tuple()
            .all(&change.txn)
            .await?;
        let now = chrono::Utc::now();
        for app in apps {
            app_grant::Entity::insert(app_grant::ActiveModel {
                team_id: Set(team_id),
                app_id: Set(app),
                person_id: Set(person_id),
                created_at: Set(now),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(&change.txn)
            .await?;
        }
    } else {
        app_grant::Entity::delete_many()
            .filter(app_grant::Column::TeamId.eq(team_id))
            .filter(app_grant::Column::PersonId.eq(person_id))
            .exec(&change.txn)
            .await?;
    }
    team_member::ActiveModel {
        team_id: Set(team_id),
        person_id: Set(person_id),
        role: Set(role),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::MemberRoleChanged,
        summary: format!(
            "{} made {} {} in team {}",
            change.actor.name,
            person.name,
            role_name(role),
            team.name
        ),
        subjects: membership_subjects(&team, &person),
        payload: serde_json::json!({
            "role": { "from": role_name(member.role), "to": role_name(role) }
        }),
    });
    Ok((team, person))
}

/// Removes `person_id` from team `team_id`. UNLIMITED members only; the last UNLIMITED member
/// cannot be removed. The member's connections, grants and billing access through the team end.
pub async fn remove_member(
    change: &mut Change,
    team_id: Uuid,
    person_id: Uuid,
) -> ApiResult<team::Model> {
    let team =
        unlimited_team_in_change(change, team_id, "only UNLIMITED members remove members").await?;
    membership(change, team_id, person_id)
        .await?
        .ok_or_else(|| ApiError::not_found("team member"))?;
    let person = person_in_change(change, person_id).await?;
    keep_an_unlimited_member(change, &team, person_id, "removing them").await?;
    let apps = end_membership(change, team_id, person_id).await?;
    change.record(NewEvent {
        event_type: EventType::MemberRemoved,
        summary: format!(
            "{} removed {} from team {}",
            change.actor.name, person.name, team.name
        ),
        subjects: membership_subjects(&team, &person),
        payload: serde_json::json!({ "endedConnections": apps.len() }),
    });
    Ok(team)
}

/// The actor leaves team `team_id`; its connections, grants and billing access through the
/// team end. The last UNLIMITED member cannot leave (promote someone or delete the team).
pub async fn leave(change: &mut Change, team_id: Uuid) -> ApiResult<()> {
    let (team, role) = team_in_change(change, team_id).await?;
    if role.is_none() {
        return Err(ApiError::Conflict {
            message: format!("you are not a member of team {}", team.name),
            ids: vec![team_id],
        });
    }
    let actor = change.actor.clone();
    keep_an_unlimited_member(change, &team, actor.id, "leaving").await?;
    let apps = end_membership(change, team_id, actor.id).await?;
    change.record(NewEvent {
        event_type: EventType::MemberLeft,
        summary: format!("{} left team {}", actor.name, team.name),
        subjects: membership_subjects(&team, &actor),
        payload: serde_json::json!({ "endedConnections": apps.len() }),
    });
    Ok(())
}

async fn membership(
    change: &Change,
    team: Uuid,
    person: Uuid,
) -> ApiResult<Option<team_member::Model>> {
    Ok(team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team))
        .filter(team_member::Column::PersonId.eq(person))
        .one(&change.txn)
        .await?)
}

/// Refuses when `person` is the team's only UNLIMITED member. Runs after the team row was
/// locked (see the module comment), so the count cannot change before commit.
async fn keep_an_unlimited_member(
    change: &Change,
    team: &team::Model,
    person: Uuid,
    doing: &str,
) -> ApiResult<()> {
    let others = team_member::Entity::find()
        .filter(team_member::Column::TeamId.eq(team.id))
        .filter(team_member::Column::Role.eq(TeamRole::Unlimited))
        .filter(team_member::Column::PersonId.ne(person))
        .count(&change.txn)
        .await?;
    if others == 0 {
        return Err(ApiError::Conflict {
            message: format!(
                "team {} would have no UNLIMITED member left: promote another member before {doing}",
                team.name
            ),
            ids: vec![team.id, person],
        });
    }
    Ok(())
}

/// Ends a membership: the connections and grants through the team go with it (foreign keys),
/// and apps left without a technical contact get their longest connected developer.
async fn end_membership(change: &Change, team: Uuid, person: Uuid) -> ApiResult<Vec<Uuid>> {
    let apps: Vec<Uuid> = developer_connection::Entity::find()
        .select_only()
        .column(developer_connection::Column::AppId)
        .filter(developer_connection::Column::TeamId.eq(team))
        .filter(developer_connection::Column::PersonId.eq(person))
        .into_tuple()
        .all(&change.txn)
        .await?;
    crate::rules::app::lock_developers_of(change, &apps).await?;
    team_member::Entity::delete_many()
        .filter(team_member::Column::TeamId.eq(team))
        .filter(team_member::Column::PersonId.eq(person))
        .exec(&change.txn)
        .await?;
    crate::rules::app::ensure_technical_contacts(&change.txn, &apps).await?;
    Ok(apps)
}

fn membership_subjects(team: &team::Model, person: &person::Model) -> Vec<Subject> {
    vec![
        Subject::new(EventSubjectKind::Team, team.id, team.name.clone()),
        Subject::person(person),
    ]
}

async fn person_in_change(change: &Change, id: Uuid) -> ApiResult<person::Model> {
    person::Entity::find_by_id(id)
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Person"))
}
