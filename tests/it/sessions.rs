//! Browser sessions: the session cookie authenticates GraphQL requests and subscriptions, but
//! only requests a page of another site could not have forged (CSRF); sessions end at logout,
//! at their idle and absolute ends, and with the account; a subscription ends with its session.

use crate::common;

use crate::common::TestApp;
use crate::common::ws::{self, receive, send};
use chrono::{Duration, Utc};
use entity::browser_session;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const VIEWER: &str = "{ viewer { email } }";

/// A person signed in with a browser session: their e-mail and the session's cookie header.
async fn signed_in(app: &TestApp, email: &str) -> (String, String) {
    let mut world =
        warren::seed::world::World::new(&app.db.conn, warren::seed::world::Clock::now());
    let person = world
        .person("Sid", email, entity::enums::AccountType::Developer)
        .await
        .expect("person");
    let policy = warren::rules::session::SessionPolicy::for_public_url(&app.url(""));
    let secret = warren::rules::session::start(&app.db.conn, person, &policy)
        .await
        .map_err(|e| e.message())
        .expect("session");
    (
        email.to_owned(),
        format!("{}={secret}", warren::rules::session::SESSION_COOKIE),
    )
}

/// POSTs `body` to /graphql with the cookie, the content type and the extra headers given.
async fn post(
    app: &TestApp,
    cookie: &str,
    content_type: Option<&str>,
    headers: &[(&str, &str)],
    body: String,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("Cookie", cookie)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `{ viewer { email } }` as a page of this site asks it, with the cookie.
async fn viewer_as(app: &TestApp, cookie: &str) -> (u16, Value) {
    post(
        app,
        cookie,
        Some("application/json"),
        &[],
        json_body(VIEWER),
    )
    .await
}

fn json_body(query: &str) -> String {
    json!({ "query": query }).to_string()
}

/// JSON requests (what GraphiQL and the dashboard send) are signed in by the cookie.
async fn the_session_cookie_signs_json_requests_in(app: TestApp) {
    let (email, cookie) = signed_in(&app, "sid@example.com").await;
    let (status, body) = viewer_as(&app, &cookie).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["email"], email.as_str());
}

