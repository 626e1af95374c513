//! The rules of teams as a change sees them: which team the actor may act on, and as what.

use entity::enums::TeamRole;
use entity::team;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::rules::change::Change;

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
