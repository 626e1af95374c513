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
//! costs one per id. A list outside a connection counts as its worst case: the maximum its
//! object limit keeps it to (an app's `environments` count 100, `quotas`), or for the lists
//! nothing bounds ahead 20, and whatever they return beyond that is charged as they resolve
//! (`ListMeter`). Introspection's lists count the schema's own sizes. The dashboard's query
//! costs 464,200, 250,000 of them for the environments its 2,500 apps may have.
//!
//! The same measure gives a request's rate-limit cost (`rate_limit`), charged at the same
//! point (`graphql::api`), so a request over its viewer's budget is also refused before
//! anything runs.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet, Type,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::{Pos, ServerError, ServerResult, Value, Variables};

use crate::error::ApiError;
use crate::rules::quotas::Quotas;
use crate::store::page::{DEFAULT_PAGE, MAX_PAGE};

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
    /// Bytes of an answer (an HTTP response's body, a WebSocket message's payload): past it,
    /// serialization stops and the answer is an error naming the limit (`answer_too_large`).
    pub answer_bytes: usize,
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
            answer_bytes: 16 * 1024 * 1024,
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

/// The error sent in place of an answer longer than `max` bytes, which was not sent. What a
/// mutation changed stays changed: only its answer is lost.
pub fn answer_too_large(max: usize) -> serde_json::Value {
    serde_json::json!({
        "message": format!(
            "the answer is longer than {max} bytes (answerBytes) and was not sent; ask for \
             fewer objects or fields (what a mutation changed stays changed)"
        ),
        "extensions": { "code": "BAD_USER_INPUT", "limit": "answerBytes", "max": max },
    })
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

/// What the limits need to know of the schema: the type each field returns and how many
/// objects it may return, by the name of the type it is a field of.
#[derive(Debug, Default)]
pub struct Shape {
    fields: HashMap<(String, String), Returns>,
    roots: [String; 3],
}

#[derive(Debug)]
struct Returns {
    /// The named type, without list or non-null wrappers.
    name: String,
    size: Size,
}

/// How many objects a field may return, as the limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// One object, or none; also a connection's `edges` and `nodes` (its page counts), a list
    /// of scalars, and `nodes(ids:)` (its ids count).
    One,
    /// A Relay connection: the page its `first` or `last` asks for, 20 when neither is given.
    Page,
    /// A list the write path keeps to at most this many (an object limit, `quotas`), or the
    /// schema's own size (introspection).
    AtMost(u64),
    /// A list nothing bounds ahead (what a deletion would remove, an event's subjects): counted
    /// as a default page (20) before the request runs; what it returns beyond that is charged
    /// as it resolves (`ListMeter`), so the request's nodes stay within the complexity limit.
    Metered,
}

/// The lists the write path keeps short, with their limits; every other list of objects
/// outside a connection is metered (`Size::Metered`).
fn list_size(parent: &str, field: &str, quotas: &Quotas) -> Size {
    match (parent, field) {
        ("App", "environments") => Size::AtMost(quotas.environments),
        ("App", "technicalContacts") => Size::AtMost(quotas.technical_contacts),
        ("Person", "sshKeys") => Size::AtMost(quotas.ssh_keys),
        ("Person", "eventFilters") => Size::AtMost(quotas.event_filters),
        ("Invitation", "apps") => Size::AtMost(quotas.invitation_apps),
        _ => Size::Metered,
    }
}

