//! Apps, environments, team apps and developer connections: who may do what, and what follows.

use crate::common;

use crate::common::TestApp;
use crate::common::demo::{Demo, app_id, person_id, team_id};
use entity::enums::AccountType;
use serde_json::{Value, json};
use warren::api::relay::{NodeKind, global_id};
use warren::seed::world::{Clock, World};

async fn app_view(app: &TestApp, token: &str, id: &str) -> Value {
    let q = "query($id: ID!) { node(id: $id) { ... on App { name isTrial environments { name }
        developers { edges { team { name } node { name } } } technicalContacts { name } teams { nodes { name } }
        viewerAccess { developer full billing } } } }";
    app.query(token, q, json!({ "id": id })).await["node"].clone()
}

async fn created_id(app: &TestApp, token: &str, input: Value) -> String {
    let q = "mutation($input: CreateAppInput!) { createApp(input: $input) { app { id } } }";
    let (_, body) = app
        .graphql_raw(Some(token), q, json!({ "input": input }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["createApp"]["app"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn a_personal_app_connects_its_creator_directly(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let id = created_id(
        &app,
        &demo.eli,
        json!({ "name": "eli-tool", "description": "scripts" }),
    )
    .await;
    let view = app_view(&app, &demo.eli, &id).await;
    assert_eq!(view["isTrial"], true);
    assert_eq!(view["environments"], json!([{ "name": "main" }]));
    assert_eq!(
        view["developers"]["edges"],
        json!([{ "team": null, "node": { "name": "Eli Egan" } }])
    );
    assert_eq!(view["technicalContacts"], json!([{ "name": "Eli Egan" }]));
    assert_eq!(
        view["viewerAccess"],
        json!({ "developer": true, "full": true, "billing": false })
    );
    let events = app
        .query(
            &demo.eli,
            "{ events(last: 1) { nodes { type summary } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        events["events"]["nodes"][0],
        json!({ "type": "APP_CREATED", "summary": "Eli Egan created app eli-tool" })
    );
}

async fn team_apps_and_billed_apps_need_membership_and_billing(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, acme) = (
        team_id(&app, "Rocket").await,
        common::demo::payment_method_id(&app, "Acme Corp").await,
    );
    let id = created_id(
        &app,
        &demo.bo,
        json!({ "name": "bo-team-app", "teamId": rocket }),
    )
    .await;
    let view = app_view(&app, &demo.bo, &id).await;
    assert_eq!(
        view["developers"]["edges"][0]["team"]["name"], "Rocket",
        "subscribed through the team"
    );
    assert_eq!(
        view["viewerAccess"]["full"], false,
        "Bo is LIMITED in Rocket"
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "createApp",
            json!({ "name": "x", "paymentMethodId": acme })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutation_code(
            &demo.eli,
            "createApp",
            json!({ "name": "x", "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND")
    );
    let id = created_id(
        &app,
        &demo.ana,
        json!({ "name": "acme-api", "teamId": rocket, "paymentMethodId": acme }),
    )
    .await;
    assert_eq!(app_view(&app, &demo.ana, &id).await["isTrial"], false);
}

async fn clients_create_apps_only_on_their_payment_methods(app: TestApp) {
    let demo = Demo::seed(&app).await;
    assert_eq!(
        app.mutation_code(&demo.dana, "createApp", json!({ "name": "dana-site" }))
            .await
            .as_deref(),
        Some("FORBIDDEN")
    );
    let acme = common::demo::payment_method_id(&app, "Acme Corp").await;
    let id = created_id(
        &app,
        &demo.dana,
        json!({ "name": "dana-site", "paymentMethodId": acme }),
    )
    .await;
    let view = app_view(&app, &demo.dana, &id).await;
    assert_eq!(
        view["viewerAccess"],
        json!({ "developer": false, "full": false, "billing": true })
    );
    assert_eq!(
        view["technicalContacts"],
        json!([]),
        "an app without developers has no contact"
    );
}

async fn settings_need_a_developer_connection_and_deletion_full_rights(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let shop = app_id(&app, "acme-shop").await;
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "updateApp",
            json!({ "appId": shop, "name": "shop" })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.mutation_code(
            &demo.fay,
            "updateApp",
            json!({ "appId": shop, "name": "shop" })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "updateApp",
            json!({ "appId": shop, "description": "the shop" })
        )
        .await,
        None
    );
    assert_eq!(
        app.mutation_code(&demo.bo, "deleteApp", json!({ "appId": shop }))
            .await
            .as_deref(),
        Some("FORBIDDEN"),
        "technical only"
    );
    assert_eq!(
        app.mutation_code(&demo.dana, "deleteApp", json!({ "appId": shop }))
            .await,
        None,
        "billing access"
    );
    assert!(
        app.query(
            &demo.ana,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": shop })
        )
        .await["node"]
            .is_null()
    );
    // The deletion stays visible to the team that held the app.
    let events = app
        .query(
            &demo.bo,
            "{ events(last: 1) { nodes { type } } }",
            json!({}),
        )
        .await;
    assert_eq!(events["events"]["nodes"][0]["type"], "APP_DELETED");
}

async fn an_app_keeps_at_least_one_environment(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let blog = app_id(&app, "acme-blog").await;
    let q = "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id name } } }";
    let (_, body) = app
        .graphql_raw(
            Some(&demo.chen),
            q,
            json!({ "input": { "appId": blog, "name": "preview" } }),
        )
        .await;
    let preview = body["data"]["createEnvironment"]["environment"]["id"].clone();
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "createEnvironment",
            json!({ "appId": blog, "name": "preview" })
        )
        .await
        .as_deref(),
        Some("CONFLICT")
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "renameEnvironment",
            json!({ "environmentId": preview, "name": "x" })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "renameEnvironment",
            json!({ "environmentId": preview, "name": "review" })
        )
        .await,
        None
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "deleteEnvironment",
            json!({ "environmentId": preview })
        )
        .await,
        None
    );
    let main = app_view(&app, &demo.chen, &blog).await["environments"].clone();
    assert_eq!(main, json!([{ "name": "main" }]));
    let envs = app
        .query(
            &demo.chen,
            "query($id: ID!) { node(id: $id) { ... on App { environments { id } } } }",
            json!({ "id": blog }),
        )
        .await;
    let last = envs["node"]["environments"][0]["id"].clone();
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "deleteEnvironment",
            json!({ "environmentId": last })
        )
        .await
        .as_deref(),
        Some("CONFLICT")
    );
}

