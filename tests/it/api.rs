//! The HTTP and GraphQL conventions: authentication, Relay pagination, GET for queries only,
//! limits, health probes.

use crate::common;

use crate::common::demo::Demo;
use crate::common::{TestApp, error_code};
use chrono::Duration;
use entity::enums::TokenScope;
use serde_json::{Value, json};

async fn no_token_is_unauthenticated_and_a_bad_one_is_refused(app: TestApp) {
    let (status, body) = app.graphql_raw(None, "{ viewer { id } }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    for bad in ["wrn_not-a-token", "something-else"] {
        let (status, body) = app
            .graphql_raw(Some(bad), "{ viewer { id } }", json!({}))
            .await;
        assert_eq!(status, 401);
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    }
}

async fn expired_and_revoked_tokens_stop_working(app: TestApp) {
    Demo::seed(&app).await;
    let ana = common::demo::person_uuid(&app, "ana@demo.example").await;
    let expired = warren::rules::auth::create_token(
        &app.db.conn,
        ana,
        "old",
        TokenScope::Read,
        Some(Duration::seconds(-1)),
    )
    .await
    .map_err(|e| e.message())
    .expect("token");
    let (status, _) = app
        .graphql_raw(Some(&expired.secret), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(status, 401);

    let revoked =
        warren::rules::auth::create_token(&app.db.conn, ana, "gone", TokenScope::Read, None)
            .await
            .map_err(|e| e.message())
            .expect("token");
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    entity::personal_access_token::ActiveModel {
        id: Set(revoked.model.id),
        revoked_at: Set(Some(chrono::Utc::now())),
        ..Default::default()
    }
    .update(&app.db.conn)
    .await
    .expect("revoke");
    let (status, _) = app
        .graphql_raw(Some(&revoked.secret), "{ viewer { id } }", json!({}))
        .await;
    assert_eq!(status, 401);
}

async fn token_use_is_recorded(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let q = "{ viewer { personalAccessTokens(first: 1) { nodes { lastUsedAt } } } }";
    let data = app.query(&demo.ana, q, json!({})).await;
    assert!(data["viewer"]["personalAccessTokens"]["nodes"][0]["lastUsedAt"].is_string());
}

fn names(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn connections_page_forwards_and_backwards(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let q = "query($first: Int, $after: String, $last: Int, $before: String) { viewer {
        apps(first: $first, after: $after, last: $last, before: $before) {
          totalCount edges { cursor node { name } team { name } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";
    let all = app.query(&demo.ana, q, json!({ "first": 10 })).await["viewer"]["apps"].clone();
    let every = names(&all);
    assert_eq!(
        every,
        ["acme-shop", "ana-portfolio", "nebula-api", "side-project"]
    );
    assert_eq!(all["totalCount"], 4);
    assert_eq!(all["edges"][0]["team"]["name"], "Rocket");
    assert!(
        all["edges"][1]["team"].is_null(),
        "a direct connection has no team"
    );

    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .query(&demo.ana, q, json!({ "first": 3, "after": after }))
            .await["viewer"]["apps"]
            .clone();
        seen.extend(names(&page));
        assert_eq!(
            page["totalCount"], 4,
            "totalCount counts the whole connection"
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, every);

    let tail = app.query(&demo.ana, q, json!({ "last": 2 })).await["viewer"]["apps"].clone();
    assert_eq!(names(&tail), ["nebula-api", "side-project"]);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    let before = tail["pageInfo"]["startCursor"].clone();
    let previous = app
        .query(&demo.ana, q, json!({ "last": 5, "before": before }))
        .await["viewer"]["apps"]
        .clone();
    assert_eq!(names(&previous), ["acme-shop", "ana-portfolio"]);
    assert_eq!(previous["pageInfo"]["hasPreviousPage"], false);
}

async fn bad_page_arguments_are_bad_user_input(app: TestApp) {
    let demo = Demo::seed(&app).await;
    for args in [
        "first: 101",
        "first: -1",
        "first: 1, last: 1",
        "after: \"nope\"",
    ] {
        let query = format!("{{ viewer {{ apps({args}) {{ totalCount }} }} }}");
        let (_, body) = app.graphql_raw(Some(&demo.ana), &query, json!({})).await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{args}: {body}");
    }
}

async fn get_runs_queries_but_never_mutations(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let client = reqwest::Client::new();
    let response = client
        .get(app.url("/graphql"))
        .query(&[("query", "{ viewer { name } }")])
        .bearer_auth(&demo.ana)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["viewer"]["name"], "Ana Alvarez");

    let response = client
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            "mutation { updateViewer(input: {}) { clientMutationId } }",
        )])
        .bearer_auth(&demo.ana)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 405);
}