impl Shape {
    /// Reads the schema's SDL; `quotas` bound the lists the write path keeps short.
    pub fn of_sdl(sdl: &str, quotas: &Quotas) -> Result<Shape, String> {
        let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut shape = Shape {
            fields: HashMap::new(),
            roots: ["Query", "Mutation", "Subscription"].map(str::to_owned),
        };
        let composite: HashSet<&str> = document
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(definition) => match definition.node.kind {
                    TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_) => {
                        Some(definition.node.name.node.as_str())
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        let mut schema_size = SchemaSize::default();
        for definition in &document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = &schema.node;
                    for (root, name) in shape.roots.iter_mut().zip([
                        &schema.query,
                        &schema.mutation,
                        &schema.subscription,
                    ]) {
                        if let Some(name) = name {
                            *root = name.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Type(definition) => {
                    let definition = &definition.node;
                    schema_size.add(definition);
                    let parent = definition.name.node.as_str();
                    let fields = match &definition.kind {
                        TypeKind::Object(object) => &object.fields,
                        TypeKind::Interface(interface) => &interface.fields,
                        _ => continue,
                    };
                    for field in fields {
                        let ty = &field.node.ty.node;
                        let name = named_type(ty).to_owned();
                        let field = field.node.name.node.as_str();
                        let size = if name.ends_with("Connection") {
                            Size::Page
                        } else if is_list(ty)
                            && composite.contains(name.as_str())
                            && !parent.ends_with("Connection")
                            && !(parent == shape.roots[0] && field == "nodes")
                        {
                            list_size(parent, field, quotas)
                        } else {
                            Size::One
                        };
                        shape.fields.insert(
                            (parent.to_owned(), field.to_owned()),
                            Returns { name, size },
                        );
                    }
                }
                TypeSystemDefinition::Directive(directive) => {
                    schema_size.directives += 1;
                    let args = directive.node.arguments.len() as u64;
                    schema_size.directive_args = schema_size.directive_args.max(args);
                }
            }
        }
        schema_size.introspection(&mut shape);
        Ok(shape)
    }

    fn returns(&self, parent: Option<&str>, field: &str) -> Option<&Returns> {
        self.fields.get(&(parent?.to_owned(), field.to_owned()))
    }

    /// The lists counted as metered (`Size::Metered`), as `Type.field`, sorted.
    pub fn metered(&self) -> Vec<String> {
        let mut metered: Vec<String> = self
            .fields
            .iter()
            .filter(|(_, returns)| returns.size == Size::Metered)
            .map(|((parent, field), _)| format!("{parent}.{field}"))
            .collect();
        metered.sort();
        metered
    }
}

/// The largest of each introspection list the schema can give, so that introspection is
/// costed like any query (`__schema { types { fields { args { ... } } } }` multiplies).
#[derive(Debug, Default)]
struct SchemaSize {
    types: u64,
    fields: u64,
    args: u64,
    interfaces: u64,
    possible_types: u64,
    enum_values: u64,
    input_fields: u64,
    directives: u64,
    directive_args: u64,
    implementations: HashMap<String, u64>,
}

/// Types every schema has that its SDL leaves out: the five built-in scalars and the eight
/// introspection types.
const UNPRINTED_TYPES: u64 = 13;
/// Directives every schema has that its SDL leaves out (`skip`, `include`, `deprecated`,
/// `specifiedBy`, `oneOf`).
const UNPRINTED_DIRECTIVES: u64 = 5;
/// The most fields, values and arguments of the introspection types themselves (`__Type` has
/// 11 fields; `__DirectiveLocation` 19 values).
const INTROSPECTION_FIELDS: u64 = 11;
const INTROSPECTION_VALUES: u64 = 19;
const INTROSPECTION_ARGS: u64 = 1;

impl SchemaSize {
    fn add(&mut self, definition: &async_graphql::parser::types::TypeDefinition) {
        self.types += 1;
        let len = |n: usize| n as u64;
        match &definition.kind {
            TypeKind::Object(object) => {
                self.fields = self.fields.max(len(object.fields.len()));
                self.interfaces = self.interfaces.max(len(object.implements.len()));
                for field in &object.fields {
                    self.args = self.args.max(len(field.node.arguments.len()));
                }
                for interface in &object.implements {
                    *self
                        .implementations
                        .entry(interface.node.to_string())
                        .or_default() += 1;
                }
            }
            TypeKind::Interface(interface) => {
                self.fields = self.fields.max(len(interface.fields.len()));
                self.interfaces = self.interfaces.max(len(interface.implements.len()));
                for field in &interface.fields {
                    self.args = self.args.max(len(field.node.arguments.len()));
                }
            }
            TypeKind::Union(union) => {
                self.possible_types = self.possible_types.max(len(union.members.len()));
            }
            TypeKind::Enum(enumeration) => {
                self.enum_values = self.enum_values.max(len(enumeration.values.len()));
            }
            TypeKind::InputObject(input) => {
                self.input_fields = self.input_fields.max(len(input.fields.len()));
            }
            TypeKind::Scalar => {}
        }
    }

