//! Access on every read (docs/rules.md, "What each person may see"): by id, by traversal and by
//! counting, on the demo world. Who is who:
//! - Ana: UNLIMITED in Rocket, LIMITED in Nebula; bills "Ana's card" and, through Rocket, Acme.
//! - Bo: LIMITED in Rocket, subscribed to acme-shop; direct on side-project.
//! - Chen: UNLIMITED in Rocket and Nebula; bills Nebula Ltd.
//! - Dana: a CLIENT billing Acme Corp (acme-shop, acme-blog).
//! - Eli: LIMITED in Nebula, subscribed to nebula-docs; asked for nebula-api.
//! - Fay: an outsider with her own app and card.

use crate::common;

use crate::common::TestApp;
use crate::common::demo::{Demo, app_id, payment_method_id, person_id, team_id};
use serde_json::json;

const NODE: &str = "query($id: ID!) { node(id: $id) { id } }";

async fn node_visible(app: &TestApp, token: &str, id: &str) -> bool {
    let data = app.query(token, NODE, json!({ "id": id })).await;
    !data["node"].is_null()
}

async fn outsiders_reach_nothing_by_id(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let ids = [
        team_id(&app, "Rocket").await,
        app_id(&app, "acme-shop").await,
        payment_method_id(&app, "Acme Corp").await,
        person_id(&app, "ana@demo.example").await,
    ];
    for id in &ids {
        assert!(!node_visible(&app, &demo.fay, id).await, "Fay sees {id}");
        assert!(
            node_visible(&app, &demo.chen, id).await,
            "Chen does not see {id}"
        );
    }
    let data = app
        .query(
            &demo.fay,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(data["nodes"], json!([null, null, null, null]));
}

async fn outsiders_cannot_count_what_they_cannot_see(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let ana = person_id(&app, "ana@demo.example").await;
    // Bo shares only Rocket and two apps with Ana: the rest of her lists stays hidden.
    let q = "query($id: ID!) { node(id: $id) { ... on Person { email
        teams(first: 10) { totalCount nodes { name } }
        apps(first: 10) { totalCount nodes { name } }
        paymentMethods(first: 10) { totalCount }
        sshKeys { id } personalAccessTokens(first: 5) { totalCount }
        invitations(first: 5) { totalCount } } } }";
    let data = app.query(&demo.bo, q, json!({ "id": ana })).await;
    let person = &data["node"];
    assert_eq!(person["email"], "ana@demo.example");
    assert_eq!(
        person["teams"],
        json!({ "totalCount": 1, "nodes": [{ "name": "Rocket" }] })
    );
    assert_eq!(person["apps"]["totalCount"], 2);
    assert_eq!(
        person["apps"]["nodes"],
        json!([{ "name": "acme-shop" }, { "name": "side-project" }])
    );
    assert_eq!(person["paymentMethods"]["totalCount"], 0);
    assert_eq!(person["sshKeys"], json!([]));
    assert_eq!(person["personalAccessTokens"]["totalCount"], 0);
    assert_eq!(person["invitations"]["totalCount"], 0);
}

async fn people_are_visible_to_those_who_share_something(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let eli = person_id(&app, "eli@demo.example").await;
    let bo = person_id(&app, "bo@demo.example").await;
    // Dana shares Acme's apps with Bo (a developer of acme-shop) but nothing with Eli.
    assert!(node_visible(&app, &demo.dana, &bo).await);
    assert!(!node_visible(&app, &demo.dana, &eli).await);
    // Ana shares team Nebula with Eli.
    assert!(node_visible(&app, &demo.ana, &eli).await);
}

