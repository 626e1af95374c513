//! Personal access tokens as their owner sees them: never the secret, which is shown once at
//! creation and stored only as a hash (see `auth`).

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::EventType;
use entity::enums::TokenScope;
use entity::personal_access_token;

use uuid::Uuid;

use sea_orm::ActiveEnum;

use crate::api::connection::TotalCount;
use crate::api::context::{load_by_id, loader, scope};
use crate::api::relay::{NodeKind, expect_global_id, global_id};
use crate::error::{ApiError, ApiResult};
use crate::rules::change::{Change, NewEvent, Subject};

/// A connection of personal access tokens.
pub type PersonalAccessTokenConnection =
    async_graphql::connection::Connection<String, PersonalAccessToken, TotalCount>;

/// A credential for scripts, sent as `Authorization: Bearer <token>`.
pub struct PersonalAccessToken(pub personal_access_token::Model);

/// A credential for scripts, sent as `Authorization: Bearer <token>`.
#[Object]
impl PersonalAccessToken {
    /// The global id.
    pub async fn id(&self) -> ID {
        global_id(NodeKind::PersonalAccessToken, self.0.id)
    }

    /// What the token is for, as its owner named it.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The first characters of the secret, to recognise the token by.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// READ tokens can only query; WRITE tokens can also mutate.
    async fn scope(&self) -> TokenScope {
        self.0.scope
    }

    /// When the token was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the token was last used, to the minute; null if never.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    /// When the token stops working; null if never.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
}

load_by_id!(PersonalAccessTokenId, personal_access_token);

/// Loads a token of the viewer's own that is not revoked.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<PersonalAccessToken>> {
    let viewer = scope(ctx)?.viewer()?.id();
    Ok(loader(ctx)?
        .load_one(PersonalAccessTokenId(id))
        .await?
        .filter(|token| token.person_id == viewer && token.revoked_at.is_none())
        .map(PersonalAccessToken))
}

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
        let viewer = crate::api::context::writer(ctx)?;
        let name = crate::naming::clean_name(&input.name, "a token name")?;
        let expires_in = match input.expires_in_days {
            None => None,
            Some(days @ 1..=365) => Some(chrono::Duration::days(i64::from(days))),
            Some(_) => return Err(ApiError::bad_input("`expiresInDays` is 1 to 365")),
        };
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let working = {
            use entity::personal_access_token::{Column, Entity};
            use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};
            Entity::find()
                .filter(Column::PersonId.eq(change.actor.id))
                .filter(Column::RevokedAt.is_null())
                .filter(
                    Condition::any()
                        .add(Column::ExpiresAt.is_null())
                        .add(Column::ExpiresAt.gt(chrono::Utc::now())),
                )
                .count(&change.txn)
                .await?
        };
        crate::rules::quotas::ensure_room(
            "tokens",
            crate::api::context::quotas(ctx)?.tokens,
            working,
            "personal access tokens per person (revoke one you no longer use)",
        )?;
        let token = crate::rules::auth::create_token(
            &change.txn,
            viewer.id(),
            &name,
            input.scope,
            expires_in,
        )
        .await?;
        change.record(NewEvent {
            event_type: EventType::PersonalAccessTokenCreated,
            summary: format!(
                "{} created personal access token {} ({})",
                change.actor.name, token.model.name, token.model.prefix
            ),
            subjects: vec![Subject::person(&change.actor)],
            payload: serde_json::json!({
                "name": token.model.name,
                "prefix": token.model.prefix,
                "scope": token.model.scope.to_value(),
                "expiresAt": token.model.expires_at,
            }),
        });
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
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
        let scope = scope(ctx)?;
        let viewer = crate::api::context::writer(ctx)?;
        let id = expect_global_id(
            &input.personal_access_token_id,
            NodeKind::PersonalAccessToken,
        )?;
        let mut change = Change::begin(&scope.db, viewer.id()).await?;
        let token = personal_access_token::Entity::find_by_id(id)
            .one(&change.txn)
            .await?
            .filter(|t| t.person_id == viewer.id() && t.revoked_at.is_none())
            .ok_or_else(|| ApiError::not_found("PersonalAccessToken"))?;
        personal_access_token::ActiveModel {
            id: Set(token.id),
            revoked_at: Set(Some(chrono::Utc::now())),
            ..Default::default()
        }
        .update(&change.txn)
        .await?;
        change.record(NewEvent {
            event_type: EventType::PersonalAccessTokenRevoked,
            summary: format!(
                "{} revoked personal access token {} ({})",
                change.actor.name, token.name, token.prefix
            ),
            subjects: vec![Subject::person(&viewer.person)],
            payload: serde_json::json!({ "name": token.name, "prefix": token.prefix }),
        });
        change.commit().await?;
        Ok(Some(RevokePersonalAccessTokenPayload {
            revoked_personal_access_token_id: input.personal_access_token_id,
            client_mutation_id: input.client_mutation_id,
        }))
    }
}
