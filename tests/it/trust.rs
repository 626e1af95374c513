//! Trust is decided for each operation as of its start (README.md, "Security model"): over a
//! WebSocket as over HTTP, every operation — a query or a mutation sent as `subscribe` as much
//! as the `events` subscription — checks its credential again (token neither revoked nor
//! expired, browser session not logged out, account not cancelled) and reads the viewer's
//! account type and reach as they are now. An operation whose credential has ended is refused
//! (`error`, UNAUTHENTICATED) and the connection closed (4403); a reach that shrank shows on a
//! socket exactly as over HTTP; a change to an account racing a mutation by the same person
//! never leaves a state the rules forbid; and the checks cost a socket no more statements
//! than a request.

use crate::common;

use std::collections::BTreeMap;

use crate::common::TestApp;
use crate::common::demo::{Demo, app_id, payment_method_id, person_id, team_id};
use crate::common::ws::{self, Socket, receive, send};
use entity::enums::{AccountType, TokenScope};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::{Value, json};
use uuid::Uuid;
use warren::api::relay::{NodeKind, global_id};
use warren::seed::world::{Clock, World};

type Seeder<'a> = World<'a, sea_orm::DatabaseConnection>;

const VIEWER_ID: &str = "{ viewer { id } }";
const CREATE_TEAM: &str =
    "mutation($name: String!) { createTeam(input: {name: $name}) { team { id } } }";
const CREATE_TOKEN: &str = "mutation($name: String!) {
  createPersonalAccessToken(input: {name: $name, scope: WRITE}) { secret }
}";
const CREATE_APP: &str =
    "mutation($name: String!) { createApp(input: {name: $name}) { app { id } } }";
const ACCOUNT_TYPE: &str = "{ viewer { accountType } }";

/// Race rounds: half with one request sent first, half with the other.
const ROUNDS: usize = 40;

/// Team members whose account is cancelled.
const CANCELLED_MEMBERS: &str = "SELECT count(*) FROM team_member tm \
     JOIN person p ON p.id = tm.person_id WHERE p.cancelled_at IS NOT NULL";
/// Teams without any member.
const MEMBERLESS_TEAMS: &str = "SELECT count(*) FROM team t \
     WHERE NOT EXISTS (SELECT 1 FROM team_member tm WHERE tm.team_id = t.id)";
/// Developer connections held by CLIENT accounts.
const CLIENT_CONNECTIONS: &str = "SELECT count(*) FROM developer_connection dc \
     JOIN person p ON p.id = dc.person_id WHERE p.account_type = 'CLIENT'";

/// A fresh DEVELOPER, with nothing in the way of cancelling or becoming a CLIENT, and a WRITE
/// token.
async fn developer(world: &mut Seeder<'_>, name: &str) -> (Uuid, String) {
    let email = format!("{name}@trust.example");
    common::person_with_token(world, name, &email, AccountType::Developer).await
}

/// Another WRITE token of `person`'s, named `name`.
async fn another_token(app: &TestApp, person: Uuid, name: &str) -> warren::rules::auth::NewToken {
    warren::rules::auth::create_token(&app.db.conn, person, name, TokenScope::Write, None)
        .await
        .map_err(|e| e.message())
        .expect("a second token")
}

/// `token`'s holder revokes its token `revoked` over HTTP.
async fn revoke(app: &TestApp, token: &str, revoked: Uuid) {
    let id = global_id(NodeKind::PersonalAccessToken, revoked).0;
    let code = app
        .mutation_code(
            token,
            "revokePersonalAccessToken",
            json!({ "personalAccessTokenId": id }),
        )
        .await;
    assert_eq!(code, None, "revoking the socket's token");
}