async fn browsers_get_graphiql_and_probes_answer(app: TestApp) {
    let client = reqwest::Client::new();
    for path in ["/", "/graphql"] {
        let response = client.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 200);
        let page = response.text().await.expect("text");
        assert!(page.contains("graphiql"), "{path} is not GraphiQL");
    }
    let health = client.get(app.url("/healthz")).send().await.expect("GET");
    assert_eq!(health.status(), 200);
    let ready = client.get(app.url("/readyz")).send().await.expect("GET");
    assert_eq!(ready.status(), 200);
}

async fn too_deep_queries_are_refused(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nested = |levels: usize| {
        let mut query = String::from("{ viewer { id } }");
        for _ in 0..levels {
            query = query.replacen(
                "{ id }",
                "{ teams(first: 1) { nodes { members(first: 1) { nodes { id } } } } }",
                1,
            );
        }
        query
    };
    let (_, body) = app
        .graphql_raw(Some(&demo.ana), &nested(5), json!({}))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("nests fields 22 deep; the limit is 16"),
        "{body}"
    );
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    // Deeper still, the parser itself refuses; the error carries a code all the same.
    let (_, body) = app
        .graphql_raw(Some(&demo.ana), &nested(40), json!({}))
        .await;
    assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
}

async fn oversized_bodies_are_refused(app: TestApp) {
    let big = format!("{{ viewer {{ id }} }} # {}", "x".repeat(1024 * 1024));
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .json(&json!({ "query": big }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 413);
}

async fn invitation_links_can_be_previewed_by_their_holder(app: TestApp) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
    let demo = Demo::seed(&app).await;
    let invitation = entity::invitation::Entity::find()
        .filter(entity::invitation::Column::Email.eq("gus@demo.example"))
        .one(&app.db.conn)
        .await
        .expect("query")
        .expect("Gus's invitation");
    let secret = warren::rules::auth::new_secret(warren::rules::auth::INVITATION_PREFIX);
    entity::invitation::ActiveModel {
        id: Set(invitation.id),
        secret_hash: Set(warren::rules::auth::hash_secret(&secret)),
        ..Default::default()
    }
    .update(&app.db.conn)
    .await
    .expect("set secret");
    let q = "query($token: String!) { invitation(token: $token) { email kind role targetName team { name } invitedBy { name } } }";
    // Fay shares nothing with Rocket, but holds the link: she sees the offer, not the team.
    let data = app.query(&demo.fay, q, json!({ "token": secret })).await;
    assert_eq!(
        data["invitation"],
        json!({ "email": "gus@demo.example", "kind": "TEAM", "role": "LIMITED", "targetName": "Rocket", "team": null, "invitedBy": { "name": "Ana Alvarez" } })
    );
    let unknown = warren::rules::auth::new_secret(warren::rules::auth::INVITATION_PREFIX);
    let data = app.query(&demo.fay, q, json!({ "token": unknown })).await;
    assert!(data["invitation"].is_null());
}

/// A cursor names the list it was made for: one of a team's members is refused by a person's
/// teams, and by the events subscription, with BAD_USER_INPUT; an event cursor by the teams.
async fn a_cursor_of_another_list_is_refused(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let data = app
        .query(
            &demo.ana,
            "{ viewer { teams(first: 1) { nodes { members(first: 1) { edges { cursor } } } } } events(first: 1) { edges { cursor } } }",
            json!({}),
        )
        .await;
    let member = data["viewer"]["teams"]["nodes"][0]["members"]["edges"][0]["cursor"].clone();
    assert!(member.is_string(), "{data}");
    let event = data["events"]["edges"][0]["cursor"].clone();
    assert!(event.is_string(), "{data}");
    let teams = "query($after: String) { viewer { teams(after: $after) { nodes { id } } } }";
    for cursor in [&member, &event] {
        let (_, body) = app
            .graphql_raw(Some(&demo.ana), teams, json!({ "after": cursor }))
            .await;
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    }
    // Its own list takes it.
    let members = "query($after: String) { viewer { teams(first: 1) { nodes { members(after: $after) { nodes { id } } } } } }";
    let data = app
        .query(&demo.ana, members, json!({ "after": member }))
        .await;
    assert!(data["viewer"]["teams"]["nodes"][0]["members"]["nodes"].is_array());
    // The same over a WebSocket, where the events subscription takes event cursors only.
    let mut socket = common::ws::connect(app.addr, &demo.ana).await;
    common::ws::subscribe(&mut socket, "s", json!({ "after": member })).await;
    let answer = common::ws::receive(&mut socket).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{answer}"
    );
}

on_both_databases!(
    a_cursor_of_another_list_is_refused,
    invitation_links_can_be_previewed_by_their_holder,
    no_token_is_unauthenticated_and_a_bad_one_is_refused,
    expired_and_revoked_tokens_stop_working,
    token_use_is_recorded,
    connections_page_forwards_and_backwards,
    bad_page_arguments_are_bad_user_input,
    get_runs_queries_but_never_mutations,
    browsers_get_graphiql_and_probes_answer,
    too_deep_queries_are_refused,
    oversized_bodies_are_refused,
);
