//! Invitations: offers sent to an e-mail address to join a team, connect to an app, share a
//! payment method or take over billing. Seen by the inviter, by the invitee (the person whose
//! account e-mail matches) and, while pending, by those allowed to send them on their object.
//! Their mutations are in `api::mutation::invitation`, their rules in `rules::invitation`.

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::{InvitationKind, InvitationState, TeamRole};
use entity::invitation;
use sea_orm::{DbErr, FromQueryResult, QueryResult};
use uuid::Uuid;

use crate::api::connection::TotalCount;
use crate::api::context::{loader, reach, scope};
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::app::{self, App};
use crate::api::types::payment_method::{self, PaymentMethod};
use crate::api::types::person::Person;
use crate::api::types::team::{self, Team};
use crate::error::ApiResult;
use crate::rules::invitation::may_send;
use crate::store::keys::{AppId, InvitationApps, InvitationId, PaymentMethodId, PersonId, TeamId};

/// A connection of invitations.
pub type InvitationConnection =
    async_graphql::connection::Connection<String, Invitation, TotalCount>;

/// An offer sent to an e-mail address. Single use; it expires.
pub struct Invitation(pub invitation::Model);

impl Invitation {
    pub fn read(row: &QueryResult) -> Result<(Invitation, EmptyFields), DbErr> {
        Ok((
            Invitation(invitation::Model::from_query_result(row, "")?),
            EmptyFields,
        ))
    }
}

/// An offer sent to an e-mail address. Single use; it expires.
#[Object]
impl Invitation {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Invitation, self.0.id)
    }

    /// What the invitation offers.
    async fn kind(&self) -> InvitationKind {
        self.0.kind
    }

    /// Where it stands. A pending invitation past its expiry reads as EXPIRED even before the
    /// background task records it.
    async fn state(&self) -> InvitationState {
        if self.0.state == InvitationState::Pending && self.0.expires_at <= Utc::now() {
            InvitationState::Expired
        } else {
            self.0.state
        }
    }

    /// The address the invitation was sent to.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The role offered, for TEAM invitations.
    async fn role(&self) -> Option<TeamRole> {
        self.0.role
    }

    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it stops being valid.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    /// Who sent it. Visible to everyone who sees the invitation, the invitee included: the
    /// inviter chose to reveal itself to that address.
    async fn invited_by(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        match self.0.inviter_id {
            None => Ok(None),
            Some(id) => Ok(loader(ctx)?.load_one(PersonId(id)).await?.map(Person)),
        }
    }

    /// The name of the team, app or payment method it is for, as it was when the invitation
    /// is read: the invitee sees this before it may see the object itself.
    async fn target_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let loader = loader(ctx)?;
        Ok(match self.0.kind {
            InvitationKind::Team => match self.0.team_id {
                Some(id) => loader.load_one(TeamId(id)).await?.map(|t| t.name),
                None => None,
            },
            InvitationKind::App => match self.0.app_id {
                Some(id) => loader.load_one(AppId(id)).await?.map(|a| a.name),
                None => None,
            },
            InvitationKind::PaymentMethod => match self.0.payment_method_id {
                Some(id) => loader.load_one(PaymentMethodId(id)).await?.map(|p| p.label),
                None => None,
            },
            InvitationKind::TakeOverBilling => None,
        })
    }

    /// The team, for TEAM invitations, if the viewer may see it.
    async fn team(&self, ctx: &Context<'_>) -> ApiResult<Option<Team>> {
        match self.0.team_id {
            None => Ok(None),
            Some(id) => team::node(ctx, id).await,
        }
    }

    /// The app, for APP invitations, if the viewer may see it.
    async fn app(&self, ctx: &Context<'_>) -> ApiResult<Option<App>> {
        match self.0.app_id {
            None => Ok(None),
            Some(id) => app::node(ctx, id).await,
        }
    }

    /// The payment method, for PAYMENT_METHOD invitations, if the viewer bills to it.
    async fn payment_method(&self, ctx: &Context<'_>) -> ApiResult<Option<PaymentMethod>> {
        match self.0.payment_method_id {
            None => Ok(None),
            Some(id) => payment_method::node(ctx, id).await,
        }
    }

    /// The apps listed: to subscribe to (TEAM) or to move (TAKE_OVER_BILLING), as far as the
    /// viewer may see them.
    async fn apps(&self, ctx: &Context<'_>) -> ApiResult<Vec<App>> {
        let ids = loader(ctx)?
            .load_one(InvitationApps(self.0.id))
            .await?
            .unwrap_or_default();
        let reach = reach(ctx).await?;
        let visible: Vec<AppId> = ids
            .into_iter()
            .filter(|id| reach.sees_app(*id))
            .map(AppId)
            .collect();
        let loaded = loader(ctx)?.load_many(visible.iter().copied()).await?;
        Ok(visible
            .iter()
            .filter_map(|id| loaded.get(id).cloned().map(App))
            .collect())
    }
}

/// Loads an invitation the viewer may see.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Invitation>> {
    let loader = loader(ctx)?;
    let Some(model) = loader.load_one(InvitationId(id)).await? else {
        return Ok(None);
    };
    let viewer = scope(ctx)?.viewer()?;
    if model.inviter_id == Some(viewer.id()) || model.email == viewer.person.email {
        return Ok(Some(Invitation(model)));
    }
    if model.state != InvitationState::Pending {
        return Ok(None);
    }
    let apps = loader
        .load_one(InvitationApps(model.id))
        .await?
        .unwrap_or_default();
    let reach = reach(ctx).await?;
    Ok(may_send(&reach, &model, &apps).then_some(Invitation(model)))
}