/// Asserts that operation `id` was refused because what signed the connection in has ended
/// (an `error` message for it, UNAUTHENTICATED), and that the server then closed the
/// connection with 4403.
async fn assert_refused_and_closed(socket: &mut Socket, id: &str) {
    let refused = receive(socket).await;
    assert_eq!(
        refused["type"], "error",
        "operation {id} ran on an ended credential: {refused}"
    );
    assert_eq!(refused["id"], id, "{refused}");
    let error = &refused["payload"][0];
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{refused}");
    assert!(error["message"].is_string(), "{refused}");
    assert_eq!(
        receive(socket).await,
        json!({ "closed": 4403 }),
        "the connection stays open after refusing {id}"
    );
}

/// The message that answers operation `id` first: its `next` (once the `complete` that must
/// follow it has arrived) or an `error`; never a closed connection.
async fn first_answer(socket: &mut Socket, id: &str) -> Value {
    let answer = receive(socket).await;
    assert_eq!(answer["id"], id, "{answer}");
    if answer["type"] == "next" {
        let done = receive(socket).await;
        assert_eq!(done["type"], "complete", "{done}");
    } else {
        assert_eq!(answer["type"], "error", "{answer}");
    }
    answer
}

/// Whether `answer` (from `first_answer`) refused the mutation `field`: an `error` message, or
/// a result with an error and no payload.
fn refused(answer: &Value, field: &str) -> bool {
    answer["type"] == "error"
        || (answer["payload"]["errors"][0]["extensions"]["code"].is_string()
            && answer["payload"]["data"][field].is_null())
}

/// The one number `sql` (a `SELECT count(*)`) counts.
async fn count(app: &TestApp, sql: &str) -> i64 {
    let backend = app.db.conn.get_database_backend();
    app.db
        .conn
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .expect("count query")
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("a count")
}

/// Rows of `E` whose `column` is `name`, whoever owns them (teams, tokens, apps).
async fn named<E>(app: &TestApp, column: E::Column, name: &str) -> u64
where
    E: EntityTrait,
    E::Model: Sync,
{
    E::find()
        .filter(column.eq(name))
        .count(&app.db.conn)
        .await
        .expect("count")
}

/// A revoked token stops working on the sockets it opened: the very next operation there, a
/// plain query, is refused with UNAUTHENTICATED and the connection is closed with 4403
/// (README.md, "Security model": a credential is checked again for each operation).
async fn a_revoked_token_refuses_the_next_query_on_its_socket(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let (pat, main) = developer(&mut world, "pat").await;
    let socket_token = another_token(&app, pat, "socket").await;
    let mut socket = ws::connect(app.addr, &socket_token.secret).await;
    let before = ws::execute(&mut socket, "before", VIEWER_ID, json!({})).await;
    assert_eq!(
        before["data"]["viewer"]["id"],
        global_id(NodeKind::Person, pat).0,
        "{before}"
    );

    revoke(&app, &main, socket_token.model.id).await;
    let (status, _) = app
        .graphql_raw(Some(&socket_token.secret), VIEWER_ID, json!({}))
        .await;
    assert_eq!(status, 401, "the revoked token still works over HTTP");

    ws::start(&mut socket, "after", VIEWER_ID, json!({})).await;
    assert_refused_and_closed(&mut socket, "after").await;
}

