//! The rules of people: e-mail addresses in one canonical form, one account per address;
//! changing one's name or account type (a CLIENT holds no teams, connections or keys); cancelling
//! an account, refused while a team or a payment method would be stranded.

use chrono::Utc;
use entity::enums::{AccountType, EventType, TeamRole};
use entity::{person, personal_access_token, ssh_key};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

/// The canonical form of an e-mail address: trimmed and lower-cased, after checking it is one.
/// A bare address only: no display name (`Name <address>` would put the sender's words in a
/// mail's `To:` header and never equal an account's address) and no domain literal
/// (`user@[…]`), which no one signs up with.
pub fn normalize_email(email: &str) -> ApiResult<String> {
    let email = email.trim().to_lowercase();
    let options = email_address::Options::default()
        .without_display_text()
        .without_domain_literal();
    if email.len() > 254
        || email_address::EmailAddress::parse_with_options(&email, options).is_err()
    {
        return Err(ApiError::bad_input(format!(
            "`{email}` is not a valid e-mail address"
        )));
    }
    Ok(email)
}

/// Creates a person. An e-mail address already in use is CONFLICT.
pub async fn create(
    conn: &impl sea_orm::ConnectionTrait,
    email: &str,
    name: &str,
    account_type: AccountType,
) -> ApiResult<person::Model> {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let email = normalize_email(email)?;
    let name = crate::naming::clean_name(name, "a name")?;
    if let Some(existing) = find_by_email(conn, &email).await? {
        return Err(ApiError::Conflict {
            message: format!("{email} already has an account"),
            ids: vec![existing.id],
        });
    }
    Ok(person::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        name: Set(name),
        account_type: Set(account_type),
        created_at: Set(Utc::now()),
        cancelled_at: Set(None),
    }
    .insert(conn)
    .await?)
}

pub async fn find_by_email(
    conn: &impl sea_orm::ConnectionTrait,
    email: &str,
) -> ApiResult<Option<person::Model>> {
    let email = email.trim().to_lowercase();
    Ok(person::Entity::find()
        .filter(person::Column::Email.eq(email))
        .one(conn)
        .await?)
}

/// What stands in the way of becoming a CLIENT: memberships, connections, keys.
async fn developer_belongings(
    conn: &impl sea_orm::ConnectionTrait,
    person: Uuid,
) -> ApiResult<Vec<Uuid>> {
    use entity::{developer_connection, team_member};
    use sea_orm::QuerySelect;
    let mut ids: Vec<Uuid> = team_member::Entity::find()
        .select_only()
        .column(team_member::Column::TeamId)
        .filter(team_member::Column::PersonId.eq(person))
        .into_tuple()
        .all(conn)
        .await?;
    let apps: Vec<Uuid> = developer_connection::Entity::find()
        .select_only()
        .column(developer_connection::Column::AppId)
        .filter(developer_connection::Column::PersonId.eq(person))
        .into_tuple()
        .all(conn)
        .await?;
    let keys: Vec<Uuid> = ssh_key::Entity::find()
        .select_only()
        .column(ssh_key::Column::Id)
        .filter(ssh_key::Column::PersonId.eq(person))
        .into_tuple()
        .all(conn)
        .await?;
    ids.extend(apps);
    ids.extend(keys);
    Ok(ids)
}

