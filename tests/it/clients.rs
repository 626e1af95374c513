//! The live feed with clients written by others: the `graphql-ws` npm package under node, and
//! GraphiQL (the page the server ships) in headless Chromium driven by playwright. The scripts in
//! tests/js take JSON commands on stdin and answer with JSON lines on stdout, so the timeline
//! and every assertion stay here.
//!
//! They need node and npm (`npm ci` runs in tests/js whenever node_modules does not match
//! package-lock.json) and, for the browser, Chromium at /usr/bin/chromium. Without them the
//! tests are skipped, unless `WARREN_TEST_REQUIRE_NODE=1` or `WARREN_TEST_REQUIRE_BROWSER=1` (as
//! `.ci/run` sets) make that a failure.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Backend, TestApp, node};
use entity::enums::AccountType;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use uuid::Uuid;
use warren::seed::world::{Clock, World};

const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a script may take to answer one command. Only a hung browser or server should ever
/// come near it.
const ANSWER_WITHIN: Duration = Duration::from_secs(120);

fn required(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|value| value == "1")
}

/// A script of tests/js running under node.
struct Script {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<String>>,
}

impl Script {
    async fn start(name: &'static str, args: &[&str]) -> Script {
        node::install("js");
        let mut child = Command::new("node")
            .arg(name)
            .args(args)
            .current_dir(node::package_dir("js"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("start node {name}: {err}"));
        let stdin = child.stdin.take().expect("the script's stdin");
        let stdout = BufReader::new(child.stdout.take().expect("the script's stdout")).lines();
        // Kept for failure messages: the test harness would not capture a child's own output.
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut errors = BufReader::new(child.stderr.take().expect("the script's stderr")).lines();
        let collected = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                if let Ok(mut all) = collected.lock() {
                    all.push_str(&line);
                    all.push('\n');
                }
            }
        });
        Script {
            name,
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .map(|all| all.clone())
            .unwrap_or_default()
    }

    async fn send(&mut self, command: Value) {
        let line = format!("{command}\n");
        if let Err(err) = self.stdin.write_all(line.as_bytes()).await {
            panic!(
                "{}: cannot send {command}: {err}\n{}",
                self.name,
                self.stderr()
            );
        }
    }

    /// The script's next message; a fatal one, an ended script or silence fail the test.
    async fn next(&mut self) -> Value {
        let line = match tokio::time::timeout(ANSWER_WITHIN, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("{} ended\n{}", self.name, self.stderr()),
            Ok(Err(err)) => panic!("{}: read: {err}\n{}", self.name, self.stderr()),
            Err(_) => panic!(
                "{} said nothing for {ANSWER_WITHIN:?}\n{}",
                self.name,
                self.stderr()
            ),
        };
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|err| panic!("{}: not JSON ({err}): {line}", self.name));
        if message["event"] == "fatal" {
            panic!(
                "{}: {}\n{}",
                self.name,
                message["message"].as_str().unwrap_or_default(),
                self.stderr()
            );
        }
        message
    }

    /// Closes stdin, which ends the script, and waits for it to exit cleanly.
    async fn finish(self) {
        let Script {
            name,
            mut child,
            stdin,
            stderr,
            ..
        } = self;
        drop(stdin);
        let status = tokio::time::timeout(ANSWER_WITHIN, child.wait())
            .await
            .unwrap_or_else(|_| panic!("{name} did not exit"))
            .expect("wait for the script");
        let stderr = stderr.lock().map(|all| all.clone()).unwrap_or_default();
        assert!(status.success(), "{name} exited with {status}\n{stderr}");
    }
}

/// A developer on a fresh database.
struct Developer {
    id: Uuid,
    email: String,
    /// A WRITE token.
    token: String,
}

async fn developer(app: &TestApp, name: &str) -> Developer {
    let mut world = World::new(&app.db.conn, Clock::now());
    let email = format!("{name}@clients.example");
    let (id, token) =
        common::person_with_token(&mut world, name, &email, AccountType::Developer).await;
    Developer { id, email, token }
}

/// A browser session of `person`, as signing in starts one: the secret its cookie carries.
async fn session_of(app: &TestApp, person: Uuid) -> String {
    let policy = warren::rules::session::SessionPolicy::for_public_url(&app.url(""));
    warren::rules::session::start(&app.db.conn, person, &policy)
        .await
        .map_err(|err| err.message())
        .expect("session")
}

async fn create_team(app: &TestApp, token: &str, name: &str) {
    let (body, code) = app
        .mutate(token, "createTeam", json!({ "name": name }), "team { id }")
        .await;
    assert_eq!(code, None, "{body}");
}