async fn team_internals_are_for_members_and_billing_for_unlimited_ones(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    let q = "query($id: ID!) { node(id: $id) { ... on Team { name viewerRole
        members(first: 10) { totalCount edges { role node { name } } }
        apps(first: 10) { totalCount }
        paymentMethods(first: 10) { totalCount nodes { label } }
        invitations(first: 10) { totalCount nodes { email role } } } } }";
    let ana = app.query(&demo.ana, q, json!({ "id": rocket })).await;
    assert_eq!(ana["node"]["viewerRole"], "UNLIMITED");
    assert_eq!(ana["node"]["members"]["totalCount"], 3);
    assert_eq!(
        ana["node"]["paymentMethods"]["nodes"],
        json!([{ "label": "Acme Corp" }])
    );
    assert_eq!(
        ana["node"]["invitations"]["nodes"],
        json!([{ "email": "gus@demo.example", "role": "LIMITED" }])
    );

    let bo = app.query(&demo.bo, q, json!({ "id": rocket })).await;
    assert_eq!(bo["node"]["viewerRole"], "LIMITED");
    assert_eq!(bo["node"]["members"]["totalCount"], 3);
    assert_eq!(bo["node"]["apps"]["totalCount"], 2);
    assert_eq!(
        bo["node"]["paymentMethods"],
        json!({ "totalCount": 0, "nodes": [] })
    );
    assert_eq!(
        bo["node"]["invitations"],
        json!({ "totalCount": 0, "nodes": [] })
    );

    // Dana bills Acme, which Rocket is connected to: she sees the team's name, nothing more.
    let dana = app.query(&demo.dana, q, json!({ "id": rocket })).await;
    assert_eq!(dana["node"]["name"], "Rocket");
    assert!(dana["node"]["viewerRole"].is_null());
    assert_eq!(dana["node"]["members"]["totalCount"], 0);
    assert_eq!(dana["node"]["apps"]["totalCount"], 0);
}

async fn billing_access_shows_basics_not_internals(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let shop = app_id(&app, "acme-shop").await;
    let q = "query($id: ID!) { node(id: $id) { ... on App { name isTrial
        paymentMethod { label invoiceEmail }
        environments { name }
        developers(first: 10) { totalCount edges { team { name } node { name } } }
        teams(first: 10) { nodes { name } }
        technicalContacts { name }
        viewerAccess { developer full billing } } } }";
    let dana = app.query(&demo.dana, q, json!({ "id": shop })).await;
    let a = &dana["node"];
    assert_eq!(
        a["paymentMethod"],
        json!({ "label": "Acme Corp", "invoiceEmail": "billing@acme.example" })
    );
    assert_eq!(
        a["environments"],
        json!([]),
        "a client sees no environments"
    );
    assert_eq!(a["developers"]["totalCount"], 0);
    assert_eq!(a["teams"]["nodes"], json!([{ "name": "Rocket" }]));
    assert_eq!(a["technicalContacts"], json!([{ "name": "Ana Alvarez" }]));
    assert_eq!(
        a["viewerAccess"],
        json!({ "developer": false, "full": false, "billing": true })
    );

    let bo = app.query(&demo.bo, q, json!({ "id": shop })).await;
    let a = &bo["node"];
    assert!(
        a["paymentMethod"].is_null(),
        "a LIMITED developer has no billing access"
    );
    assert_eq!(
        a["environments"],
        json!([{ "name": "main" }, { "name": "staging" }])
    );
    assert_eq!(a["developers"]["totalCount"], 2);
    assert_eq!(a["developers"]["edges"][0]["team"]["name"], "Rocket");
    assert_eq!(
        a["viewerAccess"],
        json!({ "developer": true, "full": false, "billing": false })
    );
}

async fn limited_members_see_team_apps_without_internals(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let api = app_id(&app, "nebula-api").await;
    let q = "query($id: ID!) { node(id: $id) { ... on App { name environments { name }
        developers(first: 5) { totalCount } paymentMethod { label } viewerAccess { developer billing } } } }";
    let eli = app.query(&demo.eli, q, json!({ "id": api })).await;
    assert_eq!(eli["node"]["name"], "nebula-api");
    assert_eq!(eli["node"]["environments"], json!([]));
    assert_eq!(eli["node"]["developers"]["totalCount"], 0);
    assert!(eli["node"]["paymentMethod"].is_null());
    // Chen is UNLIMITED in Nebula and bills Nebula Ltd.
    let chen = app.query(&demo.chen, q, json!({ "id": api })).await;
    assert_eq!(chen["node"]["developers"]["totalCount"], 2);
    assert_eq!(chen["node"]["paymentMethod"]["label"], "Nebula Ltd");
}

