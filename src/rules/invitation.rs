//! The rules of invitations: who may send them on what (`may_send`), how long they last, the
//! sender's and the object's limits and the mail (`send`), answering them (the invitee, by id
//! or by the link's secret; the inviter's right is checked again), revoking them (anyone who
//! may send them) and their expiry.

use chrono::{Duration, Utc};
use entity::enums::{
    AccountType, EventSubjectKind, EventType, InvitationKind, InvitationState, TeamRole,
};
use entity::{invitation, invitation_app};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::access::Reach;
use crate::rules::change::{Change, NewEvent, Subject};
use crate::rules::payment_method::NewPaymentMethod;
use crate::rules::quotas::Quotas;
use crate::rules::team::role_name;
use crate::store::ids::{NodeKind, expect};

/// What sending an invitation needs from the server: the public URL its link points at, and
/// the limits on how many one may send.
#[derive(Debug, Clone)]
pub struct Sending {
    pub public_url: String,
    pub quotas: Quotas,
}

/// Where a billing take-over moves its apps: a payment method the invitee bills to (by global
/// id), or one to create. Ignored for the other kinds of invitation.
pub struct TakeOver<'a> {
    pub payment_method_id: Option<&'a str>,
    pub new_payment_method: Option<NewPaymentMethod<'a>>,
}

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

/// How long an invitation stays valid when its sender does not say.
pub const DEFAULT_EXPIRY_DAYS: i32 = 14;
/// The longest an invitation may stay valid.
pub const MAX_EXPIRY_DAYS: i32 = 90;

/// The lifetime of an invitation sent with `expiresInDays` = `days`.
pub fn expiry(days: Option<i32>) -> ApiResult<chrono::Duration> {
    match days.unwrap_or(DEFAULT_EXPIRY_DAYS) {
        d @ 1..=MAX_EXPIRY_DAYS => Ok(chrono::Duration::days(i64::from(d))),
        _ => Err(ApiError::bad_input(format!(
            "`expiresInDays` is 1 to {MAX_EXPIRY_DAYS}"
        ))),
    }
}

/// What an invitation offers, before it is written.
struct Offer {
    pub kind: InvitationKind,
    pub email: String,
    pub role: Option<TeamRole>,
    pub team: Option<Uuid>,
    pub app: Option<Uuid>,
    pub payment_method: Option<Uuid>,
    pub apps: Vec<Uuid>,
    pub expires_in: chrono::Duration,
    /// The object's name for the summary: "team Rocket", "app shop".
    pub what: String,
    pub subjects: Vec<Subject>,
}

/// Writes an invitation, its mail and its event, within the sender's and the object's limits
/// (`quotas`); returns it with its secret link.
async fn send(
    change: &mut Change,
    offer: Offer,
    sending: &Sending,
) -> ApiResult<(invitation::Model, String)> {
    use sea_orm::PaginatorTrait;
    let public_url = &sending.public_url;
    let quotas = sending.quotas;
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

async fn person_by_email(change: &Change, email: &str) -> ApiResult<Option<entity::person::Model>> {
    crate::rules::person::find_by_email(&change.txn, email).await
}

/// Invites someone to a team with a role, optionally subscribing them to team apps. UNLIMITED
/// members only.
pub async fn invite_to_team(
    change: &mut Change,
    team_id: Uuid,
    email: String,
    role: TeamRole,
    apps: Vec<Uuid>,
    expires_in: Duration,
    sending: &Sending,
) -> ApiResult<(invitation::Model, String)> {
    let team = crate::rules::team::unlimited_team_in_change(
        change,
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
    if let Some(person) = person_by_email(change, &email).await?
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
        role: Some(role),
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
    send(change, offer, sending).await
}

/// Invites someone to work on an app with a direct developer connection. Needs a full
/// developer connection or billing access to the app.
pub async fn invite_to_app(
    change: &mut Change,
    app_id: Uuid,
    email: String,
    expires_in: Duration,
    sending: &Sending,
) -> ApiResult<(invitation::Model, String)> {
    let rights = crate::rules::app::AppRights::load(change, app_id).await?;
    rights.require_full_or_billing("inviting developers")?;
    if let Some(person) = person_by_email(change, &email).await?
        && crate::rules::developer::connection_of(change, person.id, app_id)
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
        subjects: rights.subjects_with_containers(change).await?,
    };
    send(change, offer, sending).await
}

/// Invites someone to share billing access to a payment method. Needs billing access.
pub async fn invite_to_payment_method(
    change: &mut Change,
    pm_id: Uuid,
    email: String,
    expires_in: Duration,
    sending: &Sending,
) -> ApiResult<(invitation::Model, String)> {
    let pm = entity::payment_method::Entity::find_by_id(pm_id)
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("PaymentMethod"))?;
    if !change.reach().await?.bills(pm_id) {
        return Err(ApiError::not_found("PaymentMethod"));
    }
    if let Some(person) = person_by_email(change, &email).await?
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
    send(change, offer, sending).await
}

