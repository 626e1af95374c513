//! Personal access tokens as their owner sees them: never the secret, which is shown once at
//! creation and stored only as a hash (see `rules::auth`). Their mutations are in
//! `api::mutation::token`, their rules in `rules::token`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::enums::TokenScope;
use entity::personal_access_token;
use uuid::Uuid;

use crate::api::connection::TotalCount;
use crate::api::context::{loader, scope};
use crate::api::relay::{NodeKind, global_id};
use crate::error::ApiResult;
use crate::store::keys::PersonalAccessTokenId;

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

/// Loads a token of the viewer's own that is not revoked.
pub async fn node(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<PersonalAccessToken>> {
    let viewer = scope(ctx)?.viewer()?.id();
    Ok(loader(ctx)?
        .load_one(PersonalAccessTokenId(id))
        .await?
        .filter(|token| token.person_id == viewer && token.revoked_at.is_none())
        .map(PersonalAccessToken))
}