/// Mutations sent on a socket whose token was revoked are refused the same way and change
/// nothing: no team, no new token (README.md, "Security model").
async fn a_revoked_token_refuses_mutations_on_its_socket(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let (pat, main) = developer(&mut world, "pat").await;
    let team_name = "Made after revocation";
    let token_name = "made after revocation";
    for (id, mutation, name) in [
        ("team", CREATE_TEAM, team_name),
        ("token", CREATE_TOKEN, token_name),
    ] {
        let socket_token = another_token(&app, pat, &format!("socket for {id}")).await;
        let mut socket = ws::connect(app.addr, &socket_token.secret).await;
        let before = ws::execute(&mut socket, "before", VIEWER_ID, json!({})).await;
        assert!(before["data"]["viewer"]["id"].is_string(), "{before}");
        revoke(&app, &main, socket_token.model.id).await;
        ws::start(&mut socket, id, mutation, json!({ "name": name })).await;
        assert_refused_and_closed(&mut socket, id).await;
    }

    // Pat's other token sees no trace of either, and neither does the database.
    let pats = app
        .query(
            &main,
            "{ viewer { teams { totalCount } personalAccessTokens(first: 100) { nodes { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(pats["viewer"]["teams"]["totalCount"], 0, "{pats}");
    let names: Vec<&str> = pats["viewer"]["personalAccessTokens"]["nodes"]
        .as_array()
        .expect("tokens")
        .iter()
        .filter_map(|token| token["name"].as_str())
        .collect();
    assert!(!names.contains(&token_name), "{pats}");
    nothing_named(&app, team_name, token_name).await;
}

/// Asserts that no team is named `team` and no personal access token `token`: the refused
/// mutations wrote nothing.
async fn nothing_named(app: &TestApp, team: &str, token: &str) {
    use entity::{personal_access_token, team};
    assert_eq!(
        named::<team::Entity>(app, team::Column::Name, team).await,
        0,
        "a team {team}"
    );
    assert_eq!(
        named::<personal_access_token::Entity>(app, personal_access_token::Column::Name, token)
            .await,
        0,
        "a token {token}"
    );
}

/// Cancelling an account ends every socket it signed in: the next operation on each (a query,
/// `createTeam`, `createPersonalAccessToken`) is refused with UNAUTHENTICATED and the
/// connection closed with 4403; nothing is created (README.md, "Security model").
async fn cancelling_the_account_refuses_the_next_operation_on_its_sockets(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let (pat, token) = developer(&mut world, "pat").await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut socket = ws::connect(app.addr, &token).await;
        let before = ws::execute(&mut socket, "before", VIEWER_ID, json!({})).await;
        assert_eq!(
            before["data"]["viewer"]["id"],
            global_id(NodeKind::Person, pat).0,
            "{before}"
        );
        sockets.push(socket);
    }

    let (body, code) = app
        .mutate(&token, "cancelAccount", json!({}), "cancelledPersonId")
        .await;
    assert_eq!(code, None, "{body}");

    let name = "Made after cancelling";
    let operations = [
        ("query", VIEWER_ID),
        ("team", CREATE_TEAM),
        ("token", CREATE_TOKEN),
    ];
    for (socket, (id, document)) in sockets.iter_mut().zip(operations) {
        ws::start(socket, id, document, json!({ "name": name })).await;
        assert_refused_and_closed(socket, id).await;
    }
    nothing_named(&app, name, name).await;
    assert_eq!(count(&app, CANCELLED_MEMBERS).await, 0);
}

/// A person signed in with a browser session: its id and the session's cookie header.
async fn signed_in(app: &TestApp, world: &mut Seeder<'_>, email: &str) -> (Uuid, String) {
    let person = world
        .person("Sid", email, AccountType::Developer)
        .await
        .expect("person");
    let policy = warren::rules::session::SessionPolicy::for_public_url(&app.url(""));
    let secret = warren::rules::session::start(&app.db.conn, person, &policy)
        .await
        .map_err(|e| e.message())
        .expect("session");
    (
        person,
        format!("{}={secret}", warren::rules::session::SESSION_COOKIE),
    )
}