async fn linking_an_app_to_a_team_needs_both_sides(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, portfolio, side) = (
        team_id(&app, "Rocket").await,
        app_id(&app, "ana-portfolio").await,
        app_id(&app, "side-project").await,
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "addAppToTeam",
            json!({ "appId": side, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN"),
        "LIMITED in the team"
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "addAppToTeam",
            json!({ "appId": side, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("NOT_FOUND"),
        "no access to the app"
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "addAppToTeam",
            json!({ "appId": portfolio, "teamId": rocket })
        )
        .await,
        None
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "addAppToTeam",
            json!({ "appId": portfolio, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("CONFLICT")
    );
    assert_eq!(
        app_view(&app, &demo.bo, &portfolio).await["name"],
        "ana-portfolio",
        "Rocket's members see it now"
    );
}

async fn either_side_may_unlink_and_connections_through_the_team_end(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, blog) = (
        team_id(&app, "Rocket").await,
        app_id(&app, "acme-blog").await,
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "removeAppFromTeam",
            json!({ "appId": blog, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "removeAppFromTeam",
            json!({ "appId": blog, "teamId": rocket })
        )
        .await,
        None,
        "billing side"
    );
    let view = app_view(&app, &demo.dana, &blog).await;
    assert_eq!(view["teams"]["nodes"], json!([]));
    let chen = app
        .query(
            &demo.chen,
            "{ viewer { apps { nodes { name } } } }",
            json!({}),
        )
        .await;
    assert!(
        !chen.to_string().contains("acme-blog"),
        "Chen came through Rocket: {chen}"
    );
}

async fn subscribing_needs_membership_and_for_limited_members_a_grant(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, nebula) = (team_id(&app, "Rocket").await, team_id(&app, "Nebula").await);
    let (shop, api) = (
        app_id(&app, "acme-shop").await,
        app_id(&app, "nebula-api").await,
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "subscribeToApp",
            json!({ "appId": shop, "teamId": rocket })
        )
        .await,
        None
    );
    let (body, code_) = app
        .mutate(
            &demo.chen,
            "subscribeToApp",
            json!({ "appId": shop, "teamId": rocket }),
            "clientMutationId",
        )
        .await;
    assert_eq!(code_.as_deref(), Some("CONFLICT"));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("through team Rocket"),
        "{body}"
    );
    assert_eq!(
        app.mutation_code(
            &demo.eli,
            "subscribeToApp",
            json!({ "appId": api, "teamId": nebula })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN"),
        "no grant"
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "subscribeToApp",
            json!({ "appId": shop, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN"),
        "a client"
    );
    // Unsubscribing takes the grant with it: Bo cannot come back without asking.
    assert_eq!(
        app.mutation_code(&demo.bo, "unsubscribeFromApp", json!({ "appId": shop }))
            .await,
        None
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "subscribeToApp",
            json!({ "appId": shop, "teamId": rocket })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN")
    );
}

async fn a_connection_switches_teams_but_never_becomes_direct(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, nebula, shop) = (
        team_id(&app, "Rocket").await,
        team_id(&app, "Nebula").await,
        app_id(&app, "acme-shop").await,
    );
    // Chen bills Acme and is UNLIMITED in Nebula: he may add acme-shop to Nebula.
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "addAppToTeam",
            json!({ "appId": shop, "teamId": nebula })
        )
        .await,
        None
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "switchDeveloperConnection",
            json!({ "appId": shop, "teamId": nebula })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN"),
        "LIMITED in Nebula without grant"
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "switchDeveloperConnection",
            json!({ "appId": shop, "teamId": nebula })
        )
        .await
        .as_deref(),
        Some("CONFLICT"),
        "nothing to switch"
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "subscribeToApp",
            json!({ "appId": shop, "teamId": rocket })
        )
        .await,
        None
    );
    assert_eq!(
        app.mutation_code(
            &demo.chen,
            "switchDeveloperConnection",
            json!({ "appId": shop, "teamId": nebula })
        )
        .await,
        None
    );
    let view = app_view(&app, &demo.chen, &shop).await;
    let chen = view["developers"]["edges"]
        .as_array()
        .and_then(|e| e.iter().find(|d| d["node"]["name"] == "Chen Cho").cloned())
        .expect("Chen");
    assert_eq!(chen["team"]["name"], "Nebula");
}