/// Cancels the viewer's account: it leaves every team, its connections, billing access,
/// SSH keys and tokens end, and it can no longer sign in; its past events stay. Refused
/// (CONFLICT, listing what is in the way) while it is the only or last UNLIMITED member of
/// a team or the last billing path of a payment method.
pub async fn cancel(change: &mut Change) -> ApiResult<()> {
    use entity::{access_request, developer_connection, payment_method_person, team_member};
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, QuerySelect};
    let me = change.actor.id;
    let (reasons, ids) = cancellation_blockers(change, me).await?;
    if !reasons.is_empty() {
        return Err(ApiError::Conflict {
            message: format!(
                "your account cannot be cancelled yet: {}",
                reasons.join("; ")
            ),
            ids,
        });
    }
    let reach = change.reach().await?;
    let mut subjects = vec![Subject::person(&change.actor)];
    subjects.extend(
        reach
            .team_ids()
            .into_iter()
            .map(|t| Subject::new(entity::enums::EventSubjectKind::Team, t, String::new())),
    );
    let apps: Vec<Uuid> = developer_connection::Entity::find()
        .select_only()
        .column(developer_connection::Column::AppId)
        .filter(developer_connection::Column::PersonId.eq(me))
        .into_tuple()
        .all(&change.txn)
        .await?;
    crate::rules::app::lock_developers_of(change, &apps).await?;
    team_member::Entity::delete_many()
        .filter(team_member::Column::PersonId.eq(me))
        .exec(&change.txn)
        .await?;
    developer_connection::Entity::delete_many()
        .filter(developer_connection::Column::PersonId.eq(me))
        .exec(&change.txn)
        .await?;
    payment_method_person::Entity::delete_many()
        .filter(payment_method_person::Column::PersonId.eq(me))
        .exec(&change.txn)
        .await?;
    ssh_key::Entity::delete_many()
        .filter(ssh_key::Column::PersonId.eq(me))
        .exec(&change.txn)
        .await?;
    let now = Utc::now();
    personal_access_token::Entity::update_many()
        .col_expr(
            personal_access_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(personal_access_token::Column::PersonId.eq(me))
        .filter(personal_access_token::Column::RevokedAt.is_null())
        .exec(&change.txn)
        .await?;
    crate::rules::session::end_all_of(&change.txn, me).await?;
    access_request::Entity::update_many()
        .col_expr(
            access_request::Column::State,
            sea_orm::sea_query::Expr::value("CANCELLED"),
        )
        .filter(access_request::Column::RequesterId.eq(me))
        .filter(access_request::Column::State.eq(entity::enums::AccessRequestState::Pending))
        .exec(&change.txn)
        .await?;
    crate::rules::app::ensure_technical_contacts(&change.txn, &apps).await?;
    person::ActiveModel {
        id: Set(me),
        cancelled_at: Set(Some(now)),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    // Team names, for the teams' members who read the event.
    for subject in subjects.iter_mut().skip(1) {
        if let Some(team) = entity::team::Entity::find_by_id(subject.id)
            .one(&change.txn)
            .await?
        {
            subject.name = team.name;
        }
    }
    change.record(NewEvent {
        event_type: EventType::AccountCancelled,
        summary: format!("{} cancelled their account", change.actor.name),
        subjects,
        payload: serde_json::json!({ "endedConnections": apps.len() }),
    });
    Ok(())
}

/// Changes the actor's name (cleaned already, `naming::clean_name`) or account type.
pub async fn update(
    change: &mut Change,
    name: Option<String>,
    account_type: Option<AccountType>,
) -> ApiResult<person::Model> {
    use sea_orm::{ActiveEnum, ActiveModelTrait, ActiveValue::Set};
    // As the transaction reads it (locked), not as the request found it.
    let before = change.actor.clone();
    let account_type = account_type.unwrap_or(before.account_type);
    if before.account_type == AccountType::Developer && account_type == AccountType::Client {
        let in_the_way = developer_belongings(&change.txn, before.id).await?;
        if !in_the_way.is_empty() {
            return Err(ApiError::Conflict {
                message: format!(
                    "a client has no teams, developer connections or SSH keys: leave your teams, end your connections and remove your keys first ({} in the way)",
                    in_the_way.len()
                ),
                ids: in_the_way,
            });
        }
    }
    let after = person::ActiveModel {
        id: Set(before.id),
        name: Set(name.clone().unwrap_or_else(|| before.name.clone())),
        account_type: Set(account_type),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    let mut changes = Vec::new();
    if after.name != before.name {
        changes.push(format!("renamed themselves to {}", after.name));
    }
    if after.account_type != before.account_type {
        changes.push(format!(
            "became a {} account",
            after.account_type.to_value()
        ));
    }
    if !changes.is_empty() {
        change.record(NewEvent {
            event_type: EventType::AccountUpdated,
            summary: format!("{} {}", before.name, changes.join(" and ")),
            subjects: vec![Subject::person(&after)],
            payload: serde_json::json!({
                "name": { "from": before.name, "to": after.name },
                "accountType": {
                    "from": before.account_type.to_value(),
                    "to": after.account_type.to_value(),
                },
            }),
        });
    }
    Ok(after)
}

/// What keeps `person` from cancelling: teams it is the only member or the last UNLIMITED member
/// of, payment methods it is the last billing path of. The rows of those teams and payment
/// methods are locked first (PostgreSQL), in id order, as leaving a team or removing a billing
/// person does: a concurrent departure of the other UNLIMITED member or biller waits, and one
/// of the two then sees it would strand the team or payment method.
async fn cancellation_blockers(
    change: &Change,
    person: Uuid,
) -> ApiResult<(Vec<String>, Vec<Uuid>)> {
    use entity::{payment_method, payment_method_person, team, team_member};
    use sea_orm::{PaginatorTrait, QueryOrder};
    let (mut reasons, mut ids) = (Vec::new(), Vec::new());
    let memberships = team_member::Entity::find()
        .filter(team_member::Column::PersonId.eq(person))
        .order_by_asc(team_member::Column::TeamId)
        .find_also_related(team::Entity)
        .all(&change.txn)
        .await?;
    for (membership, team) in memberships {
        let Some(team) = team else { continue };
        crate::rules::team::team_in_change(change, team.id).await?;
        let others = team_member::Entity::find()
            .filter(team_member::Column::TeamId.eq(team.id))
            .filter(team_member::Column::PersonId.ne(person));
        if others.clone().count(&change.txn).await? == 0 {
            reasons.push(format!(
                "you are the only member of team {} (delete it)",
                team.name
            ));
            ids.push(team.id);
        } else if membership.role == TeamRole::Unlimited
            && others
                .filter(team_member::Column::Role.eq(TeamRole::Unlimited))
                .count(&change.txn)
                .await?
                == 0
        {
            reasons.push(format!(
                "you are the last UNLIMITED member of team {} (promote someone)",
                team.name
            ));
            ids.push(team.id);
        }
    }
    let billed = payment_method_person::Entity::find()
        .filter(payment_method_person::Column::PersonId.eq(person))
        .order_by_asc(payment_method_person::Column::PaymentMethodId)
        .find_also_related(payment_method::Entity)
        .all(&change.txn)
        .await?;
    for (_, pm) in billed {
        let Some(pm) = pm else { continue };
        change
            .locked(payment_method::Entity::find_by_id(pm.id))
            .one(&change.txn)
            .await?;
        if !crate::rules::payment_method::has_other_billing_path(change, pm.id, Some(person), None)
            .await?
        {
            reasons.push(format!(
                "you are the last billing path of payment method {} (invite someone or delete it)",
                pm.label
            ));
            ids.push(pm.id);
        }
    }
    Ok((reasons, ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email(" Ana@Example.COM ").ok().as_deref(),
            Some("ana@example.com")
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "a b@example.com",
            "ana@@example.com",
        ] {
            assert_eq!(
                normalize_email(bad).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }
}
