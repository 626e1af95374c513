//! Team membership rules, and the invariant that a team never loses its last UNLIMITED member,
//! also when members act at the same moment.

use crate::common::demo::{Demo, app_id, person_id, person_uuid, team_id};
use crate::common::{TestApp, error_code};
use entity::enums::{AccountType, TeamRole, TokenScope};
use serde_json::{Value, json};
use warren::api::relay::{NodeKind, global_id};
use warren::seed::world::{Clock, World};

async fn mutate(app: &TestApp, token: &str, query: &str, input: Value) -> Option<String> {
    let (_, body) = app
        .graphql_raw(Some(token), query, json!({ "input": input }))
        .await;
    error_code(&body).map(str::to_owned)
}

const CHANGE_ROLE: &str =
    "mutation($input: ChangeTeamMemberRoleInput!) { changeTeamMemberRole(input: $input) { role } }";
const REMOVE: &str = "mutation($input: RemoveTeamMemberInput!) { removeTeamMember(input: $input) { removedPersonId } }";
const LEAVE: &str = "mutation($input: LeaveTeamInput!) { leaveTeam(input: $input) { leftTeamId } }";

async fn roles_are_changed_by_unlimited_members_only(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, bo) = (
        team_id(&app, "Rocket").await,
        person_id(&app, "bo@demo.example").await,
    );
    let promote = json!({ "teamId": rocket, "personId": bo, "role": "UNLIMITED" });
    assert_eq!(
        mutate(&app, &demo.bo, CHANGE_ROLE, promote.clone())
            .await
            .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        mutate(&app, &demo.fay, CHANGE_ROLE, promote.clone())
            .await
            .as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        mutate(&app, &demo.ana, CHANGE_ROLE, promote.clone()).await,
        None
    );
    assert_eq!(
        mutate(&app, &demo.ana, CHANGE_ROLE, promote)
            .await
            .as_deref(),
        Some("CONFLICT"),
        "already UNLIMITED"
    );
    // Bo now sees Rocket's billing side.
    let data = app
        .query(
            &demo.bo,
            "{ viewer { paymentMethods { nodes { label } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"]["paymentMethods"]["nodes"],
        json!([{ "label": "Acme Corp" }])
    );
}

async fn demoting_keeps_subscriptions_as_grants(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, ana) = (
        team_id(&app, "Rocket").await,
        person_id(&app, "ana@demo.example").await,
    );
    assert_eq!(
        mutate(
            &app,
            &demo.chen,
            CHANGE_ROLE,
            json!({ "teamId": rocket, "personId": ana, "role": "LIMITED" })
        )
        .await,
        None
    );
    let shop = app_id(&app, "acme-shop").await;
    let q = "query($id: ID!) { node(id: $id) { ... on App { viewerAccess { developer full billing } } } }";
    let data = app.query(&demo.ana, q, json!({ "id": shop })).await;
    assert_eq!(
        data["node"]["viewerAccess"],
        json!({ "developer": true, "full": false, "billing": false })
    );
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let grants = entity::app_grant::Entity::find()
        .filter(entity::app_grant::Column::PersonId.eq(person_uuid(&app, "ana@demo.example").await))
        .count(&app.db.conn)
        .await
        .expect("count");
    assert_eq!(
        grants, 2,
        "acme-shop through Rocket, nebula-api through Nebula"
    );
}

async fn the_last_unlimited_member_cannot_leave_be_removed_or_demoted(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nebula = team_id(&app, "Nebula").await;
    let chen = person_id(&app, "chen@demo.example").await;
    // Chen is Nebula's only UNLIMITED member.
    for (query, input) in [
        (LEAVE, json!({ "teamId": nebula })),
        (REMOVE, json!({ "teamId": nebula, "personId": chen })),
        (
            CHANGE_ROLE,
            json!({ "teamId": nebula, "personId": chen, "role": "LIMITED" }),
        ),
    ] {
        let (_, body) = app
            .graphql_raw(Some(&demo.chen), query, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), Some("CONFLICT"), "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("no UNLIMITED member left")
        );
    }
}