async fn full_or_billing_rights_remove_developers_and_full_rights_set_contacts(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let shop = app_id(&app, "acme-shop").await;
    let (ana, bo, chen) = (
        person_id(&app, "ana@demo.example").await,
        person_id(&app, "bo@demo.example").await,
        person_id(&app, "chen@demo.example").await,
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "setTechnicalContacts",
            json!({ "appId": shop, "personIds": [bo] })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "setTechnicalContacts",
            json!({ "appId": shop, "personIds": [chen] })
        )
        .await
        .as_deref(),
        Some("CONFLICT"),
        "not a developer"
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "setTechnicalContacts",
            json!({ "appId": shop, "personIds": [] })
        )
        .await
        .as_deref(),
        Some("BAD_USER_INPUT")
    );
    assert_eq!(
        app.mutation_code(
            &demo.ana,
            "setTechnicalContacts",
            json!({ "appId": shop, "personIds": [bo, ana] })
        )
        .await,
        None
    );
    assert_eq!(
        app.mutation_code(
            &demo.bo,
            "removeAppDeveloper",
            json!({ "appId": shop, "personId": ana })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        app.mutation_code(
            &demo.dana,
            "removeAppDeveloper",
            json!({ "appId": shop, "personId": bo })
        )
        .await,
        None,
        "billing access"
    );
    let view = app_view(&app, &demo.ana, &shop).await;
    assert_eq!(
        view["technicalContacts"],
        json!([{ "name": "Ana Alvarez" }])
    );
}