async fn payment_methods_are_for_billing_people_only(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let acme = payment_method_id(&app, "Acme Corp").await;
    let q = "query($id: ID!) { node(id: $id) { ... on PaymentMethod { label
        apps(first: 10) { totalCount nodes { name } }
        people(first: 10) { nodes { name } }
        teams(first: 10) { nodes { name } }
        invitations(first: 10) { nodes { email } }
        deletionImpact { apps { name } paymentMethods { label } } } } }";
    assert!(
        !node_visible(&app, &demo.bo, &acme).await,
        "a LIMITED member does not bill"
    );
    assert!(!node_visible(&app, &demo.eli, &acme).await);
    let dana = app.query(&demo.dana, q, json!({ "id": acme })).await;
    let pm = &dana["node"];
    assert_eq!(
        pm["apps"]["nodes"],
        json!([{ "name": "acme-shop" }, { "name": "acme-blog" }])
    );
    assert_eq!(pm["people"]["nodes"], json!([{ "name": "Dana Diaz" }]));
    assert_eq!(pm["teams"]["nodes"], json!([{ "name": "Rocket" }]));
    assert_eq!(
        pm["invitations"]["nodes"],
        json!([{ "email": "ivy@demo.example" }])
    );
    assert_eq!(pm["deletionImpact"]["apps"], pm["apps"]["nodes"]);
    assert_eq!(
        pm["deletionImpact"]["paymentMethods"],
        json!([{ "label": "Acme Corp" }])
    );
}

async fn team_deletion_impact_lists_what_only_the_team_reaches(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nebula = team_id(&app, "Nebula").await;
    let q = "query($id: ID!) { node(id: $id) { ... on Team {
        deletionImpact { apps { name } paymentMethods { label } } } } }";
    // nebula-docs is a trial app only Nebula gives access to; Nebula Ltd is also billed by Chen.
    let chen = app.query(&demo.chen, q, json!({ "id": nebula })).await;
    assert_eq!(
        chen["node"]["deletionImpact"],
        json!({ "apps": [{ "name": "nebula-docs" }], "paymentMethods": [] })
    );
    let ana = app.query(&demo.ana, q, json!({ "id": nebula })).await;
    assert!(
        ana["node"]["deletionImpact"].is_null(),
        "LIMITED members get no deletion impact"
    );
}

