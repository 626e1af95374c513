//! Payment methods: the billing entities that own and pay for apps. Visible, billing details
//! included, only to people with billing access (directly or as UNLIMITED team members).

use std::collections::HashMap;

use async_graphql::connection::EmptyFields;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::PaymentType;
use entity::enums::{EventSubjectKind, EventType};
use entity::{app, payment_method, person};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QueryResult, QuerySelect,
};
use uuid::Uuid;

use crate::api::connection::{TotalCount, page};
use crate::api::context::{Batch, EdgeFilter, load_by_id, loader, reach, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::app::{App, AppConnection, AppId, TeamConnection};
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::person::Person;
use crate::api::types::team::Team;
use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};
use crate::store::page::PageArgs;
use crate::store::sql::EdgeSql;

load_by_id!(PaymentMethodId, payment_method);

/// A connection of payment methods.
pub type PaymentMethodConnection =
    async_graphql::connection::Connection<String, PaymentMethod, TotalCount>;
/// A connection of people, as `PaymentMethod.people` lists them.
pub type PersonConnection = async_graphql::connection::Connection<String, Person, TotalCount>;

static APPS: EdgeSql = EdgeSql {
    list: "PaymentMethod.apps",
    from: "app n",
    node: "",
    parent: "n.payment_method_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static PEOPLE: EdgeSql = EdgeSql {
    list: "PaymentMethod.people",
    from: "payment_method_person e",
    node: "JOIN person n ON n.id = e.person_id",
    parent: "e.payment_method_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static TEAMS: EdgeSql = EdgeSql {
    list: "PaymentMethod.teams",
    from: "payment_method_team e",
    node: "JOIN team n ON n.id = e.team_id",
    parent: "e.payment_method_id",
    key: "n.id",
    select: "n.*",
    condition: "",
};

static INVITATIONS: EdgeSql = EdgeSql {
    list: "PaymentMethod.invitations",
    from: "invitation n",
    node: "",
    parent: "n.payment_method_id",
    key: "n.id",
    select: "n.*",
    condition: "n.kind = 'PAYMENT_METHOD' AND n.state = 'PENDING'",
};

/// The legal and billing entity that owns and pays for apps.
pub struct PaymentMethod(pub payment_method::Model);

impl PaymentMethod {
    pub fn read(row: &QueryResult) -> Result<(PaymentMethod, EmptyFields), DbErr> {
        Ok((
            PaymentMethod(payment_method::Model::from_query_result(row, "")?),
            EmptyFields,
        ))
    }
}

