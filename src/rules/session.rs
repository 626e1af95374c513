//! Browser sessions. Signing in puts a random secret in an HttpOnly cookie; only its hash is
//! stored. A session ends when idle too long, at its absolute end, at logout, and when the
//! account is cancelled.

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{DateTime, Duration, Utc};
use entity::{browser_session, person};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::rules::auth::{Credential, Viewer, hash_secret, new_secret};
use crate::store::db::Db;

/// The cookie that carries a session's secret.
pub const SESSION_COOKIE: &str = "warren_session";
/// Session secrets start with this, so that secret scanners and people recognise one.
pub const SESSION_PREFIX: &str = "wrs_";
/// Activity is recorded at most this often: each read need not be a write.
const LAST_SEEN_RESOLUTION: Duration = Duration::seconds(60);

/// How long sessions last and how their cookie is sent.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused for this long is over.
    pub idle: Duration,
    /// A session is over this long after sign-in, however active.
    pub absolute: Duration,
    /// Whether the cookie is sent over HTTPS only; off only for plain-HTTP development.
    pub secure_cookie: bool,
}

impl SessionPolicy {
    /// Twelve idle hours, two weeks at most; the cookie is `Secure` when the service is
    /// reached over HTTPS.
    pub fn for_public_url(public_url: &str) -> SessionPolicy {
        SessionPolicy {
            idle: Duration::hours(12),
            absolute: Duration::days(14),
            secure_cookie: public_url.starts_with("https://"),
        }
    }

    /// The cookie that signs a browser in with `secret`. It lives as long as the session at
    /// most; the server decides the idle end.
    pub fn cookie(&self, secret: String) -> Cookie<'static> {
        Cookie::build((SESSION_COOKIE, secret))
            .path("/")
            .http_only(true)
            .secure(self.secure_cookie)
            .same_site(SameSite::Lax)
            .max_age(time_duration(self.absolute))
            .build()
    }

    /// The cookie that tells the browser to forget its session.
    pub fn removal_cookie(&self) -> Cookie<'static> {
        let mut cookie = self.cookie(String::new());
        cookie.make_removal();
        cookie
    }
}

fn time_duration(duration: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(duration.num_seconds())
}

/// The session secret a request's cookies carry, if any.
pub fn session_secret(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// Starts a session for `person_id`; returns the secret for the cookie.
pub async fn start(
    conn: &impl ConnectionTrait,
    person_id: Uuid,
    policy: &SessionPolicy,
) -> ApiResult<String> {
    let secret = new_secret(SESSION_PREFIX);
    let now = Utc::now();
    browser_session::ActiveModel {
        id: Set(Uuid::now_v7()),
        person_id: Set(person_id),
        secret_hash: Set(hash_secret(&secret)),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + policy.absolute),
        revoked_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(secret)
}

/// Resolves a session cookie into its viewer. Unknown, ended and idle sessions all get the same
/// answer.
pub async fn authenticate_session(
    db: &Db,
    secret: &str,
    policy: &SessionPolicy,
) -> ApiResult<Viewer> {
    if !secret.starts_with(SESSION_PREFIX) {
        return Err(SESSION_REFUSED);
    }
    let found = browser_session::Entity::find()
        .filter(browser_session::Column::SecretHash.eq(hash_secret(secret)))
        .find_also_related(person::Entity)
        .one(&db.conn)
        .await?;
    admit(db, found, policy).await
}

/// `authenticate_session` for a session already identified: each operation of a WebSocket
/// signed in with the cookie (`auth::authenticate_again`). Such an operation is activity, and
/// extends the session's idle end as a request does.
pub async fn authenticate_session_id(
    db: &Db,
    id: Uuid,
    policy: &SessionPolicy,
) -> ApiResult<Viewer> {
    let found = browser_session::Entity::find_by_id(id)
        .find_also_related(person::Entity)
        .one(&db.conn)
        .await?;
    admit(db, found, policy).await
}

const SESSION_REFUSED: ApiError = ApiError::Unauthenticated("the session is over; sign in again");

/// The viewer of a session row and its person, if the session is open; records the activity.
async fn admit(
    db: &Db,
    found: Option<(browser_session::Model, Option<person::Model>)>,
    policy: &SessionPolicy,
) -> ApiResult<Viewer> {
    let Some((session, Some(person))) = found else {
        return Err(SESSION_REFUSED);
    };
    let now = Utc::now();
    if !is_open(&session, now, policy) || person.cancelled_at.is_some() {
        return Err(SESSION_REFUSED);
    }
    if now - session.last_seen_at >= LAST_SEEN_RESOLUTION {
        browser_session::ActiveModel {
            id: Set(session.id),
            last_seen_at: Set(now),
            ..Default::default()
        }
        .update(&db.conn)
        .await?;
    }
    Ok(Viewer {
        person,
        credential: Credential::Session {
            id: session.id,
            expires_at: session.expires_at,
        },
    })
}

fn is_open(session: &browser_session::Model, now: DateTime<Utc>, policy: &SessionPolicy) -> bool {
    session.revoked_at.is_none()
        && session.expires_at > now
        && now - session.last_seen_at < policy.idle
}

/// Whether session `id` is still open (running subscriptions ask). A running subscription is
/// not ended by idleness, so only revocation, the absolute end and cancellation count here.
pub async fn still_open(db: &Db, id: Uuid) -> ApiResult<bool> {
    let found = browser_session::Entity::find_by_id(id)
        .find_also_related(person::Entity)
        .one(&db.conn)
        .await?;
    let now = Utc::now();
    Ok(matches!(found, Some((session, Some(person)))
        if session.revoked_at.is_none()
            && session.expires_at > now
            && person.cancelled_at.is_none()))
}

/// Ends the session whose cookie carries `secret` (logout); unknown secrets are ignored.
pub async fn end(conn: &impl ConnectionTrait, secret: &str) -> ApiResult<()> {
    browser_session::Entity::update_many()
        .col_expr(
            browser_session::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(browser_session::Column::SecretHash.eq(hash_secret(secret)))
        .filter(browser_session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends every session of `person_id` (account cancelled).
pub async fn end_all_of(conn: &impl ConnectionTrait, person_id: Uuid) -> ApiResult<()> {
    browser_session::Entity::update_many()
        .col_expr(
            browser_session::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(browser_session::Column::PersonId.eq(person_id))
        .filter(browser_session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