/// A connection signed in by the session cookie, from a page of this site, acknowledged.
async fn cookie_socket(app: &TestApp, cookie: &str) -> Socket {
    let mut socket = ws::handshake_with_cookie(app.addr, cookie, &app.url("")).await;
    send(&mut socket, json!({ "type": "connection_init" })).await;
    let ack = receive(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// Logging out ends the session's sockets: the next operation on each, a query or a mutation,
/// is refused with UNAUTHENTICATED and the connection closed with 4403 (README.md, "Security
/// model").
async fn logging_out_refuses_the_next_operation_on_the_session_s_sockets(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let (sid, cookie) = signed_in(&app, &mut world, "sid@trust.example").await;
    let mut for_query = cookie_socket(&app, &cookie).await;
    let mut for_mutation = cookie_socket(&app, &cookie).await;
    for socket in [&mut for_query, &mut for_mutation] {
        let before = ws::execute(socket, "before", VIEWER_ID, json!({})).await;
        assert_eq!(
            before["data"]["viewer"]["id"],
            global_id(NodeKind::Person, sid).0,
            "{before}"
        );
    }

    let response = app
        .client
        .post(app.url("/auth/logout"))
        .header("Cookie", &cookie)
        .header("Origin", app.url(""))
        .send()
        .await
        .expect("logout");
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{response:?}"
    );

    ws::start(&mut for_query, "query", VIEWER_ID, json!({})).await;
    assert_refused_and_closed(&mut for_query, "query").await;
    let name = "Made after logging out";
    ws::start(
        &mut for_mutation,
        "team",
        CREATE_TEAM,
        json!({ "name": name }),
    )
    .await;
    assert_refused_and_closed(&mut for_mutation, "team").await;
    assert_eq!(
        named::<entity::team::Entity>(&app, entity::team::Column::Name, name).await,
        0
    );
}

/// What Bo (a LIMITED member of Rocket, subscribed to acme-shop through it) looks at: Rocket
/// with its members, acme-shop's environments and authorized keys, and his own teams and apps.
const BO_LOOKS: &str = "query($team: ID!, $app: ID!) {
  viewer {
    teams { nodes { id name } }
    apps { nodes { name environments { name authorizedKeys { nodes { fingerprint } } } } }
  }
  team: node(id: $team) {
    ... on Team { id name viewerRole members { totalCount nodes { name } } apps { nodes { name } } }
  }
  app: node(id: $app) {
    ... on App {
      id name
      environments { name authorizedKeys { nodes { fingerprint } } }
      developers { nodes { name } }
    }
  }
}";

/// A member removed from a team over HTTP sees, on the socket it opened before, exactly what
/// HTTP shows it: no longer the team, its members, nor the environments and authorized keys of
/// the app it worked on through the team (README.md, "Security model": the reach is read again
/// for each operation).
async fn a_removed_member_s_socket_shows_what_http_shows(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    let shop = app_id(&app, "acme-shop").await;
    let variables = json!({ "team": rocket, "app": shop });
    let mut socket = ws::connect(app.addr, &demo.bo).await;
    let before = ws::execute(&mut socket, "before", BO_LOOKS, variables.clone()).await;
    assert!(before.get("errors").is_none(), "{before}");
    assert_eq!(
        before["data"]["team"]["members"]["totalCount"], 3,
        "{before}"
    );
    let environments = before["data"]["app"]["environments"]
        .as_array()
        .expect("environments");
    assert!(!environments.is_empty(), "{before}");
    assert!(
        environments[0]["authorizedKeys"]["nodes"]
            .as_array()
            .is_some_and(|keys| !keys.is_empty()),
        "{before}"
    );

    let removed = app
        .mutation_code(
            &demo.ana,
            "removeTeamMember",
            json!({ "teamId": rocket, "personId": person_id(&app, "bo@demo.example").await }),
        )
        .await;
    assert_eq!(removed, None);

    let after = ws::execute(&mut socket, "after", BO_LOOKS, variables.clone()).await;
    let (status, over_http) = app.graphql_raw(Some(&demo.bo), BO_LOOKS, variables).await;
    assert_eq!(status, 200, "{over_http}");
    assert_eq!(after["data"], over_http["data"], "socket and HTTP differ");
    assert_eq!(after.get("errors"), over_http.get("errors"));
    assert!(over_http["data"]["team"].is_null(), "{over_http}");
    assert!(over_http["data"]["app"].is_null(), "{over_http}");
}

/// What Dana looks at about Acme Corp, which she bills directly: its billing details, through
/// the node and her own payment methods, and through the app it owns.
const DANA_LOOKS: &str = "query($pm: ID!, $app: ID!) {
  viewer { paymentMethods { nodes { id label invoiceAddress invoiceEmail vatId } } }
  paymentMethod: node(id: $pm) {
    ... on PaymentMethod { id label invoiceAddress invoiceEmail vatId apps { nodes { name } } }
  }
  app: node(id: $app) { ... on App { name paymentMethod { invoiceAddress vatId } } }
}";

