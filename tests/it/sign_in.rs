//! Signing in with OpenID Connect against a real provider: `oidc-provider` from the npm registry
//! (tests/oidc-provider), which enforces PKCE and refuses bad or replayed codes. A cookie-keeping
//! HTTP client plays the browser, through warren's login redirect, the provider's development
//! login and consent pages, the callback, GraphQL as the signed-in person, and logout.

use crate::common;

use std::process::Stdio;
use std::time::Duration;

use crate::common::TestApp;
use crate::common::node;
use entity::sign_in_attempt;
use reqwest::{StatusCode, Url};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A provider process; killed when dropped.
struct Provider {
    issuer: String,
    _process: Child,
}

impl Provider {
    /// Starts the provider with warren at `warren` as its one client.
    async fn start(warren: &str) -> Provider {
        node::install("oidc-provider");
        let mut process = Command::new("node")
            .arg("provider.mjs")
            .current_dir(node::package_dir("oidc-provider"))
            .env("OIDC_PORT", "0")
            .env("OIDC_CLIENT_ID", "warren")
            .env("OIDC_CLIENT_SECRET", "test-secret")
            .env("OIDC_REDIRECT_URIS", format!("{warren}/auth/callback"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the provider");
        let mut stdout = BufReader::new(process.stdout.take().expect("stdout"));
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(60), stdout.read_line(&mut line))
            .await
            .expect("the provider starts within a minute")
            .expect("read its first line");
        // It may write more; a closed pipe would kill it.
        tokio::spawn(async move {
            let mut rest = String::new();
            while stdout.read_line(&mut rest).await.is_ok_and(|n| n > 0) {
                rest.clear();
            }
        });
        let started: Value = serde_json::from_str(&line).expect("{\"issuer\": ...}");
        Provider {
            issuer: started["issuer"].as_str().expect("issuer").to_owned(),
            _process: process,
        }
    }
}

/// warren with the provider configured, on `backend`. `issuer` names the provider as warren is
/// told it (the wrong-issuer case tells it wrong).
async fn signing_in_app(
    backend: common::Backend,
    issuer: Option<&str>,
) -> Option<(TestApp, Provider)> {
    if !node::node_or_skip("sign-in", &["WARREN_TEST_REQUIRE_NODE"]) {
        return None;
    }
    let mut provider = None;
    let app = TestApp::spawn_configured(backend, |addr| {
        let provider = &mut provider;
        let issuer = issuer.map(str::to_owned);
        async move {
            let public_url = format!("http://{addr}");
            let started = Provider::start(&public_url).await;
            let mut settings = warren::http::Settings::new(&public_url);
            settings
                .providers
                .push(warren::http::sign_in::ProviderConfig {
                    name: "test".to_owned(),
                    issuer: issuer
                        .map(|wrong| started.issuer.replace("localhost", &wrong))
                        .unwrap_or_else(|| started.issuer.clone()),
                    client_id: "warren".to_owned(),
                    client_secret: "test-secret".to_owned(),
                });
            *provider = Some(started);
            settings
        }
    })
    .await?;
    Some((app, provider.expect("the provider started")))
}

/// A browser: keeps cookies, follows no redirect by itself.
struct Browser {
    client: reqwest::Client,
    warren: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            warren: app.url(""),
        }
    }

    /// Starts a login at warren (`query` added to /auth/login) and goes through the provider's
    /// pages as `login`, up to the redirect back to warren's callback, whose URL it returns.
    async fn to_callback(&self, query: &str, login: &str) -> String {
        self.to_callback_from(&format!("{}/auth/login{query}", self.warren), login)
            .await
    }

    /// `to_callback` from any page of warren's that leads to sign-in.
    async fn to_callback_from(&self, start: &str, login: &str) -> String {
        let mut url = Url::parse(start).expect("URL");
        let mut response = self.client.get(url.clone()).send().await.expect("GET");
        for _ in 0..20 {
            if response.status().is_redirection() {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .expect("a Location");
                url = url.join(location).expect("a URL");
                if url
                    .as_str()
                    .starts_with(&format!("{}/auth/callback", self.warren))
                {
                    return url.to_string();
                }
                response = self.client.get(url.clone()).send().await.expect("GET");
                continue;
            }
            let status = response.status();
            let page = response.text().await.expect("page");
            assert_eq!(status, StatusCode::OK, "{page}");
            // The provider's login or consent form.
            let action = between(&page, "action=\"", "\"").expect("a form");
            let form: Vec<(&str, &str)> = if page.contains("name=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            url = url.join(action).expect("a URL");
            response = self
                .client
                .post(url.clone())
                .form(&form)
                .send()
                .await
                .expect("POST");
        }
        panic!("no way back to warren from the provider");
    }

    /// Signs in all the way: the callback's answer.
    async fn sign_in(&self, query: &str, login: &str) -> reqwest::Response {
        let callback = self.to_callback(query, login).await;
        self.client.get(callback).send().await.expect("callback")
    }

    async fn graphql(&self, query: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/graphql", self.warren))
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.expect("JSON"))
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

const VIEWER: &str =
    "{ viewer { id email name accountType invitations { nodes { email state } } } }";

/// The whole flow: a first sign-in creates the person (who finds the invitation waiting for
/// their e-mail), a later one with a changed e-mail finds the same person, logout ends it.
async fn signing_in_creates_the_person_then_finds_them_again(backend: common::Backend) {
    let Some((app, _provider)) = signing_in_app(backend, None).await else {
        return;
    };
    let demo = common::demo::Demo::seed(&app).await;
    common::demo::invite_to_rocket(&app, &demo.ana, "alice@example.com").await;

    let browser = Browser::new(&app);
    let callback = browser
        .to_callback("?return_to=/graphql%3Fwelcome", "alice")
        .await;
    let response = browser
        .client
        .get(&callback)
        .send()
        .await
        .expect("callback");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/graphql?welcome");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("warren_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let (status, body) = browser.graphql(VIEWER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let viewer = &body["data"]["viewer"];
    assert_eq!(viewer["email"], "alice@example.com", "{body}");
    assert_eq!(viewer["name"], "Alice");
    assert_eq!(viewer["accountType"], "DEVELOPER");
    assert_eq!(
        viewer["invitations"]["nodes"][0]["state"], "PENDING",
        "{body}"
    );

    // The callback works once only.
    let replayed = browser.client.get(&callback).send().await.expect("replay");
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);

    // Alice's e-mail changed at the provider: same subject, same person.
    let again = Browser::new(&app);
    let response = again.sign_in("", "alice:alice.new@example.com").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = again.graphql(VIEWER).await;
    assert_eq!(body["data"]["viewer"]["id"], viewer["id"], "{body}");

    // Logout ends the session.
    let response = browser
        .client
        .post(format!("{}/auth/logout", browser.warren))
        .header("Origin", &browser.warren)
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, body) = browser.graphql(VIEWER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
}

/// The link of an invitation mail, opened by someone without an account: sign-in (which creates
/// the account), back to the invitation, one click, and they are in the team.
async fn an_invitation_link_signs_in_and_accepts(backend: common::Backend) {
    let Some((app, _provider)) = signing_in_app(backend, None).await else {
        return;
    };
    let demo = common::demo::Demo::seed(&app).await;
    let link = common::demo::invite_to_rocket(&app, &demo.ana, "gina@example.com").await;

    let browser = Browser::new(&app);
    let callback = browser.to_callback_from(&link, "gina").await;
    let response = browser
        .client
        .get(&callback)
        .send()
        .await
        .expect("callback");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(back.starts_with("/invitations/accept?token="), "{back}");
    let page = browser
        .client
        .get(format!("{}{back}", browser.warren))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("page");
    assert!(page.contains("gina@example.com"), "{page}");
    let token = between(&page, "name=\"token\" value=\"", "\"").expect("the form's token");
    let response = browser
        .client
        .post(format!("{}/invitations/accept", browser.warren))
        .header("Origin", &browser.warren)
        .form(&[("token", token)])
        .send()
        .await
        .expect("POST");
    let status = response.status();
    let page = response.text().await.expect("page");
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Invitation accepted"), "{page}");
    let (_, body) = browser
        .graphql("{ viewer { teams { nodes { name } } } }")
        .await;
    assert_eq!(
        body["data"]["viewer"]["teams"]["nodes"][0]["name"], "Rocket",
        "{body}"
    );
}

/// A first sign-in may ask for a client account.
async fn a_first_sign_in_may_make_a_client(backend: common::Backend) {
    let Some((app, _provider)) = signing_in_app(backend, None).await else {
        return;
    };
    let browser = Browser::new(&app);
    let response = browser.sign_in("?account=client", "carol").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = browser.graphql(VIEWER).await;
    assert_eq!(body["data"]["viewer"]["accountType"], "CLIENT", "{body}");
}

/// What must not sign anyone in: a wrong state, a callback in another browser, a nonce that
/// does not match, a code used before, an unverified e-mail, a return address elsewhere.
async fn sign_in_refuses_what_it_must(backend: common::Backend) {
    let Some((app, _provider)) = signing_in_app(backend, None).await else {
        return;
    };
    let refused = |response: reqwest::Response, status: StatusCode| async move {
        assert_eq!(response.status(), status);
        let cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        assert!(
            !cookies.iter().any(|c| c.starts_with("warren_session=wrs_")),
            "{cookies:?}"
        );
        response.text().await.expect("page")
    };

    // A state that was never issued.
    let browser = Browser::new(&app);
    let callback = browser.to_callback("", "dave").await;
    let (base, _) = callback.split_once("state=").expect("a state");
    let forged = format!("{base}state=forged");
    let page = refused(
        browser.client.get(&forged).send().await.expect("GET"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(page.contains("unknown"), "{page}");

    // The right callback, but in another browser (no sign-in cookie).
    let elsewhere = Browser::new(&app);
    let page = refused(
        elsewhere.client.get(&callback).send().await.expect("GET"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(page.contains("another browser"), "{page}");

    // The nonce warren expects is not the one in the ID token.
    let browser = Browser::new(&app);
    let callback = browser.to_callback("", "erin").await;
    let attempts = sign_in_attempt::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("attempts");
    for attempt in attempts {
        let mut changed: sign_in_attempt::ActiveModel = attempt.into();
        changed.nonce = Set("not-the-nonce-sent".to_owned());
        changed.update(&app.db.conn).await.expect("update");
    }
    let page = refused(
        browser.client.get(&callback).send().await.expect("GET"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(page.contains("ID token is not valid"), "{page}");

    // A code that was already used, with a fresh state: the provider refuses it.
    let browser = Browser::new(&app);
    let used = browser.to_callback("", "frank").await;
    let response = browser.client.get(&used).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let fresh = browser.to_callback("", "frank").await;
    let used_code =
        between(&used, "code=", "&").unwrap_or_else(|| used.split("code=").nth(1).expect("a code"));
    let (_, fresh_state) = fresh.split_once("state=").expect("a state");
    let fresh_state = fresh_state.split('&').next().expect("state");
    let (base, _) = fresh.split_once('?').expect("a query");
    let replay = format!("{base}?code={used_code}&state={fresh_state}");
    let page = refused(
        browser.client.get(&replay).send().await.expect("GET"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(page.contains("did not accept"), "{page}");

    // An e-mail the provider has not verified.
    let browser = Browser::new(&app);
    let page = refused(
        browser.sign_in("", "unverified").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(page.contains("not verified"), "{page}");

    // A return address on another site.
    let response = Browser::new(&app)
        .client
        .get(app.url("/auth/login?return_to=https://evil.example/"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Nobody was created by any of it, but frank.
    let people = entity::person::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("people");
    let emails: Vec<&str> = people.iter().map(|p| p.email.as_str()).collect();
    assert_eq!(emails, ["frank@example.com"], "{emails:?}");
}

/// A provider whose discovery document names another issuer than the one configured is not
/// trusted.
async fn a_provider_with_another_issuer_is_not_trusted(backend: common::Backend) {
    let Some((app, _provider)) = signing_in_app(backend, Some("127.0.0.1")).await else {
        return;
    };
    let response = Browser::new(&app)
        .client
        .get(app.url("/auth/login"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
}

on_both_backends!(
    signing_in_creates_the_person_then_finds_them_again,
    an_invitation_link_signs_in_and_accepts,
    a_first_sign_in_may_make_a_client,
    sign_in_refuses_what_it_must,
    a_provider_with_another_issuer_is_not_trusted,
);
