//! The mutations of invitations: sending them (`InvitationMutation`) and answering or revoking
//! them (`InvitationAnswerMutation`). Each decodes its input, begins the change, applies the
//! rule (`rules::invitation`), commits and builds the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::enums::TeamRole;

use crate::api::context::scope;
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::invitation::Invitation;
use crate::error::{ApiError, ApiResult};
use crate::rules::change::Change;
use crate::rules::invitation::{self, Sending};
use crate::rules::payment_method::NewPaymentMethod;

/// What sending an invitation needs from the server, from the request's context.
fn sending(ctx: &Context<'_>) -> ApiResult<Sending> {
    Ok(Sending {
        public_url: scope(ctx)?.public_url.to_string(),
        quotas: crate::api::context::quotas(ctx)?,
    })
}

/// Declares the payload of an invite mutation.
macro_rules! invite_payload {
    ($($name:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(SimpleObject)]
        pub struct $name {
            /// The invitation sent.
            pub invitation: Invitation,
            /// The secret link to accept it, shown to the inviter only, this once. Whoever holds
            /// it may accept the invitation.
            pub accept_url: String,
            /// As given in the input.
            pub client_mutation_id: Option<String>,
        }
    )*};
}

invite_payload!(
    InviteToTeamPayload: "The result of `inviteToTeam`.",
    InviteToAppPayload: "The result of `inviteToApp`.",
    InviteToPaymentMethodPayload: "The result of `inviteToPaymentMethod`.",
    InviteToTakeOverBillingPayload: "The result of `inviteToTakeOverBilling`.",
);

