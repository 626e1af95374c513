//! Mutations: each one transaction with its event, refused cleanly with the right code, and
//! changing nothing when refused.

use crate::common;

use crate::common::demo::{Demo, app_uuid, person_uuid, team_id};
use crate::common::{TestApp, error_code};
use entity::enums::TokenScope;
use serde_json::{Value, json};
use warren::seed::world::{Clock, World};

/// Runs a mutation and returns (payload, first error code).
async fn mutate(app: &TestApp, token: &str, query: &str, input: Value) -> (Value, Option<String>) {
    let (_, body) = app
        .graphql_raw(Some(token), query, json!({ "input": input }))
        .await;
    let code = error_code(&body).map(str::to_owned);
    (body["data"].clone(), code)
}

async fn event_count(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    entity::event::Entity::find()
        .count(&app.db.conn)
        .await
        .expect("count")
}

async fn last_event(app: &TestApp, token: &str) -> Value {
    let data = app
        .query(token, "{ events(last: 1) { nodes { type category summary actorName subjects { kind name } payload } } }", json!({}))
        .await;
    data["events"]["nodes"][0].clone()
}

const UPDATE_VIEWER: &str = "mutation($input: UpdateViewerInput!) { updateViewer(input: $input) { viewer { name accountType } clientMutationId } }";

async fn updating_the_viewer_records_an_event(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (data, code) = mutate(
        &app,
        &demo.ana,
        UPDATE_VIEWER,
        json!({ "name": " Ana Álvarez ", "clientMutationId": "m1" }),
    )
    .await;
    assert_eq!(code, None);
    assert_eq!(
        data["updateViewer"],
        json!({ "viewer": { "name": "Ana Álvarez", "accountType": "DEVELOPER" }, "clientMutationId": "m1" })
    );
    let event = last_event(&app, &demo.ana).await;
    assert_eq!(event["type"], "ACCOUNT_UPDATED");
    assert_eq!(
        event["summary"],
        "Ana Alvarez renamed themselves to Ana Álvarez"
    );
    assert_eq!(
        event["payload"]["name"],
        json!({ "from": "Ana Alvarez", "to": "Ana Álvarez" })
    );
}

