//! What one GraphQL request may ask for. Every document is measured after it is parsed and
//! before anything runs: its depth, its cost, its aliases, root fields and directives, and the
//! page size of every connection. A request over any limit is refused with BAD_USER_INPUT,
//! naming the limit, its maximum and the request's value (`extensions.limit`, `.max`,
//! `.value`); none of its resolvers runs.
//!
//! The cost model is GitHub's node limit: a request's complexity is the number of nodes its
//! connections may return. A connection asked for `first: n` (or `last: n`; 20 when neither is
//! given) costs n for each object it is selected on, so nested connections multiply:
//! `teams(first: 50) { nodes { apps(first: 50) { ... } } }` costs 50 + 50 × 50. `nodes(ids:)`
//! costs one per id. The dashboard's query costs 189,200.
//!
//! The same measure gives a request's rate-limit cost (`rate_limit`), charged at the same
//! point (`graphql::api`), so a request over its viewer's budget is also refused before
//! anything runs.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet, Type,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::{Pos, ServerError, ServerResult, Value, Variables};

use crate::graphql::relay::{DEFAULT_PAGE, MAX_PAGE};

/// The limits of one request. `Limits::default()` holds the documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the query text.
    pub query_bytes: usize,
    /// Fields nested in one another.
    pub depth: usize,
    /// The nodes a request's connections may return (see the module's documentation).
    pub complexity: u64,
    /// Aliased fields, counted once per place a fragment is spread.
    pub aliases: u64,
    /// Fields of the operation's root.
    pub root_fields: u64,
    /// Directives used.
    pub directives: u64,
    /// Fields selected, each counted once per place its fragment is spread: what the response
    /// is built from, however few nodes the connections may return.
    pub fields: u64,
    /// Nesting of braces, brackets and parentheses, counted in the text before it is parsed
    /// (`syntax_nesting`): it bounds every recursion over the document that follows.
    pub recursion: usize,
    /// Bytes of a request's body (query and variables).
    pub body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            query_bytes: 32 * 1024,
            depth: 16,
            complexity: 500_000,
            aliases: 30,
            root_fields: 20,
            directives: 50,
            fields: 2_000,
            recursion: 32,
            body_bytes: 256 * 1024,
        }
    }
}

/// What a request asked for, as measured against the limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    pub depth: usize,
    pub complexity: u64,
    /// Connection pages the request may need: each connection once per object it is selected
    /// on (what the rate limit charges, see `rate_limit`).
    pub requests: u64,
    pub aliases: u64,
    pub root_fields: u64,
    pub directives: u64,
    pub fields: u64,
}

/// Checks what can be checked of `query` before it is parsed: its length and its nesting (the
/// parser recurses once per level).
pub fn check_text(query: &str, limits: &Limits) -> ServerResult<()> {
    if query.len() > limits.query_bytes {
        return Err(over(
            "queryBytes",
            limits.query_bytes as u64,
            query.len() as u64,
            format!(
                "the query is {} bytes long; the limit is {} (queryBytes)",
                query.len(),
                limits.query_bytes
            ),
            None,
        ));
    }
    let nesting = syntax_nesting(query);
    if nesting > limits.recursion {
        return Err(over(
            "recursion",
            limits.recursion as u64,
            nesting as u64,
            format!(
                "the query nests braces, brackets and parentheses {nesting} deep; the limit is {} (recursion)",
                limits.recursion
            ),
            None,
        ));
    }
    Ok(())
}

/// The refusal of a request over `limit`.
fn over(limit: &str, max: u64, value: u64, message: String, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", "BAD_USER_INPUT");
    extensions.set("limit", limit);
    extensions.set("max", max);
    extensions.set("value", value);
    error
}

/// What the limits need to know of the schema: the type each field returns, by the name of
/// the type it is a field of.
#[derive(Debug, Default)]
pub struct Shape {
    fields: HashMap<(String, String), Returns>,
    roots: [String; 3],
}

#[derive(Debug)]
struct Returns {
    /// The named type, without list or non-null wrappers.
    name: String,
    /// A Relay connection: the objects it returns are paged by `first`/`last`.
    connection: bool,
}

