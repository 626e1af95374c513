//! Who is asking: a personal access token (scripts) or a browser session (`session`). A request
//! is authenticated once, before GraphQL runs, into a `Viewer` that every resolver reads.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use entity::enums::TokenScope;
use entity::{person, personal_access_token};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::session::SessionPolicy;
use crate::store::db::Db;

/// Every token starts with this, so that secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "wrn_";
/// How many characters of a token are kept in clear to tell tokens apart in lists.
const VISIBLE_PREFIX_LEN: usize = TOKEN_PREFIX.len() + 8;
/// Recording every use would turn each read into a write; once a minute is precise enough.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

/// How the current request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    PersonalAccessToken {
        id: Uuid,
        scope: TokenScope,
        /// When the token stops working, if ever; long-lived connections end then.
        expires_at: Option<DateTime<Utc>>,
    },
    /// A browser's session cookie.
    Session {
        id: Uuid,
        /// The session's absolute end.
        expires_at: DateTime<Utc>,
    },
}

impl Credential {
    /// When the credential stops authenticating by itself.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Credential::PersonalAccessToken { expires_at, .. } => *expires_at,
            Credential::Session { expires_at, .. } => Some(*expires_at),
        }
    }

    pub fn expired(&self) -> bool {
        self.expires_at().is_some_and(|at| at <= Utc::now())
    }
}

/// The authenticated person of a request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub person: person::Model,
    pub credential: Credential,
}

impl Viewer {
    pub fn id(&self) -> Uuid {
        self.person.id
    }
}

/// A freshly minted token: the secret is shown once, only its hash is stored.
pub struct NewToken {
    pub secret: String,
    pub model: personal_access_token::Model,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Invitation link tokens start with this.
pub const INVITATION_PREFIX: &str = "wri_";

/// 256 random bits behind a recognisable prefix: a token or an invitation link secret.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Creates a personal access token for `person_id`.
pub async fn create_token(
    conn: &impl sea_orm::ConnectionTrait,
    person_id: Uuid,
    name: &str,
    scope: TokenScope,
    expires_in: Option<Duration>,
) -> ApiResult<NewToken> {
    let (row, secret) = token_row(person_id, name, scope, expires_in)?;
    let model = row.insert(conn).await?;
    Ok(NewToken { secret, model })
}

/// A new token's row and its secret (shown once; the row keeps only its hash), for
/// `create_token` and for bulk writers (`seed bench`) that insert rows their own way.
pub fn token_row(
    person_id: Uuid,
    name: &str,
    scope: TokenScope,
    expires_in: Option<Duration>,
) -> ApiResult<(personal_access_token::ActiveModel, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_input(
            "a token name is 1 to 100 characters long",
        ));
    }
    let secret = new_secret(TOKEN_PREFIX);
    let now = Utc::now();
    let row = personal_access_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        person_id: Set(person_id),
        name: Set(name.to_owned()),
        prefix: Set(secret[..VISIBLE_PREFIX_LEN].to_owned()),
        secret_hash: Set(hash_secret(&secret)),
        scope: Set(scope),
        created_at: Set(now),
        last_used_at: Set(None),
        expires_at: Set(expires_in.map(|d| now + d)),
        revoked_at: Set(None),
    };
    Ok((row, secret))
}

/// Resolves a bearer token into its viewer. Unknown, revoked and expired tokens all get the
/// same answer, so the response tells an attacker nothing about which it was.
pub async fn authenticate_token(db: &Db, secret: &str) -> ApiResult<Viewer> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Err(TOKEN_REFUSED);
    }
    let found = personal_access_token::Entity::find()
        .filter(personal_access_token::Column::SecretHash.eq(hash_secret(secret)))
        .find_also_related(person::Entity)
        .one(&db.conn)
        .await?;
    admit_token(db, found).await
}

const TOKEN_REFUSED: ApiError = ApiError::Unauthenticated("invalid or expired token");

/// The viewer of a token row and its person, if the token still authenticates; records its use.
async fn admit_token(
    db: &Db,
    found: Option<(personal_access_token::Model, Option<person::Model>)>,
) -> ApiResult<Viewer> {
    let Some((token, Some(person))) = found else {
        return Err(TOKEN_REFUSED);
    };
    let now = Utc::now();
    if token.revoked_at.is_some()
        || token.expires_at.is_some_and(|at| at <= now)
        || person.cancelled_at.is_some()
    {
        return Err(TOKEN_REFUSED);
    }
    if token
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_RESOLUTION)
    {
        personal_access_token::ActiveModel {
            id: Set(token.id),
            last_used_at: Set(Some(now)),
            ..Default::default()
        }
        .update(&db.conn)
        .await?;
    }
    Ok(Viewer {
        person,
        credential: Credential::PersonalAccessToken {
            id: token.id,
            scope: token.scope,
            expires_at: token.expires_at,
        },
    })
}

/// Authorizes one operation of a long-lived connection (a `subscribe` on a WebSocket) as of its
/// own start, exactly as an HTTP request with the same credential would be: the token or
/// session row and its person are read again (one statement), what has ended is refused
/// (revoked or expired token, logged-out, expired or idle session, cancelled account), and the
/// use is recorded as a request's is. The viewer carries the person as it is now (account
/// type, name), so nothing decided about the connection's start outlives a change.
pub async fn authenticate_again(
    db: &Db,
    credential: &Credential,
    policy: &SessionPolicy,
) -> ApiResult<Viewer> {
    match credential {
        Credential::PersonalAccessToken { id, .. } => {
            let found = personal_access_token::Entity::find_by_id(*id)
                .find_also_related(person::Entity)
                .one(&db.conn)
                .await?;
            admit_token(db, found).await
        }
        Credential::Session { id, .. } => {
            crate::rules::session::authenticate_session_id(db, *id, policy).await
        }
    }
}

/// Whether a credential still authenticates: its token or session neither revoked nor expired,
/// its person's account not cancelled. Running subscriptions ask when it may have changed.
pub async fn still_valid(db: &Db, credential: &Credential) -> ApiResult<bool> {
    if credential.expired() {
        return Ok(false);
    }
    let id = match credential {
        Credential::PersonalAccessToken { id, .. } => id,
        Credential::Session { id, .. } => return crate::rules::session::still_open(db, *id).await,
    };
    let found = personal_access_token::Entity::find_by_id(*id)
        .find_also_related(person::Entity)
        .one(&db.conn)
        .await?;
    let now = Utc::now();
    Ok(matches!(found, Some((token, Some(person)))
        if token.revoked_at.is_none()
            && token.expires_at.is_none_or(|at| at > now)
            && person.cancelled_at.is_none()))
}

/// Extracts the token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let a = new_secret(TOKEN_PREFIX);
        let b = new_secret(TOKEN_PREFIX);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_ne!(hash_secret(&a), a);
    }

    #[test]
    fn bearer_header_is_parsed_case_insensitively() {
        assert_eq!(bearer_token("Bearer wrn_x"), Some("wrn_x"));
        assert_eq!(bearer_token("bearer   wrn_x "), Some("wrn_x"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