async fn authorized_keys_are_the_developers_keys(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let q = "{ viewer { apps(first: 10) { nodes { name environments { authorizedKeys(first: 10) { totalCount nodes { title } } } } } } }";
    let data = app.query(&demo.bo, q, json!({})).await;
    let apps = data["viewer"]["apps"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let shop = apps
        .iter()
        .find(|a| a["name"] == "acme-shop")
        .expect("Bo is on acme-shop");
    // Ana and Bo are connected to acme-shop and each has a key.
    assert_eq!(shop["environments"][0]["authorizedKeys"]["totalCount"], 2);
}

async fn environments_need_technical_access(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let data = app
        .query(
            &demo.ana,
            "{ viewer { apps(first: 10) { nodes { name environments { id name } } } } }",
            json!({}),
        )
        .await;
    let shop = data["viewer"]["apps"]["nodes"]
        .as_array()
        .and_then(|apps| apps.iter().find(|a| a["name"] == "acme-shop"))
        .expect("Ana is on acme-shop")
        .clone();
    let env = shop["environments"][0]["id"]
        .as_str()
        .expect("environment id")
        .to_owned();
    let q = "query($id: ID!) { node(id: $id) { ... on Environment { name app { name } authorizedKeys(first: 5) { totalCount } } } }";
    let ana = app.query(&demo.ana, q, json!({ "id": env })).await;
    assert_eq!(ana["node"]["app"]["name"], "acme-shop");
    assert!(
        !node_visible(&app, &demo.dana, &env).await,
        "clients see no environments"
    );
    assert!(!node_visible(&app, &demo.fay, &env).await);
}

async fn invitations_are_seen_by_inviter_invitee_and_senders(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let q = "{ viewer { invitations(first: 10) { totalCount nodes { id kind state email invitedBy { name } apps { name } } } } }";
    let dana = app.query(&demo.dana, q, json!({})).await;
    let invitations = &dana["viewer"]["invitations"];
    assert_eq!(invitations["totalCount"], 1);
    let invitation = &invitations["nodes"][0];
    assert_eq!(invitation["kind"], "TAKE_OVER_BILLING");
    assert_eq!(invitation["state"], "PENDING");
    assert_eq!(invitation["invitedBy"]["name"], "Ana Alvarez");
    // Dana cannot see side-project yet, so the list of apps hides it.
    assert_eq!(invitation["apps"], json!([]));
    let id = invitation["id"].as_str().expect("id").to_owned();
    assert!(node_visible(&app, &demo.ana, &id).await, "the inviter");
    assert!(node_visible(&app, &demo.dana, &id).await, "the invitee");
    assert!(!node_visible(&app, &demo.fay, &id).await);
    assert!(!node_visible(&app, &demo.eli, &id).await);

    let filtered = app
        .query(
            &demo.dana,
            "{ viewer { invitations(state: ACCEPTED, first: 5) { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(filtered["viewer"]["invitations"]["totalCount"], 0);
}

async fn access_requests_are_for_the_requester_and_unlimited_members(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nebula = team_id(&app, "Nebula").await;
    let q = "query($id: ID!) { node(id: $id) { ... on Team {
        accessRequests(first: 5) { totalCount nodes { id state app { name } requester { name } } } } } }";
    let chen = app.query(&demo.chen, q, json!({ "id": nebula })).await;
    let requests = &chen["node"]["accessRequests"];
    assert_eq!(requests["totalCount"], 1);
    assert_eq!(requests["nodes"][0]["requester"]["name"], "Eli Egan");
    let id = requests["nodes"][0]["id"].as_str().expect("id").to_owned();
    let ana = app.query(&demo.ana, q, json!({ "id": nebula })).await;
    assert_eq!(
        ana["node"]["accessRequests"]["totalCount"], 0,
        "LIMITED members do not see requests"
    );
    assert!(
        node_visible(&app, &demo.eli, &id).await,
        "the requester sees its own"
    );
    assert!(!node_visible(&app, &demo.ana, &id).await);
}

async fn ids_of_the_wrong_kind_or_forged_are_null(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    for id in [
        "",
        "garbage",
        "VGVhbTpub3QtYS11dWlk",
        &rocket.replace('A', "B"),
    ] {
        assert!(!node_visible(&app, &demo.ana, id).await, "{id}");
    }
}

async fn secrets_of_the_viewer_are_its_own(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let own = app
        .query(&demo.ana, "{ viewer { sshKeys { id fingerprint } personalAccessTokens(first: 1) { nodes { id } } } }", json!({}))
        .await;
    let key = own["viewer"]["sshKeys"][0]["id"]
        .as_str()
        .expect("Ana's key")
        .to_owned();
    let token = own["viewer"]["personalAccessTokens"]["nodes"][0]["id"]
        .as_str()
        .expect("Ana's token")
        .to_owned();
    for id in [&key, &token] {
        assert!(node_visible(&app, &demo.ana, id).await, "the owner");
        assert!(!node_visible(&app, &demo.chen, id).await, "a team mate");
        assert!(!node_visible(&app, &demo.fay, id).await, "an outsider");
    }

    let data = app
        .query(&demo.ana, "{ viewer { email personalAccessTokens(first: 5) { totalCount nodes { name prefix scope } } } }", json!({}))
        .await;
    let tokens = &data["viewer"]["personalAccessTokens"];
    assert_eq!(tokens["totalCount"], 1);
    let prefix = tokens["nodes"][0]["prefix"].as_str().expect("prefix");
    assert!(demo.ana.starts_with(prefix) && prefix.len() < demo.ana.len());
    assert!(
        !data.to_string().contains(&demo.ana),
        "the secret is never shown again"
    );
}

const EVENTS: &str = "query($filter: EventFilterInput, $last: Int) {
    events(filter: $filter, last: $last) { totalCount nodes { sequence type category summary actorName
      subjects { kind name node { id } } } } }";

