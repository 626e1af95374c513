//! What a person can make the server store is bounded (README, "Object limits"): each limit lets
//! the last object in and refuses the next with BAD_USER_INPUT naming it, and nothing of the
//! refused mutation is written. On a server with small limits, on both databases.

use crate::common;

use crate::common::TestApp;
use crate::common::demo::{Demo, app_id, team_id};
use crate::common::keys::{ed25519_key, openssh_key};
use serde_json::{Value, json};

async fn small_limits(backend: common::Backend) -> Option<TestApp> {
    TestApp::spawn_configured(backend, |addr| async move {
        let mut settings = warren::http::Settings::new(&format!("http://{addr}"));
        settings.quotas = warren::rules::quotas::Quotas {
            ssh_keys: 2,
            tokens: 3,
            event_filters: 1,
            environments: 3,
            pending_invitations: 2,
            invitations_per_hour: 4,
            technical_contacts: 1,
            invitation_apps: 1,
            mails_per_address: 2,
        };
        settings
    })
    .await
}

/// Asserts that `body` (a mutation's answer) was refused for `limit`.
fn refused_for(body: &Value, limit: &str, max: u64) {
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(error["extensions"]["limit"], limit, "{body}");
    assert_eq!(error["extensions"]["max"], max, "{body}");
}

/// Runs mutation `name` with `input` as `token`; its whole answer.
async fn run(app: &TestApp, token: &str, name: &str, input: Value) -> Value {
    app.mutate(token, name, input, "clientMutationId").await.0
}

fn ok(body: &Value) {
    assert!(body.get("errors").is_none(), "{body}");
}

/// Two SSH keys, not three; an RSA key longer than OpenSSH's 16,384 bits is refused as input.
async fn ssh_keys_per_person(backend: common::Backend) {
    let Some(app) = small_limits(backend).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    // Bo has one in the demo world ("desktop"): one more fits.
    for n in 0..1 {
        let body = run(
            &app,
            &demo.bo,
            "addSshKey",
            json!({ "title": format!("key {n}"), "publicKey": ed25519_key(n) }),
        )
        .await;
        ok(&body);
    }
    let body = run(
        &app,
        &demo.bo,
        "addSshKey",
        json!({ "title": "one more", "publicKey": ed25519_key(9) }),
    )
    .await;
    refused_for(&body, "sshKeys", 2);
    let keys = app
        .query(&demo.bo, "{ viewer { sshKeys { title } } }", json!({}))
        .await;
    assert_eq!(keys["viewer"]["sshKeys"].as_array().map(Vec::len), Some(2));

    // 16,392 bits: refused whatever the count.
    let mut modulus = vec![0xff_u8; 16_384 / 8 + 1];
    modulus.insert(0, 0);
    let huge = openssh_key("ssh-rsa", &[&[1, 0, 1], &modulus]);
    let body = run(
        &app,
        &demo.eli,
        "addSshKey",
        json!({ "title": "huge", "publicKey": huge }),
    )
    .await;
    assert_eq!(common::error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("16384")),
        "{body}"
    );
}

/// Tokens that still work count; a revoked one makes room again.
async fn tokens_per_person(backend: common::Backend) {
    let Some(app) = small_limits(backend).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    // Fay holds one token already (the fixture's).
    let mut created = Vec::new();
    for n in 0..2 {
        let (body, _) = app
            .mutate(
                &demo.fay,
                "createPersonalAccessToken",
                json!({ "name": format!("script {n}"), "scope": "READ" }),
                "personalAccessToken { id }",
            )
            .await;
        ok(&body);
        created
            .push(body["data"]["createPersonalAccessToken"]["personalAccessToken"]["id"].clone());
    }
    let body = run(
        &app,
        &demo.fay,
        "createPersonalAccessToken",
        json!({ "name": "one more", "scope": "READ" }),
    )
    .await;
    refused_for(&body, "tokens", 3);
    ok(&run(
        &app,
        &demo.fay,
        "revokePersonalAccessToken",
        json!({ "personalAccessTokenId": created[0] }),
    )
    .await);
    ok(&run(
        &app,
        &demo.fay,
        "createPersonalAccessToken",
        json!({ "name": "one more", "scope": "READ" }),
    )
    .await);
}

/// Environments per app, and saved event filters per person.
async fn environments_per_app_and_filters_per_person(backend: common::Backend) {
    let Some(app) = small_limits(backend).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    let shop = app_id(&app, "acme-shop").await;
    let count = || async {
        app.query(
            &demo.ana,
            "query($id: ID!) { node(id: $id) { ... on App { environments { name } } } }",
            json!({ "id": shop }),
        )
        .await["node"]["environments"]
            .as_array()
            .map_or(0, Vec::len) as u64
    };
    let mut n = 0;
    while count().await < 3 {
        ok(&run(
            &app,
            &demo.ana,
            "createEnvironment",
            json!({ "appId": shop, "name": format!("env-{n}") }),
        )
        .await);
        n += 1;
    }
    let body = run(
        &app,
        &demo.ana,
        "createEnvironment",
        json!({ "appId": shop, "name": "one-more" }),
    )
    .await;
    refused_for(&body, "environments", 3);
    assert_eq!(count().await, 3);

    ok(&run(
        &app,
        &demo.ana,
        "createEventFilter",
        json!({ "name": "billing", "filter": { "categories": ["BILLING"] } }),
    )
    .await);
    let body = run(
        &app,
        &demo.ana,
        "createEventFilter",
        json!({ "name": "teams", "filter": { "categories": ["COLLABORATION"] } }),
    )
    .await;
    refused_for(&body, "eventFilters", 1);
}

