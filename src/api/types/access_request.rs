//! Access requests: a LIMITED member asking for a team app, decided by an UNLIMITED member.
//! Seen by the requester and the team's UNLIMITED members.

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::access_request;
use entity::enums::{AccessRequestState, TeamRole};
use entity::enums::{EventSubjectKind, EventType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryResult,
};
use uuid::Uuid;

use crate::api::connection::TotalCount;
use crate::api::context::{load_by_id, loader, reach, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::api::types::app::{self, App};
use crate::api::types::person::{self, Person};
use crate::api::types::team::{self, Team};
use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

load_by_id!(AccessRequestId, access_request);

/// A connection of access requests.
pub type AccessRequestConnection =
    async_graphql::connection::Connection<String, AccessRequest, TotalCount>;

/// The database spelling of a state, for filters.
pub fn state_value(state: AccessRequestState) -> &'static str {
    match state {
        AccessRequestState::Pending => "PENDING",
        AccessRequestState::Approved => "APPROVED",
        AccessRequestState::Denied => "DENIED",
        AccessRequestState::Cancelled => "CANCELLED",
    }
}

/// A LIMITED member's request to subscribe to a team app.
pub struct AccessRequest(pub access_request::Model);

impl AccessRequest {
    pub fn read(row: &QueryResult) -> Result<(AccessRequest, EmptyFields), DbErr> {
        Ok((
            AccessRequest(access_request::Model::from_query_result(row, "")?),
            EmptyFields,
        ))
    }
}

/// A LIMITED member's request to subscribe to a team app.
#[Object]
impl AccessRequest {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::AccessRequest, self.0.id)
    }

    /// Where the request stands.
    async fn state(&self) -> AccessRequestState {
        self.0.state
    }

    /// The team whose app is requested.
    async fn team(&self, ctx: &Context<'_>) -> ApiResult<Option<Team>> {
        team::node(ctx, self.0.team_id).await
    }

    /// The requested app.
    async fn app(&self, ctx: &Context<'_>) -> ApiResult<Option<App>> {
        app::node(ctx, self.0.app_id).await
    }

    /// The LIMITED member who asked.
    async fn requester(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        person::visible_person(ctx, self.0.requester_id).await
    }

    /// When the request was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Loads an access request the viewer may see: its own, or one of a team where it is UNLIMITED.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<AccessRequest>> {
    let Some(model) = loader(ctx)?.load_one(AccessRequestId(id)).await? else {
        return Ok(None);
    };
    let own = model.requester_id == scope(ctx)?.viewer()?.id();
    let visible = own || reach(ctx).await?.is_unlimited(model.team_id);
    Ok(visible.then_some(AccessRequest(model)))
}

/// A LIMITED member's request for a team app.
#[derive(InputObject)]
pub struct RequestAppAccessInput {
    /// The team's global id.
    pub team_id: ID,
    /// The app's global id; one of the team's apps.
    pub app_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// Declares a `<Mutation>Input` naming an access request.
macro_rules! access_request_input {
    ($($name:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(InputObject)]
        pub struct $name {
            /// The access request's global id.
            pub access_request_id: ID,
            /// Echoed in the payload.
            pub client_mutation_id: Option<String>,
        }
    )*};
}

access_request_input!(
    ApproveAccessRequestInput: "A pending request to approve: the requester gets a grant and is subscribed.",
    DenyAccessRequestInput: "A pending request to deny.",
    CancelAccessRequestInput: "A pending request of the viewer's to withdraw.",
);

/// Declares a `<Mutation>Payload` returning the access request.
macro_rules! access_request_payload {
    ($($name:ident: $doc:literal),* $(,)?) => {$(
        #[doc = $doc]
        #[derive(SimpleObject)]
        pub struct $name {
            /// The access request as it is now.
            pub access_request: AccessRequest,
            /// As given in the input.
            pub client_mutation_id: Option<String>,
        }
    )*};
}

access_request_payload!(
    RequestAppAccessPayload: "The result of `requestAppAccess`.",
    ApproveAccessRequestPayload: "The result of `approveAccessRequest`.",
    DenyAccessRequestPayload: "The result of `denyAccessRequest`.",
    CancelAccessRequestPayload: "The result of `cancelAccessRequest`.",
);

