//! Nothing says more than the fields do (docs/security.md): refusals that would tell an outsider
//! an object exists, another person's connections, events and their filters, and invitation
//! secrets at rest. Each on SQLite and PostgreSQL.

use crate::common;

use crate::common::TestApp;
use crate::common::demo::{Demo, app_id, payment_method_id, person_id, team_id};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

/// A developer with nothing, and a token.
async fn outsider(app: &TestApp, email: &str) -> String {
    let mut world =
        warren::seed::world::World::new(&app.db.conn, warren::seed::world::Clock::now());
    common::person_with_token(
        &mut world,
        "Outsider",
        email,
        entity::enums::AccountType::Developer,
    )
    .await
    .1
}

/// docs/security.md, "Refusals": an outsider disconnecting its own team from someone else's
/// payment method gets NOT_FOUND, exactly as for an unknown id, and the answer never names the
/// payment method.
async fn disconnecting_from_an_unseen_payment_method_is_not_found(app: TestApp) {
    let _demo = Demo::seed(&app).await;
    let mallory = outsider(&app, "mallory@example.com").await;
    let (body, code) = app
        .mutate(
            &mallory,
            "createTeam",
            json!({ "name": "Mallory's" }),
            "team { id }",
        )
        .await;
    assert_eq!(code, None, "{body}");
    let team = body["data"]["createTeam"]["team"]["id"].clone();
    let acme = payment_method_id(&app, "Acme Corp").await;
    let unknown = warren::api::relay::global_id(
        warren::api::relay::NodeKind::PaymentMethod,
        uuid::Uuid::now_v7(),
    )
    .0;
    let mut answers = Vec::new();
    for pm in [&acme, &unknown] {
        let (body, code) = app
            .mutate(
                &mallory,
                "disconnectTeamFromPaymentMethod",
                json!({ "teamId": team, "paymentMethodId": pm }),
                "clientMutationId",
            )
            .await;
        assert_eq!(code.as_deref(), Some("NOT_FOUND"), "{body}");
        assert!(!body.to_string().contains("Acme"), "{body}");
        answers.push(body["errors"][0].clone());
    }
    assert_eq!(answers[0], answers[1], "the two refusals must be the same");
}

/// docs/security.md, "Another person's connections": `Person.apps` of someone else shows only
/// the apps whose developers the viewer may see, as `App.developers` does.
async fn person_apps_hide_what_app_developers_hide(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let query = "query($person: ID!, $app: ID!) {
        person: node(id: $person) { ... on Person { apps { totalCount nodes { name } edges { connectedAt team { id } } } } }
        app: node(id: $app) { ... on App { name developers { totalCount } } }
    }";
    // Eli, LIMITED in Nebula without a grant for nebula-api, sees the app but not its
    // developers; Ana's connection to it must not show through Ana's apps.
    // Bo, LIMITED in Rocket, sees acme-blog but not its developers (Chen).
    // Dana, a client billing Acme, sees Acme's apps but none of their developers.
    for (viewer, person, hidden) in [
        (&demo.eli, "ana@demo.example", "nebula-api"),
        (&demo.bo, "chen@demo.example", "acme-blog"),
        (&demo.dana, "bo@demo.example", "acme-shop"),
    ] {
        let answer = app
            .query(
                viewer,
                query,
                json!({ "person": person_id(&app, person).await, "app": app_id(&app, hidden).await }),
            )
            .await;
        assert_eq!(answer["app"]["name"], hidden, "{answer}");
        assert_eq!(answer["app"]["developers"]["totalCount"], 0, "{answer}");
        let names: Vec<&str> = answer["person"]["apps"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["name"].as_str())
            .collect();
        assert!(!names.contains(&hidden), "{person} {answer}");
        assert_eq!(
            answer["person"]["apps"]["totalCount"].as_u64(),
            Some(names.len() as u64),
            "{answer}"
        );
    }
    // Whoever sees the developers still sees the connection: Chen (UNLIMITED in Nebula).
    let answer = app
        .query(
            &demo.chen,
            query,
            json!({ "person": person_id(&app, "ana@demo.example").await, "app": app_id(&app, "nebula-api").await }),
        )
        .await;
    assert!(
        answer["person"]["apps"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .any(|n| n["name"] == "nebula-api"),
        "{answer}"
    );
}