/// Pending invitations per object; and inviting and revoking in a loop stops at the hourly
/// budget (revoked invitations count), so no address can be mailed over and over.
async fn invitations_per_object_and_per_hour(backend: common::Backend) {
    let Some(app) = small_limits(backend).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    let invite = |email: &'static str| {
        let rocket = rocket.clone();
        let app = &app;
        let token = demo.chen.clone();
        async move {
            app.mutate(
                &token,
                "inviteToTeam",
                json!({ "teamId": rocket, "email": email, "role": "LIMITED" }),
                "invitation { id }",
            )
            .await
            .0
        }
    };
    let revoke = |body: Value| {
        let token = demo.chen.clone();
        let app = &app;
        async move {
            let id = body["data"]["inviteToTeam"]["invitation"]["id"].clone();
            ok(&run(
                app,
                &token,
                "revokeInvitation",
                json!({ "invitationId": id }),
            )
            .await);
        }
    };
    // Rocket has one pending invitation in the demo world (Gus's, from Ana): one more fits.
    let first = invite("one@example.com").await;
    ok(&first);
    refused_for(&invite("two@example.com").await, "pendingInvitations", 2);
    revoke(first).await;
    // Chen sent one; revoking makes room on Rocket, but not in Chen's hour.
    let mut sent = 1;
    loop {
        let body = invite("loop@example.com").await;
        if body.get("errors").is_some() {
            refused_for(&body, "invitationsPerHour", 4);
            break;
        }
        sent += 1;
        assert!(sent <= 4, "more than four invitations in an hour");
        revoke(body).await;
    }
    assert_eq!(sent, 4);
}

/// Technical contacts per app and apps per invitation: the lists `App.technicalContacts` and
/// `Invitation.apps` are costed at these limits, so the write path must keep to them.
async fn technical_contacts_and_apps_per_invitation(backend: common::Backend) {
    let Some(app) = small_limits(backend).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    let shop = app_id(&app, "acme-shop").await;
    let blog = app_id(&app, "acme-blog").await;
    let (ana, bo) = (
        common::demo::person_id(&app, "ana@demo.example").await,
        common::demo::person_id(&app, "bo@demo.example").await,
    );
    let contacts = |people: Value| {
        run(
            &app,
            &demo.ana,
            "setTechnicalContacts",
            json!({ "appId": shop, "personIds": people }),
        )
    };
    refused_for(&contacts(json!([bo, ana])).await, "technicalContacts", 1);
    ok(&contacts(json!([bo])).await);
    let listed = app
        .query(
            &demo.ana,
            "query($id: ID!) { node(id: $id) { ... on App { technicalContacts { name } } } }",
            json!({ "id": shop }),
        )
        .await;
    assert_eq!(
        listed["node"]["technicalContacts"],
        json!([{ "name": "Bo Berg" }])
    );

    let rocket = team_id(&app, "Rocket").await;
    let body = run(
        &app,
        &demo.chen,
        "inviteToTeam",
        json!({
            "teamId": rocket,
            "email": "new@example.com",
            "role": "LIMITED",
            "appIds": [shop, blog],
        }),
    )
    .await;
    refused_for(&body, "invitationApps", 1);
}

/// An address is mailed at most twice an hour here, whoever invites it: the third invitation
/// stands, and its link is the inviter's to share, but no third mail is queued.
async fn an_address_is_mailed_a_few_times_an_hour(backend: common::Backend) {
    let Some(app) = small_limits(backend).await else {
        return;
    };
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    let nebula = team_id(&app, "Nebula").await;
    let invite = |token: String, team: String| {
        let app = &app;
        async move {
            run(
                app,
                &token,
                "inviteToTeam",
                json!({ "teamId": team, "email": "target@example.com", "role": "LIMITED" }),
            )
            .await
        }
    };
    ok(&invite(demo.chen.clone(), rocket).await);
    ok(&invite(demo.chen.clone(), nebula).await);
    // A third invitation, from someone else: it stands, with its link, but is not mailed.
    let card = common::demo::payment_method_id(&app, "Ana's card").await;
    let third = app
        .mutate(
            &demo.ana,
            "inviteToPaymentMethod",
            json!({ "paymentMethodId": card, "email": "target@example.com" }),
            "invitation { id } acceptUrl",
        )
        .await
        .0;
    ok(&third);
    assert!(
        third["data"]["inviteToPaymentMethod"]["acceptUrl"].is_string(),
        "{third}"
    );
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let mails = entity::mail_outbox::Entity::find()
        .filter(entity::mail_outbox::Column::Recipient.eq("target@example.com"))
        .count(&app.db.conn)
        .await
        .expect("count");
    assert_eq!(mails, 2);
}

on_both_backends!(
    an_address_is_mailed_a_few_times_an_hour,
    technical_contacts_and_apps_per_invitation,
    ssh_keys_per_person,
    tokens_per_person,
    environments_per_app_and_filters_per_person,
    invitations_per_object_and_per_hour,
);
