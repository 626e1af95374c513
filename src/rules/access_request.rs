//! Access requests: a LIMITED member asking for one of a team's apps, decided by an UNLIMITED
//! member of the team, or withdrawn by its requester. Every decision records its event.

use chrono::Utc;
use entity::access_request;
use entity::enums::{AccessRequestState, EventSubjectKind, EventType, TeamRole};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

/// The database spelling of a state, for filters.
pub fn state_value(state: AccessRequestState) -> &'static str {
    match state {
        AccessRequestState::Pending => "PENDING",
        AccessRequestState::Approved => "APPROVED",
        AccessRequestState::Denied => "DENIED",
        AccessRequestState::Cancelled => "CANCELLED",
    }
}

/// The actor, a LIMITED member of `team_id`, asks for `app_id`, one of the team's apps. An
/// UNLIMITED member needs no request (CONFLICT), nor does one who holds a grant already, and
/// one pending request per person, team and app is enough.
pub async fn request(
    change: &mut Change,
    team_id: Uuid,
    app_id: Uuid,
) -> ApiResult<access_request::Model> {
    let (team, role) = crate::rules::team::team_in_change(change, team_id).await?;
    match role {
        Some(TeamRole::Limited) => {}
        Some(TeamRole::Unlimited) => {
            return Err(ApiError::Conflict {
                message: format!(
                    "as an UNLIMITED member of {} you may subscribe to its apps directly",
                    team.name
                ),
                ids: vec![team_id],
            });
        }
        None => {
            return Err(ApiError::Forbidden(format!(
                "only members of team {} request its apps",
                team.name
            )));
        }
    }
    let app = entity::app::Entity::find_by_id(app_id)
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("App"))?;
    if entity::team_app::Entity::find_by_id((team_id, app_id))
        .one(&change.txn)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("App"));
    }
    if entity::app_grant::Entity::find_by_id((team_id, app_id, change.actor.id))
        .one(&change.txn)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict {
            message: format!("you have access to {} already: subscribe", app.name),
            ids: vec![app_id],
        });
    }
    let open = access_request::Entity::find()
        .filter(access_request::Column::TeamId.eq(team_id))
        .filter(access_request::Column::AppId.eq(app_id))
        .filter(access_request::Column::RequesterId.eq(change.actor.id))
        .filter(access_request::Column::State.eq(AccessRequestState::Pending))
        .one(&change.txn)
        .await?;
    if let Some(open) = open {
        return Err(ApiError::Conflict {
            message: format!("you asked for {} already", app.name),
            ids: vec![open.id],
        });
    }
    let request = access_request::ActiveModel {
        id: Set(Uuid::now_v7()),
        team_id: Set(team_id),
        app_id: Set(app_id),
        requester_id: Set(change.actor.id),
        state: Set(AccessRequestState::Pending),
        created_at: Set(Utc::now()),
        decided_at: Set(None),
        decided_by_id: Set(None),
    }
    .insert(&change.txn)
    .await?;
    let parties = Parties {
        team,
        app,
        requester: change.actor.clone(),
    };
    change.record(NewEvent {
        event_type: EventType::AccessRequested,
        summary: format!(
            "{} asked for access to {} in team {}",
            parties.requester.name, parties.app.name, parties.team.name
        ),
        subjects: parties.subjects(request.id),
        payload: serde_json::json!({ "app": parties.app.name, "team": parties.team.name }),
    });
    Ok(request)
}

