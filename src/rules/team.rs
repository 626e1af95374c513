//! The rules of teams: which team the actor may act on in a change, and as what; creating,
//! renaming and deleting a team, and what a deletion takes with it.

use std::collections::HashMap;

use chrono::Utc;
use entity::enums::{EventSubjectKind, EventType, TeamRole};
use entity::{person, team};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::rules::change::{Change, NewEvent, Subject};

/// The team and the actor's role in it, read inside the change with the team row locked on
/// PostgreSQL, so that membership changes of one team run one after the other. A team the
/// actor cannot see is NOT_FOUND; the role is `None` for one it sees without being a member.
/// Everything is read through the change's own transaction: a mutation never waits for a
/// second connection while it holds one.
pub async fn team_in_change(
    change: &Change,
    id: Uuid,
) -> ApiResult<(team::Model, Option<TeamRole>)> {
    let mut select = team::Entity::find_by_id(id);
    select = change.locked(select);
    let team = select
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Team"))?;
    let role = entity::team_member::Entity::find()
        .filter(entity::team_member::Column::TeamId.eq(id))
        .filter(entity::team_member::Column::PersonId.eq(change.actor.id))
        .one(&change.txn)
        .await?
        .map(|m| m.role);
    if role.is_none()
        && !Reach::load(&change.txn, change.actor.id)
            .await?
            .visible_teams(&change.txn, &[id])
            .await?
            .contains(&id)
    {
        return Err(ApiError::not_found("Team"));
    }
    Ok((team, role))
}

/// The team, if the actor is UNLIMITED in it (see `team_in_change`); FORBIDDEN with `refusal`
/// for anyone else who sees it.
pub async fn unlimited_team_in_change(
    change: &Change,
    id: Uuid,
    refusal: &str,
) -> ApiResult<team::Model> {
    match team_in_change(change, id).await? {
        (team, Some(TeamRole::Unlimited)) => Ok(team),
        _ => Err(ApiError::Forbidden(refusal.to_owned())),
    }
}

/// What deleting a team removes with it: the payment methods only it gives access to, their
/// apps, and the trial apps only it reaches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamDeletion {
    pub app_ids: Vec<Uuid>,
    pub payment_method_ids: Vec<Uuid>,
}

/// Payment methods that only the team gives access to: no person directly, no other team.
const ORPHANED_PAYMENT_METHODS: &str = "SELECT pt.team_id AS parent, pt.payment_method_id AS id \
    FROM payment_method_team pt \
    WHERE NOT EXISTS (SELECT 1 FROM payment_method_person pp WHERE pp.payment_method_id = pt.payment_method_id) \
    AND NOT EXISTS (SELECT 1 FROM payment_method_team o WHERE o.payment_method_id = pt.payment_method_id AND o.team_id <> pt.team_id)";

/// What deleting each of `teams` would remove, in one statement; the deletion itself uses it
/// too, so what `deletionImpact` shows is exactly what goes.
pub async fn deletion_impacts(
    conn: &impl sea_orm::ConnectionTrait,
    teams: &[Uuid],
) -> ApiResult<HashMap<Uuid, TeamDeletion>> {
    use crate::store::sql::Sql;
    #[derive(FromQueryResult)]
    struct Row {
        kind: String,
        parent: Uuid,
        id: Uuid,
    }
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("SELECT 'P' AS kind, parent, id FROM (")
        .push(ORPHANED_PAYMENT_METHODS)
        .push(") o WHERE parent IN ")
        .bind_list(teams.iter().copied())
        // The apps of those payment methods go with them.
        .push(" UNION SELECT 'A', o.parent, a.id FROM (")
        .push(ORPHANED_PAYMENT_METHODS)
        .push(") o JOIN app a ON a.payment_method_id = o.id WHERE o.parent IN ")
        .bind_list(teams.iter().copied())
        // Trial apps reachable only through this team: no other team holds them and
        // nobody is connected directly.
        .push(
            " UNION SELECT 'A', ta.team_id, a.id FROM team_app ta JOIN app a ON a.id = ta.app_id \
             WHERE a.payment_method_id IS NULL \
             AND NOT EXISTS (SELECT 1 FROM team_app o WHERE o.app_id = ta.app_id AND o.team_id <> ta.team_id) \
             AND NOT EXISTS (SELECT 1 FROM developer_connection dc WHERE dc.app_id = ta.app_id AND dc.team_id IS NULL) \
             AND ta.team_id IN ",
        )
        .bind_list(teams.iter().copied());
    let rows = Row::find_by_statement(sql.statement()).all(conn).await?;
    let mut impacts: HashMap<Uuid, TeamDeletion> = teams
        .iter()
        .map(|t| (*t, TeamDeletion::default()))
        .collect();
    for row in rows {
        if let Some(impact) = impacts.get_mut(&row.parent) {
            match row.kind.as_str() {
                "P" => impact.payment_method_ids.push(row.id),
                _ => impact.app_ids.push(row.id),
            }
        }
    }
    for impact in impacts.values_mut() {
        impact.app_ids.sort();
        impact.payment_method_ids.sort();
    }
    Ok(impacts)
}

