//! Invitations: offers sent to an e-mail address to join a team, connect to an app, share a
//! payment method or take over billing. Seen by the inviter, by the invitee (the person whose
//! account e-mail matches) and, while pending, by those allowed to send them on their object.

use std::collections::HashMap;

use async_graphql::connection::EmptyFields;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::{AccountType, InvitationKind, InvitationState, TeamRole};
use entity::enums::{EventSubjectKind, EventType};
use entity::{invitation, invitation_app};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QueryResult,
};
use uuid::Uuid;

use crate::api::connection::TotalCount;
use crate::api::context::{Batch, load_by_id, loader, reach, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::app::{self, App};
use crate::api::types::payment_method::{self, PaymentMethod};
use crate::api::types::person::{Person, PersonId};
use crate::api::types::team::{self, Team, TeamId};
use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::rules::change::{Change, NewEvent, Subject};

load_by_id!(InvitationId, invitation);

/// A connection of invitations.
pub type InvitationConnection =
    async_graphql::connection::Connection<String, Invitation, TotalCount>;

/// The database spelling of a state, for filters.
pub fn state_value(state: InvitationState) -> &'static str {
    match state {
        InvitationState::Pending => "PENDING",
        InvitationState::Accepted => "ACCEPTED",
        InvitationState::Declined => "DECLINED",
        InvitationState::Revoked => "REVOKED",
        InvitationState::Expired => "EXPIRED",
    }
}

/// The apps listed on a batch of invitations (a TEAM invitation's apps to subscribe to, a
/// TAKE_OVER_BILLING invitation's apps to move).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvitationApps(pub Uuid);

impl Loader<InvitationApps> for Batch {
    type Value = Vec<Uuid>;
    type Error = ApiError;

    async fn load(&self, keys: &[InvitationApps]) -> ApiResult<HashMap<InvitationApps, Vec<Uuid>>> {
        let rows = invitation_app::Entity::find()
            .filter(invitation_app::Column::InvitationId.is_in(keys.iter().map(|k| k.0)))
            .order_by_asc(invitation_app::Column::AppId)
            .all(&self.0.db.conn)
            .await?;
        let mut out: HashMap<InvitationApps, Vec<Uuid>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(InvitationApps(row.invitation_id))
                .or_default()
                .push(row.app_id);
        }
        Ok(out)
    }
}

/// An invitation by the hash of its secret link token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InvitationBySecret(pub String);

impl Loader<InvitationBySecret> for Batch {
    type Value = invitation::Model;
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[InvitationBySecret],
    ) -> ApiResult<HashMap<InvitationBySecret, invitation::Model>> {
        let rows = invitation::Entity::find()
            .filter(invitation::Column::SecretHash.is_in(keys.iter().map(|k| k.0.clone())))
            .all(&self.0.db.conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (InvitationBySecret(row.secret_hash.clone()), row))
            .collect())
    }
}

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