/// Approves the pending request `id`: the requester gets a grant and is subscribed through
/// the team. UNLIMITED members only, and only while the requester is still a LIMITED member
/// and the app still one of the team's.
pub async fn approve(change: &mut Change, id: Uuid) -> ApiResult<access_request::Model> {
    let request = pending_request(change, id).await?;
    if !change.reach().await?.is_unlimited(request.team_id) {
        return Err(ApiError::Forbidden(
            "only UNLIMITED members decide access requests".to_owned(),
        ));
    }
    let parties = Parties::load(change, &request).await?;
    let still_limited =
        entity::team_member::Entity::find_by_id((request.team_id, request.requester_id))
            .one(&change.txn)
            .await?;
    let still_team_app = entity::team_app::Entity::find_by_id((request.team_id, request.app_id))
        .one(&change.txn)
        .await?;
    if still_limited.map(|m| m.role) != Some(TeamRole::Limited) || still_team_app.is_none() {
        return Err(ApiError::Conflict {
            message: format!(
                "{} is no longer a LIMITED member of {} with {} among its apps",
                parties.requester.name, parties.team.name, parties.app.name
            ),
            ids: vec![request.id],
        });
    }
    let now = Utc::now();
    entity::app_grant::Entity::insert(entity::app_grant::ActiveModel {
        team_id: Set(request.team_id),
        app_id: Set(request.app_id),
        person_id: Set(request.requester_id),
        created_at: Set(now),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&change.txn)
    .await?;
    let connected =
        crate::rules::developer::connection_of(change, request.requester_id, request.app_id)
            .await?;
    if connected.is_none() {
        crate::rules::developer::connect(
            change,
            request.requester_id,
            request.app_id,
            Some(request.team_id),
        )
        .await?;
    }
    let approved = decide(change, &request, AccessRequestState::Approved).await?;
    change.record(NewEvent {
        event_type: EventType::AccessRequestApproved,
        summary: format!(
            "{} gave {} access to {} in team {}",
            change.actor.name, parties.requester.name, parties.app.name, parties.team.name
        ),
        subjects: parties.subjects(request.id),
        payload: serde_json::json!({ "app": parties.app.name, "team": parties.team.name }),
    });
    Ok(approved)
}

/// Denies the pending request `id`. UNLIMITED members only.
pub async fn deny(change: &mut Change, id: Uuid) -> ApiResult<access_request::Model> {
    let request = pending_request(change, id).await?;
    if !change.reach().await?.is_unlimited(request.team_id) {
        return Err(ApiError::Forbidden(
            "only UNLIMITED members decide access requests".to_owned(),
        ));
    }
    let parties = Parties::load(change, &request).await?;
    let denied = decide(change, &request, AccessRequestState::Denied).await?;
    change.record(NewEvent {
        event_type: EventType::AccessRequestDenied,
        summary: format!(
            "{} denied {} access to {} in team {}",
            change.actor.name, parties.requester.name, parties.app.name, parties.team.name
        ),
        subjects: parties.subjects(request.id),
        payload: serde_json::json!({ "app": parties.app.name, "team": parties.team.name }),
    });
    Ok(denied)
}

/// Withdraws the actor's pending request `id`. Its requester only.
pub async fn cancel(change: &mut Change, id: Uuid) -> ApiResult<access_request::Model> {
    let request = pending_request(change, id).await?;
    if request.requester_id != change.actor.id {
        return Err(ApiError::Forbidden(
            "only its requester cancels a request".to_owned(),
        ));
    }
    let parties = Parties::load(change, &request).await?;
    let cancelled = decide(change, &request, AccessRequestState::Cancelled).await?;
    change.record(NewEvent {
        event_type: EventType::AccessRequestCancelled,
        summary: format!(
            "{} withdrew the request for {} in team {}",
            change.actor.name, parties.app.name, parties.team.name
        ),
        subjects: parties.subjects(request.id),
        payload: serde_json::json!({ "app": parties.app.name, "team": parties.team.name }),
    });
    Ok(cancelled)
}

struct Parties {
    team: entity::team::Model,
    app: entity::app::Model,
    requester: entity::person::Model,
}

impl Parties {
    async fn load(change: &Change, request: &access_request::Model) -> ApiResult<Parties> {
        let team = entity::team::Entity::find_by_id(request.team_id)
            .one(&change.txn)
            .await?;
        let app = entity::app::Entity::find_by_id(request.app_id)
            .one(&change.txn)
            .await?;
        let requester = entity::person::Entity::find_by_id(request.requester_id)
            .one(&change.txn)
            .await?;
        match (team, app, requester) {
            (Some(team), Some(app), Some(requester)) => Ok(Parties {
                team,
                app,
                requester,
            }),
            _ => Err(ApiError::not_found("AccessRequest")),
        }
    }

    fn subjects(&self, request: Uuid) -> Vec<Subject> {
        vec![
            Subject::new(
                EventSubjectKind::AccessRequest,
                request,
                self.app.name.clone(),
            ),
            Subject::new(EventSubjectKind::App, self.app.id, self.app.name.clone()),
            Subject::new(EventSubjectKind::Team, self.team.id, self.team.name.clone()),
            Subject::person(&self.requester),
        ]
    }
}

/// The request, locked on PostgreSQL, if the actor may see it, and still pending.
pub async fn pending_request(change: &Change, id: Uuid) -> ApiResult<access_request::Model> {
    let mut select = access_request::Entity::find_by_id(id);
    select = change.locked(select);
    let request = select
        .one(&change.txn)
        .await?
        .ok_or_else(|| ApiError::not_found("AccessRequest"))?;
    let own = request.requester_id == change.actor.id;
    if !own && !change.reach().await?.is_unlimited(request.team_id) {
        return Err(ApiError::not_found("AccessRequest"));
    }
    if request.state != AccessRequestState::Pending {
        return Err(ApiError::Conflict {
            message: format!("this request is {} already", state_value(request.state)),
            ids: vec![request.id],
        });
    }
    Ok(request)
}

async fn decide(
    change: &Change,
    request: &access_request::Model,
    state: AccessRequestState,
) -> ApiResult<access_request::Model> {
    Ok(access_request::ActiveModel {
        id: Set(request.id),
        state: Set(state),
        decided_at: Set(Some(Utc::now())),
        decided_by_id: Set(Some(change.actor.id)),
        ..Default::default()
    }
    .update(&change.txn)
    .await?)
}