/// Every request a cross-site form or a simple fetch can send is refused when only the cookie
/// would authenticate it, mutations and queries alike; a header only scripts can set lets it
/// through.
async fn cookie_requests_without_a_preflight_are_refused(app: TestApp) {
    let (email, cookie) = signed_in(&app, "sid@example.com").await;
    let mutation = "mutation { createTeam(input: {name: \"Forged\"}) { team { id } } }";
    let form = format!(
        "query={}",
        mutation
            .replace(' ', "+")
            .replace('{', "%7B")
            .replace('}', "%7D")
    );
    let multipart = format!(
        "--b\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n--b--\r\n",
        json_body(mutation)
    );
    for (content_type, body) in [
        (Some("text/plain"), json_body(mutation)),
        (Some("text/plain;charset=UTF-8"), json_body(VIEWER)),
        (Some("application/x-www-form-urlencoded"), form),
        (Some("multipart/form-data; boundary=b"), multipart),
        (None, json_body(mutation)),
    ] {
        let (status, body) = post(&app, &cookie, content_type, &[], body).await;
        assert_eq!(status, 403, "{content_type:?}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{content_type:?}"
        );
    }
    let teams = entity::team::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("teams");
    assert!(teams.is_empty(), "a forged mutation ran: {teams:?}");
    // A GET query with the cookie alone is refused too; with the header it runs.
    let url = app.url(&format!(
        "/graphql?query={}",
        "%7B+viewer+%7B+email+%7D+%7D"
    ));
    let response = app
        .client
        .get(&url)
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 403);
    let response = app
        .client
        .get(&url)
        .header("Cookie", &cookie)
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .expect("GET");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["data"]["viewer"]["email"], email.as_str(), "{body}");
    // A mutation over GET never runs, header or not.
    let response = app
        .client
        .get(app.url("/graphql?query=mutation+%7B+cancelAccount(input:+%7B%7D)+%7B+cancelledPersonId+%7D+%7D"))
        .header("Cookie", &cookie)
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 405);
    // text/plain with the header is a script's request, not a forgery; but only JSON bodies
    // are read (README, "GraphQL over HTTP").
    let (status, body) = post(
        &app,
        &cookie,
        Some("text/plain"),
        &[("apollo-require-preflight", "true")],
        json_body(VIEWER),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let (status, body) = post(
        &app,
        &cookie,
        Some("application/json"),
        &[],
        json_body(VIEWER),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Logging out ends the session at once; the browser is told to forget the cookie. Another
/// site's page cannot log its visitors out.
async fn logout_ends_the_session(app: TestApp) {
    let (_, cookie) = signed_in(&app, "sid@example.com").await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let foreign = no_redirects
        .post(app.url("/auth/logout"))
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .send()
        .await
        .expect("logout");
    assert_eq!(foreign.status().as_u16(), 403);
    let (status, _) = viewer_as(&app, &cookie).await;
    assert_eq!(status, 200, "a foreign logout ended the session");

    let response = no_redirects
        .post(app.url("/auth/logout"))
        .header("Cookie", &cookie)
        .header("Origin", app.url(""))
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status().as_u16(), 303);
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("warren_session=;") && v.contains("Max-Age=0"));
    assert!(cleared, "the cookie is not cleared: {response:?}");
    let (status, body) = viewer_as(&app, &cookie).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

/// A session ends when unused for too long, and at its absolute end however active.
async fn sessions_expire(app: TestApp) {
    let (_, idle) = signed_in(&app, "idle@example.com").await;
    let (_, old) = signed_in(&app, "old@example.com").await;
    let sessions = browser_session::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("sessions");
    assert_eq!(sessions.len(), 2);
    let person_of = |email: &str| {
        let db = app.db.conn.clone();
        let email = email.to_owned();
        async move {
            entity::person::Entity::find()
                .filter(entity::person::Column::Email.eq(email))
                .one(&db)
                .await
                .expect("person")
                .expect("found")
                .id
        }
    };
    let idle_person = person_of("idle@example.com").await;
    for session in sessions {
        let mut changed: browser_session::ActiveModel = session.clone().into();
        if session.person_id == idle_person {
            changed.last_seen_at = Set(Utc::now() - Duration::hours(13));
        } else {
            changed.expires_at = Set(Utc::now() - Duration::seconds(1));
        }
        changed.update(&app.db.conn).await.expect("update");
    }
    for cookie in [idle, old] {
        let (status, body) = viewer_as(&app, &cookie).await;
        assert_eq!(status, 401, "{body}");
    }
}

/// Cancelling the account ends its sessions.
async fn cancelling_the_account_ends_its_sessions(app: TestApp) {
    let (_, cookie) = signed_in(&app, "sid@example.com").await;
    let (status, body) = post(
        &app,
        &cookie,
        Some("application/json"),
        &[],
        json_body("mutation { cancelAccount(input: {}) { cancelledPersonId } }"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let open = browser_session::Entity::find()
        .filter(browser_session::Column::RevokedAt.is_null())
        .all(&app.db.conn)
        .await
        .expect("sessions");
    assert!(open.is_empty(), "{open:?}");
    let (status, _) = viewer_as(&app, &cookie).await;
    assert_eq!(status, 401);
}

/// Logs the cookie's session out, as a page of this site does.
async fn log_out(app: &TestApp, cookie: &str) {
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .header("Cookie", cookie)
        .header("Origin", app.url(""))
        .send()
        .await
        .expect("logout");
    assert!(response.status().is_success() || response.status().is_redirection());
}

/// Subscriptions sign in with the cookie from this site's pages only; logging out ends them.
async fn subscriptions_use_the_cookie_from_this_site_only(app: TestApp) {
    let (_, cookie) = signed_in(&app, "sid@example.com").await;
    let mut foreign = ws::handshake_with_cookie(app.addr, &cookie, "https://evil.example").await;
    send(&mut foreign, json!({ "type": "connection_init" })).await;
    assert_eq!(receive(&mut foreign).await["closed"], 4403);

    let mut socket = ws::handshake_with_cookie(app.addr, &cookie, &app.url("")).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    let ack = receive(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    // Subscribing after the viewer's newest event closes the race between the subscribe
    // message and the mutation that follows it (the replay covers what commits meanwhile).
    let create_team = |name: &str| {
        json_body(&format!(
            "mutation {{ createTeam(input: {{name: \"{name}\"}}) {{ team {{ id }} }} }}"
        ))
    };
    let (status, body) = post(
        &app,
        &cookie,
        Some("application/json"),
        &[],
        create_team("Start"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, newest) = post(
        &app,
        &cookie,
        Some("application/json"),
        &[],
        json_body("{ events(last: 1) { edges { cursor } } }"),
    )
    .await;
    let cursor = newest["data"]["events"]["edges"][0]["cursor"].clone();
    assert!(cursor.is_string(), "{newest}");
    ws::subscribe(&mut socket, "1", json!({ "after": cursor })).await;
    let (status, body) = post(
        &app,
        &cookie,
        Some("application/json"),
        &[],
        create_team("Live"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let event = ws::next_event(&mut socket).await;
    assert_eq!(event["type"], "TEAM_CREATED", "{event}");
    assert!(
        event["summary"]
            .as_str()
            .is_some_and(|s| s.contains("Live")),
        "{event}"
    );

    log_out(&app, &cookie).await;
    let ended = receive(&mut socket).await;
    assert_eq!(
        ended["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{ended}"
    );
    assert_eq!(receive(&mut socket).await["type"], "complete");
}

/// The invitation form accepts only when posted from this site's pages.
async fn a_forged_invitation_form_is_refused(app: TestApp) {
    let demo = common::demo::Demo::seed(&app).await;
    let link = common::demo::invite_to_rocket(&app, &demo.ana, "sid@example.com").await;
    let (_, token) = link.split_once("token=").expect("token");
    let (_, cookie) = signed_in(&app, "sid@example.com").await;
    let forged = app
        .client
        .post(app.url("/invitations/accept"))
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .form(&[("token", token)])
        .send()
        .await
        .expect("POST");
    assert_eq!(forged.status().as_u16(), 403);
    let invitations = entity::invitation::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("invitations");
    assert!(
        invitations
            .iter()
            .all(|i| i.state == entity::enums::InvitationState::Pending),
        "{invitations:?}"
    );
}

/// A subscription started on a connection whose session has ended since is refused.
async fn a_connection_outliving_its_session_starts_nothing(app: TestApp) {
    let (_, cookie) = signed_in(&app, "sid@example.com").await;
    let mut socket = ws::handshake_with_cookie(app.addr, &cookie, &app.url("")).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    log_out(&app, &cookie).await;
    ws::subscribe(&mut socket, "late", Value::Null).await;
    let refused = receive(&mut socket).await;
    let error = if refused["type"] == "error" {
        &refused["payload"][0]
    } else {
        &refused["payload"]["errors"][0]
    };
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{refused}");
}

/// Without a configured provider, `/auth/login` says so.
async fn login_without_a_provider_says_so(app: TestApp) {
    let response = app
        .client
        .get(app.url("/auth/login"))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status().as_u16(), 404);
    let page = response.text().await.expect("page");
    assert!(page.contains("sign-in is not configured"), "{page}");
}

on_both_databases!(
    the_session_cookie_signs_json_requests_in,
    cookie_requests_without_a_preflight_are_refused,
    logout_ends_the_session,
    sessions_expire,
    cancelling_the_account_ends_its_sessions,
    subscriptions_use_the_cookie_from_this_site_only,
    login_without_a_provider_says_so,
    a_forged_invitation_form_is_refused,
    a_connection_outliving_its_session_starts_nothing,
);
