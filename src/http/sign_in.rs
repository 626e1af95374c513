//! Signing in with OpenID Connect: the authorization code flow with PKCE (S256), a one-time
//! `state` bound to the browser that started the login, a `nonce` checked in the ID token,
//! the exact redirect URI `<public url>/auth/callback`, and the issuer checked by discovery and
//! in the ID token. The first sign-in creates the person from the verified e-mail; later ones
//! find it again by provider and subject, whatever the e-mail has become.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{Duration, Utc};
use entity::enums::AccountType;
use entity::{person, person_identity, sign_in_attempt};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::rules::auth::{hash_secret, new_secret};
use crate::rules::session::SessionPolicy;
use crate::store::db::Db;

/// A client made from a discovery document: the authorization endpoint is known, the token
/// and user-info endpoints may be.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The cookie that binds a login in flight to the browser that started it.
pub const SIGN_IN_COOKIE: &str = "warren_sign_in";
/// How long a person has to come back from the provider.
const ATTEMPT_LIFETIME: Duration = Duration::minutes(10);
/// How long a provider's discovery document (and with it its keys) is trusted before it is
/// fetched again; keys rotate.
const DISCOVERY_LIFETIME: StdDuration = StdDuration::from_secs(600);
/// Where a signed-in browser goes when the login named no page.
const DEFAULT_RETURN_TO: &str = "/graphql";

/// One OpenID Connect provider, as configured.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The name `GET /auth/login?provider=` uses.
    pub name: String,
    /// The issuer URL; discovery reads `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

/// The secret stays out of logs.
impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

