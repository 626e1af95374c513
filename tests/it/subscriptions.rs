//! The live event feed over WebSocket (`graphql-transport-ws`): events arrive as they commit,
//! `after` replays what came before without gap or duplicate, visibility is decided at
//! delivery, filters apply, and a connection without a valid credential is refused.

use crate::common;

use std::time::Duration;

use crate::common::TestApp;
use crate::common::demo::{Demo, person_id, team_id};
use crate::common::ws::{self, EVENTS, Socket, next_event, receive, send, subscribe};
use futures_util::{SinkExt, StreamExt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn create_team(app: &TestApp, token: &str, name: &str) -> String {
    let (body, code) = app
        .mutate(token, "createTeam", json!({ "name": name }), "team { id }")
        .await;
    assert_eq!(code, None, "{body}");
    body["data"]["createTeam"]["team"]["id"]
        .as_str()
        .expect("team id")
        .to_owned()
}

/// Subscribes on `socket` from "now": after the newest event `token` sees, which it makes by
/// creating a team first. Subscribing from a cursor closes the race between the subscribe
/// message and the mutations that follow it (the replay covers whatever commits meanwhile).
async fn subscribe_from_now(app: &TestApp, socket: &mut Socket, token: &str, filter: Value) {
    create_team(app, token, "Starting point").await;
    let newest = app
        .query(token, "{ events(last: 1) { edges { cursor } } }", json!({}))
        .await;
    let cursor = newest["events"]["edges"][0]["cursor"].clone();
    assert!(cursor.is_string(), "{newest}");
    subscribe(socket, "1", json!({ "after": cursor, "filter": filter })).await;
}

/// Events reach a subscriber as they commit, in sequence order.
async fn events_arrive_live_in_order(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    subscribe_from_now(&app, &mut socket, &demo.ana, Value::Null).await;
    create_team(&app, &demo.ana, "Live one").await;
    let first = next_event(&mut socket).await;
    create_team(&app, &demo.ana, "Live two").await;
    let second = next_event(&mut socket).await;
    assert_eq!(first["type"], "TEAM_CREATED");
    assert!(
        first["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Live one"),
        "{first}"
    );
    assert!(
        second["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Live two"),
        "{second}"
    );
    assert!(second["sequence"].as_i64() > first["sequence"].as_i64());
}

/// `after` replays the visible events after a cursor, then continues live: each event once.
async fn after_replays_then_continues_live(app: TestApp) {
    let demo = Demo::seed(&app).await;
    for name in ["Replay one", "Replay two", "Replay three"] {
        create_team(&app, &demo.ana, name).await;
    }
    let newest = app
        .query(
            &demo.ana,
            "{ events(last: 3) { edges { cursor node { summary } } } }",
            json!({}),
        )
        .await;
    let edges = newest["events"]["edges"].as_array().expect("edges").clone();
    assert!(
        edges[0]["node"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Replay one")
    );
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    subscribe(&mut socket, "1", json!({ "after": edges[0]["cursor"] })).await;
    let replayed = [next_event(&mut socket).await, next_event(&mut socket).await];
    assert!(
        replayed[0]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Replay two")
    );
    assert!(
        replayed[1]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Replay three")
    );
    create_team(&app, &demo.ana, "Replay four").await;
    let live = next_event(&mut socket).await;
    assert!(
        live["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Replay four"),
        "{live}"
    );
    assert_eq!(
        live["sequence"].as_i64(),
        replayed[1]["sequence"].as_i64().map(|s| s + 1),
        "nothing between the replay and the live part, nothing twice"
    );
}

/// Bo loses Rocket mid-stream: he is told he was removed, and Rocket's events stop.
async fn visibility_is_decided_at_delivery(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    let mut socket = ws::connect(app.addr, &demo.bo).await;
    subscribe_from_now(&app, &mut socket, &demo.bo, Value::Null).await;
    let removed = app
        .mutation_code(
            &demo.ana,
            "removeTeamMember",
            json!({ "teamId": rocket, "personId": person_id(&app, "bo@demo.example").await }),
        )
        .await;
    assert_eq!(removed, None);
    let renamed = app
        .mutation_code(
            &demo.ana,
            "renameTeam",
            json!({ "teamId": rocket, "name": "Rocket 2" }),
        )
        .await;
    assert_eq!(renamed, None);
    create_team(&app, &demo.bo, "Bo alone").await;
    assert_eq!(next_event(&mut socket).await["type"], "MEMBER_REMOVED");
    // Not TEAM_RENAMED: Bo no longer sees Rocket.
    assert_eq!(next_event(&mut socket).await["type"], "TEAM_CREATED");
}

/// Filters apply to the live feed as to `Query.events`.
async fn filters_apply_live(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    subscribe_from_now(
        &app,
        &mut socket,
        &demo.ana,
        json!({ "types": ["TEAM_RENAMED"] }),
    )
    .await;
    let team = create_team(&app, &demo.ana, "Filtered").await;
    let renamed = app
        .mutation_code(
            &demo.ana,
            "renameTeam",
            json!({ "teamId": team, "name": "Filtered 2" }),
        )
        .await;
    assert_eq!(renamed, None);
    let event = next_event(&mut socket).await;
    assert_eq!(event["type"], "TEAM_RENAMED", "{event}");
}

/// Without a valid credential in `connection_init` the connection is refused and closed.
async fn connections_need_a_valid_token(app: TestApp) {
    for payload in [
        json!({}),
        json!({ "Authorization": "Bearer wrn_not-a-token" }),
    ] {
        let mut socket = ws::open(app.addr, payload.clone()).await;
        let answer = receive(&mut socket).await;
        assert_eq!(answer["closed"], 4403, "{payload}: {answer}");
    }
}

/// The live feed decides visibility in memory (`Reach::sees_event`), `Query.events` in SQL:
/// after some activity in the demo world, both give every person the same events.
async fn live_and_stored_visibility_agree(app: TestApp) {
    use sea_orm::EntityTrait;
    let demo = Demo::seed(&app).await;
    let rocket = team_id(&app, "Rocket").await;
    create_team(&app, &demo.chen, "Side project").await;
    for (token, mutation, input) in [
        (
            &demo.ana,
            "renameTeam",
            json!({ "teamId": rocket, "name": "Rocket!" }),
        ),
        (
            &demo.chen,
            "createApp",
            json!({ "name": "probe", "teamId": rocket }),
        ),
        (
            &demo.dana,
            "createPaymentMethod",
            json!({ "label": "Dana 2", "paymentType": "INVOICE", "invoiceEmail": "d@demo.example", "invoiceAddress": "Main St" }),
        ),
    ] {
        assert_eq!(
            app.mutation_code(token, mutation, input.clone()).await,
            None,
            "{mutation}"
        );
    }
    let events = entity::event::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("events");
    let subjects = entity::event_subject::Entity::find()
        .all(&app.db.conn)
        .await
        .expect("subjects");
    for (email, token) in [
        ("ana@demo.example", &demo.ana),
        ("bo@demo.example", &demo.bo),
        ("chen@demo.example", &demo.chen),
        ("dana@demo.example", &demo.dana),
        ("eli@demo.example", &demo.eli),
        ("fay@demo.example", &demo.fay),
    ] {
        let person = common::demo::person_uuid(&app, email).await;
        let reach = warren::rules::access::Reach::load(&app.db.conn, person)
            .await
            .expect("reach");
        let mut in_memory: Vec<i64> = events
            .iter()
            .filter(|e| {
                let mine: Vec<_> = subjects
                    .iter()
                    .filter(|s| s.event_id == e.id)
                    .cloned()
                    .collect();
                reach.sees_event(e, &mine)
            })
            .map(|e| e.sequence)
            .collect();
        in_memory.sort();
        let stored = app
            .query(
                token,
                "{ events(first: 100) { nodes { sequence } } }",
                json!({}),
            )
            .await;
        let stored: Vec<i64> = stored["events"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["sequence"].as_i64())
            .collect();
        assert!(stored.len() < 100, "one page holds them all");
        assert_eq!(in_memory, stored, "{email}");
    }
}

/// The rules of `graphql-transport-ws`, each broken once: the server closes the connection
/// with the code the protocol prescribes.
async fn protocol_violations_close_with_their_codes(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let subscribe_message =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": EVENTS } });

    // 4401: subscribe before the connection is acknowledged.
    let mut socket = ws::handshake(app.addr).await;
    send(&mut socket, subscribe_message.clone()).await;
    assert_eq!(receive(&mut socket).await["closed"], 4401);

    // 4429: a second connection_init.
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": {} }),
    )
    .await;
    assert_eq!(receive(&mut socket).await["closed"], 4429);

    // 4409: an id that is already running.
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    send(&mut socket, subscribe_message.clone()).await;
    send(&mut socket, subscribe_message.clone()).await;
    assert_eq!(receive(&mut socket).await["closed"], 4409);

    // 4400: something that is not a protocol message.
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    send(&mut socket, json!({ "type": "shout" })).await;
    assert_eq!(receive(&mut socket).await["closed"], 4400);
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    socket
        .send(Message::Text("{not json".into()))
        .await
        .expect("send");
    assert_eq!(receive(&mut socket).await["closed"], 4400);
}

/// A stream ends when its credential does: Ana revokes the token her subscription uses.
async fn revoking_the_token_ends_the_stream(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let ana = common::demo::person_uuid(&app, "ana@demo.example").await;
    let second = warren::rules::auth::create_token(
        &app.db.conn,
        ana,
        "feed",
        entity::enums::TokenScope::Read,
        None,
    )
    .await
    .map_err(|e| e.message())
    .expect("token");
    let mut socket = ws::connect(app.addr, &second.secret).await;
    subscribe_from_now(&app, &mut socket, &demo.ana, Value::Null).await;
    let revoked = app
        .mutation_code(
            &demo.ana,
            "revokePersonalAccessToken",
            json!({ "personalAccessTokenId": warren::api::relay::global_id(
                warren::api::relay::NodeKind::PersonalAccessToken,
                second.model.id,
            ).0 }),
        )
        .await;
    assert_eq!(revoked, None);
    // The revocation may still be delivered (it is Ana's own event, if it arrives live); then
    // the stream ends refusing the credential, and nothing else comes.
    let mut ended = receive(&mut socket).await;
    if ended["payload"]["data"]["events"]["type"] == "PERSONAL_ACCESS_TOKEN_REVOKED" {
        ended = receive(&mut socket).await;
    }
    assert_eq!(
        ended["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{ended}"
    );
    assert_eq!(receive(&mut socket).await["type"], "complete");
}

/// A stream ends when its token expires, though nothing happens meanwhile.
async fn a_stream_ends_when_its_token_expires(app: TestApp) {
    let demo = Demo::seed(&app).await;
    let ana = common::demo::person_uuid(&app, "ana@demo.example").await;
    let short = warren::rules::auth::create_token(
        &app.db.conn,
        ana,
        "short-lived",
        entity::enums::TokenScope::Read,
        Some(chrono::Duration::seconds(4)),
    )
    .await
    .map_err(|e| e.message())
    .expect("token");
    let mut socket = ws::connect(app.addr, &short.secret).await;
    subscribe_from_now(&app, &mut socket, &demo.ana, Value::Null).await;
    let ended = receive(&mut socket).await;
    assert_eq!(
        ended["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{ended}"
    );
    let message = ended["payload"]["errors"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(message.contains("expired"), "{ended}");
    assert_eq!(receive(&mut socket).await["type"], "complete");
}

/// The live feed with messages of about 30 KiB, so that the buffers between server and client
/// fill after few events.
fn bulky_events() -> String {
    let fields: String = (0..600).map(|i| format!(" s{i}: summary")).collect();
    format!(
        "subscription($after: String) {{ events(after: $after) {{ sequence cursor{fields} }} }}"
    )
}

/// A peer that stops reading altogether is let go after a heartbeat without progress, rather
/// than kept, with what is queued for it, for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_let_go() {
    let app = fast_clocks(Duration::from_secs(10), Duration::from_millis(500)).await;
    let demo = Demo::seed(&app).await;
    let socket = ws::handshake_with_receive_buffer(app.addr, 4096).await;
    let mut socket = ws::authenticate(socket, &demo.ana).await;
    send(
        &mut socket,
        json!({ "id": "stuck", "type": "subscribe", "payload": { "query": bulky_events() } }),
    )
    .await;
    for i in 0..300 {
        create_team(&app, &demo.ana, &format!("Team {i}")).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    // What was on its way still arrives; then the connection ends, without a close frame (the
    // server could not have sent one).
    let drained = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(_) = message {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(
        drained,
        Ok(true),
        "the server kept a peer that did not read, or closed it politely"
    );
}

/// A subscriber that stops reading is not buffered for without bound: once it is more batches
/// behind the feed than the backlog, its subscription ends with an error naming the cursor of
/// the last event it was given, and resuming from there gives every later event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_told_where_to_resume() {
    // The server's send buffer alone grows to a few MiB (tcp_wmem) before it pushes back:
    // about 130 of these events. Many more writes than that leave no doubt.
    const WRITES: usize = 300;
    let app = sqlite_app(warren::http::websocket::LiveOptions {
        feed_backlog: 4,
        ..Default::default()
    })
    .await;
    let demo = Demo::seed(&app).await;
    let socket = ws::handshake_with_receive_buffer(app.addr, 4096).await;
    let mut socket = ws::authenticate(socket, &demo.ana).await;
    let query = bulky_events();
    create_team(&app, &demo.ana, "Starting point").await;
    let newest = app
        .query(
            &demo.ana,
            "{ events(last: 1) { edges { node { sequence cursor } } } }",
            json!({}),
        )
        .await;
    let start = newest["events"]["edges"][0]["node"].clone();
    send(
        &mut socket,
        json!({ "id": "slow", "type": "subscribe",
                "payload": { "query": query, "variables": { "after": start["cursor"] } } }),
    )
    .await;
    // Stop reading while the feed moves on by many more batches than the backlog.
    for i in 0..WRITES {
        create_team(&app, &demo.ana, &format!("Team {i}")).await;
    }
    // Read again: what was on its way arrives, then the end, naming where to resume.
    let mut delivered: Vec<(i64, String)> = Vec::new();
    let resume = loop {
        let message = receive(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        if let Some(error) = message["payload"]["errors"].get(0) {
            assert_eq!(error["extensions"]["code"], "CONFLICT", "{message}");
            let text = error["message"].as_str().expect("message");
            let (_, quoted) = text
                .split_once("after: \"")
                .expect("a cursor in the message");
            break quoted.trim_end_matches('"').to_owned();
        }
        let event = &message["payload"]["data"]["events"];
        delivered.push((
            event["sequence"].as_i64().expect("sequence"),
            event["cursor"].as_str().expect("cursor").to_owned(),
        ));
    };
    assert_eq!(receive(&mut socket).await["type"], "complete");
    assert!(
        delivered.len() < WRITES,
        "the subscriber never fell behind: {} events delivered",
        delivered.len()
    );
    let last_given = delivered
        .last()
        .map_or(start["cursor"].as_str().expect("cursor"), |(_, cursor)| {
            cursor.as_str()
        });
    assert_eq!(resume, last_given);
    // Resuming there gives each later event once, in order.
    subscribe(&mut socket, "again", json!({ "after": resume })).await;
    while delivered.len() < WRITES {
        let event = next_event(&mut socket).await;
        delivered.push((
            event["sequence"].as_i64().expect("sequence"),
            event["cursor"].as_str().expect("cursor").to_owned(),
        ));
    }
    let first = start["sequence"].as_i64().expect("sequence");
    let stored: Vec<i64> = entity::event::Entity::find()
        .filter(entity::event::Column::Sequence.gt(first))
        .order_by_asc(entity::event::Column::Sequence)
        .all(&app.db.conn)
        .await
        .expect("events")
        .into_iter()
        .map(|event| event.sequence)
        .collect();
    let sequences: Vec<i64> = delivered.iter().map(|(sequence, _)| *sequence).collect();
    assert_eq!(sequences, stored);
}

/// The legacy `graphql-ws` protocol is spoken too, and the handshake names the protocol the
/// server will speak.
async fn the_legacy_protocol_is_spoken_too(app: TestApp) {
    let demo = Demo::seed(&app).await;
    for offered in ["graphql-ws", "graphql-transport-ws"] {
        let mut request = format!("ws://{}/graphql", app.addr)
            .into_client_request()
            .expect("request");
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", offered.parse().expect("header"));
        let (mut socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket handshake");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            offered,
            "the subprotocol answered"
        );
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", demo.ana) } }),
        )
        .await;
        assert_eq!(
            receive(&mut socket).await["type"],
            "connection_ack",
            "{offered}"
        );
    }
}

/// No gap, no duplicate, in order, under load: 8 writers produce 5,000 events while 3
/// subscribers read a random number of events each time, disconnect, and resume with `after`
/// from the last cursor they received. Each must see every event exactly once, in sequence
/// order.
async fn resuming_subscribers_see_every_event_once_under_concurrent_writers(app: TestApp) {
    const WRITERS: usize = 8;
    const RENAMES: usize = 625;
    let demo = Demo::seed(&app).await;
    let mut teams = Vec::new();
    for w in 0..WRITERS {
        teams.push(create_team(&app, &demo.ana, &format!("writer {w}")).await);
    }
    let newest = app
        .query(
            &demo.ana,
            "{ events(last: 1) { edges { cursor node { sequence } } } }",
            json!({}),
        )
        .await;
    let start_cursor = newest["events"]["edges"][0]["cursor"].clone();
    let start = newest["events"]["edges"][0]["node"]["sequence"]
        .as_i64()
        .expect("a sequence");
    let total = WRITERS * RENAMES;

    let subscribers: Vec<_> = (0..3u64)
        .map(|seed| {
            let (addr, token, cursor) = (app.addr, demo.ana.clone(), start_cursor.clone());
            tokio::spawn(async move { read_with_resumes(addr, &token, cursor, total, seed).await })
        })
        .collect();
    let writers: Vec<_> = teams
        .into_iter()
        .map(|team| {
            let (url, token) = (app.url("/graphql"), demo.ana.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for n in 0..RENAMES {
                    let body: Value = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({
                            "query": "mutation($input: RenameTeamInput!) { renameTeam(input: $input) { clientMutationId } }",
                            "variables": { "input": { "teamId": team, "name": format!("name {n}") } },
                        }))
                        .send()
                        .await
                        .expect("request")
                        .json()
                        .await
                        .expect("JSON");
                    assert!(body.get("errors").is_none(), "{body}");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let expected: Vec<i64> = (start + 1..=start + total as i64).collect();
    for (n, subscriber) in subscribers.into_iter().enumerate() {
        let seen = subscriber.await.expect("subscriber");
        assert_eq!(seen.len(), expected.len(), "subscriber {n}");
        assert!(
            seen == expected,
            "subscriber {n} saw a gap, a duplicate or a reordering"
        );
    }
}

/// A subscriber resuming after an event the feed still holds in memory is served from there,
/// without replaying from the database; after one it no longer holds, from the database. Both
/// give the same events.
async fn recent_cursors_are_resumed_from_memory(app: TestApp) {
    const TEAMS: usize = 2 * FEED_HISTORY;
    let demo = Demo::seed(&app).await;
    for i in 0..TEAMS {
        create_team(&app, &demo.ana, &format!("Resumed {i}")).await;
    }
    let newest = app
        .query(
            &demo.ana,
            &format!("{{ events(last: {TEAMS}) {{ edges {{ cursor node {{ sequence }} }} }} }}"),
            json!({}),
        )
        .await;
    let edges = newest["events"]["edges"].as_array().expect("edges").clone();
    let sequence = |edge: &Value| edge["node"]["sequence"].as_i64().expect("sequence");
    let newest_sequence = sequence(&edges[TEAMS - 1]);
    // (cursor, whether replaying it reads the database): the newest few events are in memory,
    // the oldest of these no longer.
    for (edge, from_the_database) in [(&edges[TEAMS - 4], false), (&edges[0], true)] {
        app.db.record_statements();
        let mut socket = ws::connect(app.addr, &demo.ana).await;
        subscribe(&mut socket, "1", json!({ "after": edge["cursor"] })).await;
        let mut delivered = Vec::new();
        while delivered.last() != Some(&newest_sequence) {
            delivered.push(
                next_event(&mut socket).await["sequence"]
                    .as_i64()
                    .expect("sequence"),
            );
        }
        let replays = app
            .db
            .take_recorded()
            .iter()
            .filter(|statement| statement.sql.contains("c.sequence >"))
            .count();
        let expected: Vec<i64> = (sequence(edge) + 1..=newest_sequence).collect();
        assert_eq!(delivered, expected);
        assert_eq!(
            replays > 0,
            from_the_database,
            "{replays} replay statements"
        );
    }
}

/// Reads `total` events from `after` on, reconnecting every few events (a random number, from
/// a seeded generator) and resuming after the last cursor received, as it does when the server
/// says it fell behind. Returns the sequences.
async fn read_with_resumes(
    addr: std::net::SocketAddr,
    token: &str,
    mut after: Value,
    total: usize,
    seed: u64,
) -> Vec<i64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut seen = Vec::with_capacity(total);
    while seen.len() < total {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let batch = 1 + (state >> 33) as usize % 700;
        let mut socket = ws::connect(addr, token).await;
        subscribe(&mut socket, "1", json!({ "after": after })).await;
        for _ in 0..batch {
            let message = ws::receive(&mut socket).await;
            if message["payload"]["errors"][0]["extensions"]["code"] == "CONFLICT" {
                // A subscriber that falls behind the feed (a busy machine, replays from the
                // database) is told to resume after the last event it was sent: that is ours.
                let said = message["payload"]["errors"][0]["message"].as_str();
                let ours = after.as_str().expect("a cursor");
                assert!(
                    said.is_some_and(|said| said.contains(&format!("after: \"{ours}\""))),
                    "the lagging subscriber is told to resume after {ours}, not {message}"
                );
                break;
            }
            let event = message["payload"]["data"]["events"].clone();
            let sequence = event["sequence"].as_i64();
            seen.push(sequence.unwrap_or_else(|| panic!("an event, not {message}")));
            after = event["cursor"].clone();
            if seen.len() == total {
                break;
            }
        }
        // Hang up without a word, as a client that goes away does.
        drop(socket);
    }
    seen
}

/// A server whose WebSocket clocks run fast, on SQLite (the database plays no part).
async fn fast_clocks(init_timeout: Duration, heartbeat: Duration) -> TestApp {
    sqlite_app(warren::http::websocket::LiveOptions {
        init_timeout,
        heartbeat,
        ..Default::default()
    })
    .await
}

/// A server on SQLite with these live options, which accepts `bulky_events`.
async fn sqlite_app(live: warren::http::websocket::LiveOptions) -> TestApp {
    TestApp::spawn_configured(common::Backend::Sqlite, |addr| async move {
        let mut settings = warren::http::Settings::new(&format!("http://{addr}"));
        settings.live = live;
        // `bulky_events` makes its messages large with aliases.
        settings.limits.aliases = 1_000;
        settings
    })
    .await
    .expect("SQLite is always available")
}

/// A server shutting down closes its WebSocket connections with 1001 (going away), so that
/// clients reconnect and resume, rather than dropping them without a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_closes_subscribers_with_going_away() {
    let mut app = TestApp::spawn(common::Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let demo = Demo::seed(&app).await;
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    subscribe(&mut socket, "feed", json!({})).await;
    let mut silent = ws::handshake(app.addr).await;
    app.shut_down();
    assert_eq!(receive(&mut socket).await, json!({ "closed": 1001 }));
    // Also a connection that had not even sent connection_init.
    assert_eq!(receive(&mut silent).await, json!({ "closed": 1001 }));
}

/// 4408: no connection_init within the init timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_init_timeout() {
    let app = fast_clocks(Duration::from_millis(300), Duration::from_secs(30)).await;
    let mut socket = ws::handshake(app.addr).await;
    assert_eq!(receive(&mut socket).await["closed"], 4408);
}

/// The server pings open connections, so that proxies keep idle ones open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_pinged() {
    let app = fast_clocks(Duration::from_secs(10), Duration::from_millis(200)).await;
    let demo = Demo::seed(&app).await;
    let mut socket = ws::connect(app.addr, &demo.ana).await;
    // Only a ping ends the wait; a timeout fails the test.
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("a ping within 20 s")
            .expect("the connection is open")
            .expect("a frame");
        if let Message::Ping(_) = frame {
            break;
        }
    }
}

on_both_databases!(
    events_arrive_live_in_order,
    after_replays_then_continues_live,
    visibility_is_decided_at_delivery,
    filters_apply_live,
    connections_need_a_valid_token,
    live_and_stored_visibility_agree,
    protocol_violations_close_with_their_codes,
    the_legacy_protocol_is_spoken_too,
    resuming_subscribers_see_every_event_once_under_concurrent_writers,
    revoking_the_token_ends_the_stream,
    a_stream_ends_when_its_token_expires,
);

/// Events the feed keeps in memory in `recent_cursors_are_resumed_from_memory`.
const FEED_HISTORY: usize = 8;

on_both_databases!(
    mod sqlite_short_history, postgres_short_history
        with warren::http::websocket::LiveOptions { feed_history: super::FEED_HISTORY, ..Default::default() };
    recent_cursors_are_resumed_from_memory,
);

// Again with no event kept in memory, so that every `after` replays from the database.
on_both_databases!(
    mod sqlite_from_the_database, postgres_from_the_database
        with warren::http::websocket::LiveOptions { feed_history: 0, ..Default::default() };
    after_replays_then_continues_live,
    visibility_is_decided_at_delivery,
    resuming_subscribers_see_every_event_once_under_concurrent_writers,
);
