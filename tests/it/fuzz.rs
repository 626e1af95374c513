//! Fuzzing the whole request path: random GraphQL documents, built from the schema itself
//! (its fields, arguments and input types, with values both plausible and hostile, real ids of
//! the seeded world and forged ones, bogus fields, aliases, directives, fragments), sent as
//! several people through the router to a seeded database. Whatever the document, the answer
//! must be JSON, never a 5xx, and every error must carry a client error code: INTERNAL, a
//! panic or a missing code fails the run.
//!
//! Each case is a random seed (proptest); a failing seed is saved to
//! `tests/it/fuzz.proptest-regressions`, checked in, and replayed first on every run.
//! `WARREN_FUZZ_CASES` sets the number of cases (`.ci/run` runs about a minute's worth);
//! `FUZZ_DEBUG=1` prints every document and the start of its answer.

use crate::common;

use std::collections::HashMap;

use crate::common::TestApp;
use crate::common::demo::Demo;
use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use axum::body::Body;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tower::ServiceExt;

/// A field or argument's type: its named type and wrappers.
#[derive(Clone, Debug)]
struct Ref {
    ty: Type,
}

#[derive(Clone, Debug)]
struct FieldShape {
    name: String,
    args: Vec<(String, Ref)>,
    returns: Ref,
}

#[derive(Clone, Debug)]
enum Kind {
    Scalar,
    Object(Vec<FieldShape>),
    Union(Vec<String>),
    Enum(Vec<String>),
    Input(Vec<(String, Ref)>),
}

/// The schema, as the generator needs it.
struct Shape {
    types: HashMap<String, Kind>,
}

impl Shape {
    fn of_schema() -> Shape {
        let sdl = warren::api::schema_sdl();
        let document = async_graphql::parser::parse_schema(&sdl).expect("the schema's SDL");
        let mut types = HashMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else {
                continue;
            };
            let definition = definition.node;
            let fields = |fields: Vec<
                async_graphql::Positioned<async_graphql::parser::types::FieldDefinition>,
            >| {
                fields
                    .into_iter()
                    .map(|field| FieldShape {
                        name: field.node.name.node.to_string(),
                        args: field
                            .node
                            .arguments
                            .iter()
                            .map(|arg| {
                                (
                                    arg.node.name.node.to_string(),
                                    Ref {
                                        ty: arg.node.ty.node.clone(),
                                    },
                                )
                            })
                            .collect(),
                        returns: Ref {
                            ty: field.node.ty.node,
                        },
                    })
                    .collect()
            };
            let kind = match definition.kind {
                TypeKind::Scalar => Kind::Scalar,
                TypeKind::Object(object) => Kind::Object(fields(object.fields)),
                TypeKind::Interface(interface) => Kind::Object(fields(interface.fields)),
                TypeKind::Union(union) => Kind::Union(
                    union
                        .members
                        .iter()
                        .map(|member| member.node.to_string())
                        .collect(),
                ),
                TypeKind::Enum(values) => Kind::Enum(
                    values
                        .values
                        .iter()
                        .map(|value| value.node.value.node.to_string())
                        .collect(),
                ),
                TypeKind::InputObject(input) => Kind::Input(
                    input
                        .fields
                        .iter()
                        .map(|field| {
                            (
                                field.node.name.node.to_string(),
                                Ref {
                                    ty: field.node.ty.node.clone(),
                                },
                            )
                        })
                        .collect(),
                ),
            };
            types.insert(definition.name.node.to_string(), kind);
        }
        Shape { types }
    }
}

fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

/// Strings that have broken services before.
const STRINGS: &[&str] = &[
    "",
    " ",
    "Rocket",
    "ana@demo.example",
    "not-an-email",
    "a@b",
    "'; DROP TABLE team; --",
    "\" OR 1=1 --",
    "%' OR '1'='1",
    "\\",
    "\u{0}",
    "\u{202E}gnp.exe",
    "\u{200D}\u{200D}\u{200D}",
    "\u{0301}",
    "🦀🦀🦀",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGarbage user@host",
    "ssh-rsa AAAA",
    "2026-11-28T00:00:00Z",
    "1970-01-01",
    "null",
    "{}",
    "<script>alert(1)</script>",
    "wrn_not-a-token",
    "c2VxOjE",
    "aWQ6MTIz",
    "VGVhbTowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
];

/// Integers, mostly page sizes a client would ask for.
const INTS: &[&str] = &["0", "1", "2", "5", "20", "100"];
const HOSTILE_INTS: &[&str] = &[
    "-1",
    "101",
    "2147483647",
    "-2147483648",
    "99999999999",
    "1.5",
];

struct Generator<'a> {
    rng: StdRng,
    shape: &'a Shape,
    ids: &'a [String],
    aliases: usize,
}