/// A biller removed from a payment method over HTTP sees, on the socket it opened before,
/// exactly what HTTP shows it: no longer the payment method's invoice address or VAT id
/// (README.md, "Security model": the reach is read again for each operation).
async fn a_removed_biller_s_socket_shows_what_http_shows(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let acme = payment_method_id(&app, "Acme Corp").await;
    let shop = app_id(&app, "acme-shop").await;
    let vat = app
        .mutation_code(
            &demo.dana,
            "updatePaymentMethod",
            json!({ "paymentMethodId": acme, "vatId": "DE123456789" }),
        )
        .await;
    assert_eq!(vat, None);
    let variables = json!({ "pm": acme, "app": shop });
    let mut socket = ws::connect(app.addr, &demo.dana).await;
    let before = ws::execute(&mut socket, "before", DANA_LOOKS, variables.clone()).await;
    assert!(before.get("errors").is_none(), "{before}");
    let details = &before["data"]["paymentMethod"];
    assert!(details["invoiceAddress"].is_string(), "{before}");
    assert_eq!(details["vatId"], "DE123456789", "{before}");

    // Ana bills to Acme through Rocket, which keeps Acme a billing path without Dana.
    let removed = app
        .mutation_code(
            &demo.ana,
            "removePaymentMethodPerson",
            json!({ "paymentMethodId": acme, "personId": person_id(&app, "dana@demo.example").await }),
        )
        .await;
    assert_eq!(removed, None);

    let after = ws::execute(&mut socket, "after", DANA_LOOKS, variables.clone()).await;
    let (status, over_http) = app
        .graphql_raw(Some(&demo.dana), DANA_LOOKS, variables)
        .await;
    assert_eq!(status, 200, "{over_http}");
    assert_eq!(after["data"], over_http["data"], "socket and HTTP differ");
    assert_eq!(after.get("errors"), over_http.get("errors"));
    assert!(over_http["data"]["paymentMethod"].is_null(), "{over_http}");
    let text = over_http.to_string();
    assert!(
        !text.contains("DE123456789") && !text.contains("1 Example Street"),
        "{over_http}"
    );
}

/// Runs `first` and `second` at once, sending `first`'s request first in even rounds and
/// `second`'s in odd ones; returns their results in the order given.
async fn race<A, B>(
    round: usize,
    first: impl std::future::Future<Output = A>,
    second: impl std::future::Future<Output = B>,
) -> (A, B) {
    if round.is_multiple_of(2) {
        tokio::join!(first, second)
    } else {
        let (b, a) = tokio::join!(second, first);
        (a, b)
    }
}

/// Counts each pair of outcomes, for the log.
fn tally(outcomes: &mut BTreeMap<String, usize>, a: &Option<String>, b: &Option<String>) {
    *outcomes.entry(format!("{a:?} / {b:?}")).or_default() += 1;
}

/// `updateViewer(accountType: CLIENT)` races `createApp` by the same developer, both orders,
/// many times: afterwards no CLIENT ever holds a developer connection (README.md, "Security
/// model": a mutation's rules read the actor inside its own transaction).
async fn becoming_a_client_races_creating_an_app(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let mut outcomes = BTreeMap::new();
    let mut violations = Vec::new();
    // What the database held after the previous round: a round adding to it is reported.
    let mut earlier = 0;
    for round in 0..ROUNDS {
        let (_, token) = developer(&mut world, &format!("client-race-{round}")).await;
        let (became, created) = race(
            round,
            app.mutation_code(&token, "updateViewer", json!({ "accountType": "CLIENT" })),
            app.mutation_code(
                &token,
                "createApp",
                json!({ "name": format!("race app {round}") }),
            ),
        )
        .await;
        tally(&mut outcomes, &became, &created);
        let now = app
            .query(
                &token,
                "{ viewer { accountType apps { totalCount } } }",
                json!({}),
            )
            .await;
        let viewer = &now["viewer"];
        if viewer["accountType"] == "CLIENT" && viewer["apps"]["totalCount"] != 0 {
            violations.push(format!("round {round}: {became:?} {created:?}: {now}"));
        }
        let in_database = count(&app, CLIENT_CONNECTIONS).await;
        if in_database > earlier {
            violations.push(format!(
                "round {round}: {became:?} {created:?}: {} more CLIENT connections",
                in_database - earlier
            ));
        }
        earlier = in_database;
    }
    eprintln!("updateViewer / createApp outcomes: {outcomes:?}");
    assert!(violations.is_empty(), "{violations:#?}");
}

