//! Payment methods: the billing entities that own and pay for apps. Visible, billing details
//! included, only to people with billing access (directly or as UNLIMITED team members).

use async_graphql::connection::EmptyFields;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::PaymentType;
use entity::{payment_method, person};
use sea_orm::{DbErr, FromQueryResult, QueryResult};
use uuid::Uuid;

use crate::api::connection::{TotalCount, page};
use crate::api::context::{loader, reach};
use crate::api::cursor::Cursor;
use crate::api::cursor::lists::{
    Events, PaymentMethodApps, PaymentMethodInvitations, PaymentMethodPeople, PaymentMethodTeams,
};
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::app::{App, AppConnection, TeamConnection};
use crate::api::types::invitation::{Invitation, InvitationConnection};
use crate::api::types::person::Person;
use crate::api::types::team::Team;
use crate::error::ApiResult;
use crate::store::edges::payment_method::{APPS, INVITATIONS, PEOPLE, TEAMS};
use crate::store::keys::{AppId, EdgeFilter, PaymentMethodAppIds, PaymentMethodId};
use crate::store::page::PageArgs;

/// A connection of payment methods.
pub type PaymentMethodConnection =
    async_graphql::connection::Connection<String, PaymentMethod, TotalCount>;
/// A connection of people, as `PaymentMethod.people` lists them.
pub type PersonConnection = async_graphql::connection::Connection<String, Person, TotalCount>;

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
        after: Option<Cursor<Events>>,
        last: Option<i32>,
        before: Option<Cursor<Events>>,
        filter: Option<crate::api::types::event::filter::EventFilterInput>,
    ) -> ApiResult<crate::api::types::event::EventConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        crate::api::types::event::about(
            ctx,
            crate::rules::access::events::About::PaymentMethod(self.0.id),
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
        after: Option<Cursor<PaymentMethodApps>>,
        last: Option<i32>,
        before: Option<Cursor<PaymentMethodApps>>,
    ) -> ApiResult<AppConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(ctx, &APPS, self.0.id, args, EdgeFilter::NONE, App::read).await
    }

    /// The people with direct billing access.
    async fn people(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<PaymentMethodPeople>>,
        last: Option<i32>,
        before: Option<Cursor<PaymentMethodPeople>>,
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
        after: Option<Cursor<PaymentMethodTeams>>,
        last: Option<i32>,
        before: Option<Cursor<PaymentMethodTeams>>,
    ) -> ApiResult<TeamConnection> {
        let args = PageArgs::new(first, after, last, before)?;
        page(ctx, &TEAMS, self.0.id, args, EdgeFilter::NONE, Team::read).await
    }

    /// Pending invitations to share billing access.
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<Cursor<PaymentMethodInvitations>>,
        last: Option<i32>,
        before: Option<Cursor<PaymentMethodInvitations>>,
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