async fn event_types(app: &TestApp, token: &str, filter: serde_json::Value) -> (i64, Vec<String>) {
    let data = app
        .query(token, EVENTS, json!({ "filter": filter, "last": 100 }))
        .await;
    let events = &data["events"];
    let types = events["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .map(|n| n["type"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    (events["totalCount"].as_i64().unwrap_or(-1), types)
}

async fn events_are_seen_through_the_access_of_their_category(app: TestApp) {
    let demo = Demo::seed(&app).await;
    assert_eq!(event_types(&app, &demo.fay, json!(null)).await, (0, vec![]));
    // Dana created Acme (her own), bills Acme (the team connection) and sees acme-shop; the
    // take-over invitation concerns an app she cannot see yet.
    assert_eq!(
        event_types(&app, &demo.dana, json!(null)).await.1,
        [
            "PAYMENT_METHOD_CREATED",
            "TEAM_CONNECTED_TO_PAYMENT_METHOD",
            "APP_CREATED",
            "DEVELOPER_SUBSCRIBED"
        ]
    );
    // Bo is a LIMITED member of Rocket: its collaboration, not its billing.
    assert_eq!(
        event_types(&app, &demo.bo, json!(null)).await.1,
        [
            "TEAM_CREATED",
            "MEMBER_JOINED",
            "APP_CREATED",
            "DEVELOPER_SUBSCRIBED",
            "MEMBER_INVITED"
        ]
    );
    // Eli sees nebula-api through Nebula, and his own request.
    assert_eq!(
        event_types(&app, &demo.eli, json!(null)).await.1,
        ["APP_CREATED", "ACCESS_REQUESTED"]
    );
}

async fn event_filters_narrow_what_is_visible(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let shop = app_id(&app, "acme-shop").await;
    let (count, types) = event_types(&app, &demo.ana, json!({ "appId": shop })).await;
    assert_eq!(
        (count, types),
        (
            2,
            vec!["APP_CREATED".to_owned(), "DEVELOPER_SUBSCRIBED".to_owned()]
        )
    );
    let (_, types) = event_types(&app, &demo.bo, json!({ "types": ["MEMBER_JOINED"] })).await;
    assert_eq!(types, ["MEMBER_JOINED"]);
    // Ana bills Acme through Rocket, and sent the take-over invitation herself.
    let (_, types) = event_types(&app, &demo.ana, json!({ "categories": ["BILLING"] })).await;
    assert_eq!(
        types,
        [
            "PAYMENT_METHOD_CREATED",
            "TEAM_CONNECTED_TO_PAYMENT_METHOD",
            "BILLING_TAKEOVER_INVITED"
        ]
    );
    // A filter on an object outside the viewer's reach shows nothing, not an error.
    let secret = app_id(&app, "fay-secret").await;
    assert_eq!(
        event_types(&app, &demo.ana, json!({ "appId": secret })).await,
        (0, vec![])
    );

    let data = app
        .query(
            &demo.dana,
            "{ events(last: 1) { nodes { summary actor { name } app { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["events"]["nodes"][0],
        json!({ "summary": "Bo Berg subscribed to acme-shop through team Rocket", "actor": { "name": "Bo Berg" }, "app": { "name": "acme-shop" } })
    );
}

async fn saved_event_filters_are_their_owners(app: TestApp) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    let demo = Demo::seed(&app).await;
    let bo = common::demo::person_uuid(&app, "bo@demo.example").await;
    let id = uuid::Uuid::now_v7();
    entity::event_filter::ActiveModel {
        id: Set(id),
        person_id: Set(bo),
        name: Set("joins".to_owned()),
        filter: Set(json!({ "types": ["MEMBER_JOINED"] })),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&app.db.conn)
    .await
    .expect("filter");
    let data = app
        .query(
            &demo.bo,
            "{ viewer { eventFilters { id name filter { types } } } }",
            json!({}),
        )
        .await;
    let saved = &data["viewer"]["eventFilters"][0];
    assert_eq!(saved["filter"]["types"], json!(["MEMBER_JOINED"]));
    let saved_id = saved["id"].as_str().expect("id").to_owned();
    let (_, types) = event_types(&app, &demo.bo, json!({ "savedFilterId": saved_id })).await;
    assert_eq!(types, ["MEMBER_JOINED"]);
    // Contradicting the saved filter matches nothing.
    let (count, _) = event_types(
        &app,
        &demo.bo,
        json!({ "savedFilterId": saved_id, "types": ["TEAM_CREATED"] }),
    )
    .await;
    assert_eq!(count, 0);

    let (_, body) = app
        .graphql_raw(
            Some(&demo.ana),
            EVENTS,
            json!({ "filter": { "savedFilterId": saved_id } }),
        )
        .await;
    assert_eq!(common::error_code(&body), Some("NOT_FOUND"), "{body}");
    assert!(!node_visible(&app, &demo.ana, &saved_id).await);
    assert!(node_visible(&app, &demo.bo, &saved_id).await);
}