/// Invites someone to take over the billing of apps: on acceptance they move to a payment
/// method of the invitee's. Needs billing access to each app (or a full developer
/// connection, for trial apps).
pub async fn invite_to_take_over_billing(
    change: &mut Change,
    apps: Vec<Uuid>,
    email: String,
    expires_in: Duration,
    sending: &Sending,
) -> ApiResult<(invitation::Model, String)> {
    let mut subjects = Vec::new();
    let mut names = Vec::new();
    for app_id in &apps {
        let rights = crate::rules::app::AppRights::load(change, *app_id).await?;
        let access = rights.access();
        rights.require(
            access.billing || (access.full && rights.app.payment_method_id.is_none()),
            &format!("handing over the billing of {} needs billing access to it (or a full connection to a trial app)", rights.app.name),
        )?;
        names.push(rights.app.name.clone());
        subjects.extend(rights.subjects_with_containers(change).await?);
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
    send(change, offer, sending).await
}

/// The invitation an invitee answers, locked (PostgreSQL) so it is answered once: by id when
/// addressed to the actor's e-mail, or by the secret token of its link.
async fn invitation_to_answer(
    change: &Change,
    id: Option<&str>,
    token: Option<&str>,
) -> ApiResult<invitation::Model> {
    let mut select = match (id, token) {
        (Some(id), None) => invitation::Entity::find_by_id(expect(id, NodeKind::Invitation)?),
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
    take_over: &TakeOver<'_>,
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
            let target = match (take_over.payment_method_id, &take_over.new_payment_method) {
                (Some(id), None) => {
                    let id = expect(id, NodeKind::PaymentMethod)?;
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
                        NewPaymentMethod {
                            label: new.label,
                            payment_type: new.payment_type,
                            invoice_email: new.invoice_email,
                            invoice_address: new.invoice_address,
                            vat_id: new.vat_id,
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

/// Accepts an invitation: by id when it is addressed to the viewer's e-mail, or with the
/// secret token of its link. The inviter's right to send it is checked again now.
pub async fn accept(
    change: &mut Change,
    invitation_id: Option<&str>,
    token: Option<&str>,
    take_over: TakeOver<'_>,
) -> ApiResult<invitation::Model> {
    let model = invitation_to_answer(change, invitation_id, token).await?;
    let inviter_still_may = match model.inviter_id {
        Some(inviter) => {
            let reach = Reach::load(&change.txn, inviter).await?;
            let apps = listed_apps(change, model.id).await?;
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
    subjects.extend(fulfil(change, &model, &take_over).await?);
    let accepted = set_state(change, &model, InvitationState::Accepted).await?;
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
    Ok(accepted)
}

/// Declines an invitation addressed to the viewer (or held by link).
pub async fn decline(
    change: &mut Change,
    invitation_id: Option<&str>,
    token: Option<&str>,
) -> ApiResult<invitation::Model> {
    let model = invitation_to_answer(change, invitation_id, token).await?;
    let declined = set_state(change, &model, InvitationState::Declined).await?;
    change.record(NewEvent {
        event_type: EventType::InvitationDeclined,
        summary: format!(
            "{} declined an invitation sent to {}",
            change.actor.name, model.email
        ),
        subjects: invitation_subjects(change, &model).await?,
        payload: serde_json::json!({ "email": model.email }),
    });
    Ok(declined)
}

/// Revokes a pending invitation. Anyone allowed to send it may.
pub async fn revoke(change: &mut Change, id: Uuid) -> ApiResult<invitation::Model> {
    let mut select = invitation::Entity::find_by_id(id);
    select = change.locked(select);
    let model = select
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("Invitation"))?;
    let reach = change.reach().await?;
    let apps = listed_apps(change, id).await?;
    if !may_send(&reach, &model, &apps) {
        return Err(
            if model.inviter_id == Some(change.actor.id) || model.email == change.actor.email {
                ApiError::Forbidden("only those who may send an invitation revoke it".to_owned())
            } else {
                ApiError::not_found("Invitation")
            },
        );
    }
    still_pending(&model)?;
    let revoked = set_state(change, &model, InvitationState::Revoked).await?;
    change.record(NewEvent {
        event_type: EventType::InvitationRevoked,
        summary: format!(
            "{} revoked the invitation sent to {}",
            change.actor.name, model.email
        ),
        subjects: invitation_subjects(change, &model).await?,
        payload: serde_json::json!({ "email": model.email }),
    });
    Ok(revoked)
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
