//! The rules of payment methods: their billing details, who bills to them (every payment
//! method keeps a billing path, a person billed directly or a team with an UNLIMITED member),
//! the teams connected to them and the apps they pay for.

use entity::enums::{EventSubjectKind, EventType, PaymentType};
use entity::{app, payment_method, person};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

/// New details of a payment method, each cleaned already; `None` keeps the current one.
#[derive(Debug, Clone, Default)]
pub struct PaymentMethodChanges {
    pub label: Option<String>,
    pub payment_type: Option<PaymentType>,
    pub invoice_email: Option<String>,
    pub invoice_address: Option<String>,
    /// `Some(None)` removes the VAT id.
    pub vat_id: Option<Option<String>>,
}

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

/// The billing details people type in: an invoice e-mail, an address, an optional VAT id.
pub fn clean_billing_text(value: &str, what: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty()
        || value.chars().count() > max
        || value.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(ApiError::bad_input(format!(
            "{what} is 1 to {max} characters long, without control characters"
        )));
    }
    Ok(value.to_owned())
}

pub fn clean_vat_id(vat: Option<String>) -> ApiResult<Option<String>> {
    match vat.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(vat) if vat.len() <= 20 && vat.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Ok(Some(vat.to_ascii_uppercase()))
        }
        Some(_) => Err(ApiError::bad_input(
            "a VAT id is up to 20 letters and digits, like DE123456789",
        )),
    }
}

/// The details of a new payment method, as `createPaymentMethod` and `acceptInvitation` (for a
/// billing take-over) receive them.
pub struct NewPaymentMethod<'a> {
    pub label: &'a str,
    pub payment_type: PaymentType,
    pub invoice_email: &'a str,
    pub invoice_address: &'a str,
    pub vat_id: Option<&'a str>,
}

/// Checks the details, writes the payment method and gives the actor direct billing access.
pub async fn insert_payment_method(
    change: &Change,
    new: NewPaymentMethod<'_>,
) -> ApiResult<payment_method::Model> {
    let label = crate::naming::clean_name(new.label, "a label")?;
    let invoice_email = crate::rules::person::normalize_email(new.invoice_email)?;
    let invoice_address = clean_billing_text(new.invoice_address, "an invoice address", 500)?;
    let vat_id = clean_vat_id(new.vat_id.map(str::to_owned))?;
    let now = chrono::Utc::now();
    let pm = payment_method::ActiveModel {
        id: Set(Uuid::now_v7()),
        label: Set(label),
        payment_type: Set(new.payment_type),
        invoice_email: Set(invoice_email),
        invoice_address: Set(invoice_address),
        vat_id: Set(vat_id),
        created_at: Set(now),
    }
    .insert(&change.txn)
    .await?;
    entity::payment_method_person::ActiveModel {
        payment_method_id: Set(pm.id),
        person_id: Set(change.actor.id),
        connected_at: Set(now),
    }
    .insert(&change.txn)
    .await?;
    Ok(pm)
}

/// The payment method, if the actor bills to it (row locked on PostgreSQL so that billing paths
/// change one at a time); NOT_FOUND otherwise, since billing access is what makes it visible.
pub async fn billed_in_change(change: &Change, id: Uuid) -> ApiResult<payment_method::Model> {
    let mut select = payment_method::Entity::find_by_id(id);
    select = change.locked(select);
    let pm = select.one(&change.txn).await?;
    match pm {
        Some(pm) if change.reach().await?.bills(id) => Ok(pm),
        _ => Err(ApiError::not_found("PaymentMethod")),
    }
}

fn pm_subject(pm: &payment_method::Model) -> Subject {
    Subject::new(EventSubjectKind::PaymentMethod, pm.id, pm.label.clone())
}

/// Creates a payment method; the viewer gets direct billing access to it.
pub async fn create(
    change: &mut Change,
    new: NewPaymentMethod<'_>,
) -> ApiResult<payment_method::Model> {
    let pm = insert_payment_method(change, new).await?;
    change.record(NewEvent {
        event_type: EventType::PaymentMethodCreated,
        summary: format!("{} created payment method {}", change.actor.name, pm.label),
        subjects: vec![pm_subject(&pm), Subject::person(&change.actor)],
        payload: serde_json::json!({ "label": pm.label, "paymentType": pm.payment_type.to_value() }),
    });
    Ok(pm)
}