async fn leaving_ends_what_went_through_the_team(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let nebula = team_id(&app, "Nebula").await;
    assert_eq!(
        mutate(&app, &demo.ana, LEAVE, json!({ "teamId": nebula })).await,
        None
    );
    let data = app
        .query(
            &demo.ana,
            "{ viewer { teams { totalCount } apps { nodes { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["viewer"]["teams"]["totalCount"], 1);
    let apps: Vec<&str> = data["viewer"]["apps"]["nodes"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(!apps.contains(&"nebula-api"), "{apps:?}");
    assert_eq!(
        mutate(&app, &demo.ana, LEAVE, json!({ "teamId": nebula }))
            .await
            .as_deref(),
        Some("NOT_FOUND"),
        "no longer sees it"
    );
    let event = app
        .query(
            &demo.chen,
            "{ events(last: 1) { nodes { type summary } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        event["events"]["nodes"][0],
        json!({ "type": "MEMBER_LEFT", "summary": "Ana Alvarez left team Nebula" })
    );
}

async fn removing_a_member_ends_its_billing_through_the_team(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let (rocket, ana) = (
        team_id(&app, "Rocket").await,
        person_id(&app, "ana@demo.example").await,
    );
    assert_eq!(
        mutate(
            &app,
            &demo.bo,
            REMOVE,
            json!({ "teamId": rocket, "personId": ana })
        )
        .await
        .as_deref(),
        Some("FORBIDDEN")
    );
    assert_eq!(
        mutate(
            &app,
            &demo.chen,
            REMOVE,
            json!({ "teamId": rocket, "personId": ana })
        )
        .await,
        None
    );
    let data = app
        .query(
            &demo.ana,
            "{ viewer { paymentMethods { nodes { label } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["viewer"]["paymentMethods"]["nodes"],
        json!([{ "label": "Ana's card" }])
    );
    // Ana was acme-shop's contact; Bo, still connected, takes over.
    let shop = app_id(&app, "acme-shop").await;
    let data = app
        .query(
            &demo.bo,
            "query($id: ID!) { node(id: $id) { ... on App { technicalContacts { name } } } }",
            json!({ "id": shop }),
        )
        .await;
    assert_eq!(
        data["node"]["technicalContacts"],
        json!([{ "name": "Bo Berg" }])
    );
}

/// The last two UNLIMITED members of a team leave at the same moment, 20 times over: exactly
/// one of each pair succeeds, the other gets CONFLICT, and every team keeps an UNLIMITED member.
async fn concurrent_leaving_never_strands_a_team(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let mut pairs = Vec::new();
    for i in 0..20 {
        let a = world
            .person(
                &format!("A{i}"),
                &format!("a{i}@race.example"),
                AccountType::Developer,
            )
            .await
            .expect("person");
        let b = world
            .person(
                &format!("B{i}"),
                &format!("b{i}@race.example"),
                AccountType::Developer,
            )
            .await
            .expect("person");
        let team = world.team(&format!("Race {i}")).await.expect("team");
        world
            .member(team, a, TeamRole::Unlimited)
            .await
            .expect("member");
        world
            .member(team, b, TeamRole::Unlimited)
            .await
            .expect("member");
        let ta = world
            .token(a, TokenScope::Write)
            .await
            .map_err(|e| e.message())
            .expect("token");
        let tb = world
            .token(b, TokenScope::Write)
            .await
            .map_err(|e| e.message())
            .expect("token");
        pairs.push((team, ta, tb));
    }
    for (team, ta, tb) in &pairs {
        let input = json!({ "teamId": global_id(NodeKind::Team, *team).0 });
        let (ra, rb) = tokio::join!(
            mutate(&app, ta, LEAVE, input.clone()),
            mutate(&app, tb, LEAVE, input.clone())
        );
        let mut outcomes = [ra, rb];
        outcomes.sort();
        assert_eq!(outcomes, [None, Some("CONFLICT".to_owned())], "team {team}");
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let unlimited = entity::team_member::Entity::find()
            .filter(entity::team_member::Column::TeamId.eq(*team))
            .filter(entity::team_member::Column::Role.eq(TeamRole::Unlimited))
            .count(&app.db.conn)
            .await
            .expect("count");
        assert_eq!(unlimited, 1, "team {team}");
    }
}

/// One demotes the other while the other leaves: the team must keep an UNLIMITED member.
async fn concurrent_demotion_and_leaving_never_strand_a_team(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    for i in 0..20 {
        let a = world
            .person(
                &format!("A{i}"),
                &format!("a{i}@race.example"),
                AccountType::Developer,
            )
            .await
            .expect("person");
        let b = world
            .person(
                &format!("B{i}"),
                &format!("b{i}@race.example"),
                AccountType::Developer,
            )
            .await
            .expect("person");
        let team = world.team(&format!("Race {i}")).await.expect("team");
        world
            .member(team, a, TeamRole::Unlimited)
            .await
            .expect("member");
        world
            .member(team, b, TeamRole::Unlimited)
            .await
            .expect("member");
        let ta = world
            .token(a, TokenScope::Write)
            .await
            .map_err(|e| e.message())
            .expect("token");
        let tb = world
            .token(b, TokenScope::Write)
            .await
            .map_err(|e| e.message())
            .expect("token");
        let team_gid = global_id(NodeKind::Team, team).0;
        let demote = json!({ "teamId": team_gid, "personId": global_id(NodeKind::Person, b).0, "role": "LIMITED" });
        let (ra, rb) = tokio::join!(
            mutate(&app, &ta, CHANGE_ROLE, demote),
            mutate(&app, &tb, LEAVE, json!({ "teamId": team_gid }))
        );
        assert!(
            ra.is_none() || rb.is_none(),
            "one of them succeeds: {ra:?} {rb:?}"
        );
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let unlimited = entity::team_member::Entity::find()
            .filter(entity::team_member::Column::TeamId.eq(team))
            .filter(entity::team_member::Column::Role.eq(TeamRole::Unlimited))
            .count(&app.db.conn)
            .await
            .expect("count");
        assert_eq!(unlimited, 1, "race {i}: {ra:?} {rb:?}");
    }
}

on_both_databases!(
    roles_are_changed_by_unlimited_members_only,
    demoting_keeps_subscriptions_as_grants,
    the_last_unlimited_member_cannot_leave_be_removed_or_demoted,
    leaving_ends_what_went_through_the_team,
    removing_a_member_ends_its_billing_through_the_team,
    concurrent_leaving_never_strands_a_team,
    concurrent_demotion_and_leaving_never_strand_a_team,
);