/// Whether someone may send (and so see, while pending) invitations of this kind on these
/// objects (docs/rules.md, "Invitations").
pub fn may_send(reach: &Reach, invitation: &invitation::Model, apps: &[Uuid]) -> bool {
    match invitation.kind {
        InvitationKind::Team => invitation.team_id.is_some_and(|t| reach.is_unlimited(t)),
        InvitationKind::App => invitation.app_id.is_some_and(|a| {
            let access = reach.app_access(a);
            access.full || access.billing
        }),
        InvitationKind::PaymentMethod => invitation
            .payment_method_id
            .is_some_and(|pm| reach.bills(pm)),
        InvitationKind::TakeOverBilling => {
            !apps.is_empty()
                && apps.iter().all(|a| {
                    let access = reach.app_access(*a);
                    access.billing
                        || (access.full
                            && reach
                                .apps
                                .get(a)
                                .is_some_and(|v| v.payment_method.is_none()))
                })
        }
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
                Some(id) => loader.load_one(app::AppId(id)).await?.map(|a| a.name),
                None => None,
            },
            InvitationKind::PaymentMethod => match self.0.payment_method_id {
                Some(id) => loader
                    .load_one(payment_method::PaymentMethodId(id))
                    .await?
                    .map(|p| p.label),
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
        let visible: Vec<app::AppId> = ids
            .into_iter()
            .filter(|id| reach.sees_app(*id))
            .map(app::AppId)
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

/// How long an invitation stays valid when its sender does not say.
pub const DEFAULT_EXPIRY_DAYS: i32 = 14;
/// The longest an invitation may stay valid.
pub const MAX_EXPIRY_DAYS: i32 = 90;

fn expiry(days: Option<i32>) -> ApiResult<chrono::Duration> {
    match days.unwrap_or(DEFAULT_EXPIRY_DAYS) {
        d @ 1..=MAX_EXPIRY_DAYS => Ok(chrono::Duration::days(i64::from(d))),
        _ => Err(ApiError::bad_input(format!(
            "`expiresInDays` is 1 to {MAX_EXPIRY_DAYS}"
        ))),
    }
}

/// What an invitation offers, before it is written.
struct Offer {
    kind: InvitationKind,
    email: String,
    role: Option<TeamRole>,
    team: Option<Uuid>,
    app: Option<Uuid>,
    payment_method: Option<Uuid>,
    apps: Vec<Uuid>,
    expires_in: chrono::Duration,
    /// The object's name for the summary: "team Rocket", "app shop".
    what: String,
    subjects: Vec<Subject>,
}

/// Writes an invitation, its mail and its event, within the sender's and the object's limits
/// (`quotas`); returns it with its secret link.
async fn send(
    ctx: &Context<'_>,
    change: &mut Change,
    offer: Offer,
) -> ApiResult<(invitation::Model, String)> {
    use sea_orm::PaginatorTrait;
    let public_url = &scope(ctx)?.public_url;
    let quotas = crate::api::context::quotas(ctx)?;
    // Each invitation sends a mail: an hourly budget per sender, so that inviting and revoking
    // in a loop cannot mail an address over and over (revoked ones count too).
    let sent = invitation::Entity::find()
        .filter(invitation::Column::InviterId.eq(change.actor.id))
        .filter(invitation::Column::CreatedAt.gt(Utc::now() - chrono::Duration::hours(1)))
        .count(&change.txn)
        .await?;
    crate::rules::quotas::ensure_room(
        "invitationsPerHour",
        quotas.invitations_per_hour,
        sent,
        "invitations one person may send in an hour",
    )?;
    for (column, value) in [
        (invitation::Column::TeamId, offer.team),
        (invitation::Column::AppId, offer.app),
        (invitation::Column::PaymentMethodId, offer.payment_method),
    ] {
        let Some(id) = value else { continue };
        let waiting = invitation::Entity::find()
            .filter(column.eq(id))
            .filter(invitation::Column::State.eq(InvitationState::Pending))
            .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
            .count(&change.txn)
            .await?;
        crate::rules::quotas::ensure_room(
            "pendingInvitations",
            quotas.pending_invitations,
            waiting,
            "pending invitations per team, app or payment method (revoke some first)",
        )?;
    }
    let mut pending = invitation::Entity::find()
        .filter(invitation::Column::Email.eq(&offer.email))
        .filter(invitation::Column::Kind.eq(offer.kind))
        .filter(invitation::Column::State.eq(InvitationState::Pending))
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()));
    for (column, value) in [
        (invitation::Column::TeamId, offer.team),
        (invitation::Column::AppId, offer.app),
        (invitation::Column::PaymentMethodId, offer.payment_method),
    ] {
        if let Some(id) = value {
            pending = pending.filter(column.eq(id));
        }
    }
    if offer.kind != InvitationKind::TakeOverBilling
        && let Some(existing) = pending.one(&change.txn).await?
    {
        return Err(ApiError::Conflict {
            message: format!(
                "{} has a pending invitation to {} already; revoke it to send another",
                offer.email, offer.what
            ),
            ids: vec![existing.id],
        });
    }
    let secret = crate::rules::auth::new_secret(crate::rules::auth::INVITATION_PREFIX);
    let now = Utc::now();
    let model = invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(offer.kind),
        state: Set(InvitationState::Pending),
        email: Set(offer.email.clone()),
        role: Set(offer.role),
        inviter_id: Set(Some(change.actor.id)),
        team_id: Set(offer.team),
        app_id: Set(offer.app),
        payment_method_id: Set(offer.payment_method),
        secret_hash: Set(crate::rules::auth::hash_secret(&secret)),
        created_at: Set(now),
        expires_at: Set(now + offer.expires_in),
        decided_at: Set(None),
        decided_by_id: Set(None),
    }
    .insert(&change.txn)
    .await?;
    for app in &offer.apps {
        invitation_app::ActiveModel {
            invitation_id: Set(model.id),
            app_id: Set(*app),
        }
        .insert(&change.txn)
        .await?;
    }
    let event_type = match offer.kind {
        InvitationKind::Team => EventType::MemberInvited,
        InvitationKind::App => EventType::DeveloperInvited,
        InvitationKind::PaymentMethod => EventType::BillingInvited,
        InvitationKind::TakeOverBilling => EventType::BillingTakeoverInvited,
    };
    let role = offer
        .role
        .map(|r| format!(" as {}", role_name(r)))
        .unwrap_or_default();
    let mut subjects = vec![Subject::new(
        EventSubjectKind::Invitation,
        model.id,
        offer.email.clone(),
    )];
    subjects.extend(offer.subjects);
    // The secret never goes into an event.
    change.record(NewEvent {
        event_type,
        summary: format!("{} invited {} to {}{role}", change.actor.name, offer.email, offer.what),
        subjects,
        payload: serde_json::json!({ "email": offer.email, "role": offer.role.map(role_name), "expiresAt": model.expires_at }),
    });
    let accept_url = format!("{public_url}/invitations/accept?token={secret}");
    // The mail goes only while the address was sent few this hour, whoever sent them: the
    // invitation stands either way (the inviter has its link; a signed-in invitee sees it), and
    // whether it was mailed is not told, which would tell the inviter of others' invitations.
    let mailed = crate::rules::mail::sent_to_recently(&change.txn, &offer.email).await?;
    if mailed < quotas.mails_per_address {
        crate::rules::mail::queue_invitation(
            &change.txn,
            crate::rules::mail::InvitationMail {
                to: &offer.email,
                inviter: &change.actor.name,
                what: &offer.what,
                role: offer.role.map(role_name),
                accept_url: &accept_url,
                expires_at: model.expires_at,
            },
        )
        .await?;
    } else {
        tracing::info!(
            invitation = %model.id,
            "an address had its invitation mails for the hour; this invitation is not mailed"
        );
    }
    Ok((model, accept_url))
}

