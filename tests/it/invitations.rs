//! Invitations, all four kinds, through their whole life: sent, accepted by the invitee or the
//! link's holder, declined, revoked, expired; and refused when answered twice, too late, by the
//! wrong person, or after the inviter lost the right to offer them.

use crate::common::TestApp;
use crate::common::demo::{Demo, app_id, payment_method_id, person_id, team_id};
use entity::enums::{AccountType, TokenScope};
use serde_json::{Value, json};

async fn sign_up(app: &TestApp, name: &str, email: &str, account: AccountType) -> String {
    let person = warren::rules::person::create(&app.db.conn, email, name, account)
        .await
        .map_err(|e| e.message())
        .expect("person");
    warren::rules::auth::create_token(&app.db.conn, person.id, "test", TokenScope::Write, None)
        .await
        .map_err(|e| e.message())
        .expect("token")
        .secret
}

async fn invite(app: &TestApp, token: &str, mutation: &str, input: Value) -> (String, String) {
    let (body, code) = app
        .mutate(token, mutation, input, "invitation { id } acceptUrl")
        .await;
    assert_eq!(code, None, "{body}");
    let data = &body["data"][mutation];
    let url = data["acceptUrl"].as_str().expect("acceptUrl").to_owned();
    let token = url
        .split("token=")
        .nth(1)
        .expect("token in the link")
        .to_owned();
    (
        data["invitation"]["id"].as_str().expect("id").to_owned(),
        token,
    )
}

async fn pending_invitation_id(app: &TestApp, token: &str) -> String {
    let data = app
        .query(
            token,
            "{ viewer { invitations(state: PENDING) { nodes { id } } } }",
            json!({}),
        )
        .await;
    data["viewer"]["invitations"]["nodes"][0]["id"]
        .as_str()
        .expect("a pending invitation")
        .to_owned()
}