/// `cancelAccount` races `createTeam` by the same person, both orders, many times: afterwards
/// no team ever has a cancelled member, and no team is left without members (README.md,
/// "Security model").
async fn cancelling_races_creating_a_team(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let mut outcomes = BTreeMap::new();
    let mut violations = Vec::new();
    // What the database held after the previous round: a round adding to it is reported.
    let mut earlier = (0, 0);
    for round in 0..ROUNDS {
        let (_, token) = developer(&mut world, &format!("cancel-race-{round}")).await;
        let (cancelled, created) = race(
            round,
            app.mutation_code(&token, "cancelAccount", json!({})),
            app.mutation_code(
                &token,
                "createTeam",
                json!({ "name": format!("race team {round}") }),
            ),
        )
        .await;
        tally(&mut outcomes, &cancelled, &created);
        let now = (
            count(&app, CANCELLED_MEMBERS).await,
            count(&app, MEMBERLESS_TEAMS).await,
        );
        if now != earlier {
            violations.push(format!(
                "round {round}: {cancelled:?} {created:?}: {} more cancelled members, {} more \
                 teams without members",
                now.0 - earlier.0,
                now.1 - earlier.1
            ));
        }
        earlier = now;
    }
    eprintln!("cancelAccount / createTeam outcomes: {outcomes:?}");
    assert!(violations.is_empty(), "{violations:#?}");
}

/// A socket opened while its person was a DEVELOPER creates no app once the person became a
/// CLIENT over HTTP, and reads the account type as it is now (README.md, "Security model": the
/// account type is read again for each operation).
async fn a_socket_opened_as_a_developer_creates_no_app_once_a_client(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let (_, token) = developer(&mut world, "dev").await;
    let mut socket = ws::connect(app.addr, &token).await;
    let before = ws::execute(&mut socket, "before", ACCOUNT_TYPE, json!({})).await;
    assert_eq!(
        before["data"]["viewer"]["accountType"], "DEVELOPER",
        "{before}"
    );

    let (body, code) = app
        .mutate(
            &token,
            "updateViewer",
            json!({ "accountType": "CLIENT" }),
            "viewer { accountType }",
        )
        .await;
    assert_eq!(code, None, "{body}");

    let name = "made by a client";
    ws::start(&mut socket, "app", CREATE_APP, json!({ "name": name })).await;
    let answer = first_answer(&mut socket, "app").await;
    assert!(refused(&answer, "createApp"), "{answer}");
    assert_eq!(
        named::<entity::app::Entity>(&app, entity::app::Column::Name, name).await,
        0,
        "{answer}"
    );
    assert_eq!(count(&app, CLIENT_CONNECTIONS).await, 0);

    let now = ws::execute(&mut socket, "now", ACCOUNT_TYPE, json!({})).await;
    let over_http = app.query(&token, ACCOUNT_TYPE, json!({})).await;
    assert_eq!(over_http["viewer"]["accountType"], "CLIENT");
    assert_eq!(now["data"], over_http, "socket and HTTP differ");
}