fn role_name(role: TeamRole) -> &'static str {
    match role {
        TeamRole::Unlimited => "UNLIMITED",
        TeamRole::Limited => "LIMITED",
    }
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

async fn person_by_email(change: &Change, email: &str) -> ApiResult<Option<entity::person::Model>> {
    crate::rules::person::find_by_email(&change.txn, email).await
}

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
        let expires_in = expiry(input.expires_in_days)?;
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
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let team = crate::rules::team::unlimited_team_in_change(
            &change,
            team_id,
            "only UNLIMITED members invite to a team",
        )
        .await?;
        for app in &apps {
            if entity::team_app::Entity::find_by_id((team_id, *app))
                .one(&change.txn)
                .await?
                .is_none()
            {
                return Err(ApiError::Conflict {
                    message: format!("the listed apps must be apps of team {}", team.name),
                    ids: vec![*app],
                });
            }
        }
        if let Some(person) = person_by_email(&change, &email).await?
            && entity::team_member::Entity::find_by_id((team_id, person.id))
                .one(&change.txn)
                .await?
                .is_some()
        {
            return Err(ApiError::Conflict {
                message: format!("{email} is a member of team {} already", team.name),
                ids: vec![person.id],
            });
        }
        let offer = Offer {
            kind: InvitationKind::Team,
            email,
            role: Some(input.role),
            team: Some(team_id),
            app: None,
            payment_method: None,
            apps,
            expires_in,
            what: format!("team {}", team.name),
            subjects: vec![Subject::new(
                EventSubjectKind::Team,
                team.id,
                team.name.clone(),
            )],
        };
        let (invitation, accept_url) = send(ctx, &mut change, offer).await?;
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
        let expires_in = expiry(input.expires_in_days)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let rights = crate::rules::app::AppRights::load(&change, app_id).await?;
        rights.require_full_or_billing("inviting developers")?;
        if let Some(person) = person_by_email(&change, &email).await?
            && crate::rules::developer::connection_of(&change, person.id, app_id)
                .await?
                .is_some()
        {
            return Err(ApiError::Conflict {
                message: format!("{email} is connected to {} already", rights.app.name),
                ids: vec![person.id],
            });
        }
        let offer = Offer {
            kind: InvitationKind::App,
            email,
            role: None,
            team: None,
            app: Some(app_id),
            payment_method: None,
            apps: Vec::new(),
            expires_in,
            what: format!("app {}", rights.app.name),
            subjects: rights.subjects_with_containers(&change).await?,
        };
        let (invitation, accept_url) = send(ctx, &mut change, offer).await?;
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
        let expires_in = expiry(input.expires_in_days)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let pm = entity::payment_method::Entity::find_by_id(pm_id)
            .one(&change.txn)
            .await?
            .ok_or_else(|| ApiError::not_found("PaymentMethod"))?;
        if !change.reach().await?.bills(pm_id) {
            return Err(ApiError::not_found("PaymentMethod"));
        }
        if let Some(person) = person_by_email(&change, &email).await?
            && entity::payment_method_person::Entity::find_by_id((pm_id, person.id))
                .one(&change.txn)
                .await?
                .is_some()
        {
            return Err(ApiError::Conflict {
                message: format!("{email} bills {} already", pm.label),
                ids: vec![person.id],
            });
        }
        let offer = Offer {
            kind: InvitationKind::PaymentMethod,
            email,
            role: None,
            team: None,
            app: None,
            payment_method: Some(pm_id),
            apps: Vec::new(),
            expires_in,
            what: format!("payment method {}", pm.label),
            subjects: vec![Subject::new(
                EventSubjectKind::PaymentMethod,
                pm.id,
                pm.label.clone(),
            )],
        };
        let (invitation, accept_url) = send(ctx, &mut change, offer).await?;
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
        let expires_in = expiry(input.expires_in_days)?;
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
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let mut subjects = Vec::new();
        let mut names = Vec::new();
        for app_id in &apps {
            let rights = crate::rules::app::AppRights::load(&change, *app_id).await?;
            let access = rights.access();
            rights.require(
                access.billing || (access.full && rights.app.payment_method_id.is_none()),
                &format!("handing over the billing of {} needs billing access to it (or a full connection to a trial app)", rights.app.name),
            )?;
            names.push(rights.app.name.clone());
            subjects.extend(rights.subjects_with_containers(&change).await?);
        }
        let offer = Offer {
            kind: InvitationKind::TakeOverBilling,
            email,
            role: None,
            team: None,
            app: None,
            payment_method: None,
            apps,
            expires_in,
            what: format!("take over the billing of {}", names.join(", ")),
            subjects,
        };
        let (invitation, accept_url) = send(ctx, &mut change, offer).await?;
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

