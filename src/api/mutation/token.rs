//! `createPersonalAccessToken` and `revokePersonalAccessToken`: decode the input, begin the
//! change, apply the rule (`rules::token`), commit, build the payload.

use async_graphql::{Context, ID, Object};
use entity::enums::TokenScope;

use crate::api::context::{quotas, scope, writer};
use crate::api::relay::{NodeKind, expect_global_id};
use crate::api::types::token::PersonalAccessToken;
use crate::error::ApiResult;
use crate::rules::change::Change;
use crate::rules::token::{self, TokenRequest};

/// A new personal access token for the viewer.
#[derive(async_graphql::InputObject)]
pub struct CreatePersonalAccessTokenInput {
    /// What the token is for.
    pub name: String,
    /// READ tokens can only query; WRITE tokens can also mutate.
    pub scope: TokenScope,
    /// Days until the token expires (1 to 365); it never expires when not given.
    pub expires_in_days: Option<i32>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `createPersonalAccessToken`.
#[derive(async_graphql::SimpleObject)]
pub struct CreatePersonalAccessTokenPayload {
    /// The token's details.
    pub personal_access_token: PersonalAccessToken,
    /// The secret to send as `Authorization: Bearer <secret>`. Shown this once only.
    pub secret: String,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// A token of the viewer's to revoke.
#[derive(async_graphql::InputObject)]
pub struct RevokePersonalAccessTokenInput {
    /// The token's global id.
    pub personal_access_token_id: ID,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// The result of `revokePersonalAccessToken`.
#[derive(async_graphql::SimpleObject)]
pub struct RevokePersonalAccessTokenPayload {
    /// The id of the revoked token.
    pub revoked_personal_access_token_id: ID,
    /// As given in the input.
    pub client_mutation_id: Option<String>,
}

/// Mutations of personal access tokens.
#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Creates a personal access token for the viewer; its secret is in the payload, once.
    async fn create_personal_access_token(
        &self,
        ctx: &Context<'_>,
        input: CreatePersonalAccessTokenInput,
    ) -> ApiResult<Option<CreatePersonalAccessTokenPayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let request = TokenRequest::parse(&input.name, input.scope, input.expires_in_days)?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let token = token::create(&mut change, request, quotas(ctx)?.tokens).await?;
        change.commit().await?;
        Ok(Some(CreatePersonalAccessTokenPayload {
            personal_access_token: PersonalAccessToken(token.model),
            secret: token.secret,
            client_mutation_id: input.client_mutation_id,
        }))
    }

    /// Revokes one of the viewer's tokens; it stops working at once.
    async fn revoke_personal_access_token(
        &self,
        ctx: &Context<'_>,
        input: RevokePersonalAccessTokenInput,
    ) -> ApiResult<Option<RevokePersonalAccessTokenPayload>> {
        let scope = scope(ctx)?;
        let viewer = writer(ctx)?;
        let id = expect_global_id(
            &input.personal_access_token_id,
            NodeKind::PersonalAccessToken,
        )?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        token::revoke(&mut change, id).await?;
        change.commit().await?;
        Ok(Some(RevokePersonalAccessTokenPayload {
            revoked_personal_access_token_id: input.personal_access_token_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
