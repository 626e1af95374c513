//! The mutations of payment methods: their details, the teams and people that bill to them,
//! the apps they pay for. Each decodes its input, begins the change, applies the rule
//! (`rules::payment_method`), commits and builds the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::enums::PaymentType;

use crate::api::context::scope;
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::app::App;
use crate::api::types::payment_method::PaymentMethod;
use crate::error::ApiResult;
use crate::rules::change::Change;
use crate::rules::payment_method::{self, NewPaymentMethod};

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

/// Mutations of payment methods.
#[derive(Default)]
pub struct PaymentMethodMutation;

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
        let pm = payment_method::create(&mut change, NewPaymentMethod::from(&input)).await?;
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
            .map(|a| payment_method::clean_billing_text(a, "an invoice address", 500))
            .transpose()?;
        let vat_id = input
            .vat_id
            .map(|v| payment_method::clean_vat_id(Some(v)))
            .transpose()?;
        let changes = payment_method::PaymentMethodChanges {
            label,
            payment_type: input.payment_type,
            invoice_email,
            invoice_address,
            vat_id,
        };
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let after = payment_method::update(&mut change, id, changes).await?;
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
        let apps = payment_method::delete(&mut change, id).await?;
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
        let pm = payment_method::connect_team(&mut change, pm_id, team_id).await?;
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
        let pm = payment_method::disconnect_team(&mut change, pm_id, team_id).await?;
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
        let pm = payment_method::remove_person(&mut change, pm_id, person_id).await?;
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
        let after = payment_method::move_app(&mut change, app_id, pm_id).await?;
        change.commit().await?;
        Ok(Some(ChangeAppPaymentMethodPayload {
            app: App(after),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