/// The viewer's events after `after` (all of them with `None`), oldest first, as
/// `Query.events` over HTTP lists them.
async fn stored_events(app: &TestApp, token: &str, after: Option<&str>) -> Vec<Value> {
    let data = app
        .query(
            token,
            "query($after: String) { events(first: 100, after: $after) { nodes { cursor sequence type summary } } }",
            json!({ "after": after }),
        )
        .await;
    data["events"]["nodes"].as_array().expect("nodes").clone()
}

/// The cursor of the newest event the viewer sees. The clients subscribe after it rather than
/// from "now": nothing tells the test when the server has taken a subscription in, and a
/// mutation that committed just before would be missed, while one after the cursor is delivered
/// either way (replayed or live).
async fn newest_cursor(app: &TestApp, token: &str) -> String {
    let events = stored_events(app, token, None).await;
    let newest = events.last().expect("the viewer has an event");
    newest["cursor"].as_str().expect("cursor").to_owned()
}

fn summary_of(event: &Value) -> &str {
    event["summary"].as_str().unwrap_or_default()
}

/// The event of a `next` message of subscription `id`.
fn delivered(message: &Value, id: &str) -> Value {
    assert_eq!(message["event"], "next", "{message}");
    assert_eq!(message["id"], id, "{message}");
    assert!(
        message["result"].get("errors").is_none(),
        "the subscription failed: {message}"
    );
    message["result"]["data"]["events"].clone()
}

/// Disposes of graphql-ws client `name`: its socket closes normally, and no event arrives
/// meanwhile.
async fn hang_up(script: &mut Script, name: &str) {
    script
        .send(json!({ "op": "dispose", "client": name }))
        .await;
    let mut closed = None;
    loop {
        let message = script.next().await;
        match message["event"].as_str() {
            Some("disposed") => break,
            Some("closed") => closed = Some(message["code"].clone()),
            Some("complete") => {}
            _ => panic!("while {name} hangs up: {message}"),
        }
    }
    assert_eq!(closed, Some(json!(1000)), "{name} closed normally");
}

/// The graphql-ws client follows the feed, hangs up, and resumes with `after` from the last
/// cursor it got: it receives exactly what happened meanwhile, in order, once, then goes on live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_client_resumes_after_its_last_cursor() {
    if !node::node_or_skip(
        "graphql_ws_client_resumes_after_its_last_cursor",
        &["WARREN_TEST_REQUIRE_NODE"],
    ) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let token = developer(&app, "nadia").await.token;
    create_team(&app, &token, "Before the client").await;
    let start = newest_cursor(&app, &token).await;
    let url = format!("ws://{}/graphql", app.addr);
    let mut client = Script::start("graphql-ws-client.mjs", &[&url]).await;

    client
        .send(json!({ "op": "connect", "client": "first", "token": token }))
        .await;
    assert_eq!(
        client.next().await,
        json!({ "event": "connected", "client": "first" })
    );
    client
        .send(json!({ "op": "subscribe", "client": "first", "id": "live", "after": start }))
        .await;
    create_team(&app, &token, "Seen live").await;
    let live = delivered(&client.next().await, "live");
    assert_eq!(live["type"], "TEAM_CREATED", "{live}");
    assert!(summary_of(&live).contains("Seen live"), "{live}");
    let last_cursor = live["cursor"].as_str().expect("cursor").to_owned();

    hang_up(&mut client, "first").await;

    let names = ["Missed one", "Missed two", "Missed three"];
    for name in names {
        create_team(&app, &token, name).await;
    }
    let missed = stored_events(&app, &token, Some(&last_cursor)).await;
    assert_eq!(missed.len(), names.len(), "{missed:#?}");
    for (event, name) in missed.iter().zip(names) {
        assert!(summary_of(event).contains(name), "{missed:#?}");
    }

    client
        .send(json!({ "op": "connect", "client": "second", "token": token }))
        .await;
    assert_eq!(
        client.next().await,
        json!({ "event": "connected", "client": "second" })
    );
    client
        .send(
            json!({ "op": "subscribe", "client": "second", "id": "resumed", "after": last_cursor }),
        )
        .await;
    let mut replayed = Vec::new();
    for _ in 0..missed.len() {
        replayed.push(delivered(&client.next().await, "resumed"));
    }
    assert_eq!(replayed, missed, "the missed events, in order, once each");

    // Anything delivered twice would come before this one.
    create_team(&app, &token, "After resuming").await;
    let after = delivered(&client.next().await, "resumed");
    assert!(summary_of(&after).contains("After resuming"), "{after}");
    assert_eq!(
        stored_events(&app, &token, Some(&last_cursor)).await,
        [missed, vec![after]].concat(),
        "the client saw every event after its cursor"
    );

    hang_up(&mut client, "second").await;
    client.finish().await;
}