/// Mutations of access requests.
#[derive(Default)]
pub struct AccessRequestMutation;

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
async fn pending_request(change: &Change, id: &ID) -> ApiResult<access_request::Model> {
    let id = expect_global_id(id, NodeKind::AccessRequest)?;
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

#[Object]
impl AccessRequestMutation {
    /// Asks the team's UNLIMITED members for access to one of its apps. LIMITED members only.
    async fn request_app_access(
        &self,
        ctx: &Context<'_>,
        input: RequestAppAccessInput,
    ) -> ApiResult<Option<RequestAppAccessPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let (team, role) = crate::rules::team::team_in_change(&change, team_id).await?;
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
        change.commit().await?;
        Ok(Some(RequestAppAccessPayload {
            access_request: AccessRequest(request),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Approves a pending request: the requester gets a grant and is subscribed through the
    /// team. UNLIMITED members only.
    async fn approve_access_request(
        &self,
        ctx: &Context<'_>,
        input: ApproveAccessRequestInput,
    ) -> ApiResult<Option<ApproveAccessRequestPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let request = pending_request(&change, &input.access_request_id).await?;
        if !change.reach().await?.is_unlimited(request.team_id) {
            return Err(ApiError::Forbidden(
                "only UNLIMITED members decide access requests".to_owned(),
            ));
        }
        let parties = Parties::load(&change, &request).await?;
        let still_limited =
            entity::team_member::Entity::find_by_id((request.team_id, request.requester_id))
                .one(&change.txn)
                .await?;
        let still_team_app =
            entity::team_app::Entity::find_by_id((request.team_id, request.app_id))
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
        let connected = crate::api::mutation::developer::connection_of(
            &change,
            request.requester_id,
            request.app_id,
        )
        .await?;
        if connected.is_none() {
            crate::api::mutation::developer::connect(
                &change,
                request.requester_id,
                request.app_id,
                Some(request.team_id),
            )
            .await?;
        }
        let approved = decide(&change, &request, AccessRequestState::Approved).await?;
        change.record(NewEvent {
            event_type: EventType::AccessRequestApproved,
            summary: format!(
                "{} gave {} access to {} in team {}",
                change.actor.name, parties.requester.name, parties.app.name, parties.team.name
            ),
            subjects: parties.subjects(request.id),
            payload: serde_json::json!({ "app": parties.app.name, "team": parties.team.name }),
        });
        change.commit().await?;
        Ok(Some(ApproveAccessRequestPayload {
            access_request: AccessRequest(approved),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Denies a pending request. UNLIMITED members only.
    async fn deny_access_request(
        &self,
        ctx: &Context<'_>,
        input: DenyAccessRequestInput,
    ) -> ApiResult<Option<DenyAccessRequestPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let request = pending_request(&change, &input.access_request_id).await?;
        if !change.reach().await?.is_unlimited(request.team_id) {
            return Err(ApiError::Forbidden(
                "only UNLIMITED members decide access requests".to_owned(),
            ));
        }
        let parties = Parties::load(&change, &request).await?;
        let denied = decide(&change, &request, AccessRequestState::Denied).await?;
        change.record(NewEvent {
            event_type: EventType::AccessRequestDenied,
            summary: format!(
                "{} denied {} access to {} in team {}",
                change.actor.name, parties.requester.name, parties.app.name, parties.team.name
            ),
            subjects: parties.subjects(request.id),
            payload: serde_json::json!({ "app": parties.app.name, "team": parties.team.name }),
        });
        change.commit().await?;
        Ok(Some(DenyAccessRequestPayload {
            access_request: AccessRequest(denied),
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Withdraws one of the viewer's pending requests.
    async fn cancel_access_request(
        &self,
        ctx: &Context<'_>,
        input: CancelAccessRequestInput,
    ) -> ApiResult<Option<CancelAccessRequestPayload>> {
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let request = pending_request(&change, &input.access_request_id).await?;
        if request.requester_id != change.actor.id {
            return Err(ApiError::Forbidden(
                "only its requester cancels a request".to_owned(),
            ));
        }
        let parties = Parties::load(&change, &request).await?;
        let cancelled = decide(&change, &request, AccessRequestState::Cancelled).await?;
        change.record(NewEvent {
            event_type: EventType::AccessRequestCancelled,
            summary: format!(
                "{} withdrew the request for {} in team {}",
                change.actor.name, parties.app.name, parties.team.name
            ),
            subjects: parties.subjects(request.id),
            payload: serde_json::json!({ "app": parties.app.name, "team": parties.team.name }),
        });
        change.commit().await?;
        Ok(Some(CancelAccessRequestPayload {
            access_request: AccessRequest(cancelled),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