/// Chen (UNLIMITED in Nebula, billing Nebula Ltd) creates the app nebula-worker in Nebula on
/// Nebula Ltd; returns its id.
async fn create_nebula_worker(app: &TestApp, demo: &Demo) -> Value {
    let (body, code) = app
        .mutate(
            &demo.chen,
            "createApp",
            json!({
                "name": "nebula-worker",
                "teamId": team_id(app, "Nebula").await,
                "paymentMethodId": payment_method_id(app, "Nebula Ltd").await,
            }),
            "app { id }",
        )
        .await;
    assert_eq!(code, None, "{body}");
    body["data"]["createApp"]["app"]["id"].clone()
}

const EVENTS: &str = "query($filter: EventFilterInput) {
    events(first: 100, filter: $filter) {
        totalCount
        nodes { type summary payload subjects { kind name } paymentMethod { id } }
    }
}";

/// The events `token` sees with `filter`.
async fn events(app: &TestApp, token: &str, filter: Value) -> Value {
    app.query(token, EVENTS, json!({ "filter": filter })).await["events"].clone()
}

fn nodes(events: &Value) -> &Vec<Value> {
    events["nodes"].as_array().expect("nodes")
}

/// docs/security.md, "Events": a LIMITED member is not shown the payment method of a team app
/// it does not bill, in subjects, summary, payload or filters; nor access requests' events.
async fn events_say_no_more_than_the_fields(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nebula = team_id(&app, "Nebula").await;
    let nebula_ltd = payment_method_id(&app, "Nebula Ltd").await;
    let worker = create_nebula_worker(&app, &demo).await;
    // As a field: Ana (LIMITED in Nebula) sees the app, not its payment method.
    let seen = app
        .query(
            &demo.ana,
            "query($id: ID!) { node(id: $id) { ... on App { name paymentMethod { id } } } }",
            json!({ "id": worker }),
        )
        .await;
    assert_eq!(seen["node"]["name"], "nebula-worker", "{seen}");
    assert_eq!(seen["node"]["paymentMethod"], Value::Null, "{seen}");

    let all = events(&app, &demo.ana, Value::Null).await;
    let created = nodes(&all)
        .iter()
        .find(|e| {
            e["type"] == "APP_CREATED"
                && e["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("nebula-worker"))
        })
        .unwrap_or_else(|| panic!("Ana sees the app's creation: {all}"));
    assert_eq!(
        created["summary"], "Chen Cho created app nebula-worker in team Nebula on a payment method",
        "{created}"
    );
    assert!(!created.to_string().contains("Nebula Ltd"), "{created}");
    assert!(
        created["subjects"]
            .as_array()
            .expect("subjects")
            .iter()
            .all(|s| s["kind"] != "PAYMENT_METHOD"),
        "{created}"
    );
    assert_eq!(created["paymentMethod"], Value::Null);
    // No access request's event: Ana may not see Nebula's access requests.
    assert!(
        nodes(&all).iter().all(|e| !e["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("ACCESS_REQUEST"))),
        "{all}"
    );
    let requests = app
        .query(
            &demo.ana,
            "query($id: ID!) { node(id: $id) { ... on Team { accessRequests { totalCount } } } }",
            json!({ "id": nebula }),
        )
        .await;
    assert_ne!(
        requests["node"]["accessRequests"]["totalCount"].as_i64(),
        Some(1),
        "{requests}"
    );
    // A filter on the payment method matches nothing for her, exactly as an unknown one.
    let filtered = events(&app, &demo.ana, json!({ "paymentMethodId": nebula_ltd })).await;
    assert_eq!(filtered["totalCount"], 0, "{filtered}");
    assert!(nodes(&filtered).is_empty(), "{filtered}");

    // Chen, who bills Nebula Ltd and is UNLIMITED in Nebula, is shown everything.
    let chens = events(&app, &demo.chen, json!({ "paymentMethodId": nebula_ltd })).await;
    assert!(
        nodes(&chens).iter().any(|e| e["summary"]
            == "Chen Cho created app nebula-worker in team Nebula on payment method Nebula Ltd"),
        "{chens}"
    );
    let chens = events(&app, &demo.chen, Value::Null).await;
    assert!(
        nodes(&chens)
            .iter()
            .any(|e| e["type"] == "ACCESS_REQUESTED"),
        "{chens}"
    );
    // Eli, the requester, sees its own request's event.
    let elis = events(&app, &demo.eli, Value::Null).await;
    assert!(
        nodes(&elis).iter().any(|e| e["type"] == "ACCESS_REQUESTED"),
        "{elis}"
    );
}

/// The same rendering in the live feed: Ana's subscription gets the app's creation with the
/// payment method named by its kind, and no access request's event.
async fn the_live_feed_renders_events_for_its_viewer(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nebula = team_id(&app, "Nebula").await;
    let mut socket = common::ws::connect(app.addr, &demo.ana).await;
    // From Ana's newest event on: whatever happens next is delivered, however soon.
    let newest = app
        .query(
            &demo.ana,
            "{ events(last: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    common::ws::send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($after: String) { events(after: $after) { type summary subjects { kind } } }",
            "variables": { "after": newest["events"]["edges"][0]["cursor"] },
        } }),
    )
    .await;
    // Chen denies Eli's pending request (not Ana's to see: she is LIMITED in Nebula), then
    // creates an app on Nebula Ltd (hers to see, but not its payment method).
    let pending = app
        .query(
            &demo.chen,
            "query($id: ID!) { node(id: $id) { ... on Team { accessRequests { nodes { id } } } } }",
            json!({ "id": nebula }),
        )
        .await;
    let request = pending["node"]["accessRequests"]["nodes"][0]["id"].clone();
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "denyAccessRequest",
            json!({ "accessRequestId": request })
        )
        .await,
        None
    );
    create_nebula_worker(&app, &demo).await;
    let event = common::ws::receive(&mut socket).await;
    assert_eq!(event["type"], "next", "{event}");
    let event = &event["payload"]["data"]["events"];
    assert_eq!(
        event["type"], "APP_CREATED",
        "the denial is not Ana's to see: {event}"
    );
    assert_eq!(
        event["summary"],
        "Chen Cho created app nebula-worker in team Nebula on a payment method"
    );
    assert!(
        event["subjects"]
            .as_array()
            .expect("subjects")
            .iter()
            .all(|s| s["kind"] != "PAYMENT_METHOD"),
        "{event}"
    );
}

