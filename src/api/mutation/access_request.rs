//! `requestAppAccess`, `approveAccessRequest`, `denyAccessRequest` and `cancelAccessRequest`:
//! decode the input, begin the change, apply the rule (`rules::access_request`), commit, build
//! the payload.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::api::context::{scope, writer};
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::access_request::AccessRequest;
use crate::error::ApiResult;
use crate::rules::access_request;
use crate::rules::change::Change;

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

#[Object]
impl AccessRequestMutation {
    /// Asks the team's UNLIMITED members for access to one of its apps. LIMITED members only.
    async fn request_app_access(
        &self,
        ctx: &Context<'_>,
        input: RequestAppAccessInput,
    ) -> ApiResult<Option<RequestAppAccessPayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let team_id = expect_global_id(&input.team_id, NodeKind::Team)?;
        let app_id = expect_global_id(&input.app_id, NodeKind::App)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let request = access_request::request(&mut change, team_id, app_id).await?;
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
        let viewer = writer(ctx)?;
        let id = expect_global_id(&input.access_request_id, NodeKind::AccessRequest)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let approved = access_request::approve(&mut change, id).await?;
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
        let viewer = writer(ctx)?;
        let id = expect_global_id(&input.access_request_id, NodeKind::AccessRequest)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let denied = access_request::deny(&mut change, id).await?;
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
        let viewer = writer(ctx)?;
        let id = expect_global_id(&input.access_request_id, NodeKind::AccessRequest)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let cancelled = access_request::cancel(&mut change, id).await?;
        change.commit().await?;
        Ok(Some(CancelAccessRequestPayload {
            access_request: AccessRequest(cancelled),
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