/// One developer subscribes to one app through two teams at the same moment, 10 times over:
/// one connection results, the other request gets CONFLICT.
async fn concurrent_subscriptions_leave_one_connection(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, nebula) = (team_id(&app, "Rocket").await, team_id(&app, "Nebula").await);
    for i in 0..10 {
        let q = "mutation($input: CreateAppInput!) { createApp(input: $input) { app { id } } }";
        // Chen creates the app in Rocket (full rights), adds it to Nebula, and lets go of it.
        let (_, body) = app
            .graphql_raw(
                Some(&demo.chen),
                q,
                json!({ "input": { "name": format!("race-{i}"), "teamId": rocket } }),
            )
            .await;
        let id = body["data"]["createApp"]["app"]["id"].clone();
        assert_eq!(
            app.mutation_code(
                &demo.chen,
                "addAppToTeam",
                json!({ "appId": id, "teamId": nebula })
            )
            .await,
            None
        );
        assert_eq!(
            app.mutation_code(&demo.chen, "unsubscribeFromApp", json!({ "appId": id }))
                .await,
            None
        );
        let (a, b) = tokio::join!(
            app.mutation_code(
                &demo.chen,
                "subscribeToApp",
                json!({ "appId": id, "teamId": rocket })
            ),
            app.mutation_code(
                &demo.chen,
                "subscribeToApp",
                json!({ "appId": id, "teamId": nebula })
            ),
        );
        let mut outcomes = [a, b];
        outcomes.sort();
        assert_eq!(outcomes, [None, Some("CONFLICT".to_owned())], "race {i}");
    }
}

/// Two developers each delete one of an app's two environments at the same moment, 20 times
/// over: one deletion succeeds, the other gets CONFLICT, and the app keeps one environment.
async fn concurrent_environment_deletions_keep_one(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let create_app = "mutation($input: CreateAppInput!) { createApp(input: $input) { app { id environments { id } } } }";
    let create_env = "mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) { environment { id } } }";
    for i in 0..20 {
        let (_, body) = app
            .graphql_raw(
                Some(&demo.chen),
                create_app,
                json!({ "input": { "name": format!("envs-{i}") } }),
            )
            .await;
        let app_gid = body["data"]["createApp"]["app"]["id"].clone();
        let main = body["data"]["createApp"]["app"]["environments"][0]["id"].clone();
        let (_, body) = app
            .graphql_raw(
                Some(&demo.chen),
                create_env,
                json!({ "input": { "appId": app_gid, "name": "staging" } }),
            )
            .await;
        let staging = body["data"]["createEnvironment"]["environment"]["id"].clone();
        let (a, b) = tokio::join!(
            app.mutation_code(
                &demo.chen,
                "deleteEnvironment",
                json!({ "environmentId": main })
            ),
            app.mutation_code(
                &demo.chen,
                "deleteEnvironment",
                json!({ "environmentId": staging })
            ),
        );
        let mut outcomes = [a, b];
        outcomes.sort();
        assert_eq!(outcomes, [None, Some("CONFLICT".to_owned())], "race {i}");
        let left = app
            .query(
                &demo.chen,
                "query($id: ID!) { node(id: $id) { ... on App { environments { id } } } }",
                json!({ "id": app_gid }),
            )
            .await;
        assert_eq!(
            left["node"]["environments"].as_array().map(Vec::len),
            Some(1),
            "race {i}"
        );
    }
}