/// The invitation an invitee answers, locked (PostgreSQL) so it is answered once: by id when
/// addressed to the actor's e-mail, or by the secret token of its link.
async fn invitation_to_answer(
    change: &Change,
    id: Option<&ID>,
    token: Option<&str>,
) -> ApiResult<invitation::Model> {
    let mut select = match (id, token) {
        (Some(id), None) => {
            invitation::Entity::find_by_id(expect_global_id(id, NodeKind::Invitation)?)
        }
        (None, Some(token)) => invitation::Entity::find().filter(
            invitation::Column::SecretHash.eq(crate::rules::auth::hash_secret(token.trim())),
        ),
        _ => {
            return Err(ApiError::bad_input(
                "give exactly one of `invitationId` and `token`",
            ));
        }
    };
    select = change.locked(select);
    let model = select
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Invitation"))?;
    if token.is_none() && model.email != change.actor.email {
        // Its inviter or a sender may see it, but only the invitee answers it.
        if model.inviter_id == Some(change.actor.id) {
            return Err(ApiError::Forbidden(format!(
                "this invitation is addressed to {}; only they can answer it",
                model.email
            )));
        }
        return Err(ApiError::not_found("Invitation"));
    }
    still_pending(&model)?;
    Ok(model)
}

/// Refuses an invitation that is no longer open, saying why.
fn still_pending(model: &invitation::Model) -> ApiResult<()> {
    let why = match model.state {
        InvitationState::Pending if model.expires_at <= Utc::now() => "has expired",
        InvitationState::Pending => return Ok(()),
        InvitationState::Accepted => "was accepted already",
        InvitationState::Declined => "was declined",
        InvitationState::Revoked => "was revoked",
        InvitationState::Expired => "has expired",
    };
    Err(ApiError::Conflict {
        message: format!("this invitation {why}"),
        ids: vec![model.id],
    })
}