/// `createApp` over a socket opened as a DEVELOPER races `updateViewer(accountType: CLIENT)`
/// over HTTP, both orders, many times: afterwards no CLIENT ever holds a developer connection
/// (README.md, "Security model").
async fn a_socket_s_create_app_races_becoming_a_client(app: TestApp) {
    let mut world = World::new(&app.db.conn, Clock::now());
    let mut outcomes = BTreeMap::new();
    let mut violations = Vec::new();
    // What the database held after the previous round: a round adding to it is reported.
    let mut earlier = 0;
    for round in 0..ROUNDS {
        let (_, token) = developer(&mut world, &format!("socket-race-{round}")).await;
        let mut socket = ws::connect(app.addr, &token).await;
        let name = format!("socket race app {round}");
        let create = async {
            ws::start(&mut socket, "app", CREATE_APP, json!({ "name": name })).await;
            let answer = first_answer(&mut socket, "app").await;
            let error = if answer["type"] == "error" {
                &answer["payload"][0]
            } else {
                &answer["payload"]["errors"][0]
            };
            refused(&answer, "createApp").then(|| {
                error["extensions"]["code"]
                    .as_str()
                    .unwrap_or("?")
                    .to_owned()
            })
        };
        let (became, created) = race(
            round,
            app.mutation_code(&token, "updateViewer", json!({ "accountType": "CLIENT" })),
            create,
        )
        .await;
        tally(&mut outcomes, &became, &created);
        let in_database = count(&app, CLIENT_CONNECTIONS).await;
        if in_database > earlier {
            violations.push(format!(
                "round {round}: {became:?} {created:?}: {} more CLIENT connections",
                in_database - earlier
            ));
        }
        earlier = in_database;
    }
    eprintln!("updateViewer (HTTP) / createApp (socket) outcomes: {outcomes:?}");
    assert!(violations.is_empty(), "{violations:#?}");
}

/// The dashboard's kind of query: the viewer with its teams and their members.
const TEAMS_AND_MEMBERS: &str = "{
  viewer { id name teams { totalCount nodes { id name members { totalCount nodes { id name } } } } }
}";

/// Checking the credential, account and reach for each operation costs a socket no more
/// statements than a request pays for the same query, when nothing changed in between
/// (README.md, "Security model").
async fn a_socket_operation_costs_no_more_statements_than_a_request(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    // Once each first: whatever is recorded on first use (the token's last use, say) is not
    // what is measured.
    app.query(&demo.ana, TEAMS_AND_MEMBERS, json!({})).await;
    ws::execute(&mut socket, "warm-up", TEAMS_AND_MEMBERS, json!({})).await;

    let start = app.statements();
    let over_http = app.query(&demo.ana, TEAMS_AND_MEMBERS, json!({})).await;
    let http = app.statements() - start;

    let start = app.statements();
    let over_socket = ws::execute(&mut socket, "measured", TEAMS_AND_MEMBERS, json!({})).await;
    let socket_cost = app.statements() - start;

    eprintln!(
        "{:?}: HTTP {http} statements, socket {socket_cost}",
        app.backend
    );
    assert_eq!(over_socket["data"], over_http, "socket and HTTP differ");
    assert!(
        over_http["viewer"]["teams"]["totalCount"]
            .as_i64()
            .is_some_and(|n| n > 0),
        "{over_http}"
    );
    assert!(
        socket_cost <= http,
        "a socket operation cost {socket_cost} statements, a request {http}"
    );
}

on_both_databases!(
    a_revoked_token_refuses_the_next_query_on_its_socket,
    a_revoked_token_refuses_mutations_on_its_socket,
    cancelling_the_account_refuses_the_next_operation_on_its_sockets,
    logging_out_refuses_the_next_operation_on_the_session_s_sockets,
    a_removed_member_s_socket_shows_what_http_shows,
    a_removed_biller_s_socket_shows_what_http_shows,
    becoming_a_client_races_creating_an_app,
    cancelling_races_creating_a_team,
    a_socket_opened_as_a_developer_creates_no_app_once_a_client,
    a_socket_s_create_app_races_becoming_a_client,
    a_socket_operation_costs_no_more_statements_than_a_request,
);