/// The technical contact and another developer of an app with three developers leave at the
/// same moment, 20 times over: both succeed and the third developer is the contact.
async fn concurrent_departures_leave_a_contact(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    for i in 0..20 {
        let mut people = Vec::new();
        let mut tokens = Vec::new();
        for who in ["a", "b", "c"] {
            let email = format!("{who}{i}@contacts.example");
            let (person, token) =
                common::person_with_token(&mut world, who, &email, AccountType::Developer).await;
            tokens.push(token);
            people.push(person);
        }
        let shop = world.app(&format!("shop {i}"), None).await.expect("app");
        for person in &people {
            world
                .connect(*person, shop, None)
                .await
                .expect("connection");
        }
        world.contact(shop, people[0]).await.expect("contact");
        let input = json!({ "appId": global_id(NodeKind::App, shop).0 });
        let (a, b) = tokio::join!(
            app.mutation_code(&tokens[0], "unsubscribeFromApp", input.clone()),
            app.mutation_code(&tokens[1], "unsubscribeFromApp", input.clone()),
        );
        assert_eq!((a, b), (None, None), "race {i}");
        let contacts = app
            .query(
                &tokens[2],
                "query($id: ID!) { node(id: $id) { ... on App { technicalContacts { id } } } }",
                json!({ "id": input["appId"] }),
            )
            .await;
        assert_eq!(
            contacts["node"]["technicalContacts"],
            json!([{ "id": global_id(NodeKind::Person, people[2]).0 }]),
            "race {i}"
        );
    }
}

/// An app's only developer (its contact) leaves while a team member subscribes, 20 times over:
/// both succeed and the newcomer is the contact.
async fn a_newcomer_during_the_last_departure_becomes_contact(app: TestApp) {
    use entity::enums::TeamRole;
    let mut world = World::new(&app.db.conn, Clock::now());
    for i in 0..20 {
        let (leaving, ta) = common::person_with_token(
            &mut world,
            "a",
            &format!("a{i}@newcomer.example"),
            AccountType::Developer,
        )
        .await;
        let (newcomer, tb) = common::person_with_token(
            &mut world,
            "b",
            &format!("b{i}@newcomer.example"),
            AccountType::Developer,
        )
        .await;
        let team = world.team(&format!("crew {i}")).await.expect("team");
        world
            .member(team, newcomer, TeamRole::Unlimited)
            .await
            .expect("member");
        let shop = world.app(&format!("shop {i}"), None).await.expect("app");
        world.team_app(team, shop).await.expect("team app");
        world
            .connect(leaving, shop, None)
            .await
            .expect("connection");
        world.contact(shop, leaving).await.expect("contact");
        let app_gid = global_id(NodeKind::App, shop).0;
        let (a, b) = tokio::join!(
            app.mutation_code(&ta, "unsubscribeFromApp", json!({ "appId": app_gid })),
            app.mutation_code(
                &tb,
                "subscribeToApp",
                json!({ "appId": app_gid, "teamId": global_id(NodeKind::Team, team).0 })
            ),
        );
        assert_eq!((a, b), (None, None), "race {i}");
        let contacts = app
            .query(
                &tb,
                "query($id: ID!) { node(id: $id) { ... on App { technicalContacts { id } } } }",
                json!({ "id": app_gid }),
            )
            .await;
        assert_eq!(
            contacts["node"]["technicalContacts"],
            json!([{ "id": global_id(NodeKind::Person, newcomer).0 }]),
            "race {i}"
        );
    }
}

on_both_databases!(
    a_personal_app_connects_its_creator_directly,
    team_apps_and_billed_apps_need_membership_and_billing,
    clients_create_apps_only_on_their_payment_methods,
    settings_need_a_developer_connection_and_deletion_full_rights,
    an_app_keeps_at_least_one_environment,
    linking_an_app_to_a_team_needs_both_sides,
    either_side_may_unlink_and_connections_through_the_team_end,
    subscribing_needs_membership_and_for_limited_members_a_grant,
    a_connection_switches_teams_but_never_becomes_direct,
    full_or_billing_rights_remove_developers_and_full_rights_set_contacts,
    concurrent_subscriptions_leave_one_connection,
    concurrent_environment_deletions_keep_one,
    concurrent_departures_leave_a_contact,
    a_newcomer_during_the_last_departure_becomes_contact,
);
