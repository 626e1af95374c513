//! Access requests: a LIMITED member asking for a team app, decided by an UNLIMITED member.
//! Seen by the requester and the team's UNLIMITED members. Their mutations are in
//! `api::mutation::access_request`, their rules in `rules::access_request`.

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::access_request;
use entity::enums::AccessRequestState;
use sea_orm::{DbErr, FromQueryResult, QueryResult};
use uuid::Uuid;

use crate::api::connection::TotalCount;
use crate::api::context::{loader, reach, scope};
use crate::api::relay::{NodeKind, global_id};
use crate::api::types::app::{self, App};
use crate::api::types::person::{self, Person};
use crate::api::types::team::{self, Team};
use crate::error::ApiResult;
use crate::store::keys::AccessRequestId;

/// A connection of access requests.
pub type AccessRequestConnection =
    async_graphql::connection::Connection<String, AccessRequest, TotalCount>;

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