async fn set_state(
    change: &Change,
    model: &invitation::Model,
    state: InvitationState,
) -> ApiResult<invitation::Model> {
    Ok(invitation::ActiveModel {
        id: Set(model.id),
        state: Set(state),
        decided_at: Set(Some(Utc::now())),
        decided_by_id: Set(Some(change.actor.id)),
        ..Default::default()
    }
    .update(&change.txn)
    .await?)
}

async fn listed_apps(change: &Change, invitation: Uuid) -> ApiResult<Vec<Uuid>> {
    Ok(invitation_app::Entity::find()
        .filter(invitation_app::Column::InvitationId.eq(invitation))
        .all(&change.txn)
        .await?
        .into_iter()
        .map(|row| row.app_id)
        .collect())
}

/// Grants the invitee what the invitation offers; returns the subjects for the event.
async fn fulfil(
    change: &Change,
    model: &invitation::Model,
    input: &AcceptInvitationInput,
) -> ApiResult<Vec<Subject>> {
    use entity::{app_grant, payment_method_person, team_member};
    let now = Utc::now();
    let actor = change.actor.clone();
    let developer_only = || {
        if actor.account_type == AccountType::Developer {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this invitation is for developer accounts; a client cannot accept it".to_owned(),
            ))
        }
    };
    let mut subjects = vec![Subject::person(&actor)];
    match model.kind {
        InvitationKind::Team => {
            developer_only()?;
            let team_id = model.team_id.ok_or_else(|| ApiError::not_found("Team"))?;
            let team = entity::team::Entity::find_by_id(team_id)
                .one(&change.txn)
                .await?
                .ok_or_else(|| ApiError::not_found("Team"))?;
            if team_member::Entity::find_by_id((team_id, actor.id))
                .one(&change.txn)
                .await?
                .is_some()
            {
                return Err(ApiError::Conflict {
                    message: format!("you are a member of team {} already", team.name),
                    ids: vec![team_id],
                });
            }
            let role = model.role.unwrap_or(TeamRole::Limited);
            team_member::ActiveModel {
                team_id: Set(team_id),
                person_id: Set(actor.id),
                role: Set(role),
                joined_at: Set(now),
            }
            .insert(&change.txn)
            .await?;
            for app in listed_apps(change, model.id).await? {
                // Apps the team has let go of since, or that the invitee works on already, are skipped.
                if entity::team_app::Entity::find_by_id((team_id, app))
                    .one(&change.txn)
                    .await?
                    .is_none()
                {
                    continue;
                }
                if role == TeamRole::Limited {
                    app_grant::ActiveModel {
                        team_id: Set(team_id),
                        app_id: Set(app),
                        person_id: Set(actor.id),
                        created_at: Set(now),
                    }
                    .insert(&change.txn)
                    .await?;
                }
                if crate::rules::developer::connection_of(change, actor.id, app)
                    .await?
                    .is_none()
                {
                    crate::rules::developer::connect(change, actor.id, app, Some(team_id)).await?;
                }
            }
            subjects.push(Subject::new(EventSubjectKind::Team, team.id, team.name));
        }
        InvitationKind::App => {
            developer_only()?;
            let app_id = model.app_id.ok_or_else(|| ApiError::not_found("App"))?;
            let app = entity::app::Entity::find_by_id(app_id)
                .one(&change.txn)
                .await?
                .ok_or_else(|| ApiError::not_found("App"))?;
            if crate::rules::developer::connection_of(change, actor.id, app_id)
                .await?
                .is_some()
            {
                return Err(ApiError::Conflict {
                    message: format!("you are connected to {} already", app.name),
                    ids: vec![app_id],
                });
            }
            crate::rules::developer::connect(change, actor.id, app_id, None).await?;
            subjects.push(Subject::new(EventSubjectKind::App, app.id, app.name));
        }
        InvitationKind::PaymentMethod => {
            let pm_id = model
                .payment_method_id
                .ok_or_else(|| ApiError::not_found("PaymentMethod"))?;
            let pm = entity::payment_method::Entity::find_by_id(pm_id)
                .one(&change.txn)
                .await?
                .ok_or_else(|| ApiError::not_found("PaymentMethod"))?;
            if payment_method_person::Entity::find_by_id((pm_id, actor.id))
                .one(&change.txn)
                .await?
                .is_some()
            {
                return Err(ApiError::Conflict {
                    message: format!("you bill {} already", pm.label),
                    ids: vec![pm_id],
                });
            }
            payment_method_person::ActiveModel {
                payment_method_id: Set(pm_id),
                person_id: Set(actor.id),
                connected_at: Set(now),
            }
            .insert(&change.txn)
            .await?;
            subjects.push(Subject::new(
                EventSubjectKind::PaymentMethod,
                pm.id,
                pm.label,
            ));
        }
        InvitationKind::TakeOverBilling => {
            let target = match (&input.payment_method_id, &input.new_payment_method) {
                (Some(id), None) => {
                    let id = expect_global_id(id, NodeKind::PaymentMethod)?;
                    if !change.reach().await?.bills(id) {
                        return Err(ApiError::not_found("PaymentMethod"));
                    }
                    entity::payment_method::Entity::find_by_id(id)
                        .one(&change.txn)
                        .await?
                        .ok_or_else(|| ApiError::not_found("PaymentMethod"))?
                }
                (None, Some(new)) => {
                    crate::rules::payment_method::insert_payment_method(
                        change,
                        crate::rules::payment_method::NewPaymentMethod {
                            label: &new.label,
                            payment_type: new.payment_type,
                            invoice_email: &new.invoice_email,
                            invoice_address: &new.invoice_address,
                            vat_id: new.vat_id.as_deref(),
                        },
                    )
                    .await?
                }
                _ => {
                    return Err(ApiError::bad_input(
                        "taking over billing needs exactly one of `paymentMethodId` and `newPaymentMethod`",
                    ));
                }
            };
            let apps = listed_apps(change, model.id).await?;
            entity::app::Entity::update_many()
                .col_expr(
                    entity::app::Column::PaymentMethodId,
                    sea_orm::sea_query::Expr::value(target.id),
                )
                .filter(entity::app::Column::Id.is_in(apps.iter().copied()))
                .exec(&change.txn)
                .await?;
            let moved = entity::app::Entity::find()
                .filter(entity::app::Column::Id.is_in(apps))
                .all(&change.txn)
                .await?;
            subjects.push(Subject::new(
                EventSubjectKind::PaymentMethod,
                target.id,
                target.label.clone(),
            ));
            subjects.extend(
                moved
                    .into_iter()
                    .map(|a| Subject::new(EventSubjectKind::App, a.id, a.name)),
            );
        }
    }
    Ok(subjects)
}

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
        let model = invitation_to_answer(
            &change,
            input.invitation_id.as_ref(),
            input.token.as_deref(),
        )
        .await?;
        let inviter_still_may = match model.inviter_id {
            Some(inviter) => {
                let reach = Reach::load(&change.txn, inviter).await?;
                let apps = listed_apps(&change, model.id).await?;
                may_send(&reach, &model, &apps)
            }
            None => false,
        };
        if !inviter_still_may {
            return Err(ApiError::Conflict {
                message: "whoever sent this invitation may no longer offer it; ask them or someone else to invite you again".to_owned(),
                ids: vec![model.id],
            });
        }
        let mut subjects = vec![Subject::new(
            EventSubjectKind::Invitation,
            model.id,
            model.email.clone(),
        )];
        subjects.extend(fulfil(&change, &model, &input).await?);
        let accepted = set_state(&change, &model, InvitationState::Accepted).await?;
        let what = subjects
            .iter()
            .skip(2)
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
            .join(", ");
        let (event_type, summary) = match model.kind {
            InvitationKind::Team => (
                EventType::MemberJoined,
                format!(
                    "{} joined team {what} as {}",
                    change.actor.name,
                    role_name(model.role.unwrap_or(TeamRole::Limited))
                ),
            ),
            _ => (
                EventType::InvitationAccepted,
                format!("{} accepted the invitation to {what}", change.actor.name),
            ),
        };
        change.record(NewEvent {
            event_type,
            summary,
            subjects,
            payload: serde_json::json!({ "kind": model.kind.to_value() }),
        });
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
        let model = invitation_to_answer(
            &change,
            input.invitation_id.as_ref(),
            input.token.as_deref(),
        )
        .await?;
        let declined = set_state(&change, &model, InvitationState::Declined).await?;
        change.record(NewEvent {
            event_type: EventType::InvitationDeclined,
            summary: format!(
                "{} declined an invitation sent to {}",
                change.actor.name, model.email
            ),
            subjects: invitation_subjects(&change, &model).await?,
            payload: serde_json::json!({ "email": model.email }),
        });
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
        let mut select = invitation::Entity::find_by_id(id);
        select = change.locked(select);
        let model = select
            .one(&change.txn)
            .await?
            .ok_or_else(|| ApiError::not_found("Invitation"))?;
        let reach = change.reach().await?;
        let apps = listed_apps(&change, id).await?;
        if !may_send(&reach, &model, &apps) {
            return Err(
                if model.inviter_id == Some(change.actor.id) || model.email == change.actor.email {
                    ApiError::Forbidden(
                        "only those who may send an invitation revoke it".to_owned(),
                    )
                } else {
                    ApiError::not_found("Invitation")
                },
            );
        }
        still_pending(&model)?;
        let revoked = set_state(&change, &model, InvitationState::Revoked).await?;
        change.record(NewEvent {
            event_type: EventType::InvitationRevoked,
            summary: format!(
                "{} revoked the invitation sent to {}",
                change.actor.name, model.email
            ),
            subjects: invitation_subjects(&change, &model).await?,
            payload: serde_json::json!({ "email": model.email }),
        });
        change.commit().await?;
        Ok(Some(RevokeInvitationPayload {
            invitation: Invitation(revoked),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}

/// The invitation and the object it is for, for events about it.
async fn invitation_subjects(
    change: &Change,
    model: &invitation::Model,
) -> ApiResult<Vec<Subject>> {
    invitation_subjects_in(&change.txn, model).await
}

async fn invitation_subjects_in(
    conn: &impl sea_orm::ConnectionTrait,
    model: &invitation::Model,
) -> ApiResult<Vec<Subject>> {
    let mut subjects = vec![Subject::new(
        EventSubjectKind::Invitation,
        model.id,
        model.email.clone(),
    )];
    if let Some(id) = model.team_id
        && let Some(team) = entity::team::Entity::find_by_id(id).one(conn).await?
    {
        subjects.push(Subject::new(EventSubjectKind::Team, team.id, team.name));
    }
    if let Some(id) = model.app_id
        && let Some(app) = entity::app::Entity::find_by_id(id).one(conn).await?
    {
        subjects.push(Subject::new(EventSubjectKind::App, app.id, app.name));
    }
    if let Some(id) = model.payment_method_id
        && let Some(pm) = entity::payment_method::Entity::find_by_id(id)
            .one(conn)
            .await?
    {
        subjects.push(Subject::new(
            EventSubjectKind::PaymentMethod,
            pm.id,
            pm.label,
        ));
    }
    let apps = invitation_app::Entity::find()
        .filter(invitation_app::Column::InvitationId.eq(model.id))
        .find_also_related(entity::app::Entity)
        .all(conn)
        .await?;
    subjects.extend(
        apps.into_iter()
            .filter_map(|(_, a)| a)
            .map(|a| Subject::new(EventSubjectKind::App, a.id, a.name)),
    );
    if let Some(inviter) = model.inviter_id
        && let Some(person) = entity::person::Entity::find_by_id(inviter)
            .one(conn)
            .await?
    {
        subjects.push(Subject::person(&person));
    }
    Ok(subjects)
}

/// Marks every pending invitation past its expiry EXPIRED, with a system event each, in one
/// transaction; returns how many. Several instances may run this at once: on PostgreSQL the due
/// rows are locked, so a second run waits, finds them no longer pending, and leaves them. (It
/// does not skip locked rows: a mutation that just failed may still hold one until its rollback
/// reaches the database, and that invitation is due all the same.)
pub async fn expire_due(db: &crate::store::db::Db) -> ApiResult<usize> {
    let txn = crate::rules::change::begin_write(db).await?;
    let mut select = invitation::Entity::find()
        .filter(invitation::Column::State.eq(InvitationState::Pending))
        .filter(invitation::Column::ExpiresAt.lte(Utc::now()));
    select = crate::rules::change::lock_for_update(db.backend(), select);
    let due = select.all(&txn).await?;
    let mut events = Vec::with_capacity(due.len());
    for model in &due {
        invitation::ActiveModel {
            id: Set(model.id),
            state: Set(InvitationState::Expired),
            decided_at: Set(Some(Utc::now())),
            ..Default::default()
        }
        .update(&txn)
        .await?;
        events.push(NewEvent {
            event_type: EventType::InvitationExpired,
            summary: format!("The invitation sent to {} expired", model.email),
            subjects: invitation_subjects_in(&txn, model).await?,
            payload: serde_json::json!({ "email": model.email, "expiresAt": model.expires_at }),
        });
    }
    crate::rules::change::append_events(&txn, db.backend(), None, events).await?;
    txn.commit().await?;
    db.announce_events();
    Ok(due.len())
}

/// Expires invitations once a minute, for as long as the server runs.
pub async fn expire_periodically(db: crate::store::db::Db) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        ticks.tick().await;
        match expire_due(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "invitations expired"),
            Err(err) => tracing::warn!(
                code = err.code(),
                "expiring invitations failed; retrying in a minute"
            ),
        }
    }
}