async fn a_developer_with_belongings_cannot_become_a_client(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let before = event_count(&app).await;
    let (_, body) = app
        .graphql_raw(
            Some(&demo.ana),
            UPDATE_VIEWER,
            json!({ "input": { "accountType": "CLIENT" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
    assert!(body["data"]["updateViewer"].is_null());
    // Two teams, four connections, one key.
    assert_eq!(
        body["errors"][0]["extensions"]["ids"]
            .as_array()
            .map(Vec::len),
        Some(7),
        "{body}"
    );
    assert_eq!(
        event_count(&app).await,
        before,
        "a refused mutation writes no event"
    );
    // Fay has one connection and no key; once it is gone she could. Dana goes the other way.
    let (data, code) = mutate(
        &app,
        &demo.dana,
        UPDATE_VIEWER,
        json!({ "accountType": "DEVELOPER" }),
    )
    .await;
    assert_eq!(
        (code, &data["updateViewer"]["viewer"]["accountType"]),
        (None, &json!("DEVELOPER"))
    );
}

async fn read_tokens_cannot_mutate(app: TestApp) {
    Demo::seed(&app).await;
    let ana = person_uuid(&app, "ana@demo.example").await;
    let read =
        warren::rules::auth::create_token(&app.db.conn, ana, "reader", TokenScope::Read, None)
            .await
            .map_err(|e| e.message())
            .expect("token")
            .secret;
    let (_, body) = app
        .graphql_raw(
            Some(&read),
            UPDATE_VIEWER,
            json!({ "input": { "name": "X" } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("FORBIDDEN"));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("READ scope")
    );
}

const ADD_KEY: &str = "mutation($input: AddSshKeyInput!) { addSshKey(input: $input) { sshKey { id title fingerprint } } }";
const REMOVE_KEY: &str =
    "mutation($input: RemoveSshKeyInput!) { removeSshKey(input: $input) { deletedSshKeyId } }";
const NEW_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPjjAqZ7VoxgJtE6iH+2bZ+z1dYh7m3ZbAGtYHxDEhsR work";

async fn ssh_keys_are_parsed_unique_and_for_developers(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (data, code) = mutate(
        &app,
        &demo.chen,
        ADD_KEY,
        json!({ "title": "work", "publicKey": NEW_KEY }),
    )
    .await;
    assert_eq!(code, None, "{data}");
    let key = data["addSshKey"]["sshKey"].clone();
    assert!(
        key["fingerprint"]
            .as_str()
            .unwrap_or("")
            .starts_with("SHA256:")
    );
    assert_eq!(last_event(&app, &demo.chen).await["type"], "SSH_KEY_ADDED");

    let (_, code) = mutate(
        &app,
        &demo.chen,
        ADD_KEY,
        json!({ "title": "again", "publicKey": NEW_KEY }),
    )
    .await;
    assert_eq!(code.as_deref(), Some("CONFLICT"));
    let (_, body) = app
        .graphql_raw(
            Some(&demo.eli),
            ADD_KEY,
            json!({ "input": { "title": "mine", "publicKey": NEW_KEY } }),
        )
        .await;
    assert_eq!(error_code(&body), Some("CONFLICT"));
    assert!(
        body["errors"][0]["extensions"]["ids"].is_null(),
        "another's key id is not revealed"
    );
    let (_, code) = mutate(
        &app,
        &demo.chen,
        ADD_KEY,
        json!({ "title": "bad", "publicKey": "ssh-ed25519 AAAAnope" }),
    )
    .await;
    assert_eq!(code.as_deref(), Some("BAD_USER_INPUT"));
    let (_, code) = mutate(
        &app,
        &demo.dana,
        ADD_KEY,
        json!({ "title": "client", "publicKey": NEW_KEY }),
    )
    .await;
    assert_eq!(
        code.as_deref(),
        Some("FORBIDDEN"),
        "clients have no SSH keys"
    );

    let (_, code) = mutate(
        &app,
        &demo.eli,
        REMOVE_KEY,
        json!({ "sshKeyId": key["id"] }),
    )
    .await;
    assert_eq!(
        code.as_deref(),
        Some("NOT_FOUND"),
        "only the owner removes a key"
    );
    let (data, code) = mutate(
        &app,
        &demo.chen,
        REMOVE_KEY,
        json!({ "sshKeyId": key["id"] }),
    )
    .await;
    assert_eq!(
        (code, &data["removeSshKey"]["deletedSshKeyId"]),
        (None, &key["id"])
    );
}

async fn tokens_are_created_shown_once_and_revoked(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let create = "mutation($input: CreatePersonalAccessTokenInput!) { createPersonalAccessToken(input: $input) {
        secret personalAccessToken { id name scope expiresAt } } }";
    let (data, code) = mutate(
        &app,
        &demo.bo,
        create,
        json!({ "name": "ci", "scope": "READ", "expiresInDays": 30 }),
    )
    .await;
    assert_eq!(code, None, "{data}");
    let payload = &data["createPersonalAccessToken"];
    let secret = payload["secret"].as_str().expect("secret").to_owned();
    assert!(payload["personalAccessToken"]["expiresAt"].is_string());
    assert_eq!(
        app.query(&secret, "{ viewer { name } }", json!({})).await["viewer"]["name"],
        "Bo Berg"
    );
    let (_, code) = mutate(&app, &secret, UPDATE_VIEWER, json!({ "name": "Bob" })).await;
    assert_eq!(code.as_deref(), Some("FORBIDDEN"));
    let (_, code) = mutate(
        &app,
        &demo.bo,
        create,
        json!({ "name": "x", "scope": "WRITE", "expiresInDays": 0 }),
    )
    .await;
    assert_eq!(code.as_deref(), Some("BAD_USER_INPUT"));

    let revoke = "mutation($input: RevokePersonalAccessTokenInput!) { revokePersonalAccessToken(input: $input) { revokedPersonalAccessTokenId } }";
    let id = payload["personalAccessToken"]["id"].clone();
    let (_, code) = mutate(
        &app,
        &demo.ana,
        revoke,
        json!({ "personalAccessTokenId": id }),
    )
    .await;
    assert_eq!(code.as_deref(), Some("NOT_FOUND"), "only the owner revokes");
    let (_, code) = mutate(
        &app,
        &demo.bo,
        revoke,
        json!({ "personalAccessTokenId": id }),
    )
    .await;
    assert_eq!(code, None);
    let (status, _) = app
        .graphql_raw(Some(&secret), "{ viewer { name } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

const CREATE_TEAM: &str = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id name viewerRole members { totalCount } } } }";
const RENAME_TEAM: &str =
    "mutation($input: RenameTeamInput!) { renameTeam(input: $input) { team { name } } }";
const DELETE_TEAM: &str = "mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { deletedTeamId deletedAppIds deletedPaymentMethodIds } }";

async fn developers_create_teams_and_clients_cannot(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (data, code) = mutate(&app, &demo.eli, CREATE_TEAM, json!({ "name": "Comet" })).await;
    assert_eq!(code, None, "{data}");
    assert_eq!(data["createTeam"]["team"]["viewerRole"], "UNLIMITED");
    assert_eq!(data["createTeam"]["team"]["members"]["totalCount"], 1);
    let event = last_event(&app, &demo.eli).await;
    assert_eq!(
        (event["type"].clone(), event["summary"].clone()),
        (json!("TEAM_CREATED"), json!("Eli Egan created team Comet"))
    );
    let (_, code) = mutate(&app, &demo.dana, CREATE_TEAM, json!({ "name": "Clients" })).await;
    assert_eq!(code.as_deref(), Some("FORBIDDEN"));
    let (_, code) = mutate(&app, &demo.eli, CREATE_TEAM, json!({ "name": "  " })).await;
    assert_eq!(code.as_deref(), Some("BAD_USER_INPUT"));
}

async fn only_unlimited_members_rename_a_team(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    for (who, token, expected) in [
        ("LIMITED member", &demo.bo, Some("FORBIDDEN")),
        (
            "billing client who sees its name",
            &demo.dana,
            Some("FORBIDDEN"),
        ),
        ("outsider", &demo.fay, Some("NOT_FOUND")),
        ("UNLIMITED member", &demo.chen, None),
    ] {
        let (_, code) = mutate(
            &app,
            token,
            RENAME_TEAM,
            json!({ "teamId": rocket, "name": "Rocket 2" }),
        )
        .await;
        assert_eq!(code.as_deref(), expected, "{who}");
    }
    let event = last_event(&app, &demo.bo).await;
    assert_eq!(event["summary"], "Chen Cho renamed team Rocket to Rocket 2");
}

async fn deleting_a_team_removes_exactly_its_deletion_impact(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nebula = team_id(&app, "Nebula").await;
    let impact = app
        .query(&demo.chen, "query($id: ID!) { node(id: $id) { ... on Team { deletionImpact { apps { id } paymentMethods { id } } } } }", json!({ "id": nebula }))
        .await["node"]["deletionImpact"]
        .clone();
    let (_, code) = mutate(&app, &demo.ana, DELETE_TEAM, json!({ "teamId": nebula })).await;
    assert_eq!(code.as_deref(), Some("FORBIDDEN"), "a LIMITED member");
    let (data, code) = mutate(&app, &demo.chen, DELETE_TEAM, json!({ "teamId": nebula })).await;
    assert_eq!(code, None, "{data}");
    let deleted = &data["deleteTeam"];
    let ids = |list: &Value| {
        list.as_array()
            .map(|l| l.iter().map(|x| x["id"].clone()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(
        deleted["deletedAppIds"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        ids(&impact["apps"])
    );
    assert_eq!(
        deleted["deletedPaymentMethodIds"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        ids(&impact["paymentMethods"])
    );
    // nebula-api stays (Chen bills Nebula Ltd directly) but the connections through Nebula end.
    let api = common::demo::app_id(&app, "nebula-api").await;
    let q = "query($id: ID!) { node(id: $id) { ... on App { name developers { totalCount } technicalContacts { name } } } }";
    let data = app.query(&demo.chen, q, json!({ "id": api })).await;
    assert_eq!(data["node"]["name"], "nebula-api");
    let ana = app
        .query(
            &demo.ana,
            "{ viewer { teams { totalCount } apps { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(ana["viewer"]["teams"]["totalCount"], 1);
    assert_eq!(
        ana["viewer"]["apps"]["totalCount"], 3,
        "the connection through Nebula ended"
    );
    let event = last_event(&app, &demo.eli).await;
    assert_eq!(
        event["type"], "TEAM_DELETED",
        "former members see the deletion"
    );
}

async fn the_longest_connected_developer_becomes_the_contact(app: TestApp) {
    let demo = Demo::seed(&app).await;
    // Eli also works on acme-shop directly; Ana (the contact) and Bo come through Rocket.
    let (eli, shop) = (
        person_uuid(&app, "eli@demo.example").await,
        app_uuid(&app, "acme-shop").await,
    );
    World::new(&app.db.conn, Clock::now())
        .connect(eli, shop, None)
        .await
        .expect("connect");
    let rocket = team_id(&app, "Rocket").await;
    let (_, code) = mutate(&app, &demo.ana, DELETE_TEAM, json!({ "teamId": rocket })).await;
    assert_eq!(code, None);
    let q = "{ viewer { apps { nodes { name technicalContacts { name } developers { totalCount } } } } }";
    let data = app.query(&demo.eli, q, json!({})).await;
    let shop = data["viewer"]["apps"]["nodes"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["name"] == "acme-shop").cloned())
        .expect("acme-shop survives: Acme pays for it");
    assert_eq!(shop["technicalContacts"], json!([{ "name": "Eli Egan" }]));
    assert_eq!(shop["developers"]["totalCount"], 1);
}

async fn saved_filters_are_created_and_deleted_by_their_owner(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let create = "mutation($input: CreateEventFilterInput!) { createEventFilter(input: $input) { eventFilter { id name filter { types teamId } } } }";
    let rocket = team_id(&app, "Rocket").await;
    let input = json!({ "name": "rocket joins", "filter": { "types": ["MEMBER_JOINED"], "teamId": rocket } });
    let (data, code) = mutate(&app, &demo.bo, create, input.clone()).await;
    assert_eq!(code, None, "{data}");
    let saved = data["createEventFilter"]["eventFilter"].clone();
    assert_eq!(
        saved["filter"],
        json!({ "types": ["MEMBER_JOINED"], "teamId": rocket })
    );
    let (_, code) = mutate(&app, &demo.bo, create, input).await;
    assert_eq!(
        code.as_deref(),
        Some("CONFLICT"),
        "names are unique per owner"
    );
    let events = app
        .query(
            &demo.bo,
            "query($f: EventFilterInput) { events(filter: $f) { totalCount } }",
            json!({ "f": { "savedFilterId": saved["id"] } }),
        )
        .await;
    assert_eq!(events["events"]["totalCount"], 1);

    let delete = "mutation($input: DeleteEventFilterInput!) { deleteEventFilter(input: $input) { deletedEventFilterId } }";
    let (_, code) = mutate(
        &app,
        &demo.ana,
        delete,
        json!({ "eventFilterId": saved["id"] }),
    )
    .await;
    assert_eq!(code.as_deref(), Some("NOT_FOUND"));
    let (_, code) = mutate(
        &app,
        &demo.bo,
        delete,
        json!({ "eventFilterId": saved["id"] }),
    )
    .await;
    assert_eq!(code, None);
    let data = app
        .query(&demo.bo, "{ viewer { eventFilters { id } } }", json!({}))
        .await;
    assert_eq!(data["viewer"]["eventFilters"], json!([]));
}

/// Several mutations in one request run one after the other, and each payload shows the state
/// its mutation left, not what the request had loaded before it.
async fn each_payload_sees_its_own_mutation(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let q = r#"mutation {
        one: createTeam(input: { name: "One" }) { team { name viewerRole } }
        two: createTeam(input: { name: "Two" }) { team { name viewerRole } }
        me: updateViewer(input: {}) { viewer { teams { totalCount } } }
    }"#;
    let data = app.query(&demo.eli, q, json!({})).await;
    assert_eq!(
        data["one"]["team"],
        json!({ "name": "One", "viewerRole": "UNLIMITED" })
    );
    assert_eq!(
        data["two"]["team"],
        json!({ "name": "Two", "viewerRole": "UNLIMITED" })
    );
    assert_eq!(
        data["me"]["viewer"]["teams"]["totalCount"], 3,
        "Nebula, One and Two"
    );
}

on_both_databases!(
    each_payload_sees_its_own_mutation,
    updating_the_viewer_records_an_event,
    a_developer_with_belongings_cannot_become_a_client,
    read_tokens_cannot_mutate,
    ssh_keys_are_parsed_unique_and_for_developers,
    tokens_are_created_shown_once_and_revoked,
    developers_create_teams_and_clients_cannot,
    only_unlimited_members_rename_a_team,
    deleting_a_team_removes_exactly_its_deletion_impact,
    the_longest_connected_developer_becomes_the_contact,
    saved_filters_are_created_and_deleted_by_their_owner,
);