struct Provider {
    config: ProviderConfig,
    discovered: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

/// Sign-in with the configured providers; cheap to clone.
#[derive(Clone)]
pub struct SignIn {
    providers: Arc<Vec<Provider>>,
    http: reqwest::Client,
    redirect_uri: RedirectUrl,
    pub policy: SessionPolicy,
}

/// Why a sign-in failed, shown to the person as a page with its status.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The request is not one this server can continue (unknown state, another browser...).
    #[error("{0}")]
    BadRequest(String),
    /// The provider vouched for nobody usable (unverified e-mail, cancelled account).
    #[error("{0}")]
    Refused(String),
    /// No such provider is configured.
    #[error("{0}")]
    UnknownProvider(String),
    /// The provider could not be reached or answered nonsense.
    #[error("{0}")]
    Provider(String),
    #[error("the database failed")]
    Database(#[from] sea_orm::DbErr),
    #[error("{}", .0.message())]
    Api(crate::error::ApiError),
}

impl From<crate::error::ApiError> for SignInError {
    fn from(err: crate::error::ApiError) -> Self {
        SignInError::Api(err)
    }
}

impl SignInError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            SignInError::BadRequest(_) => StatusCode::BAD_REQUEST,
            SignInError::Refused(_) => StatusCode::FORBIDDEN,
            SignInError::UnknownProvider(_) => StatusCode::NOT_FOUND,
            SignInError::Provider(_) => StatusCode::BAD_GATEWAY,
            SignInError::Database(_) | SignInError::Api(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// What `GET /auth/login` asks for.
#[derive(Debug, Default, serde::Deserialize)]
pub struct LoginRequest {
    /// Which provider; the only one when just one is configured.
    pub provider: Option<String>,
    /// A path on this site to return to.
    pub return_to: Option<String>,
    /// `client` makes a first sign-in create a client account; developer otherwise.
    pub account: Option<String>,
}

/// What the provider sends back to `GET /auth/callback`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackRequest {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A finished sign-in: the session's secret and where to send the browser.
pub struct SignedIn {
    pub session_secret: String,
    pub return_to: String,
    pub person_id: Uuid,
}

impl SignIn {
    /// `public_url` is where browsers reach this service; the redirect URI hangs below it.
    pub fn new(
        providers: Vec<ProviderConfig>,
        public_url: &str,
        policy: SessionPolicy,
    ) -> Result<SignIn, String> {
        let redirect_uri = RedirectUrl::new(format!(
            "{}/auth/callback",
            public_url.trim_end_matches('/')
        ))
        .map_err(|err| format!("the public URL makes no redirect URI: {err}"))?;
        for provider in &providers {
            IssuerUrl::new(provider.issuer.clone())
                .map_err(|err| format!("provider {}: bad issuer URL: {err}", provider.name))?;
        }
        // Token calls must not follow redirects: a redirect could carry the code elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(StdDuration::from_secs(10))
            .build()
            .map_err(|err| format!("cannot build the HTTP client: {err}"))?;
        Ok(SignIn {
            providers: Arc::new(
                providers
                    .into_iter()
                    .map(|config| Provider {
                        config,
                        discovered: Mutex::new(None),
                    })
                    .collect(),
            ),
            http,
            redirect_uri,
            policy,
        })
    }

    pub fn is_configured(&self) -> bool {
        !self.providers.is_empty()
    }

    fn provider(&self, name: Option<&str>) -> Result<&Provider, SignInError> {
        match name {
            Some(name) => self
                .providers
                .iter()
                .find(|p| p.config.name == name)
                .ok_or_else(|| {
                    SignInError::UnknownProvider(format!("no sign-in provider is called {name}"))
                }),
            None => match self.providers.as_slice() {
                [only] => Ok(only),
                [] => Err(SignInError::UnknownProvider(
                    "sign-in is not configured on this server".to_owned(),
                )),
                _ => Err(SignInError::BadRequest(format!(
                    "choose a provider: {}",
                    self.providers
                        .iter()
                        .map(|p| p.config.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            },
        }
    }

    /// The provider's discovery document, fetched again when old.
    async fn metadata(&self, provider: &Provider) -> Result<CoreProviderMetadata, SignInError> {
        let mut discovered = provider.discovered.lock().await;
        if let Some((at, metadata)) = discovered.as_ref()
            && at.elapsed() < DISCOVERY_LIFETIME
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(provider.config.issuer.clone())
            .map_err(|err| SignInError::Provider(format!("bad issuer URL: {err}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|err| {
                tracing::warn!(provider = %provider.config.name, error = %err, "OpenID Connect discovery failed");
                SignInError::Provider(format!(
                    "the sign-in provider {} cannot be reached",
                    provider.config.name
                ))
            })?;
        *discovered = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// The OAuth client of `provider`, from its (cached) discovery document.
    async fn client(&self, provider: &Provider) -> Result<DiscoveredClient, SignInError> {
        Ok(CoreClient::from_provider_metadata(
            self.metadata(provider).await?,
            ClientId::new(provider.config.client_id.clone()),
            Some(ClientSecret::new(provider.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_uri.clone()))
    }

    /// Starts a login: records the attempt and returns the provider URL to send the browser to
    /// and the cookie that binds the attempt to this browser.
    pub async fn begin(
        &self,
        db: &Db,
        request: LoginRequest,
    ) -> Result<(String, Cookie<'static>), SignInError> {
        let provider = self.provider(request.provider.as_deref())?;
        let return_to = same_site_path(request.return_to.as_deref())?;
        let account_type = match request.account.as_deref() {
            None | Some("developer") => AccountType::Developer,
            Some("client") => AccountType::Client,
            Some(other) => {
                return Err(SignInError::BadRequest(format!(
                    "account must be developer or client, not {other}"
                )));
            }
        };
        let client = self.client(provider).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        let browser = new_secret("wrb_");
        let now = Utc::now();
        // Attempts nobody came back from are of no use to anyone.
        sign_in_attempt::Entity::delete_many()
            .filter(sign_in_attempt::Column::ExpiresAt.lt(now))
            .exec(&db.conn)
            .await?;
        sign_in_attempt::ActiveModel {
            id: Set(Uuid::now_v7()),
            state_hash: Set(hash_secret(state.secret())),
            browser_hash: Set(hash_secret(&browser)),
            provider: Set(provider.config.name.clone()),
            pkce_verifier: Set(verifier.secret().clone()),
            nonce: Set(nonce.secret().clone()),
            return_to: Set(return_to),
            account_type: Set(account_type),
            created_at: Set(now),
            expires_at: Set(now + ATTEMPT_LIFETIME),
        }
        .insert(&db.conn)
        .await?;
        let cookie = Cookie::build((SIGN_IN_COOKIE, browser))
            .path("/auth")
            .http_only(true)
            .secure(self.policy.secure_cookie)
            // Lax: the provider's redirect back is a top-level GET, which carries it.
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(
                ATTEMPT_LIFETIME.num_seconds(),
            ))
            .build();
        Ok((url.to_string(), cookie))
    }

    /// Finishes a login: checks the attempt (once only, from the same browser), exchanges the
    /// code with the PKCE verifier, validates the ID token, and signs the person in.
    pub async fn finish(
        &self,
        db: &Db,
        headers: &HeaderMap,
        callback: CallbackRequest,
    ) -> Result<SignedIn, SignInError> {
        let state = callback
            .state
            .ok_or_else(|| SignInError::BadRequest("the callback has no state".to_owned()))?;
        let attempt = sign_in_attempt::Entity::find()
            .filter(sign_in_attempt::Column::StateHash.eq(hash_secret(&state)))
            .one(&db.conn)
            .await?
            .ok_or_else(|| {
                SignInError::BadRequest(
                    "this sign-in is unknown or was already used; sign in again".to_owned(),
                )
            })?;
        // One use only, even when two callbacks race: whoever deletes it owns it.
        let deleted = sign_in_attempt::Entity::delete_by_id(attempt.id)
            .exec(&db.conn)
            .await?;
        if deleted.rows_affected != 1 {
            return Err(SignInError::BadRequest(
                "this sign-in was already used; sign in again".to_owned(),
            ));
        }
        if attempt.expires_at <= Utc::now() {
            return Err(SignInError::BadRequest(
                "this sign-in took too long; sign in again".to_owned(),
            ));
        }
        let browser = CookieJar::from_headers(headers)
            .get(SIGN_IN_COOKIE)
            .map(|cookie| hash_secret(cookie.value()));
        if browser.as_deref() != Some(attempt.browser_hash.as_str()) {
            return Err(SignInError::BadRequest(
                "this sign-in was started in another browser; sign in again".to_owned(),
            ));
        }
        if let Some(error) = callback.error {
            let detail = callback.error_description.unwrap_or_default();
            return Err(SignInError::Refused(format!(
                "the provider refused the sign-in: {error} {detail}"
            )));
        }
        let code = callback
            .code
            .ok_or_else(|| SignInError::BadRequest("the callback has no code".to_owned()))?;
        let provider = self.provider(Some(&attempt.provider))?;
        let client = self.client(provider).await?;
        let exchange = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|err| {
                SignInError::Provider(format!("the provider has no token endpoint: {err}"))
            })?;
        let tokens = exchange
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|err| {
                tracing::info!(provider = %provider.config.name, error = %err, "code exchange failed");
                SignInError::BadRequest(
                    "the provider did not accept the sign-in code; sign in again".to_owned(),
                )
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| SignInError::Provider("the provider sent no ID token".to_owned()))?;
        let claims = id_token
            .claims(
                &client.id_token_verifier(),
                &Nonce::new(attempt.nonce.clone()),
            )
            .map_err(|err| {
                tracing::info!(provider = %provider.config.name, error = %err, "ID token refused");
                SignInError::BadRequest(format!("the ID token is not valid: {err}"))
            })?;
        let email = claims
            .email()
            .map(|email| email.as_str().to_owned())
            .ok_or_else(|| {
                SignInError::Refused("the provider did not share an e-mail address".to_owned())
            })?;
        if claims.email_verified() != Some(true) {
            return Err(SignInError::Refused(format!(
                "{email} is not verified at the provider; verify it there, then sign in again"
            )));
        }
        let name = claims
            .name()
            .and_then(|name| name.get(None))
            .map(|name| name.as_str().to_owned())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()))
            .unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
        let identity = Identity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email,
            name,
        };
        let person_id = find_or_create(db, &identity, attempt.account_type).await?;
        let session_secret =
            crate::rules::session::start(&db.conn, person_id, &self.policy).await?;
        Ok(SignedIn {
            session_secret,
            return_to: attempt.return_to,
            person_id,
        })
    }
}

/// Who the provider says signed in.
struct Identity {
    issuer: String,
    subject: String,
    email: String,
    name: String,
}

/// The person behind `identity`: found by issuer and subject, else by the verified e-mail (an
/// account made before sign-in was configured, or by an invitation's e-mail), else created.
async fn find_or_create(
    db: &Db,
    identity: &Identity,
    account_type: AccountType,
) -> Result<Uuid, SignInError> {
    // A write transaction from the start (IMMEDIATE on SQLite): one that reads first and then
    // writes fails at once when another connection committed in between.
    let txn = crate::rules::change::begin_write(db).await?;
    let now = Utc::now();
    let known = person_identity::Entity::find()
        .filter(person_identity::Column::Issuer.eq(&identity.issuer))
        .filter(person_identity::Column::Subject.eq(&identity.subject))
        .find_also_related(person::Entity)
        .one(&txn)
        .await?;
    let person_id = match known {
        Some((known, Some(person))) => {
            refuse_cancelled(&person)?;
            person_identity::ActiveModel {
                id: Set(known.id),
                email: Set(identity.email.clone()),
                last_sign_in_at: Set(now),
                ..Default::default()
            }
            .update(&txn)
            .await?;
            person.id
        }
        _ => {
            let email = crate::rules::person::normalize_email(&identity.email)?;
            let person = match crate::rules::person::find_by_email(&txn, &email).await? {
                Some(person) => {
                    refuse_cancelled(&person)?;
                    person
                }
                None => {
                    let name = crate::naming::clean_name(&identity.name, "a name")
                        .unwrap_or_else(|_| email.clone());
                    crate::rules::person::create(&txn, &email, &name, account_type).await?
                }
            };
            person_identity::ActiveModel {
                id: Set(Uuid::now_v7()),
                person_id: Set(person.id),
                issuer: Set(identity.issuer.clone()),
                subject: Set(identity.subject.clone()),
                email: Set(email),
                created_at: Set(now),
                last_sign_in_at: Set(now),
            }
            .insert(&txn)
            .await?;
            person.id
        }
    };
    txn.commit().await?;
    Ok(person_id)
}

fn refuse_cancelled(person: &person::Model) -> Result<(), SignInError> {
    match person.cancelled_at {
        Some(_) => Err(SignInError::Refused(
            "this account was cancelled".to_owned(),
        )),
        None => Ok(()),
    }
}

/// `return_to` as a path on this site: anything that could lead elsewhere (`//host`,
/// `/\host`, a scheme) is refused, so that the login cannot be used to redirect away.
fn same_site_path(return_to: Option<&str>) -> Result<String, SignInError> {
    let Some(path) = return_to.filter(|p| !p.is_empty()) else {
        return Ok(DEFAULT_RETURN_TO.to_owned());
    };
    let leads_away = !path.starts_with('/')
        || path.starts_with("//")
        || path.starts_with("/\\")
        || path.chars().any(|c| c.is_control());
    if leads_away {
        return Err(SignInError::BadRequest(
            "return_to must be a path on this site".to_owned(),
        ));
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_this_site() {
        assert_eq!(same_site_path(None).ok().as_deref(), Some("/graphql"));
        assert_eq!(
            same_site_path(Some("/graphql?x=1")).ok().as_deref(),
            Some("/graphql?x=1")
        );
        for away in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "/\nSet-Cookie: x",
        ] {
            assert!(same_site_path(Some(away)).is_err(), "{away:?}");
        }
    }
}