impl Generator<'_> {
    fn pick<'s>(&mut self, from: &'s [&'s str]) -> &'s str {
        from[self.rng.random_range(0..from.len())]
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn string_literal(&mut self) -> String {
        let text = if self.chance(0.05) {
            "x".repeat(self.rng.random_range(1000..20_000))
        } else {
            self.pick(STRINGS).to_owned()
        };
        serde_json::to_string(&text).expect("a JSON string is a GraphQL string")
    }

    fn value(&mut self, ty: &Type, depth: usize) -> String {
        if self.chance(0.02) {
            return "null".to_owned();
        }
        if self.chance(0.01) {
            // The wrong kind of value altogether.
            return ["{}", "[]", "true", "3", "\"x\"", "NOPE"][self.rng.random_range(0..6)]
                .to_owned();
        }
        match &ty.base {
            BaseType::List(inner) => {
                let n = self.rng.random_range(0..4);
                let items: Vec<String> = (0..n).map(|_| self.value(inner, depth + 1)).collect();
                format!("[{}]", items.join(", "))
            }
            BaseType::Named(name) => match name.as_str() {
                "Int" if self.chance(0.9) => self.pick(INTS).to_owned(),
                "Int" => self.pick(HOSTILE_INTS).to_owned(),
                "Float" => "1.5".to_owned(),
                "Boolean" => if self.chance(0.5) { "true" } else { "false" }.to_owned(),
                "ID" => {
                    if !self.ids.is_empty() && self.chance(0.7) {
                        let id = &self.ids[self.rng.random_range(0..self.ids.len())];
                        serde_json::to_string(id).expect("a string")
                    } else {
                        self.string_literal()
                    }
                }
                "String" => self.string_literal(),
                other => match self.shape.types.get(other).cloned() {
                    Some(Kind::Enum(values)) if !values.is_empty() && self.chance(0.9) => {
                        values[self.rng.random_range(0..values.len())].clone()
                    }
                    Some(Kind::Input(fields)) if depth < 4 => {
                        let mut chosen = Vec::new();
                        for (name, field) in &fields {
                            if !field.ty.nullable || self.chance(0.5) {
                                chosen
                                    .push(format!("{name}: {}", self.value(&field.ty, depth + 1)));
                            }
                        }
                        format!("{{ {} }}", chosen.join(", "))
                    }
                    // Custom scalars (DateTime, JSON...) and the rest: a string.
                    _ => self.string_literal(),
                },
            },
        }
    }

    fn selection(&mut self, type_name: &str, depth: usize) -> String {
        let Some(kind) = self.shape.types.get(type_name).cloned() else {
            return "__typename".to_owned();
        };
        match kind {
            Kind::Object(fields) if !fields.is_empty() => {
                let n = self.rng.random_range(1..4);
                let mut items = Vec::new();
                // Distinct fields: the same one twice with other arguments is a conflict the
                // validation refuses, which would hide what lies behind it.
                let mut chosen = Vec::new();
                for _ in 0..n {
                    let index = self.rng.random_range(0..fields.len());
                    if !chosen.contains(&index) {
                        chosen.push(index);
                    }
                }
                for index in chosen {
                    if self.chance(0.005) {
                        items.push("noSuchField".to_owned());
                        continue;
                    }
                    let field = fields[index].clone();
                    items.push(self.field(&field, depth));
                }
                if self.chance(0.05) {
                    items.push(format!("... on {type_name} {{ __typename }}"));
                }
                items.join(" ")
            }
            Kind::Union(members) if !members.is_empty() => {
                let member = members[self.rng.random_range(0..members.len())].clone();
                format!(
                    "__typename ... on {member} {{ {} }}",
                    self.selection(&member, depth + 1)
                )
            }
            _ => "__typename".to_owned(),
        }
    }

    fn field(&mut self, field: &FieldShape, depth: usize) -> String {
        let mut text = String::new();
        if self.chance(0.1) {
            self.aliases += 1;
            text.push_str(&format!("a{}: ", self.aliases));
        }
        text.push_str(&field.name);
        let mut args = Vec::new();
        for (name, arg) in &field.args {
            if !arg.ty.nullable || self.chance(0.4) {
                args.push(format!("{name}: {}", self.value(&arg.ty, 0)));
            }
        }
        if self.chance(0.01) {
            args.push("bogus: 1".to_owned());
        }
        if !args.is_empty() {
            text.push_str(&format!("({})", args.join(", ")));
        }
        if self.chance(0.05) {
            let skip = if self.chance(0.5) {
                "@skip"
            } else {
                "@include"
            };
            let flag = if self.chance(0.5) { "true" } else { "false" };
            text.push_str(&format!(" {skip}(if: {flag})"));
        }
        let returns = named(&field.returns.ty).to_owned();
        let composite = matches!(
            self.shape.types.get(&returns),
            Some(Kind::Object(_) | Kind::Union(_))
        );
        if composite {
            if depth < 5 {
                text.push_str(&format!(" {{ {} }}", self.selection(&returns, depth + 1)));
            } else {
                text.push_str(" { __typename }");
            }
        }
        text
    }

    fn document(&mut self) -> String {
        let (keyword, root) = match self.rng.random_range(0..10) {
            0..=5 => ("query", "Query"),
            6..=8 => ("mutation", "Mutation"),
            _ => ("subscription", "Subscription"),
        };
        let body = self.selection(root, 0);
        if self.chance(0.05) {
            format!("{keyword} {{ ...f }} fragment f on {root} {{ {body} }}")
        } else {
            format!("{keyword} {{ {body} }}")
        }
    }
}

/// The global ids the dashboard shows Ana: real objects for the generator to aim at.
async fn real_ids(app: &TestApp, token: &str) -> Vec<String> {
    let dashboard = include_str!("../queries/dashboard.graphql");
    let data = app.query(token, dashboard, serde_json::json!({})).await;
    let mut ids = Vec::new();
    collect_ids(&data, &mut ids);
    ids.sort();
    ids.dedup();
    ids
}

fn collect_ids(value: &Value, ids: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, value) in fields {
                if key == "id"
                    && let Some(id) = value.as_str()
                {
                    ids.push(id.to_owned());
                }
                collect_ids(value, ids);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_ids(item, ids)),
        _ => {}
    }
}

