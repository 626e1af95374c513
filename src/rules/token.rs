//! The rules of personal access tokens: a name, a scope and a lifetime of 1 to 365 days (or
//! none); at most the `tokens` quota of working ones per person; revoked by their owner alone.
//! Creating and revoking each record their event in the same change. The secret itself is made
//! and hashed in `rules::auth`.

use chrono::Duration;
use entity::enums::{EventType, TokenScope};
use entity::personal_access_token::{self, Column, Entity};
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait,
    PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::auth::NewToken;
use crate::rules::change::{Change, NewEvent, Subject};

/// A token to create, checked before any transaction begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub name: String,
    pub scope: TokenScope,
    pub expires_in: Option<Duration>,
}

impl TokenRequest {
    pub fn parse(name: &str, scope: TokenScope, expires_in_days: Option<i32>) -> ApiResult<Self> {
        let name = crate::naming::clean_name(name, "a token name")?;
        let expires_in = match expires_in_days {
            None => None,
            Some(days @ 1..=365) => Some(Duration::days(i64::from(days))),
            Some(_) => return Err(ApiError::bad_input("`expiresInDays` is 1 to 365")),
        };
        Ok(TokenRequest {
            name,
            scope,
            expires_in,
        })
    }
}

/// Creates a token for the actor, if it holds fewer than `max_tokens` working ones (neither
/// revoked nor expired). The secret is in the result, to show once.
pub async fn create(
    change: &mut Change,
    request: TokenRequest,
    max_tokens: u64,
) -> ApiResult<NewToken> {
    let working = Entity::find()
        .filter(Column::PersonId.eq(change.actor.id))
        .filter(Column::RevokedAt.is_null())
        .filter(
            Condition::any()
                .add(Column::ExpiresAt.is_null())
                .add(Column::ExpiresAt.gt(chrono::Utc::now())),
        )
        .count(&change.txn)
        .await?;
    crate::rules::quotas::ensure_room(
        "tokens",
        max_tokens,
        working,
        "personal access tokens per person (revoke one you no longer use)",
    )?;
    let token = crate::rules::auth::create_token(
        &change.txn,
        change.actor.id,
        &request.name,
        request.scope,
        request.expires_in,
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
    Ok(token)
}

/// Revokes the actor's token `id`; it stops working at once. Anyone else's token, a revoked
/// one or none is NOT_FOUND alike.
pub async fn revoke(change: &mut Change, id: Uuid) -> ApiResult<()> {
    let token = Entity::find_by_id(id)
        .one(&change.txn)
        .await?
        .filter(|t| t.person_id == change.actor.id && t.revoked_at.is_none())
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
        subjects: vec![Subject::person(&change.actor)],
        payload: serde_json::json!({ "name": token.name, "prefix": token.prefix }),
    });
    Ok(())
}