/// docs/security.md, "Secrets at rest": without an SMTP server (and without
/// `--log-invitation-links`) an invitation's link reaches no log line, and its mail stays
/// queued.
async fn invitation_links_stay_out_of_the_log(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let log = tempfile::NamedTempFile::new().expect("a log file");
    let (_server, addr) = common::serve_process(
        &app.database_url,
        "trace",
        std::process::Stdio::from(log.reopen().expect("the log file")),
        &[],
    )
    .await;
    let client = reqwest::Client::new();
    let rocket = team_id(&app, "Rocket").await;
    let body: Value = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&demo.ana)
        .json(&json!({
            "query": "mutation($input: InviteToTeamInput!) { inviteToTeam(input: $input) { acceptUrl } }",
            "variables": { "input": { "teamId": rocket, "email": "zed@example.com", "role": "LIMITED" } },
        }))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    let link = body["data"]["inviteToTeam"]["acceptUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let (_, secret) = link.split_once("token=").expect("a secret in the link");
    // Give the mail worker (it looks every second) time to act.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let logged = std::fs::read_to_string(log.path()).expect("the log");
    assert!(!logged.is_empty(), "the server logged at trace level");
    assert!(!logged.contains(secret), "the secret is in the log");
    let mail = entity::mail_outbox::Entity::find()
        .filter(entity::mail_outbox::Column::Recipient.eq("zed@example.com"))
        .one(&app.db.conn)
        .await
        .expect("query")
        .expect("the mail");
    assert_eq!(mail.sent_at, None, "without SMTP the mail waits");
}

on_both_databases!(
    disconnecting_from_an_unseen_payment_method_is_not_found,
    person_apps_hide_what_app_developers_hide,
    events_say_no_more_than_the_fields,
    the_live_feed_renders_events_for_its_viewer,
    invitation_links_stay_out_of_the_log,
);
