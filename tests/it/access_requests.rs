//! Access requests (a LIMITED member asks for a team app) and cancelling an account.

use crate::common::demo::{Demo, app_id, team_id};
use crate::common::{TestApp, error_code};
use serde_json::json;

async fn request(app: &TestApp, token: &str, team: &str, app_: &str) -> (String, Option<String>) {
    let (body, code) = app
        .mutate(
            token,
            "requestAppAccess",
            json!({ "teamId": team, "appId": app_ }),
            "accessRequest { id state }",
        )
        .await;
    (
        body["data"]["requestAppAccess"]["accessRequest"]["id"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        code,
    )
}

async fn an_approved_request_subscribes_the_requester(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (nebula, docs) = (
        team_id(&app, "Nebula").await,
        app_id(&app, "nebula-docs").await,
    );
    let (rocket, shop) = (
        team_id(&app, "Rocket").await,
        app_id(&app, "acme-shop").await,
    );
    // Ana is LIMITED in Nebula and has no grant for nebula-docs.
    let (id, code) = request(&app, &demo.ana, &nebula, &docs).await;
    assert_eq!(code, None);
    assert_eq!(
        request(&app, &demo.ana, &nebula, &docs).await.1.as_deref(),
        Some("CONFLICT"),
        "asked already"
    );
    assert_eq!(
        request(&app, &demo.ana, &rocket, &shop).await.1.as_deref(),
        Some("CONFLICT"),
        "UNLIMITED members subscribe directly"
    );
    assert_eq!(
        request(&app, &demo.fay, &nebula, &docs).await.1.as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutate(
            &demo.eli,
            "approveAccessRequest",
            json!({ "accessRequestId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("NOT_FOUND"),
        "another LIMITED member"
    );
    let (_, code) = app
        .mutate(
            &demo.chen,
            "approveAccessRequest",
            json!({ "accessRequestId": id }),
            "accessRequest { state }",
        )
        .await;
    assert_eq!(code, None);
    let data = app
        .query(
            &demo.ana,
            "{ viewer { apps { edges { node { name } team { name } } } } }",
            json!({}),
        )
        .await;
    assert!(
        data.to_string()
            .contains(r#"{"node":{"name":"nebula-docs"},"team":{"name":"Nebula"}}"#),
        "{data}"
    );
    assert_eq!(
        app.mutate(
            &demo.chen,
            "denyAccessRequest",
            json!({ "accessRequestId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("CONFLICT"),
        "decided already"
    );
    let events = app
        .query(
            &demo.ana,
            "{ events(last: 1) { nodes { type summary } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["events"]["nodes"][0],
        json!({ "type": "ACCESS_REQUEST_APPROVED", "summary": "Chen Cho gave Ana Alvarez access to nebula-docs in team Nebula" })
    );
}

async fn requests_are_denied_or_withdrawn(app: TestApp) {
    let demo = Demo::seed(&app).await;
    // The demo has Eli's pending request for nebula-api.
    let nebula = team_id(&app, "Nebula").await;
    let data = app.query(&demo.chen, "query($id: ID!) { node(id: $id) { ... on Team { accessRequests(state: PENDING) { nodes { id } } } } }", json!({ "id": nebula })).await;
    let id = data["node"]["accessRequests"]["nodes"][0]["id"]
        .as_str()
        .expect("Eli's request")
        .to_owned();
    assert_eq!(
        app.mutate(
            &demo.chen,
            "cancelAccessRequest",
            json!({ "accessRequestId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("FORBIDDEN"),
        "only its requester"
    );
    assert_eq!(
        app.mutate(
            &demo.eli,
            "denyAccessRequest",
            json!({ "accessRequestId": id }),
            "clientMutationId"
        )
        .await
        .1
        .as_deref(),
        Some("FORBIDDEN"),
        "not its requester's to decide"
    );
    assert_eq!(
        app.mutate(
            &demo.chen,
            "denyAccessRequest",
            json!({ "accessRequestId": id }),
            "clientMutationId"
        )
        .await
        .1,
        None
    );
    let api = app_id(&app, "nebula-api").await;
    let (id, _) = request(&app, &demo.eli, &nebula, &api).await;
    assert_eq!(
        app.mutate(
            &demo.eli,
            "cancelAccessRequest",
            json!({ "accessRequestId": id }),
            "accessRequest { state }"
        )
        .await
        .1,
        None
    );
}

const CANCEL: &str = "mutation { cancelAccount(input: {}) { cancelledPersonId } }";

async fn an_account_is_cancelled_once_nothing_depends_on_it(app: TestApp) {
    let demo = Demo::seed(&app).await;
    // Chen is Nebula's last UNLIMITED member.
    let (_, body) = app.graphql_raw(Some(&demo.chen), CANCEL, json!({})).await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("last UNLIMITED member of team Nebula"),
        "{body}"
    );
    // Fay is the last billing path of her card.
    let (_, body) = app.graphql_raw(Some(&demo.fay), CANCEL, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("last billing path of payment method Fay's card"),
        "{body}"
    );
    // Bo can go: LIMITED in Rocket, connected to two apps.
    let (_, body) = app.graphql_raw(Some(&demo.bo), CANCEL, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    let (status, _) = app
        .graphql_raw(Some(&demo.bo), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(status, 401, "its tokens died with it");
    let rocket = team_id(&app, "Rocket").await;
    let data = app
        .query(
            &demo.ana,
            "query($id: ID!) { node(id: $id) { ... on Team { members { totalCount } } } }",
            json!({ "id": rocket }),
        )
        .await;
    assert_eq!(data["node"]["members"]["totalCount"], 2);
    let events = app
        .query(
            &demo.ana,
            "{ events(last: 1) { nodes { type summary actorName } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["events"]["nodes"][0],
        json!({ "type": "ACCOUNT_CANCELLED", "summary": "Bo Berg cancelled their account", "actorName": "Bo Berg" })
    );
}

on_both_databases!(
    an_approved_request_subscribes_the_requester,
    requests_are_denied_or_withdrawn,
    an_account_is_cancelled_once_nothing_depends_on_it,
);