/// A connection with a token the server does not know is closed with 4403 (Forbidden), which
/// graphql-ws reports as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_client_with_a_bad_token_is_closed_with_4403() {
    if !node::node_or_skip(
        "graphql_ws_client_with_a_bad_token_is_closed_with_4403",
        &["WARREN_TEST_REQUIRE_NODE"],
    ) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let url = format!("ws://{}/graphql", app.addr);
    let mut client = Script::start("graphql-ws-client.mjs", &[&url]).await;
    client
        .send(json!({ "op": "connect", "client": "intruder", "token": "wrn_not-a-token" }))
        .await;
    let answer = client.next().await;
    assert_eq!(answer["event"], "closed", "{answer}");
    assert_eq!(answer["code"], 4403, "{answer}");
    client.finish().await;
}

/// Whether node and Chromium are there for browser test `test`: without them it is skipped,
/// unless they are required.
fn browser_or_skip(test: &str) -> bool {
    if !node::node_or_skip(
        test,
        &["WARREN_TEST_REQUIRE_NODE", "WARREN_TEST_REQUIRE_BROWSER"],
    ) {
        return false;
    }
    if !Path::new(CHROMIUM).exists() {
        assert!(
            !required("WARREN_TEST_REQUIRE_BROWSER"),
            "WARREN_TEST_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)"
        );
        eprintln!("skipped {test}: {CHROMIUM} is missing");
        return false;
    }
    true
}

/// How GraphiQL's page is signed in.
enum SignIn<'a> {
    /// With this bearer token, typed into its Headers tab.
    HeadersTab(&'a str),
    /// Not at all on the page: the browser holds the session cookie with this secret.
    SessionCookie(&'a str),
}

/// GraphiQL, served by `app`, open in Chromium and signed in as `sign_in` says. When test
/// `test` fails in the browser, the page is left as a screenshot named after it.
async fn open_graphiql(app: &TestApp, test: &str, sign_in: SignIn<'_>) -> Script {
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{test}.png"));
    let mut browser = Script::start(
        "graphiql-browser.mjs",
        &[&app.url(""), CHROMIUM, &screenshot.to_string_lossy()],
    )
    .await;
    let open = match sign_in {
        SignIn::HeadersTab(token) => json!({ "op": "open", "token": token }),
        SignIn::SessionCookie(secret) => json!({
            "op": "open",
            "cookie": { "name": warren::rules::session::SESSION_COOKIE, "value": secret },
        }),
    };
    browser.send(open).await;
    assert_eq!(browser.next().await, json!({ "event": "opened" }));
    browser
}

/// Runs `query` in GraphiQL and returns what its result pane shows, parsed, once that includes
/// `text` (an error shown instead fails the test).
async fn run_in_graphiql(browser: &mut Script, query: &str, text: &str) -> Value {
    browser.send(json!({ "op": "run", "query": query })).await;
    assert_eq!(browser.next().await, json!({ "event": "ran" }));
    shown_in_graphiql(browser, text).await
}

/// What GraphiQL's result pane shows, parsed, once it includes `text`.
async fn shown_in_graphiql(browser: &mut Script, text: &str) -> Value {
    browser.send(json!({ "op": "expect", "text": text })).await;
    let shown = browser.next().await;
    assert_eq!(shown["event"], "shown", "{shown}");
    serde_json::from_str(shown["response"].as_str().expect("response"))
        .expect("the result pane holds JSON")
}

/// Runs the events subscription after cursor `start` in GraphiQL; returns the payload GraphiQL
/// sent in `connection_init`.
async fn subscribe_in_graphiql(browser: &mut Script, start: &str) -> Value {
    let query = format!(
        "subscription {{\n  events(after: {}) {{\n    cursor\n    type\n    summary\n  }}\n}}",
        json!(start)
    );
    browser
        .send(json!({ "op": "subscribe", "query": query }))
        .await;
    let subscribed = browser.next().await;
    assert_eq!(subscribed["event"], "subscribed", "{subscribed}");
    assert_eq!(subscribed["subscribe"]["query"], query, "{subscribed}");
    subscribed["init"].clone()
}

/// An app the developer with `token` creates over HTTP shows in GraphiQL's result pane, as the
/// newest event.
async fn a_new_app_shows_in_graphiql(app: &TestApp, browser: &mut Script, token: &str) {
    let (body, code) = app
        .mutate(
            token,
            "createApp",
            json!({ "name": "made-while-watching" }),
            "app { id }",
        )
        .await;
    assert_eq!(code, None, "{body}");
    let response = shown_in_graphiql(browser, "made-while-watching").await;
    let event = &response["data"]["events"];
    assert_eq!(event["type"], "APP_CREATED", "{response}");
    assert!(
        summary_of(event).contains("made-while-watching"),
        "{response}"
    );
    assert_eq!(
        event["cursor"],
        json!(newest_cursor(app, token).await),
        "{response}"
    );
}

async fn close_graphiql(mut browser: Script) {
    browser.send(json!({ "op": "close" })).await;
    assert_eq!(browser.next().await["event"], "closed");
    browser.finish().await;
}

/// GraphiQL, served by warren at /graphql, in Chromium: the token typed into its Headers tab
/// authenticates the WebSocket, and an event the test causes shows in the result pane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_in_chromium_shows_a_live_event() {
    let test = "graphiql_in_chromium_shows_a_live_event";
    if !browser_or_skip(test) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let token = developer(&app, "gina").await.token;
    create_team(&app, &token, "Before the browser").await;
    let start = newest_cursor(&app, &token).await;
    let mut browser = open_graphiql(&app, test, SignIn::HeadersTab(&token)).await;

    let init = subscribe_in_graphiql(&mut browser, &start).await;
    assert_eq!(
        init["Authorization"],
        format!("Bearer {token}"),
        "GraphiQL sends its Headers tab in connection_init: {init}"
    );
    a_new_app_shows_in_graphiql(&app, &mut browser, &token).await;
    close_graphiql(browser).await;
}