/// An invitation to join a team.
#[derive(InputObject)]
pub struct InviteToTeamInput {
    /// The team's global id.
    pub team_id: ID,
    /// Where to send it.
    pub email: String,
    /// The role the invitee gets.
    pub role: TeamRole,
    /// Team apps the invitee subscribes to on joining (and, as LIMITED, gets grants for).
    pub app_ids: Option<Vec<ID>>,
    /// Days until it expires: 1 to 90, 14 when not given.
    pub expires_in_days: Option<i32>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// An invitation to work on an app with a direct developer connection.
#[derive(InputObject)]
pub struct InviteToAppInput {
    /// The app's global id.
    pub app_id: ID,
    /// Where to send it.
    pub email: String,
    /// Days until it expires: 1 to 90, 14 when not given.
    pub expires_in_days: Option<i32>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// An invitation to share billing access to a payment method.
#[derive(InputObject)]
pub struct InviteToPaymentMethodInput {
    /// The payment method's global id.
    pub payment_method_id: ID,
    /// Where to send it.
    pub email: String,
    /// Days until it expires: 1 to 90, 14 when not given.
    pub expires_in_days: Option<i32>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// An invitation to take over the billing of apps.
#[derive(InputObject)]
pub struct InviteToTakeOverBillingInput {
    /// The apps to move to the invitee's payment method.
    pub app_ids: Vec<ID>,
    /// Where to send it.
    pub email: String,
    /// Days until it expires: 1 to 90, 14 when not given.
    pub expires_in_days: Option<i32>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// Mutations that send invitations.
#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Invites someone to a team with a role, optionally subscribing them to team apps. UNLIMITED
    /// members only.
    async fn invite_to_team(
        &self,
        ctx: &Context<'_>,
        input: InviteToTeamInput,
    ) -> ApiResult<Option<InviteToTeamPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let email = crate::rules::person::normalize_email(&input.email)?;
        let expires_in = invitation::expiry(input.expires_in_days)?;
        let app_ids = input.app_ids.unwrap_or_default();
        let max = crate::api::context::quotas(ctx)?.invitation_apps;
        crate::rules::quotas::ensure_at_most(
            "invitationApps",
            max,
            app_ids.len(),
            "apps per invitation",
        )?;
        let mut apps = Vec::new();
        for id in app_ids {
            let id = expect_global_id(&id, NodeKind::App)?;
            if !apps.contains(&id) {
                apps.push(id);
            }
        }
        let sending = sending(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (invitation, accept_url) = invitation::invite_to_team(
            &mut change,
            team_id,
            email,
            input.role,
            apps,
            expires_in,
            &sending,
        )
        .await?;
        change.commit().await?;
        Ok(Some(InviteToTeamPayload {
            invitation: Invitation(invitation),
            accept_url,
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Invites someone to work on an app with a direct developer connection. Needs a full
    /// developer connection or billing access to the app.
    async fn invite_to_app(
        &self,
        ctx: &Context<'_>,
        input: InviteToAppInput,
    ) -> ApiResult<Option<InviteToAppPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let email = crate::rules::person::normalize_email(&input.email)?;
        let expires_in = invitation::expiry(input.expires_in_days)?;
        let sending = sending(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (invitation, accept_url) =
            invitation::invite_to_app(&mut change, app_id, email, expires_in, &sending).await?;
        change.commit().await?;
        Ok(Some(InviteToAppPayload {
            invitation: Invitation(invitation),
            accept_url,
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Invites someone to share billing access to a payment method. Needs billing access.
    async fn invite_to_payment_method(
        &self,
        ctx: &Context<'_>,
        input: InviteToPaymentMethodInput,
    ) -> ApiResult<Option<InviteToPaymentMethodPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let pm_id = expect_global_id(&input.payment_method_id, NodeKind::PaymentMethod)?;
        let email = crate::rules::person::normalize_email(&input.email)?;
        let expires_in = invitation::expiry(input.expires_in_days)?;
        let sending = sending(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (invitation, accept_url) =
            invitation::invite_to_payment_method(&mut change, pm_id, email, expires_in, &sending)
                .await?;
        change.commit().await?;
        Ok(Some(InviteToPaymentMethodPayload {
            invitation: Invitation(invitation),
            accept_url,
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Invites someone to take over the billing of apps: on acceptance they move to a payment
    /// method of the invitee's. Needs billing access to each app (or a full developer
    /// connection, for trial apps).
    async fn invite_to_take_over_billing(
        &self,
        ctx: &Context<'_>,
        input: InviteToTakeOverBillingInput,
    ) -> ApiResult<Option<InviteToTakeOverBillingPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let email = crate::rules::person::normalize_email(&input.email)?;
        let expires_in = invitation::expiry(input.expires_in_days)?;
        let max = crate::api::context::quotas(ctx)?.invitation_apps;
        crate::rules::quotas::ensure_at_most(
            "invitationApps",
            max,
            input.app_ids.len(),
            "apps per invitation",
        )?;
        let mut apps = Vec::new();
        for id in &input.app_ids {
            let id = expect_global_id(id, NodeKind::App)?;
            if !apps.contains(&id) {
                apps.push(id);
            }
        }
        if apps.is_empty() {
            return Err(ApiError::bad_input("list at least one app"));
        }
        let sending = sending(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (invitation, accept_url) =
            invitation::invite_to_take_over_billing(&mut change, apps, email, expires_in, &sending)
                .await?;
        change.commit().await?;
        Ok(Some(InviteToTakeOverBillingPayload {
            invitation: Invitation(invitation),
            accept_url,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}

/// The fields of a payment method to create while accepting a billing take-over.
#[derive(InputObject)]
pub struct NewPaymentMethodInput {
    /// A label to tell payment methods apart.
    pub label: String,
    /// How it pays.
    pub payment_type: entity::enums::PaymentType,
    /// Where invoices are sent.
    pub invoice_email: String,
    /// The postal address printed on invoices.
    pub invoice_address: String,
    /// The VAT identification number, if any.
    pub vat_id: Option<String>,
}

/// An invitation to accept, by id (addressed to the viewer's e-mail) or by its secret token.
#[derive(InputObject)]
pub struct AcceptInvitationInput {
    /// The invitation's global id, when it is addressed to the viewer's e-mail.
    pub invitation_id: Option<ID>,
    /// The secret token of the invitation link, for whoever holds it.
    pub token: Option<String>,
    /// For TAKE_OVER_BILLING: a payment method the viewer bills to, to move the apps to.
    pub payment_method_id: Option<ID>,
    /// For TAKE_OVER_BILLING: a payment method to create and move the apps to.
    pub new_payment_method: Option<NewPaymentMethodInput>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `acceptInvitation`.
#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    /// The invitation, now ACCEPTED.
    pub invitation: Invitation,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// An invitation to decline, by id or by token.
#[derive(InputObject)]
pub struct DeclineInvitationInput {
    /// The invitation's global id, when it is addressed to the viewer's e-mail.
    pub invitation_id: Option<ID>,
    /// The secret token of the invitation link.
    pub token: Option<String>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `declineInvitation`.
#[derive(SimpleObject)]
pub struct DeclineInvitationPayload {
    /// The invitation, now DECLINED.
    pub invitation: Invitation,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A pending invitation to revoke.
#[derive(InputObject)]
pub struct RevokeInvitationInput {
    /// The invitation's global id.
    pub invitation_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `revokeInvitation`.
#[derive(SimpleObject)]
pub struct RevokeInvitationPayload {
    /// The invitation, now REVOKED.
    pub invitation: Invitation,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations that answer invitations.
#[derive(Default)]
pub struct InvitationAnswerMutation;

#[Object]
impl InvitationAnswerMutation {
    /// Accepts an invitation: by id when it is addressed to the viewer's e-mail, or with the
    /// secret token of its link. The inviter's right to send it is checked again now.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        input: AcceptInvitationInput,
    ) -> ApiResult<Option<AcceptInvitationPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let take_over = invitation::TakeOver {
            payment_method_id: input.payment_method_id.as_deref().map(String::as_str),
            new_payment_method: input
                .new_payment_method
                .as_ref()
                .map(|new| NewPaymentMethod {
                    label: &new.label,
                    payment_type: new.payment_type,
                    invoice_email: &new.invoice_email,
                    invoice_address: &new.invoice_address,
                    vat_id: new.vat_id.as_deref(),
                }),
        };
        let accepted = invitation::accept(
            &mut change,
            input.invitation_id.as_deref().map(String::as_str),
            input.token.as_deref(),
            take_over,
        )
        .await?;
        change.commit().await?;
        Ok(Some(AcceptInvitationPayload {
            invitation: Invitation(accepted),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Declines an invitation addressed to the viewer (or held by link).
    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        input: DeclineInvitationInput,
    ) -> ApiResult<Option<DeclineInvitationPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let declined = invitation::decline(
            &mut change,
            input.invitation_id.as_deref().map(String::as_str),
            input.token.as_deref(),
        )
        .await?;
        change.commit().await?;
        Ok(Some(DeclineInvitationPayload {
            invitation: Invitation(declined),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Revokes a pending invitation. Anyone allowed to send it may.
    async fn revoke_invitation(
        &self,
        ctx: &Context<'_>,
        input: RevokeInvitationInput,
    ) -> ApiResult<Option<RevokeInvitationPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(&input.invitation_id, NodeKind::Invitation)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let revoked = invitation::revoke(&mut change, id).await?;
        change.commit().await?;
        Ok(Some(RevokeInvitationPayload {
            invitation: Invitation(revoked),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