async fn a_team_invitation_is_accepted_once_by_its_invitee(app: TestApp) {
    let demo = Demo::seed(&app).await;
    // The demo has Ana's invitation for gus@demo.example to Rocket (LIMITED, acme-shop).
    let gus = sign_up(&app, "Gus Gray", "gus@demo.example", AccountType::Developer).await;
    let id = pending_invitation_id(&app, &gus).await;
    assert_eq!(
        app.mutate(
            &demo.fay,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("NOT_FOUND"),
        "someone else"
    );
    assert_eq!(
        app.mutate(
            &demo.ana,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("FORBIDDEN"),
        "its inviter"
    );
    let (body, code) = app
        .mutate(
            &gus,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "invitation { state }",
        )
        .await;
    assert_eq!(
        (
            code,
            body["data"]["acceptInvitation"]["invitation"]["state"].clone()
        ),
        (None, json!("ACCEPTED"))
    );
    let view = app.query(&gus, "{ viewer { teams { edges { role node { name } } } apps { edges { node { name } team { name } } } } }", json!({})).await;
    assert_eq!(
        view["viewer"]["teams"]["edges"],
        json!([{ "role": "LIMITED", "node": { "name": "Rocket" } }])
    );
    assert_eq!(
        view["viewer"]["apps"]["edges"],
        json!([{ "node": { "name": "acme-shop" }, "team": { "name": "Rocket" } }])
    );
    let (_, code) = app
        .mutate(
            &gus,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId",
        )
        .await;
    assert_eq!(code.as_deref(), Some("CONFLICT"), "twice");
    let events = app
        .query(
            &demo.ana,
            "{ events(last: 1) { nodes { type summary } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["events"]["nodes"][0],
        json!({ "type": "MEMBER_JOINED", "summary": "Gus Gray joined team Rocket as LIMITED" })
    );
}

async fn the_holder_of_the_link_may_accept(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    assert_eq!(
        app.mutate(
            &demo.bo,
            "inviteToTeam",
            json!({ "teamId": rocket, "email": "x@demo.example", "role": "LIMITED" }),
            "acceptUrl"
        )
        .await
        .1
        .as_deref(),
        Some("FORBIDDEN")
    );
    let (_, token) = invite(
        &app,
        &demo.ana,
        "inviteToTeam",
        json!({ "teamId": rocket, "email": "someone@else.example", "role": "UNLIMITED" }),
    )
    .await;
    let events = app
        .query(
            &demo.ana,
            "{ events(last: 1) { nodes { summary payload } } }",
            json!({}),
        )
        .await;
    assert!(
        !events.to_string().contains(&token),
        "the secret never appears in events"
    );
    let preview = app
        .query(
            &demo.eli,
            "query($t: String!) { invitation(token: $t) { kind role targetName } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        preview["invitation"],
        json!({ "kind": "TEAM", "role": "UNLIMITED", "targetName": "Rocket" })
    );
    assert_eq!(
        app.mutate(
            &demo.eli,
            "acceptInvitation",
            json!({ "token": token }),
            "clientMutationId"
        )
        .await
        .1,
        None
    );
    let data = app
        .query(
            &demo.eli,
            "query($id: ID!) { node(id: $id) { ... on Team { viewerRole } } }",
            json!({ "id": rocket }),
        )
        .await;
    assert_eq!(data["node"]["viewerRole"], "UNLIMITED");
    assert_eq!(
        app.mutate(
            &demo.eli,
            "acceptInvitation",
            json!({ "token": token, "invitationId": rocket }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("BAD_USER_INPUT")
    );
}

async fn declined_revoked_and_expired_invitations_cannot_be_accepted(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    let ivan = sign_up(&app, "Ivan", "ivan@demo.example", AccountType::Developer).await;
    let (id, token) = invite(
        &app,
        &demo.ana,
        "inviteToTeam",
        json!({ "teamId": rocket, "email": "ivan@demo.example", "role": "LIMITED" }),
    )
    .await;
    assert_eq!(
        app.mutate(
            &demo.ana,
            "inviteToTeam",
            json!({ "teamId": rocket, "email": "IVAN@demo.example", "role": "LIMITED" }),
            "acceptUrl"
        )
        .await
        .1
        .as_deref(),
        Some("CONFLICT"),
        "one pending at a time"
    );
    assert_eq!(
        app.mutate(
            &demo.bo,
            "revokeInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutate(
            &demo.chen,
            "revokeInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1,
        None,
        "any UNLIMITED member"
    );
    let (body, code) = app
        .mutate(
            &ivan,
            "acceptInvitation",
            json!({ "token": token }),
            "clientMutationId",
        )
        .await;
    assert_eq!(code.as_deref(), Some("CONFLICT"), "{body}");

    let (id, _) = invite(
        &app,
        &demo.ana,
        "inviteToTeam",
        json!({ "teamId": rocket, "email": "ivan@demo.example", "role": "LIMITED" }),
    )
    .await;
    assert_eq!(
        app.mutate(
            &ivan,
            "declineInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1,
        None
    );
    assert_eq!(
        app.mutate(
            &ivan,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("CONFLICT")
    );

    let (id, _) = invite(&app, &demo.ana, "inviteToTeam", json!({ "teamId": rocket, "email": "ivan@demo.example", "role": "LIMITED", "expiresInDays": 1 })).await;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let (_, uuid) = warren::api::relay::decode_global_id(&id).expect("id");
    entity::invitation::ActiveModel {
        id: Set(uuid),
        expires_at: Set(chrono::Utc::now() - chrono::Duration::minutes(1)),
        ..Default::default()
    }
    .update(&app.db.conn)
    .await
    .expect("backdate");
    assert_eq!(
        app.mutate(
            &ivan,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("CONFLICT"),
        "expired"
    );
    let expired = warren::rules::invitation::expire_due(&app.db)
        .await
        .map_err(|e| e.message())
        .expect("expire");
    assert!(expired >= 1);
    let events = app
        .query(
            &demo.ana,
            "{ events(last: 1) { nodes { type actor { name } actorName } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["events"]["nodes"][0],
        json!({ "type": "INVITATION_EXPIRED", "actor": null, "actorName": null })
    );
    assert_eq!(app.mutate(&demo.ana, "inviteToTeam", json!({ "teamId": rocket, "email": "ivan@demo.example", "role": "LIMITED", "expiresInDays": 91 }), "acceptUrl").await.1.as_deref(), Some("BAD_USER_INPUT"));
}

async fn an_invitation_fails_once_its_inviter_lost_the_right(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, ana) = (
        team_id(&app, "Rocket").await,
        person_id(&app, "ana@demo.example").await,
    );
    let yuri = sign_up(&app, "Yuri", "yuri@demo.example", AccountType::Developer).await;
    let (id, _) = invite(
        &app,
        &demo.ana,
        "inviteToTeam",
        json!({ "teamId": rocket, "email": "yuri@demo.example", "role": "LIMITED" }),
    )
    .await;
    assert_eq!(
        app.mutate(
            &demo.chen,
            "changeTeamMemberRole",
            json!({ "teamId": rocket, "personId": ana, "role": "LIMITED" }),
            "role"
        )
        .await
        .1,
        None
    );
    assert_eq!(
        app.mutate(
            &yuri,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("CONFLICT")
    );
    let data = app
        .query(
            &yuri,
            "{ viewer { teams { totalCount } invitations(state: PENDING) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"],
        json!({ "teams": { "totalCount": 0 }, "invitations": { "totalCount": 1 } }),
        "nothing changed"
    );
}

async fn app_and_payment_method_invitations_connect_directly(app: TestApp) {
    let demo = Demo::seed(&app).await;
    // The demo has Ana's APP invitation for hana@ (side-project) and Dana's for ivy@ (Acme).
    let hana = sign_up(&app, "Hana", "hana@demo.example", AccountType::Developer).await;
    let id = pending_invitation_id(&app, &hana).await;
    assert_eq!(
        app.mutate(
            &hana,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1,
        None
    );
    let data = app
        .query(
            &hana,
            "{ viewer { apps { edges { team { name } node { name viewerAccess { full } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"]["apps"]["edges"],
        json!([{ "team": null, "node": { "name": "side-project", "viewerAccess": { "full": true } } }])
    );

    let ivy = sign_up(&app, "Ivy", "ivy@demo.example", AccountType::Client).await;
    let id = pending_invitation_id(&app, &ivy).await;
    assert_eq!(
        app.mutate(
            &ivy,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId"
        )
        .await
        .1,
        None
    );
    let data = app
        .query(
            &ivy,
            "{ viewer { paymentMethods { nodes { label } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"]["paymentMethods"]["nodes"],
        json!([{ "label": "Acme Corp" }])
    );

    let shop = app_id(&app, "acme-shop").await;
    assert_eq!(
        app.mutate(
            &demo.bo,
            "inviteToApp",
            json!({ "appId": shop, "email": "z@demo.example" }),
            "acceptUrl"
        )
        .await
        .1
        .as_deref(),
        Some("FORBIDDEN"),
        "technical only"
    );
    let (_, token) = invite(
        &app,
        &demo.dana,
        "inviteToApp",
        json!({ "appId": shop, "email": "dana@demo.example" }),
    )
    .await;
    assert_eq!(
        app.mutate(
            &demo.dana,
            "acceptInvitation",
            json!({ "token": token }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("FORBIDDEN"),
        "clients hold no developer connections"
    );
}

async fn taking_over_billing_moves_the_apps_and_keeps_the_inviters_connections(app: TestApp) {
    let demo = Demo::seed(&app).await;
    // The demo has Ana's invitation for dana@ to take over side-project.
    let id = pending_invitation_id(&app, &demo.dana).await;
    let (_, code) = app
        .mutate(
            &demo.dana,
            "acceptInvitation",
            json!({ "invitationId": id }),
            "clientMutationId",
        )
        .await;
    assert_eq!(
        code.as_deref(),
        Some("BAD_USER_INPUT"),
        "which payment method?"
    );
    let acme = payment_method_id(&app, "Acme Corp").await;
    assert_eq!(
        app.mutate(
            &demo.dana,
            "acceptInvitation",
            json!({ "invitationId": id, "paymentMethodId": acme }),
            "clientMutationId"
        )
        .await
        .1,
        None
    );
    let side = app_id(&app, "side-project").await;
    let q = "query($id: ID!) { node(id: $id) { ... on App { isTrial paymentMethod { label } viewerAccess { developer billing } } } }";
    let dana = app.query(&demo.dana, q, json!({ "id": side })).await;
    assert_eq!(
        dana["node"],
        json!({ "isTrial": false, "paymentMethod": { "label": "Acme Corp" }, "viewerAccess": { "developer": false, "billing": true } })
    );
    let ana = app.query(&demo.ana, q, json!({ "id": side })).await;
    assert_eq!(
        ana["node"]["viewerAccess"]["developer"], true,
        "the inviter keeps its connection"
    );

    let portfolio = app_id(&app, "ana-portfolio").await;
    let (_, token) = invite(
        &app,
        &demo.ana,
        "inviteToTakeOverBilling",
        json!({ "appIds": [portfolio], "email": "dana@demo.example" }),
    )
    .await;
    let new_pm = json!({ "label": "Dana Studio", "paymentType": "SEPA_DEBIT", "invoiceEmail": "studio@dana.example", "invoiceAddress": "2 Lane" });
    assert_eq!(
        app.mutate(
            &demo.dana,
            "acceptInvitation",
            json!({ "token": token, "newPaymentMethod": new_pm }),
            "clientMutationId"
        )
        .await
        .1,
        None
    );
    let dana = app.query(&demo.dana, q, json!({ "id": portfolio })).await;
    assert_eq!(dana["node"]["paymentMethod"]["label"], "Dana Studio");
    let ana = app.query(&demo.ana, q, json!({ "id": portfolio })).await;
    assert_eq!(
        ana["node"]["viewerAccess"],
        json!({ "developer": true, "billing": false }),
        "Ana keeps her card, not the app's billing"
    );
}

/// Two instances expire at the same moment: each due invitation expires once, with one event.
async fn concurrent_expiry_expires_each_invitation_once(app: TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
    Demo::seed(&app).await;
    entity::invitation::Entity::update_many()
        .col_expr(
            entity::invitation::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .exec(&app.db.conn)
        .await
        .expect("backdate");
    let (a, b) = tokio::join!(
        warren::rules::invitation::expire_due(&app.db),
        warren::rules::invitation::expire_due(&app.db)
    );
    let expired =
        a.map_err(|e| e.message()).expect("first") + b.map_err(|e| e.message()).expect("second");
    assert_eq!(expired, 4, "the demo's four pending invitations");
    let events = entity::event::Entity::find()
        .filter(entity::event::Column::EventType.eq("INVITATION_EXPIRED"))
        .count(&app.db.conn)
        .await
        .expect("count");
    assert_eq!(events, 4);
}

on_both_databases!(
    concurrent_expiry_expires_each_invitation_once,
    a_team_invitation_is_accepted_once_by_its_invitee,
    the_holder_of_the_link_may_accept,
    declined_revoked_and_expired_invitations_cannot_be_accepted,
    an_invitation_fails_once_its_inviter_lost_the_right,
    app_and_payment_method_invitations_connect_directly,
    taking_over_billing_moves_the_apps_and_keeps_the_inviters_connections,
);