/// GraphiQL with nothing in its Headers tab, in a browser signed in with the session cookie:
/// the cookie authenticates its queries (a same-origin fetch of JSON) and its WebSocket (an
/// upgrade from the page's own origin), and an event the test causes shows in the result pane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_with_the_session_cookie_shows_a_live_event() {
    let test = "graphiql_with_the_session_cookie_shows_a_live_event";
    if !browser_or_skip(test) {
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let hugo = developer(&app, "hugo").await;
    let secret = session_of(&app, hugo.id).await;
    create_team(&app, &hugo.token, "Before the browser").await;
    let start = newest_cursor(&app, &hugo.token).await;
    let mut browser = open_graphiql(&app, test, SignIn::SessionCookie(&secret)).await;

    let viewer = run_in_graphiql(&mut browser, "{ viewer { email } }", &hugo.email).await;
    assert_eq!(
        viewer,
        json!({ "data": { "viewer": { "email": hugo.email } } })
    );
    let init = subscribe_in_graphiql(&mut browser, &start).await;
    assert!(
        init.get("Authorization").is_none(),
        "only the cookie signs the WebSocket in: {init}"
    );
    a_new_app_shows_in_graphiql(&app, &mut browser, &hugo.token).await;
    close_graphiql(browser).await;
}

/// The GraphQL over HTTP specification's audit suite (npm `graphql-http`, pinned in
/// tests/js/package.json) passes every MUST and SHOULD: a failure ("error") or a warning fails
/// the test; notices (MAYs) are printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_audits_pass() {
    if !node::node_or_skip(
        "graphql_over_http_audits_pass",
        &["WARREN_TEST_REQUIRE_NODE"],
    ) {
        return;
    }
    node::install("js");
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite is always available");
    let url = format!("http://{}/graphql", app.addr);
    let output = Command::new("node")
        .arg("http-audit.mjs")
        .arg(&url)
        .current_dir(node::package_dir("js"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(ANSWER_WITHIN, output)
        .await
        .expect("the audits finish")
        .expect("run node http-audit.mjs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the audits ran: {stderr}");
    let results: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    assert!(results.len() >= 60, "every audit ran: {results:?}");
    let status = |wanted: &[&str]| -> Vec<String> {
        results
            .iter()
            .filter(|r| wanted.contains(&r["status"].as_str().unwrap_or("")))
            .map(|r| {
                format!(
                    "{} {}: {} ({})",
                    r["status"], r["id"], r["name"], r["reason"]
                )
            })
            .collect()
    };
    for notice in status(&["notice"]) {
        eprintln!("{notice}");
    }
    let failed = status(&["error", "warn"]);
    assert!(
        failed.is_empty(),
        "audits not passed:\n{}",
        failed.join("\n")
    );
}