    /// The introspection fields, with the sizes found.
    fn introspection(mut self, shape: &mut Shape) {
        let implementations = self.implementations.values().copied().max().unwrap_or(0);
        self.possible_types = self.possible_types.max(implementations);
        let max = |n: u64, floor: u64| Size::AtMost(n.max(floor));
        let fields: [(&str, &str, &str, Size); 12] = [
            (
                "__Schema",
                "types",
                "__Type",
                Size::AtMost(self.types + UNPRINTED_TYPES),
            ),
            ("__Schema", "queryType", "__Type", Size::One),
            ("__Schema", "mutationType", "__Type", Size::One),
            ("__Schema", "subscriptionType", "__Type", Size::One),
            (
                "__Schema",
                "directives",
                "__Directive",
                Size::AtMost(self.directives + UNPRINTED_DIRECTIVES),
            ),
            (
                "__Type",
                "fields",
                "__Field",
                max(self.fields, INTROSPECTION_FIELDS),
            ),
            (
                "__Type",
                "interfaces",
                "__Type",
                Size::AtMost(self.interfaces),
            ),
            (
                "__Type",
                "possibleTypes",
                "__Type",
                Size::AtMost(self.possible_types),
            ),
            (
                "__Type",
                "enumValues",
                "__EnumValue",
                max(self.enum_values, INTROSPECTION_VALUES),
            ),
            (
                "__Type",
                "inputFields",
                "__InputValue",
                Size::AtMost(self.input_fields),
            ),
            (
                "__Field",
                "args",
                "__InputValue",
                max(self.args, INTROSPECTION_ARGS),
            ),
            (
                "__Directive",
                "args",
                "__InputValue",
                max(self.directive_args, INTROSPECTION_ARGS),
            ),
        ];
        let single = [
            ("__Type", "ofType", "__Type"),
            ("__Field", "type", "__Type"),
            ("__InputValue", "type", "__Type"),
        ];
        let query = shape.roots[0].clone();
        let roots = [
            (query.as_str(), "__schema", "__Schema"),
            (query.as_str(), "__type", "__Type"),
        ];
        for (parent, field, name, size) in fields.into_iter().chain(
            single
                .into_iter()
                .chain(roots)
                .map(|(parent, field, name)| (parent, field, name, Size::One)),
        ) {
            shape.fields.insert(
                (parent.to_owned(), field.to_owned()),
                Returns {
                    name: name.to_owned(),
                    size,
                },
            );
        }
    }
}

fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

fn is_list(ty: &Type) -> bool {
    matches!(ty.base, BaseType::List(_))
}

/// Measures `document` (its operation `operation_name`, or every operation when none is
/// named) and checks it against `limits`. What is left of the complexity limit goes to the
/// metered lists as they resolve (`ListMeter`).
pub fn check(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    shape: &Shape,
    limits: &Limits,
) -> ServerResult<(Measure, ListMeter)> {
    let mut measured = Measure::default();
    let mut metered = HashMap::new();
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
            metered: HashMap::new(),
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
        metered.extend(walk.metered);
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
    let meter = ListMeter {
        max: limits.complexity,
        left: AtomicU64::new(limits.complexity.saturating_sub(measured.complexity)),
        units: metered,
    };
    Ok((measured, meter))
}

/// What is left of a request's complexity limit while it runs, for the lists nothing bounds
/// ahead (`Size::Metered`): the measure counted 20 objects for each; each object beyond them is
/// charged, with what is selected inside it, when the list resolves and before its objects
/// load. A request whose lists turn out longer than the limit allows gets an error in their
/// place (BAD_USER_INPUT, `extensions.limit` "complexity"), never an answer larger than the
/// limit. One meter serves one query or mutation; a subscription's events are not metered
/// (each is bounded by the answer-size limit instead).
#[derive(Debug)]
pub struct ListMeter {
    max: u64,
    left: AtomicU64,
    units: HashMap<Pos, u64>,
}

impl ListMeter {
    /// Charges a metered list at `pos` in the document that returns `len` objects.
    pub fn charge(&self, pos: Pos, len: usize) -> Result<(), ApiError> {
        let extra = (len as u64).saturating_sub(DEFAULT_PAGE);
        if extra == 0 {
            return Ok(());
        }
        let unit = self.units.get(&pos).copied().unwrap_or(1);
        let cost = extra.saturating_mul(unit);
        let charged = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(cost)
            });
        charged.map(|_| ()).map_err(|_| ApiError::OverLimit {
            limit: "complexity",
            max: self.max,
            message: format!(
                "this list holds {len} objects, which with what the query selects in them \
                 take the request over {} nodes (complexity); ask for less inside it",
                self.max
            ),
        })
    }
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
    /// What each object of a metered list costs, by the field's place in the document.
    metered: HashMap<Pos, u64>,
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
        let size = returns.map_or(Size::One, |returns| returns.size);
        let page = self.page_size(field, pos, parent)?;
        // How many objects the field may return, if it is one that counts.
        let counted = match size {
            Size::Page => Some(page.unwrap_or(DEFAULT_PAGE)),
            Size::AtMost(max) => Some(max),
            Size::Metered => Some(DEFAULT_PAGE),
            Size::One => self.ids(field),
        };
        let times = counted.unwrap_or(1);
        let children = self.selection_set(
            &field.selection_set.node,
            returns.map(|returns| returns.name.as_str()),
        )?;
        if size == Size::Metered {
            // What each object beyond the first 20 costs when the list resolves.
            self.metered
                .insert(pos, children.complexity.saturating_add(1));
        }
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
            // Each connection needs a page for each object it is selected on. (Lists count
            // in the rate cost through their nodes.)
            requests: times
                .saturating_mul(children.requests)
                .saturating_add(u64::from(size == Size::Page)),
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
        Shape::of_sdl(&crate::api::schema_sdl(), &Quotas::default())
            .expect("the schema's SDL parses")
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
        .map(|(measure, _)| measure)
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
        .expect("within the limits")
        .0;
        assert_eq!(given.complexity, 7);
        // `nodes(ids:)` costs its fields once per id.
        assert_eq!(
            measure(r#"{ nodes(ids: ["a", "b", "c"]) { id } }"#).complexity,
            3
        );
    }

    #[test]
    fn the_dashboard_query_is_within_the_default_limits() {
        let query = include_str!("../../tests/queries/dashboard.graphql");
        let measured = measure(query);
        let limits = Limits::default();
        assert!(measured.depth <= limits.depth, "{measured:?}");
        assert!(measured.complexity <= limits.complexity, "{measured:?}");
        assert!(measured.aliases <= limits.aliases, "{measured:?}");
        assert!(measured.root_fields <= limits.root_fields, "{measured:?}");
        assert_eq!(
            measured.complexity, 464_200,
            "the module's documentation names it"
        );
        assert!(measured.fields <= limits.fields, "{measured:?}");
        assert_eq!(
            crate::rules::rate_limit::cost(measured.requests, measured.complexity),
            47,
            "README names the dashboard's rate-limit cost"
        );
    }

    /// Every list of objects outside a connection has a bound the write path keeps, or is
    /// metered as it resolves. A new list field fails here until it is given one or the other.
    #[test]
    fn every_list_of_objects_is_bounded_or_metered() {
        assert_eq!(
            shape().metered(),
            [
                "DeletionImpact.apps",
                "DeletionImpact.paymentMethods",
                "Event.subjects"
            ]
        );
        let shape = shape();
        let size = |parent: &str, field: &str| shape.returns(Some(parent), field).map(|r| r.size);
        assert_eq!(size("App", "environments"), Some(Size::AtMost(100)));
        assert_eq!(size("Person", "sshKeys"), Some(Size::AtMost(50)));
        assert_eq!(size("App", "technicalContacts"), Some(Size::AtMost(10)));
        assert_eq!(size("Invitation", "apps"), Some(Size::AtMost(100)));
        assert_eq!(size("Person", "eventFilters"), Some(Size::AtMost(100)));
        assert_eq!(size("Team", "members"), Some(Size::Page));
        assert_eq!(size("TeamMemberConnection", "nodes"), Some(Size::One));
    }

    /// For every list (and connection) of the schema, introspection's included: the shortest
    /// way back from what it returns to the type it is on, repeated as deep as the depth limit
    /// allows below the shortest way from the root. Each such document is refused for its
    /// complexity before anything runs: no nesting of lists can multiply an answer past it.
    #[test]
    fn the_worst_nesting_the_schema_allows_is_refused_before_it_runs() {
        let shape = shape();
        let mut by_parent: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
        for ((parent, field), returns) in &shape.fields {
            by_parent
                .entry(parent.as_str())
                .or_default()
                .push((field.as_str(), returns.name.as_str()));
        }
        for fields in by_parent.values_mut() {
            fields.sort();
        }
        // The fields leading from `from` to `to`, fewest first.
        let path = |from: &str, to: &str| -> Option<Vec<String>> {
            let mut queue = std::collections::VecDeque::from([(from.to_owned(), Vec::new())]);
            let mut seen = HashSet::from([from.to_owned()]);
            while let Some((at, path)) = queue.pop_front() {
                for (field, returns) in by_parent.get(at.as_str()).into_iter().flatten() {
                    let mut next: Vec<String> = path.clone();
                    next.push((*field).to_owned());
                    if *returns == to {
                        return Some(next);
                    }
                    if seen.insert((*returns).to_owned()) {
                        queue.push_back(((*returns).to_owned(), next));
                    }
                }
            }
            None
        };
        let limits = Limits::default();
        let mut refused = 0;
        for ((parent, field), returns) in &shape.fields {
            let multiplies = match returns.size {
                Size::One => false,
                Size::AtMost(n) => n > 1,
                Size::Page | Size::Metered => true,
            };
            if !multiplies || parent == "Subscription" || parent == "Mutation" {
                continue;
            }
            let Some(back) = path(&returns.name, parent) else {
                continue;
            };
            let from_root = if *parent == shape.roots[0] {
                Vec::new()
            } else {
                path(&shape.roots[0], parent).expect("every type is reachable from the root")
            };
            let cycle = 1 + back.len();
            let repeats = (limits.depth - from_root.len() - 1) / cycle;
            assert!(repeats >= 2, "{parent}.{field}: too deep to repeat");
            let mut fields: Vec<&str> = from_root.iter().map(String::as_str).collect();
            for _ in 0..repeats {
                fields.push(field);
                fields.extend(back.iter().map(String::as_str));
            }
            let query = format!(
                "{{ {} __typename {} }}",
                fields.iter().map(|f| format!("{f} {{")).collect::<String>(),
                "}".repeat(fields.len())
            );
            // The measure counts the worst case: at least the product of the sizes of the
            // lists on the way, at every repetition.
            let mut worst = 1u64;
            let mut on = parent.clone();
            for name in [field.as_str()]
                .into_iter()
                .chain(back.iter().map(String::as_str))
            {
                let returns = shape
                    .returns(Some(&on), name)
                    .expect("a field of the schema");
                worst = worst.saturating_mul(match returns.size {
                    Size::One => 1,
                    Size::Page | Size::Metered => DEFAULT_PAGE,
                    Size::AtMost(n) => n,
                });
                on = returns.name.clone();
            }
            let worst = worst.saturating_pow(repeats as u32);
            let measured = measure(&query).complexity;
            assert!(
                measured >= worst,
                "{parent}.{field}: {measured} < {worst}: {query}"
            );
            if measured > limits.complexity {
                let (limit, _) = refusal(&query, serde_json::json!({}));
                assert_eq!(limit, "complexity", "{parent}.{field}: {query}");
                refused += 1;
            }
        }
        // The nesting of most lists and connections, introspection's included (`__Type.fields`,
        // `__Field.type`), is refused before it runs; the rest stays within the limit's nodes.
        assert!(refused >= 15, "{refused}");

        // The audit's two documents: seven levels of an app's environments (770 MB answered
        // when lists cost nothing), and what a payment method's deletion would remove, nested.
        let environments = format!(
            "{{ node(id: \"x\") {{ ... on App {{ {} id {} }} }} }}",
            "environments { app { ".repeat(7),
            "} } ".repeat(7)
        );
        assert_eq!(
            refusal(&environments, serde_json::json!({})).0,
            "complexity"
        );
        let impact = format!(
            "{{ node(id: \"x\") {{ ... on PaymentMethod {{ {} id {} }} }} }}",
            "deletionImpact { apps { paymentMethod { ".repeat(4),
            "} } } ".repeat(4)
        );
        // As deep as the depth limit allows, it counts 20 apps at each level, within the
        // limit; longer lists are charged as they resolve and refused past it (`ListMeter`).
        assert_eq!(measure(&impact).complexity, 20 + 400 + 8_000 + 160_000);
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
        let dashboard = include_str!("../../tests/queries/dashboard.graphql");
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