impl Shape {
    /// Reads the schema's SDL.
    pub fn of_sdl(sdl: &str) -> Result<Shape, String> {
        let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut shape = Shape {
            fields: HashMap::new(),
            roots: ["Query", "Mutation", "Subscription"].map(str::to_owned),
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    for (root, name) in shape.roots.iter_mut().zip([
                        schema.query,
                        schema.mutation,
                        schema.subscription,
                    ]) {
                        if let Some(name) = name {
                            *root = name.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = definition.node;
                    let fields = match definition.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    for field in fields {
                        let name = named_type(&field.node.ty.node).to_owned();
                        shape.fields.insert(
                            (
                                definition.name.node.to_string(),
                                field.node.name.node.to_string(),
                            ),
                            Returns {
                                connection: name.ends_with("Connection"),
                                name,
                            },
                        );
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Ok(shape)
    }

    fn returns(&self, parent: Option<&str>, field: &str) -> Option<&Returns> {
        self.fields.get(&(parent?.to_owned(), field.to_owned()))
    }
}

fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

/// Measures `document` (its operation `operation_name`, or every operation when none is
/// named) and checks it against `limits`.
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    shape: &Shape,
    limits: &Limits,
) -> ServerResult<Measure> {
    let mut measured = Measure::default();
    for (name, operation) in document.operations.iter() {
        if operation_name.is_some() && name.map(|n| n.as_str()) != operation_name {
            continue;
        }
        let root = match operation.node.ty {
            async_graphql::parser::types::OperationType::Query => &shape.roots[0],
            async_graphql::parser::types::OperationType::Mutation => &shape.roots[1],
            async_graphql::parser::types::OperationType::Subscription => &shape.roots[2],
        };
        let mut walk = Walk {
            document,
            operation: &operation.node,
            variables,
            shape,
            fragments: HashMap::new(),
            spreading: Vec::new(),
        };
        let tally = walk.selection_set(&operation.node.selection_set.node, Some(root))?;
        let measure = Measure {
            depth: tally.depth,
            complexity: tally.complexity,
            aliases: tally.aliases,
            root_fields: tally.fields,
            directives: tally
                .directives
                .saturating_add(operation.node.directives.len() as u64),
            fields: tally.selected,
            requests: tally.requests,
        };
        enforce(&measure, limits, operation.pos)?;
        measured = Measure {
            depth: measured.depth.max(measure.depth),
            complexity: measured.complexity.saturating_add(measure.complexity),
            aliases: measured.aliases.max(measure.aliases),
            root_fields: measured.root_fields.max(measure.root_fields),
            directives: measured.directives.max(measure.directives),
            fields: measured.fields.max(measure.fields),
            requests: measured.requests.saturating_add(measure.requests),
        };
    }
    Ok(measured)
}

/// A limit's name, its maximum, the request's value and what that value means.
type Comparison = (&'static str, u64, u64, fn(u64) -> String);

fn enforce(measure: &Measure, limits: &Limits, pos: Pos) -> ServerResult<()> {
    let checks: [Comparison; 6] = [
        ("depth", limits.depth as u64, measure.depth as u64, |n| {
            format!("the query nests fields {n} deep")
        }),
        ("complexity", limits.complexity, measure.complexity, |n| {
            format!(
                "the query's connections may return {n} nodes (each connection's first or \
                 last, 20 if not given, times the objects it is selected on)"
            )
        }),
        ("aliases", limits.aliases, measure.aliases, |n| {
            format!("the query uses {n} aliases")
        }),
        ("rootFields", limits.root_fields, measure.root_fields, |n| {
            format!("the operation selects {n} root fields")
        }),
        ("directives", limits.directives, measure.directives, |n| {
            format!("the query uses {n} directives")
        }),
        ("fields", limits.fields, measure.fields, |n| {
            format!("the query selects {n} fields, counting each fragment where it is spread")
        }),
    ];
    for (limit, max, value, what) in checks {
        if value > max {
            return Err(over(
                limit,
                max,
                value,
                format!("{}; the limit is {max} ({limit})", what(value)),
                Some(pos),
            ));
        }
    }
    Ok(())
}

/// What a selection set asks for, for one object of its type.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    depth: usize,
    complexity: u64,
    aliases: u64,
    directives: u64,
    /// Fields directly in the set (fragments spread into it included).
    fields: u64,
    /// Fields in the set and below it, once per place a fragment is spread.
    selected: u64,
    /// Connection pages, for one object of the set's type.
    requests: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.depth = self.depth.max(other.depth);
        self.complexity = self.complexity.saturating_add(other.complexity);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.directives = self.directives.saturating_add(other.directives);
        self.fields = self.fields.saturating_add(other.fields);
        self.selected = self.selected.saturating_add(other.selected);
        self.requests = self.requests.saturating_add(other.requests);
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    shape: &'a Shape,
    /// Each fragment is measured once, however often it is spread: a document that spreads
    /// fragments into one another is measured in time linear in its size.
    fragments: HashMap<&'a str, Tally>,
    /// The fragments being measured, to refuse a cycle (which the validation that comes later
    /// would refuse too) rather than follow it.
    spreading: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        parent: Option<&str>,
    ) -> ServerResult<Tally> {
        let mut tally = Tally::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let measured = self.field(&field.node, field.pos, parent)?;
                    tally.add(&measured);
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = match &fragment.type_condition {
                        Some(condition) => Some(condition.node.on.node.as_str()),
                        None => parent,
                    };
                    let mut inner = self.selection_set(&fragment.selection_set.node, on)?;
                    inner.directives = inner
                        .directives
                        .saturating_add(fragment.directives.len() as u64);
                    tally.add(&inner);
                }
                Selection::FragmentSpread(spread) => {
                    let mut inner =
                        self.fragment(spread.node.fragment_name.node.as_str(), spread.pos)?;
                    inner.directives = inner
                        .directives
                        .saturating_add(spread.node.directives.len() as u64);
                    tally.add(&inner);
                }
            }
        }
        Ok(tally)
    }

    fn fragment(&mut self, name: &'a str, pos: Pos) -> ServerResult<Tally> {
        if let Some(tally) = self.fragments.get(name) {
            return Ok(*tally);
        }
        // An unknown fragment is left to the validation, which names it.
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Tally::default());
        };
        if self.spreading.contains(&name) {
            return Err(ServerError::new(
                format!("fragment `{name}` spreads itself"),
                Some(pos),
            ));
        }
        self.spreading.push(name);
        let fragment = &fragment.node;
        let mut tally = self.selection_set(
            &fragment.selection_set.node,
            Some(fragment.type_condition.node.on.node.as_str()),
        )?;
        self.spreading.pop();
        tally.directives = tally
            .directives
            .saturating_add(fragment.directives.len() as u64);
        self.fragments.insert(name, tally);
        Ok(tally)
    }

    fn field(&mut self, field: &'a Field, pos: Pos, parent: Option<&str>) -> ServerResult<Tally> {
        let name = field.name.node.as_str();
        let returns = self.shape.returns(parent, name);
        let page = self.page_size(field, pos, parent)?;
        // How many objects the field may return, if it is one that counts.
        let counted = match returns {
            Some(returns) if returns.connection => Some(page.unwrap_or(DEFAULT_PAGE)),
            _ => self.ids(field),
        };
        let times = counted.unwrap_or(1);
        let children = self.selection_set(
            &field.selection_set.node,
            returns.map(|returns| returns.name.as_str()),
        )?;
        Ok(Tally {
            depth: children.depth + 1,
            complexity: times
                .saturating_mul(children.complexity)
                .saturating_add(counted.unwrap_or(0)),
            aliases: children
                .aliases
                .saturating_add(u64::from(field.alias.is_some())),
            directives: children
                .directives
                .saturating_add(field.directives.len() as u64),
            fields: 1,
            selected: children.selected.saturating_add(1),
            requests: times
                .saturating_mul(children.requests)
                .saturating_add(u64::from(returns.is_some_and(|r| r.connection))),
        })
    }

    /// The page size asked for with `first` or `last`, refused above `MAX_PAGE`.
    fn page_size(
        &self,
        field: &Field,
        pos: Pos,
        parent: Option<&str>,
    ) -> ServerResult<Option<u64>> {
        let mut page = None;
        for (name, value) in &field.arguments {
            let argument = name.node.as_str();
            if argument != "first" && argument != "last" {
                continue;
            }
            let Some(Value::Number(n)) = self.value(&value.node) else {
                continue;
            };
            // Negative or fractional sizes are left to the argument's own check.
            let Some(n) = n.as_u64() else { continue };
            if n > MAX_PAGE {
                let on = parent.map_or(String::new(), |parent| format!("{parent}."));
                return Err(over(
                    "pageSize",
                    MAX_PAGE,
                    n,
                    format!(
                        "`{argument}: {n}` on `{on}{}`: a page holds at most {MAX_PAGE}",
                        field.name.node
                    ),
                    Some(pos),
                ));
            }
            page = Some(page.map_or(n, |p: u64| p.max(n)));
        }
        Ok(page)
    }

    /// How many ids a field such as `nodes(ids:)` is asked for.
    fn ids(&self, field: &Field) -> Option<u64> {
        let (_, value) = field
            .arguments
            .iter()
            .find(|(name, _)| name.node == "ids")?;
        match self.value(&value.node)? {
            Value::List(ids) => Some(ids.len() as u64),
            _ => None,
        }
    }

    /// An argument's value, its variables replaced (by their defaults when not given). Its
    /// nesting is bounded (`syntax_nesting`), and so is the recursion converting it.
    fn value(&self, value: &async_graphql_value::Value) -> Option<Value> {
        value
            .clone()
            .into_const_with(|name| {
                self.variables
                    .get(&name)
                    .cloned()
                    .or_else(|| {
                        self.operation
                            .variable_definitions
                            .iter()
                            .find(|definition| definition.node.name.node == name)
                            .and_then(|definition| definition.node.default_value())
                            .cloned()
                    })
                    .ok_or(())
            })
            .ok()
    }
}