const CLIENT_CODES: &[&str] = &[
    "UNAUTHENTICATED",
    "NOT_FOUND",
    "FORBIDDEN",
    "BAD_USER_INPUT",
    "CONFLICT",
];

#[test]
fn random_documents_never_break_the_service() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (app, router, tokens, ids) = runtime.block_on(async {
        let app = TestApp::spawn(common::Backend::Sqlite)
            .await
            .expect("SQLite is always available");
        let demo = Demo::seed(&app).await;
        let ids = real_ids(&app, &demo.ana).await;
        let feed = warren::feed::Feed::start(&app.db, 256, 1_000)
            .await
            .map_err(|err| err.message())
            .expect("the event feed");
        let mut settings = warren::http::Settings::new("http://127.0.0.1:8000");
        // Tens of thousands of requests by four people: the budget would be spent at once,
        // and every later document refused before it ran.
        settings.rate_limit = 0;
        let router = warren::http::router(app.db.clone(), feed, settings).expect("the router");
        let tokens = vec![demo.ana, demo.bo, demo.chen, demo.fay];
        (app, router, tokens, ids)
    });
    let shape = Shape::of_schema();
    let cases = std::env::var("WARREN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..Config::default()
    });
    // The checked-in corpus first: documents that broke, or could break, such services.
    for document in include_str!("../fuzz-corpus.graphql").split("\n# ---\n") {
        if let Err(failure) = exchange(&runtime, &router, document, Some(&tokens[0])) {
            panic!("corpus: {failure}");
        }
    }
    let result = runner.run(&any::<u64>(), |seed| {
        let mut generator = Generator {
            rng: StdRng::seed_from_u64(seed),
            shape: &shape,
            ids: &ids,
            aliases: 0,
        };
        let document = generator.document();
        let token = generator
            .chance(0.9)
            .then(|| tokens[generator.rng.random_range(0..tokens.len())].clone());
        exchange(&runtime, &router, &document, token.as_deref()).map_err(TestCaseError::fail)
    });
    drop(app);
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Sends `document` through the router as the holder of `token`, and checks the answer.
fn exchange(
    runtime: &tokio::runtime::Runtime,
    router: &axum::Router,
    document: &str,
    token: Option<&str>,
) -> Result<(), String> {
    let body = serde_json::json!({ "query": document }).to_string();
    let mut request =
        axum::http::Request::post("/graphql").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request
        .body(Body::from(body))
        .map_err(|err| err.to_string())?;
    let (status, answer) = runtime.block_on(async {
        let response = router
            .clone()
            .oneshot(request)
            .await
            .map_err(|err| err.to_string())?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|err| err.to_string())?;
        Ok::<_, String>((status, bytes))
    })?;
    let shown: String = document.chars().take(2_000).collect();
    if status.is_server_error() {
        return Err(format!(
            "{status} for {shown}: {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    let answer: Value =
        serde_json::from_slice(&answer).map_err(|err| format!("not JSON ({err}) for {shown}"))?;
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!(
            "DOC {shown}\nANS {}",
            answer.to_string().chars().take(300).collect::<String>()
        );
    }
    for error in answer
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let code = error["extensions"]["code"].as_str().unwrap_or("(none)");
        if !CLIENT_CODES.contains(&code) {
            return Err(format!("error code {code} for {shown}: {answer}"));
        }
    }
    Ok(())
}