/// The legal and billing entity that owns and pays for apps.
#[Object]
impl PaymentMethod {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::PaymentMethod, self.0.id)
    }

    /// A label to tell payment methods apart.
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// How it pays.
    async fn payment_type(&self) -> PaymentType {
        self.0.payment_type
    }

    /// Where invoices are sent.
    async fn invoice_email(&self) -> &str {
        &self.0.invoice_email
    }

    /// The postal address printed on invoices.
    async fn invoice_address(&self) -> &str {
        &self.0.invoice_address
    }

    /// The VAT identification number, if any.
    async fn vat_id(&self) -> Option<&str> {
        self.0.vat_id.as_deref()
    }

    /// When the payment method was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The events about this payment method that the viewer may see, oldest first (`last:` gives the
    /// newest), optionally filtered further.
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<crate::api::types::event::EventFilterInput>,
    ) -> ApiResult<crate::api::types::event::EventConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        crate::api::types::event::about(
            ctx,
            crate::api::types::event::About::PaymentMethod(self.0.id),
            args,
            filter,
        )
        .await
    }

    /// The apps it owns and pays for.
    async fn apps(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<AppConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(ctx, &APPS, self.0.id, args, EdgeFilter::NONE, App::read).await
    }

    /// The people with direct billing access.
    async fn people(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<PersonConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(ctx, &PEOPLE, self.0.id, args, EdgeFilter::NONE, |row| {
            Ok((
                Person(person::Model::from_query_result(row, "")?),
                EmptyFields,
            ))
        })
        .await
    }

    /// The teams connected to it; their UNLIMITED members have billing access.
    async fn teams(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<TeamConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(ctx, &TEAMS, self.0.id, args, EdgeFilter::NONE, Team::read).await
    }

    /// Pending invitations to share billing access.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<InvitationConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(
            ctx,
            &INVITATIONS,
            self.0.id,
            args,
            EdgeFilter::NONE,
            Invitation::read,
        )
        .await
    }

    /// What deleting the payment method would delete: itself and every app it owns.
    async fn deletion_impact(&self, ctx: &Context<'_>) -> ApiResult<DeletionImpact> {
        let app_ids = loader(ctx)?
            .load_one(PaymentMethodAppIds(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(DeletionImpact {
            app_ids,
            payment_method_ids: vec![self.0.id],
        })
    }
}

/// The ids of every app a batch of payment methods owns (all of them, not a page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentMethodAppIds(pub Uuid);

impl Loader<PaymentMethodAppIds> for Batch {
    type Value = Vec<Uuid>;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[PaymentMethodAppIds],
    ) -> ApiResult<HashMap<PaymentMethodAppIds, Vec<Uuid>>> {
        let rows: Vec<(Uuid, Option<Uuid>)> = app::Entity::find()
            .select_only()
            .column(app::Column::Id)
            .column(app::Column::PaymentMethodId)
            .filter(app::Column::PaymentMethodId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(app::Column::Id)
            .into_tuple()
            .all(&self.0.db.conn)
            .await?;
        let mut out: HashMap<PaymentMethodAppIds, Vec<Uuid>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for (app, pm) in rows {
            if let Some(pm) = pm {
                out.entry(PaymentMethodAppIds(pm)).or_default().push(app);
            }
        }
        Ok(out)
    }
}

/// Loads a payment method the viewer has billing access to.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<PaymentMethod>> {
    if !reach(ctx).await?.bills(id) {
        return Ok(None);
    }
    Ok(loader(ctx)?
        .load_one(PaymentMethodId(id))
        .await?
        .map(PaymentMethod))
}

/// What a deletion would remove, computed without deleting anything.
#[derive(Debug, Clone, Default)]
pub struct DeletionImpact {
    pub app_ids: Vec<Uuid>,
    pub payment_method_ids: Vec<Uuid>,
}

/// What a deletion would remove, computed without deleting anything.
#[Object]
impl DeletionImpact {
    /// The apps that would be deleted.
    async fn apps(&self, ctx: &Context<'_>) -> ApiResult<Vec<App>> {
        crate::api::context::metered_list(ctx, self.app_ids.len())?;
        let loaded = loader(ctx)?
            .load_many(self.app_ids.iter().map(|id| AppId(*id)))
            .await?;
        Ok(self
            .app_ids
            .iter()
            .filter_map(|id| loaded.get(&AppId(*id)).cloned().map(App))
            .collect())
    }

    /// The payment methods that would be deleted.
    async fn payment_methods(&self, ctx: &Context<'_>) -> ApiResult<Vec<PaymentMethod>> {
        crate::api::context::metered_list(ctx, self.payment_method_ids.len())?;
        let loaded = loader(ctx)?
            .load_many(
                self.payment_method_ids
                    .iter()
                    .map(|id| PaymentMethodId(*id)),
            )
            .await?;
        Ok(self
            .payment_method_ids
            .iter()
            .filter_map(|id| {
                loaded
                    .get(&PaymentMethodId(*id))
                    .cloned()
                    .map(PaymentMethod)
            })
            .collect())
    }
}