/// Changes a payment method's details. Needs billing access.
pub async fn update(
    change: &mut Change,
    id: Uuid,
    changes: PaymentMethodChanges,
) -> ApiResult<payment_method::Model> {
    let before = billed_in_change(change, id).await?;
    let after = payment_method::ActiveModel {
        id: Set(id),
        label: Set(changes.label.unwrap_or_else(|| before.label.clone())),
        payment_type: Set(changes.payment_type.unwrap_or(before.payment_type)),
        invoice_email: Set(changes
            .invoice_email
            .unwrap_or_else(|| before.invoice_email.clone())),
        invoice_address: Set(changes
            .invoice_address
            .unwrap_or_else(|| before.invoice_address.clone())),
        vat_id: Set(changes.vat_id.unwrap_or_else(|| before.vat_id.clone())),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::PaymentMethodUpdated,
        summary: format!("{} changed the details of payment method {}", change.actor.name, after.label),
        subjects: vec![pm_subject(&after)],
        payload: serde_json::json!({
            "label": { "from": before.label, "to": after.label },
            "paymentType": { "from": before.payment_type.to_value(), "to": after.payment_type.to_value() },
            "invoiceEmail": { "from": before.invoice_email, "to": after.invoice_email },
            "invoiceAddress": { "from": before.invoice_address, "to": after.invoice_address },
            "vatId": { "from": before.vat_id, "to": after.vat_id },
        }),
    });
    Ok(after)
}

/// Deletes a payment method and every app it owns. Needs billing access.
pub async fn delete(change: &mut Change, id: Uuid) -> ApiResult<Vec<app::Model>> {
    let pm = billed_in_change(change, id).await?;
    let apps = app::Entity::find()
        .filter(app::Column::PaymentMethodId.eq(id))
        .order_by_asc(app::Column::Id)
        .all(&change.txn)
        .await?;
    let teams = entity::payment_method_team::Entity::find()
        .filter(entity::payment_method_team::Column::PaymentMethodId.eq(id))
        .find_also_related(entity::team::Entity)
        .all(&change.txn)
        .await?;
    let mut subjects = vec![pm_subject(&pm)];
    subjects.extend(
        apps.iter()
            .map(|a| Subject::new(EventSubjectKind::App, a.id, a.name.clone())),
    );
    subjects.extend(
        teams
            .into_iter()
            .filter_map(|(_, t)| t)
            .map(|t| Subject::new(EventSubjectKind::Team, t.id, t.name)),
    );
    // Once it is gone nobody bills it, so the people who did are named: each sees the
    // deletion as an event about itself.
    let mut sql = crate::store::sql::Sql::new(change.backend());
    sql.push("SELECT p.* FROM person p JOIN (")
        .push(crate::rules::access::billing_paths!())
        .push(") billing ON billing.person_id = p.id WHERE billing.payment_method_id = ")
        .bind(id);
    let billers = person::Model::find_by_statement(sql.statement())
        .all(&change.txn)
        .await?;
    subjects.extend(billers.iter().map(Subject::person));
    app::Entity::delete_many()
        .filter(app::Column::PaymentMethodId.eq(id))
        .exec(&change.txn)
        .await?;
    payment_method::Entity::delete_by_id(id)
        .exec(&change.txn)
        .await?;
    change.record(NewEvent {
        event_type: EventType::PaymentMethodDeleted,
        summary: format!(
            "{} deleted payment method {} with {} app(s)",
            change.actor.name,
            pm.label,
            apps.len()
        ),
        subjects,
        payload: serde_json::json!({ "label": pm.label, "deletedApps": apps.iter().map(|a| &a.name).collect::<Vec<_>>() }),
    });
    Ok(apps)
}

/// Connects a team to a payment method: its UNLIMITED members get billing access. Needs
/// billing access to the payment method and UNLIMITED membership of the team.
pub async fn connect_team(
    change: &mut Change,
    pm_id: Uuid,
    team_id: Uuid,
) -> ApiResult<payment_method::Model> {
    let pm = billed_in_change(change, pm_id).await?;
    let team = crate::rules::team::unlimited_team_in_change(
        change,
        team_id,
        "only UNLIMITED members connect a team to a payment method",
    )
    .await?;
    let exists = entity::payment_method_team::Entity::find_by_id((pm_id, team_id))
        .one(&change.txn)
        .await?;
    if exists.is_some() {
        return Err(ApiError::Conflict {
            message: format!("team {} is connected to {} already", team.name, pm.label),
            ids: vec![pm_id, team_id],
        });
    }
    entity::payment_method_team::ActiveModel {
        payment_method_id: Set(pm_id),
        team_id: Set(team_id),
        connected_at: Set(chrono::Utc::now()),
    }
    .insert(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::TeamConnectedToPaymentMethod,
        summary: format!(
            "{} connected team {} to payment method {}",
            change.actor.name, team.name, pm.label
        ),
        subjects: vec![
            pm_subject(&pm),
            Subject::new(EventSubjectKind::Team, team.id, team.name.clone()),
        ],
        payload: serde_json::json!({ "paymentMethod": pm.label, "team": team.name }),
    });
    Ok(pm)
}