async fn objects_list_the_events_about_them_that_the_viewer_may_see(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let types = |data: &serde_json::Value| -> Vec<String> {
        data["node"]["events"]["nodes"]
            .as_array()
            .map(|n| {
                n.iter()
                    .map(|e| e["type"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let q = "query($id: ID!) { node(id: $id) { ... on Team { events { nodes { type } } } ... on App { events { nodes { type } } }
        ... on PaymentMethod { events { nodes { type } } } ... on Person { events { nodes { type } } } } }";
    let rocket = team_id(&app, "Rocket").await;
    let bo = app.query(&demo.bo, q, json!({ "id": rocket })).await;
    assert_eq!(
        types(&bo),
        [
            "TEAM_CREATED",
            "MEMBER_JOINED",
            "APP_CREATED",
            "DEVELOPER_SUBSCRIBED",
            "MEMBER_INVITED"
        ]
    );
    let ana = app.query(&demo.ana, q, json!({ "id": rocket })).await;
    assert_eq!(types(&ana).len(), 6, "UNLIMITED: the billing event too");
    let shop = app_id(&app, "acme-shop").await;
    assert_eq!(
        types(&app.query(&demo.dana, q, json!({ "id": shop })).await),
        ["APP_CREATED", "DEVELOPER_SUBSCRIBED"]
    );
    let acme = payment_method_id(&app, "Acme Corp").await;
    assert_eq!(
        types(&app.query(&demo.dana, q, json!({ "id": acme })).await),
        [
            "PAYMENT_METHOD_CREATED",
            "TEAM_CONNECTED_TO_PAYMENT_METHOD",
            "APP_CREATED"
        ]
    );
    let bo_id = person_id(&app, "bo@demo.example").await;
    assert_eq!(
        types(&app.query(&demo.ana, q, json!({ "id": bo_id })).await),
        ["MEMBER_JOINED", "DEVELOPER_SUBSCRIBED"]
    );
    let filtered = app
        .query(&demo.ana, "query($id: ID!) { node(id: $id) { ... on Team { events(filter: { types: [MEMBER_JOINED] }) { totalCount } } } }", json!({ "id": rocket }))
        .await;
    assert_eq!(filtered["node"]["events"]["totalCount"], 1);
}

on_both_databases!(
    objects_list_the_events_about_them_that_the_viewer_may_see,
    events_are_seen_through_the_access_of_their_category,
    event_filters_narrow_what_is_visible,
    saved_event_filters_are_their_owners,
    outsiders_reach_nothing_by_id,
    outsiders_cannot_count_what_they_cannot_see,
    people_are_visible_to_those_who_share_something,
    team_internals_are_for_members_and_billing_for_unlimited_ones,
    billing_access_shows_basics_not_internals,
    limited_members_see_team_apps_without_internals,
    payment_methods_are_for_billing_people_only,
    team_deletion_impact_lists_what_only_the_team_reaches,
    environments_need_technical_access,
    authorized_keys_are_the_developers_keys,
    invitations_are_seen_by_inviter_invitee_and_senders,
    access_requests_are_for_the_requester_and_unlimited_members,
    ids_of_the_wrong_kind_or_forged_are_null,
    secrets_of_the_viewer_are_its_own,
);