/// The billing details people type in: an invoice e-mail, an address, an optional VAT id.
fn clean_billing_text(value: &str, what: &str, max: usize) -> ApiResult<String> {
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

fn clean_vat_id(vat: Option<String>) -> ApiResult<Option<String>> {
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
pub(crate) struct NewPaymentMethod<'a> {
    pub label: &'a str,
    pub payment_type: PaymentType,
    pub invoice_email: &'a str,
    pub invoice_address: &'a str,
    pub vat_id: Option<&'a str>,
}

impl<'a> From<&'a CreatePaymentMethodInput> for NewPaymentMethod<'a> {
    fn from(input: &'a CreatePaymentMethodInput) -> Self {
        NewPaymentMethod {
            label: &input.label,
            payment_type: input.payment_type,
            invoice_email: &input.invoice_email,
            invoice_address: &input.invoice_address,
            vat_id: input.vat_id.as_deref(),
        }
    }
}

/// Checks the details, writes the payment method and gives the actor direct billing access.
pub(crate) async fn insert_payment_method(
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

/// A new payment method; its creator gets direct billing access.
#[derive(InputObject)]
pub struct CreatePaymentMethodInput {
    /// A label to tell payment methods apart.
    pub label: String,
    /// How it pays.
    pub payment_type: PaymentType,
    /// Where invoices are sent.
    pub invoice_email: String,
    /// The postal address printed on invoices.
    pub invoice_address: String,
    /// The VAT identification number, if any.
    pub vat_id: Option<String>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `createPaymentMethod`.
#[derive(SimpleObject)]
pub struct CreatePaymentMethodPayload {
    /// The new payment method.
    pub payment_method: PaymentMethod,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Changes to a payment method's details.
#[derive(InputObject)]
pub struct UpdatePaymentMethodInput {
    /// The payment method's global id.
    pub payment_method_id: ID,
    /// A new label.
    pub label: Option<String>,
    /// A new payment type.
    pub payment_type: Option<PaymentType>,
    /// A new invoice e-mail.
    pub invoice_email: Option<String>,
    /// A new invoice address.
    pub invoice_address: Option<String>,
    /// A new VAT id; an empty one removes it.
    pub vat_id: Option<String>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `updatePaymentMethod`.
#[derive(SimpleObject)]
pub struct UpdatePaymentMethodPayload {
    /// The payment method as it is now.
    pub payment_method: PaymentMethod,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A payment method to delete, with every app it owns (see `PaymentMethod.deletionImpact`).
#[derive(InputObject)]
pub struct DeletePaymentMethodInput {
    /// The payment method's global id.
    pub payment_method_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `deletePaymentMethod`.
#[derive(SimpleObject)]
pub struct DeletePaymentMethodPayload {
    /// The id of the deleted payment method.
    pub deleted_payment_method_id: ID,
    /// The apps deleted with it.
    pub deleted_app_ids: Vec<ID>,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Declares a `<Mutation>Input` naming a payment method and a team.
macro_rules! payment_method_team_input {
    ($($name:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(InputObject)]
        pub struct $name {
            /// The payment method's global id.
            pub payment_method_id: ID,
            /// The team's global id.
            pub team_id: ID,
            /// Echoed in the payload.
            pub client_mutation_id: Option<String>,
        }
    )*};
}

payment_method_team_input!(
    ConnectTeamToPaymentMethodInput: "A team to connect to a payment method: its UNLIMITED members get billing access.",
    DisconnectTeamFromPaymentMethodInput: "A team to disconnect from a payment method.",
);

/// Declares a `<Mutation>Payload` returning the payment method.
macro_rules! payment_method_payload {
    ($($name:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(SimpleObject)]
        pub struct $name {
            /// The payment method as it is now.
            pub payment_method: PaymentMethod,
            /// As given in the input.
            pub client_mutation_id: Option<String>,
        }
    )*};
}

payment_method_payload!(
    ConnectTeamToPaymentMethodPayload: "The result of `connectTeamToPaymentMethod`.",
    DisconnectTeamFromPaymentMethodPayload: "The result of `disconnectTeamFromPaymentMethod`.",
    RemovePaymentMethodPersonPayload: "The result of `removePaymentMethodPerson`.",
);

/// A person whose direct billing access to a payment method ends.
#[derive(InputObject)]
pub struct RemovePaymentMethodPersonInput {
    /// The payment method's global id.
    pub payment_method_id: ID,
    /// The person's global id.
    pub person_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// An app to move to another payment method.
#[derive(InputObject)]
pub struct ChangeAppPaymentMethodInput {
    /// The app's global id.
    pub app_id: ID,
    /// The payment method that will own it; the actor must bill to it.
    pub payment_method_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `changeAppPaymentMethod`.
#[derive(SimpleObject)]
pub struct ChangeAppPaymentMethodPayload {
    /// The app as it is now.
    pub app: App,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations of payment methods and billing connections.
#[derive(Default)]
pub struct PaymentMethodMutation;

/// The payment method, if the actor bills to it (row locked on PostgreSQL so that billing paths
/// change one at a time); NOT_FOUND otherwise, since billing access is what makes it visible.
async fn billed_in_change(change: &Change, id: Uuid) -> ApiResult<payment_method::Model> {
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

#[Object]
impl PaymentMethodMutation {
    /// Creates a payment method; the viewer gets direct billing access to it.
    async fn create_payment_method(
        &self,
        ctx: &Context<'_>,
        input: CreatePaymentMethodInput,
    ) -> ApiResult<Option<CreatePaymentMethodPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let pm = insert_payment_method(&change, NewPaymentMethod::from(&input)).await?;
        change.record(NewEvent {
            event_type: EventType::PaymentMethodCreated,
            summary: format!("{} created payment method {}", change.actor.name, pm.label),
            subjects: vec![pm_subject(&pm), Subject::person(&change.actor)],
            payload: serde_json::json!({ "label": pm.label, "paymentType": pm.payment_type.to_value() }),
        });
        change.commit().await?;
        Ok(Some(CreatePaymentMethodPayload {
            payment_method: PaymentMethod(pm),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Changes a payment method's details. Needs billing access.
    async fn update_payment_method(
        &self,
        ctx: &Context<'_>,
        input: UpdatePaymentMethodInput,
    ) -> ApiResult<Option<UpdatePaymentMethodPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.payment_method_id, NodeKind::PaymentMethod)?;
        let label = input
            .label
            .as_deref()
            .map(|l| crate::naming::clean_name(l, "a label"))
            .transpose()?;
        let invoice_email = input
            .invoice_email
            .as_deref()
            .map(crate::rules::person::normalize_email)
            .transpose()?;
        let invoice_address = input
            .invoice_address
            .as_deref()
            .map(|a| clean_billing_text(a, "an invoice address", 500))
            .transpose()?;
        let vat_id = input.vat_id.map(|v| clean_vat_id(Some(v))).transpose()?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let before = billed_in_change(&change, id).await?;
        let after = payment_method::ActiveModel {
            id: Set(id),
            label: Set(label.unwrap_or_else(|| before.label.clone())),
            payment_type: Set(input.payment_type.unwrap_or(before.payment_type)),
            invoice_email: Set(invoice_email.unwrap_or_else(|| before.invoice_email.clone())),
            invoice_address: Set(invoice_address.unwrap_or_else(|| before.invoice_address.clone())),
            vat_id: Set(vat_id.unwrap_or_else(|| before.vat_id.clone())),
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
        change.commit().await?;
        Ok(Some(UpdatePaymentMethodPayload {
            payment_method: PaymentMethod(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Deletes a payment method and every app it owns. Needs billing access.
    async fn delete_payment_method(
        &self,
        ctx: &Context<'_>,
        input: DeletePaymentMethodInput,
    ) -> ApiResult<Option<DeletePaymentMethodPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.payment_method_id, NodeKind::PaymentMethod)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let pm = billed_in_change(&change, id).await?;
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
        change.commit().await?;
        Ok(Some(DeletePaymentMethodPayload {
            deleted_payment_method_id: input.payment_method_id,
            deleted_app_ids: apps
                .iter()
                .map(|a| global_id(NodeKind::App, a.id))
                .collect(),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Connects a team to a payment method: its UNLIMITED members get billing access. Needs
    /// billing access to the payment method and UNLIMITED membership of the team.
    async fn connect_team_to_payment_method(
        &self,
        ctx: &Context<'_>,
        input: ConnectTeamToPaymentMethodInput,
    ) -> ApiResult<Option<ConnectTeamToPaymentMethodPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let pm_id = expect_global_id(&input.payment_method_id, NodeKind::PaymentMethod)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let pm = billed_in_change(&change, pm_id).await?;
        let team = crate::rules::team::unlimited_team_in_change(
            &change,
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
        change.commit().await?;
        Ok(Some(ConnectTeamToPaymentMethodPayload {
            payment_method: PaymentMethod(pm),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Disconnects a team from a payment method. Either side may: someone with billing access,
    /// or an UNLIMITED member of the team. The payment method keeps at least one billing path.
    async fn disconnect_team_from_payment_method(
        &self,
        ctx: &Context<'_>,
        input: DisconnectTeamFromPaymentMethodInput,
    ) -> ApiResult<Option<DisconnectTeamFromPaymentMethodPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let pm_id = expect_global_id(&input.payment_method_id, NodeKind::PaymentMethod)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (team, _) = crate::rules::team::team_in_change(&change, team_id).await?;
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
        crate::rules::payment_method::keep_a_billing_path(&change, &pm, None, Some(team_id))
            .await?;
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
        change.commit().await?;
        Ok(Some(DisconnectTeamFromPaymentMethodPayload {
            payment_method: PaymentMethod(pm),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Ends a person's direct billing access (the viewer's own included). Needs billing
    /// access; the payment method keeps at least one billing path.
    async fn remove_payment_method_person(
        &self,
        ctx: &Context<'_>,
        input: RemovePaymentMethodPersonInput,
    ) -> ApiResult<Option<RemovePaymentMethodPersonPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let pm_id = expect_global_id(&input.payment_method_id, NodeKind::PaymentMethod)?;
        let person_id = expect_global_id(&input.person_id, NodeKind::Person)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let pm = billed_in_change(&change, pm_id).await?;
        let link = entity::payment_method_person::Entity::find_by_id((pm_id, person_id))
            .one(&change.txn)
            .await?
            .ok_or_else(|| ApiError::not_found("person of this payment method"))?;
        let person = entity::person::Entity::find_by_id(link.person_id)
            .one(&change.txn)
            .await?
            .ok_or_else(|| ApiError::not_found("Person"))?;
        crate::rules::payment_method::keep_a_billing_path(&change, &pm, Some(person_id), None)
            .await?;
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
        change.commit().await?;
        Ok(Some(RemovePaymentMethodPersonPayload {
            payment_method: PaymentMethod(pm),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Moves an app to another payment method the viewer bills to. Needs billing access to the
    /// app (or, for a trial app, a full developer connection).
    async fn change_app_payment_method(
        &self,
        ctx: &Context<'_>,
        input: ChangeAppPaymentMethodInput,
    ) -> ApiResult<Option<ChangeAppPaymentMethodPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let pm_id = expect_global_id(&input.payment_method_id, NodeKind::PaymentMethod)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let rights = crate::rules::app::AppRights::load(&change, app_id).await?;
        let access = rights.access();
        let trial = rights.app.payment_method_id.is_none();
        rights.require(
            access.billing || (trial && access.full),
            "moving an app needs billing access to it (or a full developer connection to a trial app)",
        )?;
        let target = billed_in_change(&change, pm_id).await?;
        if rights.app.payment_method_id == Some(pm_id) {
            return Err(ApiError::Conflict {
                message: format!("{} is on {} already", rights.app.name, target.label),
                ids: vec![app_id, pm_id],
            });
        }
        let mut subjects = rights.subjects_with_containers(&change).await?;
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
        change.commit().await?;
        Ok(Some(ChangeAppPaymentMethodPayload {
            app: App(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
