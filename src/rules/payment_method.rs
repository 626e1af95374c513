//! The rules of payment methods: every payment method keeps a billing path, a person billed
//! directly or a team with an UNLIMITED member.

use entity::payment_method;
use sea_orm::FromQueryResult;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::change::Change;

/// Whether the payment method keeps a billing path — a person directly, or a team with an
/// UNLIMITED member — without `without_person` and `without_team`.
pub async fn has_other_billing_path(
    change: &Change,
    pm: Uuid,
    without_person: Option<Uuid>,
    without_team: Option<Uuid>,
) -> ApiResult<bool> {
    let mut sql = crate::store::sql::Sql::new(change.backend());
    sql.push("SELECT COUNT(*) AS n FROM (SELECT person_id AS id FROM payment_method_person WHERE payment_method_id = ")
        .bind(pm)
        .push(" AND person_id <> ")
        .bind(without_person.unwrap_or_default())
        .push(" UNION SELECT pt.team_id FROM payment_method_team pt JOIN team_member tm ON tm.team_id = pt.team_id AND tm.role = 'UNLIMITED' WHERE pt.payment_method_id = ")
        .bind(pm)
        .push(" AND pt.team_id <> ")
        .bind(without_team.unwrap_or_default())
        .push(") paths");
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let paths = Count::find_by_statement(sql.statement())
        .one(&change.txn)
        .await?
        .map_or(0, |c| c.n);
    Ok(paths > 0)
}

/// Refuses when, without `without_person` and `without_team`, the payment method would have
/// no billing path left.
pub async fn keep_a_billing_path(
    change: &Change,
    pm: &payment_method::Model,
    without_person: Option<Uuid>,
    without_team: Option<Uuid>,
) -> ApiResult<()> {
    if has_other_billing_path(change, pm.id, without_person, without_team).await? {
        return Ok(());
    }
    Err(ApiError::Conflict {
        message: format!(
            "payment method {} would have nobody left to bill it: invite someone to it first, or delete it",
            pm.label
        ),
        ids: vec![pm.id],
    })
}