/// How deep `{`, `[` and `(` nest in a document, outside strings and comments: a bound on
/// every recursion that follows (the parser's, the validation's, the values' conversion and
/// drop), found without recursing. The parser's own recursion limit does not count lists and
/// objects in values, and a list nested 2,000 deep overflowed a worker's stack.
fn syntax_nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape::of_sdl(&crate::graphql::schema_sdl()).expect("the schema's SDL parses")
    }

    fn measure_with(
        query: &str,
        variables: serde_json::Value,
        limits: &Limits,
    ) -> ServerResult<Measure> {
        let document = async_graphql::parser::parse_query(query).expect("a valid document");
        check(
            &document,
            None,
            &Variables::from_json(variables),
            &shape(),
            limits,
        )
    }

    fn measure(query: &str) -> Measure {
        let unlimited = Limits {
            depth: usize::MAX,
            complexity: u64::MAX,
            aliases: u64::MAX,
            root_fields: u64::MAX,
            directives: u64::MAX,
            ..Limits::default()
        };
        measure_with(query, serde_json::json!({}), &unlimited).expect("within the limits")
    }

    /// The refused limit and the value it names.
    fn refusal(query: &str, variables: serde_json::Value) -> (String, u64) {
        let error = measure_with(query, variables, &Limits::default()).expect_err("refused");
        let extensions = error.extensions.expect("extensions");
        assert_eq!(extensions.get("code"), Some(&Value::from("BAD_USER_INPUT")));
        let limit = match extensions.get("limit") {
            Some(Value::String(limit)) => limit.clone(),
            other => panic!("no limit named: {other:?}"),
        };
        let value = match extensions.get("value") {
            Some(Value::Number(n)) => n.as_u64().expect("a count"),
            other => panic!("no value: {other:?}"),
        };
        (limit, value)
    }

    #[test]
    fn connections_multiply_what_is_selected_inside_them() {
        let measured = measure(
            "{ viewer { teams(first: 10) { nodes { apps(first: 5) { nodes { name } } } } } }",
        );
        // Ten teams, and five apps for each.
        assert_eq!(measured.complexity, 10 + 10 * 5);
        assert_eq!(measured.depth, 6);
        assert_eq!(measured.root_fields, 1);
        // Without `first`, a connection counts its default page of 20.
        assert_eq!(
            measure("{ viewer { teams { nodes { name } } } }").complexity,
            20
        );
        // A page size given in a variable, or by the variable's default, counts the same.
        let query = "query($n: Int = 3) { viewer { teams(first: $n) { nodes { name } } } }";
        assert_eq!(measure(query).complexity, 3);
        let document = async_graphql::parser::parse_query(query).expect("a valid document");
        let given = check(
            &document,
            None,
            &Variables::from_json(serde_json::json!({ "n": 7 })),
            &shape(),
            &Limits::default(),
        )
        .expect("within the limits");
        assert_eq!(given.complexity, 7);
        // `nodes(ids:)` costs its fields once per id.
        assert_eq!(
            measure(r#"{ nodes(ids: ["a", "b", "c"]) { id } }"#).complexity,
            3
        );
    }

    #[test]
    fn the_dashboard_query_is_within_the_default_limits() {
        let query = include_str!("../tests/queries/dashboard.graphql");
        let measured = measure(query);
        let limits = Limits::default();
        assert!(measured.depth <= limits.depth, "{measured:?}");
        assert!(measured.complexity <= limits.complexity, "{measured:?}");
        assert!(measured.aliases <= limits.aliases, "{measured:?}");
        assert!(measured.root_fields <= limits.root_fields, "{measured:?}");
        assert_eq!(
            measured.complexity, 189_200,
            "the module's documentation names it"
        );
        assert!(measured.fields <= limits.fields, "{measured:?}");
    }

    #[test]
    fn each_limit_is_named_with_the_value_that_broke_it() {
        let deep = format!(
            "{{ viewer {}{{ id }}{} }}",
            "{ teams { nodes ".repeat(8),
            "} } ".repeat(8)
        );
        let (limit, value) = refusal(&deep, serde_json::json!({}));
        assert_eq!((limit.as_str(), value), ("depth", 18));

        let wide = "{ viewer { teams(first: 100) { nodes { apps(first: 100) { nodes { \
                    developers(first: 100) { nodes { name } } } } } } } }";
        let (limit, value) = refusal(wide, serde_json::json!({}));
        assert_eq!(limit, "complexity");
        assert_eq!(value, 100 + 100 * 100 + 100 * 100 * 100);

        let aliases: String = (0..31).map(|i| format!(" a{i}: id")).collect();
        let (limit, value) = refusal(
            &format!("{{ viewer {{{aliases} }} }}"),
            serde_json::json!({}),
        );
        assert_eq!((limit.as_str(), value), ("aliases", 31));

        let roots: String = (0..21).map(|i| format!(" v{i}: viewer {{ id }}")).collect();
        let limits = Limits {
            aliases: 100,
            ..Limits::default()
        };
        let error = measure_with(&format!("{{{roots} }}"), serde_json::json!({}), &limits)
            .expect_err("refused");
        assert!(error.message.contains("rootFields"), "{}", error.message);

        let directives = " @include(if: true)".repeat(51);
        let (limit, value) = refusal(
            &format!("{{ viewer {{ id{directives} }} }}"),
            serde_json::json!({}),
        );
        assert_eq!((limit.as_str(), value), ("directives", 51));
    }

    /// Nesting is counted in the text, outside strings and comments, before anything parses
    /// it: a list nested 2,000 deep in an argument overflowed a worker's stack further on.
    #[test]
    fn syntax_nesting_is_counted_without_parsing() {
        assert_eq!(syntax_nesting("{ viewer { id } }"), 2);
        assert_eq!(
            syntax_nesting(&format!(
                "{{ nodes(ids: {}\"x\"{}) {{ id }} }}",
                "[".repeat(5_000),
                "]".repeat(5_000)
            )),
            5_002
        );
        // Brackets in strings, block strings and comments do not count.
        assert_eq!(
            syntax_nesting("{ a(s: \"[[[{{\\\"(\") # [[[[\n b(s: \"\"\"[[[ \\\"\"\" ((\"\"\") }"),
            2
        );
        let dashboard = include_str!("../tests/queries/dashboard.graphql");
        assert!(syntax_nesting(dashboard) <= Limits::default().recursion);
    }

    #[test]
    fn a_page_over_the_maximum_is_refused_before_anything_runs() {
        let (limit, value) = refusal(
            "{ viewer { teams(first: 500) { nodes { id } } } }",
            serde_json::json!({}),
        );
        assert_eq!((limit.as_str(), value), ("pageSize", 500));
        let (limit, value) = refusal(
            "query($n: Int) { viewer { teams(last: $n) { nodes { id } } } }",
            serde_json::json!({ "n": 101 }),
        );
        assert_eq!((limit.as_str(), value), ("pageSize", 101));
    }

    /// Seventy fragments, each spreading the one before twice: 2^70 copies of a field when
    /// expanded. Measured once per fragment, it is refused at once, its counts saturated.
    #[test]
    fn a_fragment_bomb_is_measured_without_expanding_it() {
        let bomb = |leaf: &str| {
            let mut query = format!("{{ viewer {{ ...f70 }} }} fragment f0 on Person {{ {leaf} }}");
            for i in 1..=70 {
                query.push_str(&format!(
                    " fragment f{i} on Person {{ ...f{} ...f{} }}",
                    i - 1,
                    i - 1
                ));
            }
            refusal(&query, serde_json::json!({}))
        };
        assert_eq!(bomb("a: id"), ("aliases".to_owned(), u64::MAX));
        // Plain fields only: no alias, no connection; what it selects still counts.
        assert_eq!(bomb("id name"), ("fields".to_owned(), u64::MAX));
        assert_eq!(
            bomb("teams(first: 1) { totalCount }"),
            ("complexity".to_owned(), u64::MAX)
        );
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_refused() {
        let query = "{ viewer { ...a } } fragment a on Person { teams { nodes { members { nodes { node { ...a } } } } } }";
        let document = async_graphql::parser::parse_query(query).expect("a valid document");
        let error = check(
            &document,
            None,
            &Variables::default(),
            &shape(),
            &Limits::default(),
        )
        .expect_err("refused");
        assert!(
            error.message.contains("spreads itself"),
            "{}",
            error.message
        );
    }
}