/// Disconnects a team from a payment method. Either side may: someone with billing access,
/// or an UNLIMITED member of the team. The payment method keeps at least one billing path.
pub async fn disconnect_team(
    change: &mut Change,
    pm_id: Uuid,
    team_id: Uuid,
) -> ApiResult<payment_method::Model> {
    let (team, _) = crate::rules::team::team_in_change(change, team_id).await?;
    // Billing access is what makes a payment method visible, and it is also the UNLIMITED
    // member's right here: a connected team's UNLIMITED members bill to it. Whoever lacks it
    // gets NOT_FOUND, as for an unknown id, whether or not the team is connected: a refusal
    // must not tell an outsider that the payment method exists, let alone its label
    // (docs/security.md, "Refusals").
    let mut select = payment_method::Entity::find_by_id(pm_id);
    select = change.locked(select);
    let bills = change.reach().await?.bills(pm_id);
    let pm = select
        .one(&change.txn)
        .await?
        .filter(|_| bills)
        .ok_or_else(|| ApiError::not_found("PaymentMethod"))?;
    if entity::payment_method_team::Entity::find_by_id((pm_id, team_id))
        .one(&change.txn)
        .await?
        .is_none()
    {
        return Err(ApiError::Conflict {
            message: format!("team {} is not connected to {}", team.name, pm.label),
            ids: vec![pm_id, team_id],
        });
    }
    crate::rules::payment_method::keep_a_billing_path(change, &pm, None, Some(team_id)).await?;
    entity::payment_method_team::Entity::delete_by_id((pm_id, team_id))
        .exec(&change.txn)
        .await?;
    change.record(NewEvent {
        event_type: EventType::TeamDisconnectedFromPaymentMethod,
        summary: format!(
            "{} disconnected team {} from payment method {}",
            change.actor.name, team.name, pm.label
        ),
        subjects: vec![
            pm_subject(&pm),
            Subject::new(EventSubjectKind::Team, team.id, team.name.clone()),
        ],
        payload: serde_json::json!({ "paymentMethod": pm.label, "team": team.name }),
    });
    Ok(pm)
}

/// Ends a person's direct billing access (the viewer's own included). Needs billing
/// access; the payment method keeps at least one billing path.
pub async fn remove_person(
    change: &mut Change,
    pm_id: Uuid,
    person_id: Uuid,
) -> ApiResult<payment_method::Model> {
    let pm = billed_in_change(change, pm_id).await?;
    let link = entity::payment_method_person::Entity::find_by_id((pm_id, person_id))
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("person of this payment method"))?;
    let person = entity::person::Entity::find_by_id(link.person_id)
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Person"))?;
    crate::rules::payment_method::keep_a_billing_path(change, &pm, Some(person_id), None).await?;
    entity::payment_method_person::Entity::delete_by_id((pm_id, person_id))
        .exec(&change.txn)
        .await?;
    change.record(NewEvent {
        event_type: EventType::BillingPersonRemoved,
        summary: format!(
            "{} removed {} from payment method {}",
            change.actor.name, person.name, pm.label
        ),
        subjects: vec![pm_subject(&pm), Subject::person(&person)],
        payload: serde_json::json!({ "paymentMethod": pm.label, "person": person.name }),
    });
    Ok(pm)
}

/// Moves an app to another payment method the viewer bills to. Needs billing access to the
/// app (or, for a trial app, a full developer connection).
pub async fn move_app(change: &mut Change, app_id: Uuid, pm_id: Uuid) -> ApiResult<app::Model> {
    let rights = crate::rules::app::AppRights::load(change, app_id).await?;
    let access = rights.access();
    let trial = rights.app.payment_method_id.is_none();
    rights.require(
        access.billing || (trial && access.full),
        "moving an app needs billing access to it (or a full developer connection to a trial app)",
    )?;
    let target = billed_in_change(change, pm_id).await?;
    if rights.app.payment_method_id == Some(pm_id) {
        return Err(ApiError::Conflict {
            message: format!("{} is on {} already", rights.app.name, target.label),
            ids: vec![app_id, pm_id],
        });
    }
    let mut subjects = rights.subjects_with_containers(change).await?;
    subjects.push(pm_subject(&target));
    let after = app::ActiveModel {
        id: Set(app_id),
        payment_method_id: Set(Some(pm_id)),
        ..Default::default()
    }
    .update(&change.txn)
    .await?;
    change.record(NewEvent {
        event_type: EventType::AppPaymentMethodChanged,
        summary: format!(
            "{} moved app {} to payment method {}",
            change.actor.name, after.name, target.label
        ),
        subjects,
        payload: serde_json::json!({ "app": after.name, "to": target.label }),
    });
    Ok(after)
}