/// Creates a team with the actor as its UNLIMITED member. Developers only. `name` is cleaned
/// already (`naming::clean_name`, before the change begins).
pub async fn create(change: &mut Change, name: String) -> ApiResult<team::Model> {
    if change.actor.account_type != entity::enums::AccountType::Developer {
        return Err(ApiError::Forbidden(
            "clients cannot have teams; teams are for developers".to_owned(),
        ));
    }
    let now = Utc::now();
    let team = team::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        created_at: Set(now),
    }
    .insert(&change.txn)
    .await?;
    entity::team_member::ActiveModel {
        team_id: Set(team.id),
        person_id: Set(change.actor.id),
        role: Set(TeamRole::Unlimited),
        joined_at: Set(now),
    }
    .insert(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::TeamCreated,
        summary: format!("{} created team {}", change.actor.name, team.name),
        subjects: vec![
            Subject::new(EventSubjectKind::Team, team.id, team.name.clone()),
            Subject::person(&change.actor),
        ],
        payload: serde_json::json!({ "name": team.name }),
    });
    Ok(team)
}

/// Renames a team to `name` (cleaned already, as for `create`). UNLIMITED members only.
pub async fn rename(change: &mut Change, id: Uuid, name: String) -> ApiResult<team::Model> {
    let before =
        unlimited_team_in_change(change, id, "only UNLIMITED members rename a team").await?;
    let after = team::ActiveModel {
        id: Set(id),
        name: Set(name),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::TeamRenamed,
        summary: format!(
            "{} renamed team {} to {}",
            change.actor.name, before.name, after.name
        ),
        subjects: vec![Subject::new(EventSubjectKind::Team, id, after.name.clone())],
        payload: serde_json::json!({ "name": { "from": before.name, "to": after.name } }),
    });
    Ok(after)
}

/// Deletes a team with the payment methods and trial apps only it gives access to, as
/// `Team.deletionImpact` shows. UNLIMITED members only.
pub async fn delete(change: &mut Change, id: Uuid) -> ApiResult<TeamDeletion> {
    let team = unlimited_team_in_change(change, id, "only UNLIMITED members delete a team").await?;
    let impact = deletion_impacts(&change.txn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    let team_apps: Vec<Uuid> = entity::team_app::Entity::find()
        .select_only()
        .column(entity::team_app::Column::AppId)
        .filter(entity::team_app::Column::TeamId.eq(id))
        .into_tuple()
        .all(&change.txn)
        .await?;
    // The connections through the team end with it.
    crate::rules::app::lock_developers_of(change, &team_apps).await?;
    let members: Vec<person::Model> = entity::team_member::Entity::find()
        .filter(entity::team_member::Column::TeamId.eq(id))
        .find_also_related(person::Entity)
        .all(&change.txn)
        .await?
        .into_iter()
        .filter_map(|(_, person)| person)
        .collect();
    let apps = entity::app::Entity::find()
        .filter(entity::app::Column::Id.is_in(impact.app_ids.iter().copied()))
        .all(&change.txn)
        .await?;
    let payment_methods = entity::payment_method::Entity::find()
        .filter(entity::payment_method::Column::Id.is_in(impact.payment_method_ids.iter().copied()))
        .all(&change.txn)
        .await?;
    // Apps first (their payment methods may own them), then payment methods, then the team;
    // foreign keys cascade to environments, connections, grants, contacts and invitations.
    entity::app::Entity::delete_many()
        .filter(entity::app::Column::Id.is_in(impact.app_ids.iter().copied()))
        .exec(&change.txn)
        .await?;
    entity::payment_method::Entity::delete_many()
        .filter(entity::payment_method::Column::Id.is_in(impact.payment_method_ids.iter().copied()))
        .exec(&change.txn)
        .await?;
    team::Entity::delete_by_id(id).exec(&change.txn).await?;
    let surviving: Vec<Uuid> = team_apps
        .into_iter()
        .filter(|a| !impact.app_ids.contains(a))
        .collect();
    crate::rules::app::ensure_technical_contacts(&change.txn, &surviving).await?;

    let mut subjects = vec![Subject::new(EventSubjectKind::Team, id, team.name.clone())];
    subjects.extend(members.iter().map(Subject::person));
    subjects.extend(
        apps.iter()
            .map(|a| Subject::new(EventSubjectKind::App, a.id, a.name.clone())),
    );
    subjects.extend(
        payment_methods
            .iter()
            .map(|p| Subject::new(EventSubjectKind::PaymentMethod, p.id, p.label.clone())),
    );
    let mut summary = format!("{} deleted team {}", change.actor.name, team.name);
    if !apps.is_empty() || !payment_methods.is_empty() {
        summary.push_str(&format!(
            " with {} app(s) and {} payment method(s) only it gave access to",
            apps.len(),
            payment_methods.len()
        ));
    }
    change.record(NewEvent {
        event_type: EventType::TeamDeleted,
        summary,
        subjects,
        payload: serde_json::json!({
            "name": team.name,
            "deletedApps": apps.iter().map(|a| &a.name).collect::<Vec<_>>(),
            "deletedPaymentMethods": payment_methods.iter().map(|p| &p.label).collect::<Vec<_>>(),
        }),
    });
    Ok(impact)
}

/// A role as events and mails spell it.
pub fn role_name(role: TeamRole) -> &'static str {
    match role {
        TeamRole::Unlimited => "UNLIMITED",
        TeamRole::Limited => "LIMITED",
    }
}
